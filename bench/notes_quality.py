"""Quality of note extraction on real notes: what `factory extract notes` and `factory check` make
of the collections of bench/notes_corpus.py, graded by people against bench/data/notes_quality/RUBRIC.md.

    .venv/bin/python bench/notes_quality.py extract --round baseline --code /tmp/baseline
    .venv/bin/python bench/notes_quality.py extract --round NAME [--split holdout] [--collection til]
    .venv/bin/python bench/notes_quality.py sample --round baseline --seed 1 --per-collection 50 --split all \\
        --collection so-large-lm --collection llm-interview --collection ml-engineering --collection til --parts 4
    .venv/bin/python bench/notes_quality.py report --round NAME [--split holdout] [--markdown]

1. `extract` copies each collection's notes (all, or one `--split`) into a fresh workspace and runs
   what a user runs: `extract notes`, then `check`. It runs in a subprocess with PYTHONPATH set to
   `--code` (default: this checkout), so that checkout's extractor is what runs, and records its
   commit. In that process, side by side, it times a plain baseline (read every file, parse it with
   markdown-it into heading sections, as bench/extract.py does) and the extraction. It writes
   bench/out/notes_quality/ROUND/: pairs.jsonl (every pair with its status, findings and locator),
   notes.jsonl (per note: pairs, substantial sections and whether a pair covers each), logs/, and
   run.json, written last: a round without it is incomplete and is never reported.
   A substantial section is a headed section whose own prose (text outside code blocks, tables
   and headings, up to the next heading, and outside resource-list entries: list items that start
   with a link to a web page) has 200+ characters; it has a pair when a pair's
   locator line range overlaps it. Sections are found here, not by the code under test.
2. `sample` draws a seeded sample of pairs per collection into
   bench/data/notes_quality/ROUND/to_grade.jsonl (and `--parts` files of it, interleaved, one per
   grader), each with an excerpt of the note, so a grader needs nothing else. Pairs already in
   labels.jsonl (same sample id) carry their label and are marked so.
3. `report` joins a round's pairs with bench/data/notes_quality/labels.jsonl by sample id. The
   labels are the only truth: grades are never recomputed. Nothing here is asserted, only measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from notes_corpus import COLLECTIONS, Collection, note_paths, read_note, split_of

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "notes_quality"
DATA = REPO / "bench" / "data" / "notes_quality"
LABELS = DATA / "labels.jsonl"
NOTES_DIR = "notes"  # the notes' folder inside each temporary workspace
SUBSTANTIAL_CHARS = 200
EXCERPT_LINES = 60
GRADES = ("GOOD", "WEAK", "BAD")

# ---------------------------------------------------------------------------- reading notes


def note_lines(text: str) -> list[str]:
    """The note's lines as the extractor numbers them: no BOM, unix newlines, front matter counted."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def front_matter_length(lines: list[str]) -> int:
    """Lines taken by a leading `---` ... `---` block; 0 when there is none."""
    if not lines or lines[0].rstrip() != "---":
        return 0
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    return 0 if close is None else close + 1


@dataclass
class HeadedSection:
    heading: str
    first: int  # 1-based file line of the heading
    last: int  # last file line before the next heading, inclusive
    prose_chars: int  # own text outside code blocks, tables and headings, whitespace collapsed


_PROSE_MD = MarkdownIt("commonmark").enable("table")


def _inline_text(token: Any) -> str:
    parts = [c.content if c.type in ("text", "code_inline") else " "
             for c in token.children or [] if c.type in ("text", "code_inline", "softbreak", "hardbreak")]
    return " ".join("".join(parts).split())


def _resource_entry(tokens: list[Any], i: int) -> bool:
    """An inline token that is a list item starting with a link to a web page ("- [Endly](…) - End
    to end test framework."): an entry of a resource list, a name and a pointer, not prose the
    author wrote as an explanation. Such entries do not make a section substantial."""
    token = tokens[i]
    if i < 2 or tokens[i - 1].type != "paragraph_open" or tokens[i - 2].type != "list_item_open":
        return False
    first = next((c for c in token.children or [] if not (c.type == "text" and not c.content.strip())), None)
    return first is not None and first.type == "link_open" and str(first.attrs.get("href", "")).startswith(
        ("http://", "https://"))


def headed_sections(text: str) -> list[HeadedSection]:
    """Every top-level heading's section (up to the next heading of any level), with its own prose."""
    lines = note_lines(text)
    offset = front_matter_length(lines)
    tokens = _PROSE_MD.parse("\n".join(lines[offset:]))
    sections: list[HeadedSection] = []
    prose: list[str] = []
    in_heading = in_table = 0

    def close(last: int) -> None:
        if sections:
            sections[-1].last = last
            sections[-1].prose_chars = len(" ".join(p for p in prose if p))
        prose.clear()

    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            in_heading += 1
            if token.level == 0 and token.map:
                close(offset + token.map[0])
                sections.append(HeadedSection(tokens[i + 1].content.strip(), offset + token.map[0] + 1, 0, 0))
        elif token.type == "heading_close":
            in_heading -= 1
        elif token.type in ("table_open", "table_close"):
            in_table += 1 if token.type == "table_open" else -1
        elif token.type == "inline" and not in_heading and not in_table and not _resource_entry(tokens, i):
            prose.append(_inline_text(token))
    close(len(lines))
    return sections


def plain_parse(files: list[Path]) -> int:
    """The baseline: read every note and parse it with markdown-it into heading sections (bench/extract.py)."""
    md = MarkdownIt("commonmark")
    sections = 0
    for path in files:
        tokens = md.parse(path.read_text(encoding="utf-8", errors="replace"))
        sections += sum(1 for t in tokens if t.type == "heading_open")
    return sections


# ---------------------------------------------------------------------------- one collection, in the code under test


def extract_in_this_process(notes: Path, workspace: Path, out: Path) -> None:
    """Run by `extract` in a subprocess whose PYTHONPATH is the code under test: time the plain
    parse and `extract notes`, run `check`, and write what the store holds to OUT/pairs.jsonl and
    the figures to OUT/meta.json."""
    import factory
    from factory.checking import check_pending
    from factory.ingest import extract_notes
    from factory.store import SampleFilter
    from factory.workspace import init_workspace

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ws = init_workspace(workspace)
    files = sorted(p for p in notes.rglob("*") if p.is_file())
    MarkdownIt("commonmark").parse("# warm-up\n\nOne paragraph.\n")  # neither side pays first-call costs
    started = time.perf_counter()
    plain_parse(files)
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    job = extract_notes(ws, notes)
    extract_s = time.perf_counter() - started
    started = time.perf_counter()
    check_pending(ws)
    check_s = time.perf_counter() - started
    with ws.open_store(for_reading=True) as store:
        samples = store.samples(SampleFilter())
    with (out / "pairs.jsonl").open("w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps({"id": s.id, "uri": s.source.uri, "status": s.status,
                                "findings": [{"code": x.code, "severity": x.severity} for x in s.findings],
                                "instruction": s.instruction, "input": s.input, "output": s.output,
                                "locator": s.source.locator}, ensure_ascii=False) + "\n")
    meta = {"factory_file": factory.__file__, "files": len(files), "parse_s": parse_s, "extract_s": extract_s,
            "check_s": check_s, "job_state": job.state, "errors": job.error_log}
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------------- extract


def code_commit(code: Path) -> dict[str, Any]:
    """Which commit `code` is, and whether its working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", "-C", str(code), *args],
                              capture_output=True, text=True).stdout.strip()
    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return {"dir": str(code), "commit": git("rev-parse", "HEAD") or "unknown", "dirty": bool(changed),
            "changed": changed[:50]}


def write_notes(collection: Collection, split: str, notes: Path) -> dict[str, str]:
    """The collection's notes of `split` ("all" for every one) under NOTES; returns path -> split."""
    chosen = {}
    for path in note_paths(collection):
        note_split = split_of(collection, path)
        if split in ("all", note_split):
            target = notes / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_note(collection, path))
            chosen[path] = note_split
    return chosen


def run_extractor(code: Path, notes: Path, workspace: Path, out: Path, log: Path) -> dict[str, Any]:
    """Extraction and check in a subprocess running the code at `code`; returns its meta.json."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(code)}
    with log.open("w", encoding="utf-8") as stderr:
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "extract-one",
                               str(notes), str(workspace), str(out)],
                              env=env, cwd=workspace.parent, stdout=stderr, stderr=stderr)
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {"failed": f"exit {done.returncode}: {tail[0]}"}
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    if not Path(meta["factory_file"]).resolve().is_relative_to(code.resolve()):
        raise RuntimeError(f"the extractor that ran is {meta['factory_file']}, not the code under {code}")
    return meta


def note_record(collection: str, path: str, split: str, text: str, pair_lines: list[list[int]],
                error: str | None) -> dict[str, Any]:
    """One note's substantial sections and which of them a pair's line range overlaps."""
    sections = []
    for s in headed_sections(text):
        if s.prose_chars >= SUBSTANTIAL_CHARS:
            pairs = sum(1 for a, b in pair_lines if a <= s.last and b >= s.first)
            sections.append({"heading": s.heading, "lines": [s.first, s.last], "prose_chars": s.prose_chars,
                             "pairs": pairs})
    return {"collection": collection, "note": path, "split": split, "pairs": len(pair_lines),
            "substantial": len(sections), "substantial_with_pair": sum(1 for s in sections if s["pairs"]),
            "error": error, "sections": sections}


def extract_collection(collection: Collection, split: str, code: Path, round_dir: Path,
                       scratch: Path) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """Pairs, note records and figures of one collection, extracted by the code at `code`."""
    workspace = scratch / collection.name / "ws"
    notes = workspace / NOTES_DIR
    notes.mkdir(parents=True)
    splits = write_notes(collection, split, notes)
    meta = run_extractor(code, notes, workspace, scratch / collection.name / "out",
                         round_dir / "logs" / f"{collection.name}.log")
    if "failed" in meta:
        return [], [], {"notes": len(splits), **meta}
    prefix = f"{NOTES_DIR}/"
    pairs, lines_by_note = [], {path: [] for path in splits}
    for line in (scratch / collection.name / "out" / "pairs.jsonl").open(encoding="utf-8"):
        raw = json.loads(line)
        path = raw.pop("uri").removeprefix(prefix)
        pairs.append({"collection": collection.name, "note": path, "split": splits.get(path, "?"), **raw})
        lines_by_note.setdefault(path, []).append(raw["locator"].get("lines") or [0, 0])
    errors = {e["file"].removeprefix(prefix): e["error"] for e in meta["errors"]}
    records = [note_record(collection.name, path, splits[path], (notes / path).read_text("utf-8", "replace"),
                           lines_by_note[path], errors.get(path)) for path in sorted(splits)]
    figures = {"notes": len(splits), "pairs": len(pairs),
               "rejected": sum(1 for p in pairs if p["status"] == "rejected"),
               "substantial": sum(r["substantial"] for r in records),
               "substantial_with_pair": sum(r["substantial_with_pair"] for r in records),
               "failed_notes": errors, "job_state": meta["job_state"], "timed_files": meta["files"],
               "parse_s": meta["parse_s"], "extract_s": meta["extract_s"], "check_s": meta["check_s"]}
    return pairs, records, figures


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def extract_round(name: str, code: Path, split: str, names: list[str] | None):
    """Extract every collection into OUT/NAME; yields (collection, figures) as each finishes."""
    round_dir = OUT / name
    shutil.rmtree(round_dir, ignore_errors=True)
    (round_dir / "logs").mkdir(parents=True)
    run = {"round": name, "date": str(date.today()), "machine": machine(), "split": split,
           "code": code_commit(code), "collections": {}}
    scratch = Path(tempfile.mkdtemp(prefix="notes-quality-"))
    try:
        with (round_dir / "pairs.jsonl").open("w", encoding="utf-8") as pairs_file, \
                (round_dir / "notes.jsonl").open("w", encoding="utf-8") as notes_file:
            for collection in COLLECTIONS:
                if names and collection.name not in names:
                    continue
                pairs, records, figures = extract_collection(collection, split, code, round_dir, scratch)
                pairs_file.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs)
                notes_file.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
                run["collections"][collection.name] = figures
                yield collection.name, figures
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    (round_dir / "run.json").write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------------- sample


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_round(name: str) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """run.json, pairs and note records of a finished round."""
    round_dir = OUT / name
    if not (round_dir / "run.json").exists():
        raise SystemExit(f"{round_dir}: no finished round (run.json missing); run `extract --round {name}`")
    run = json.loads((round_dir / "run.json").read_text(encoding="utf-8"))
    return run, read_jsonl(round_dir / "pairs.jsonl"), read_jsonl(round_dir / "notes.jsonl")


def read_labels() -> dict[str, dict[str, Any]]:
    """Labels by sample id; a later line for the same id wins, a grade not in GRADES is left out."""
    return {label["id"]: label for label in read_jsonl(LABELS) if label.get("grade") in GRADES}


def label_problems() -> list[str]:
    """What the report should say about labels.jsonl: unknown grades, ids graded twice differently."""
    labels = read_jsonl(LABELS)
    grades: dict[str, set[str]] = {}
    for label in labels:
        grades.setdefault(label["id"], set()).add(label.get("grade"))
    unknown = sum(1 for label in labels if label.get("grade") not in GRADES)
    disagree = sorted(i for i, g in grades.items() if len(g) > 1)
    return ([f"{unknown} labels with a grade other than {'/'.join(GRADES)}: left out"] if unknown else []) + \
        ([f"{len(disagree)} ids graded differently more than once (the last line counts): {', '.join(disagree[:10])}"]
         if disagree else [])


def note_excerpt(collection: Collection, path: str, lines: list[int]) -> dict[str, Any]:
    """The note's original lines of a locator range, at most EXCERPT_LINES of them."""
    text = note_lines(read_note(collection, path).decode("utf-8", errors="replace"))
    first, last = lines
    shown = text[first - 1:min(last, first - 1 + EXCERPT_LINES)]
    excerpt = "\n".join(shown)
    if last - first + 1 > len(shown):
        excerpt += f"\n[... {last - first + 1 - len(shown)} more lines of this range not shown]"
    return {"lines": lines, "excerpt": excerpt}


def sample_round(name: str, seed: int, per_collection: int, split: str, names: list[str] | None,
                 parts: int) -> dict[str, Any]:
    """Write DATA/NAME/to_grade.jsonl (and to_grade.partN.jsonl); returns counts and paths."""
    run, pairs, _ = read_round(name)
    labels = read_labels()
    by_name = {c.name: c for c in COLLECTIONS}
    items = []
    drawn: dict[str, int] = {}
    for collection in COLLECTIONS:
        if collection.name not in run["collections"] or (names and collection.name not in names):
            continue
        pool = sorted((p for p in pairs if p["collection"] == collection.name and split in ("all", p["split"])),
                      key=lambda p: p["id"])
        chosen = random.Random(f"{seed}:{collection.name}").sample(pool, min(per_collection, len(pool)))
        drawn[collection.name] = len(chosen)
        for pair in chosen:
            lines = pair["locator"].get("lines") or [1, 1]
            context = {"heading_path": pair["locator"].get("heading_path", []),
                       **note_excerpt(by_name[collection.name], pair["note"], lines)}
            label = labels.get(pair["id"])
            # No status, findings or rule: the grade must not lean on what the checks said.
            items.append({"id": pair["id"], "collection": pair["collection"], "note": pair["note"],
                          "split": pair["split"], "round": name,
                          "instruction": pair["instruction"], "input": pair["input"], "output": pair["output"],
                          "context": context, "already_labelled": label is not None, "label": label})
    target = DATA / name
    target.mkdir(parents=True, exist_ok=True)
    files = [target / "to_grade.jsonl"]
    write_jsonl(files[0], items)
    if parts > 1:  # interleaved, so every grader sees every collection
        for k in range(parts):
            files.append(target / f"to_grade.part{k + 1}.jsonl")
            write_jsonl(files[-1], items[k::parts])
    return {"drawn": drawn, "already_labelled": sum(i["already_labelled"] for i in items),
            "files": {str(f.relative_to(REPO)): len(read_jsonl(f)) for f in files}}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


# ---------------------------------------------------------------------------- report


def share(part: int, whole: int) -> str:
    """`62% (31/50)`: every share says what it rests on."""
    return f"{part / whole:.0%} ({part}/{whole})" if whole else "-"


def quality_figures(pairs: list[dict], records: list[dict], labels: dict[str, dict]) -> dict[str, Any]:
    """The report's figures over some pairs and their notes; grades come from `labels` only."""
    graded = [(p, labels[p["id"]]["grade"]) for p in pairs if p["id"] in labels]
    kept = [grade for p, grade in graded if p["status"] != "rejected"]
    bad = [p for p, grade in graded if grade == "BAD"]
    good = [p for p, grade in graded if grade == "GOOD"]
    return {
        "notes": len(records), "pairs": len(pairs),
        "pairs_per_note": f"{len(pairs) / len(records):.2f}" if records else "-",
        "substantial_with_pair": share(sum(r["substantial_with_pair"] for r in records),
                                       sum(r["substantial"] for r in records)),
        "graded": len(graded), "graded_kept": len(kept),
        **{f"kept_{g.lower()}": share(kept.count(g), len(kept)) for g in GRADES},
        "bad_with_finding": share(sum(1 for p in bad if p["findings"]), len(bad)),
        "good_rejected": share(sum(1 for p in good if p["status"] == "rejected"), len(good)),
        "bad_approvable": share(sum(1 for p in bad if p["status"] == "pending" and not p["findings"]), len(bad)),
    }


def speed_figures(figures: list[dict[str, Any]]) -> dict[str, float]:
    """Notes per second of the plain parse and of `extract notes`, summed over collections."""
    files = sum(f["timed_files"] for f in figures)
    parse_s, extract_s = sum(f["parse_s"] for f in figures), sum(f["extract_s"] for f in figures)
    return {"files": files, "parse_per_s": files / parse_s if parse_s else 0.0,
            "extract_per_s": files / extract_s if extract_s else 0.0,
            "extract_vs_parse": parse_s / extract_s if extract_s else 0.0,
            "check_s": sum(f["check_s"] for f in figures)}


COLUMNS = (("collection", "collection"), ("notes", "notes"), ("pairs", "pairs"), ("pairs/note", "pairs_per_note"),
           ("substantial sections with a pair", "substantial_with_pair"), ("graded", "graded"),
           ("graded, kept by checks", "graded_kept"), ("kept GOOD", "kept_good"), ("kept WEAK", "kept_weak"),
           ("kept BAD", "kept_bad"), ("BAD with a finding", "bad_with_finding"), ("GOOD rejected", "good_rejected"),
           ("BAD `approve --no-findings` approves", "bad_approvable"), ("extract notes/s (x plain parse)", "speed"))


def report_rows(name: str, split: str, against: str | None) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """run.json, one row per collection and one overall, and notes on the figures."""
    run, pairs, records = read_round(name)
    labels = read_labels()

    def in_split(row: dict[str, Any]) -> bool:
        return split in ("all", row["split"])

    rows, timed = [], []
    for collection, figures in run["collections"].items():
        if "failed" in figures:
            rows.append({"collection": collection, "notes": figures["notes"], "pairs": f"failed: {figures['failed']}"})
            continue
        row = quality_figures([p for p in pairs if p["collection"] == collection and in_split(p)],
                              [r for r in records if r["collection"] == collection and in_split(r)], labels)
        speed = speed_figures([figures])
        rows.append({"collection": collection, **row,
                     "speed": f"{speed['extract_per_s']:,.0f} ({speed['extract_vs_parse']:.2f}x)"})
        timed.append(figures)
    overall = quality_figures([p for p in pairs if in_split(p)], [r for r in records if in_split(r)], labels)
    speed = speed_figures(timed)
    rows.append({"collection": "all", **overall,
                 "speed": f"{speed['extract_per_s']:,.0f} ({speed['extract_vs_parse']:.2f}x)"})
    notes = [f"extraction speed over {speed['files']:,} notes: plain parse {speed['parse_per_s']:,.0f} notes/s, "
             f"`extract notes` {speed['extract_per_s']:,.0f} notes/s ({speed['extract_vs_parse']:.2f}x of the plain "
             f"parse); `check` took {speed['check_s']:.1f} s in all"]
    if against and against != name and (OUT / against / "run.json").exists():
        other = json.loads((OUT / against / "run.json").read_text(encoding="utf-8"))
        theirs = speed_figures([f for c, f in other["collections"].items()
                                if "failed" not in f and c in {r["collection"] for r in rows}])
        if speed["extract_vs_parse"] and theirs["extract_vs_parse"]:
            notes.append(f"extraction time per plain-parse time against round `{against}`: "
                         f"{theirs['extract_vs_parse'] / speed['extract_vs_parse']:.2f}x "
                         f"(above 1 is slower; round `{against}` ran at {theirs['extract_vs_parse']:.2f}x of its parse)")
    failed = [f"{c}: {note}: {error}" for c, f in run["collections"].items()
              for note, error in (f.get("failed_notes") or {}).items()]
    notes.append(f"notes the extractor skipped: {len(failed)}" + "".join(f"\n  {line}" for line in failed))
    notes += label_problems()
    notes.append(f"grades rest on {overall['graded']} graded pairs of this round ({len(labels)} labels in "
                 f"{os.path.relpath(LABELS, REPO)}); shares are of graded pairs, `-` where none")
    return run, rows, notes


def markdown_table(run: dict[str, Any], rows: list[dict[str, Any]], notes: list[str], split: str) -> str:
    code = run["code"]
    commit = f"{code['commit'][:12]}{' (working tree dirty)' if code['dirty'] else ''}"
    lines = [f"## bench/notes_quality.py, {run['date']}, {run['machine']}", "",
             f"Round `{run['round']}` (notes: {run['split']}, reported: {split}), code at {commit} "
             f"(`{code['dir']}`); grades from {os.path.relpath(LABELS, REPO)} as of {date.today()}.", "",
             "| " + " | ".join(title for title, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row.get(key, "")) for _, key in COLUMNS) + " |" for row in rows]
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines)


def plain_table(run: dict[str, Any], rows: list[dict[str, Any]], notes: list[str], split: str) -> str:
    code = run["code"]
    lines = [f"round {run['round']} ({run['date']}, {run['machine']}), code {code['commit'][:12]}"
             f"{' dirty' if code['dirty'] else ''} at {code['dir']}, notes: {run['split']}, reported: {split}"]
    for row in rows:
        lines.append("")
        lines += [f"  {title:40} {row.get(key, '')}" for title, key in COLUMNS if key in row]
    lines += [""] + notes
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    extracting = commands.add_parser("extract", help="extract and check every collection into one round")
    extracting.add_argument("--round", required=True)
    extracting.add_argument("--code", type=Path, default=REPO, help="the checkout whose extractor runs")
    extracting.add_argument("--split", choices=("all", "tune", "holdout"), default="all")
    extracting.add_argument("--collection", action="append", help="only these (default: all)")
    one = commands.add_parser("extract-one", help="internal: what `extract` runs in the code under test")
    one.add_argument("notes", type=Path)
    one.add_argument("workspace", type=Path)
    one.add_argument("out", type=Path)
    sampling = commands.add_parser("sample", help="a seeded sample of a round's pairs to grade")
    sampling.add_argument("--round", required=True)
    sampling.add_argument("--seed", type=int, required=True)
    sampling.add_argument("--per-collection", type=int, required=True)
    sampling.add_argument("--split", choices=("all", "tune", "holdout"), default="holdout")
    sampling.add_argument("--collection", action="append", help="only these (default: all)")
    sampling.add_argument("--parts", type=int, default=1, help="also write this many interleaved part files")
    reporting = commands.add_parser("report", help="a round's figures against the labels")
    reporting.add_argument("--round", required=True)
    reporting.add_argument("--split", choices=("all", "tune", "holdout"), default="all")
    reporting.add_argument("--against", default="baseline", help="the round whose extraction speed to compare with")
    reporting.add_argument("--markdown", action="store_true", help="a section for bench/RESULTS.md")
    args = parser.parse_args()
    if args.command == "extract-one":
        extract_in_this_process(args.notes, args.workspace, args.out)
    elif args.command == "extract":
        print(f"round {args.round}: code {code_commit(args.code)['commit'][:12]} at {args.code}, notes: {args.split}")
        for name, f in extract_round(args.round, args.code, args.split, args.collection):
            if "failed" in f:
                print(f"{name}: {f['notes']} notes, FAILED: {f['failed']}", flush=True)
                continue
            print(f"{name}: {f['notes']} notes, {f['pairs']} pairs ({f['rejected']} rejected by checks), "
                  f"{f['substantial_with_pair']}/{f['substantial']} substantial sections with a pair, "
                  f"{len(f['failed_notes'])} notes skipped; plain parse {f['parse_s']:.2f} s, "
                  f"extract {f['extract_s']:.2f} s, check {f['check_s']:.2f} s", flush=True)
        print(f"wrote {(OUT / args.round).relative_to(REPO)}/")
    elif args.command == "sample":
        result = sample_round(args.round, args.seed, args.per_collection, args.split, args.collection, args.parts)
        print(f"drawn: {result['drawn']}; already labelled: {result['already_labelled']}")
        for path, count in result["files"].items():
            print(f"  {path}: {count} pairs")
    else:
        run, rows, notes = report_rows(args.round, args.split, args.against)
        render = markdown_table if args.markdown else plain_table
        print(render(run, rows, notes, args.split))


if __name__ == "__main__":
    main()
