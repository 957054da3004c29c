"""The `factory` command. The only module that prints: library code logs and raises.

    factory init [PATH]                       make a workspace
    factory extract notes PATH [--llm]        sync Markdown notes into the store (incremental)
    factory import SOURCE [--pool NAME]       an open dataset (hub id or file), or a general pool
    factory generate --count N                Self-Instruct pairs from an OpenAI-compatible model
    factory ledger [RUN]                      model runs and every request: tokens, cost, outcome
    factory check                             run the checks on pending samples
    factory status | ls | show ID | jobs      look at the store
    factory approve|reject IDS or --filters   review headlessly
    factory freeze NAME                       approved samples -> immutable version NAME@vN
    factory versions | verify REF | export REF
    factory review [--port 8501]              the review app (Streamlit) in the browser
    factory demo [DIR]                        all of the above on bundled example notes
"""

from __future__ import annotations

import errno
import getpass
import json
import logging
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from factory.errors import DiskFull, FactoryError, WorkspaceNotFound, os_error, store_error
from factory.progress import Progress as ProgressCallback
from factory.redaction import RedactingFilter, redact
from factory.replacements import SMALL_CHANGE
from factory.sample import STATUSES
from factory.store import SampleFilter
from factory.workspace import Workspace, find_workspace, init_workspace

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Turn notes, open datasets and API models into reviewed, versioned SFT datasets.")
extract_app = typer.Typer(no_args_is_help=True, help="Extract samples from a source into the store.")
app.add_typer(extract_app, name="extract")

# No emoji codes: text such as "dsfolder:train:" holds ":train:", which rich would print as a train.
out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)  # errors stay one line, never wrapped
_state: dict[str, Any] = {"workspace": None, "ws": None}

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
WaitFlag = Annotated[bool, typer.Option("--wait", help="Wait for a running job instead of stopping.")]


@app.callback()
def _global(
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace folder "
                         "(default: $FACTORY_WORKSPACE, else the nearest folder with .factory/ upwards).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    _state["workspace"] = workspace
    # One plain line per record ("warning: skipped notes/x.md: not UTF-8 ..."), easy to grep in cron mail.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LevelFormatter("%(levelname)s: %(message)s"))
    handler.addFilter(RedactingFilter())  # secrets out of every record, whichever logger it comes from
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return terminal_safe(super().format(record))  # warnings name files, whose names may hold anything


def _ws() -> Workspace:
    _state["ws"] = find_workspace(_state["workspace"])  # kept to name its store in errors SQLite raises later
    return _state["ws"]


# C0 and C1 control characters but tab and newline. Samples, names and file names come from anywhere,
# and an ESC or BEL sequence in them would clear the screen, retitle the window or fake output.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """`text` with control characters written as escapes (ESC as `\\x1b`): visible, never obeyed."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _literal(text: object) -> str:
    """Text from samples, files or people for `out.print`: printed as it is, no markup, no controls."""
    return escape(terminal_safe(str(text)))


def _reviewer(name: str | None) -> str:
    return name or os.environ.get("FACTORY_REVIEWER") or getpass.getuser()


def _print_json(value: Any) -> None:
    out.file.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def _progress(label: str) -> Iterator[ProgressCallback]:
    """A progress bar on stderr; yields the (done, total) callback library code calls. Not on a
    pipe or a file (cron mail, CI logs): there a bar is only noise, and rich ends it with a blank line."""
    if not err.is_terminal:
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(_literal(label), total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


# -- workspace and sources -----------------------------------------------------------------
@app.command()
def init(path: Annotated[Path, typer.Argument(help="Folder to make a workspace in.")] = Path(".")) -> None:
    """Create a workspace: .factory/ with the store, config.toml and versions/."""
    ws = init_workspace(path)
    out.print(f"workspace ready at {_literal(ws.root)} (config: {ws.config_path.relative_to(ws.root)})")


@extract_app.command("notes")
def extract_notes_cmd(path: Annotated[Path, typer.Argument(help="A folder of .md notes, or one note.")],
                      llm: Annotated[bool, typer.Option("--llm", help="Have the model ($FACTORY_API_KEY, "
                                                        "$FACTORY_BASE_URL, $FACTORY_MODEL) write pairs grounded in "
                                                        "each section, instead of the offline rules.")] = False,
                      wait: WaitFlag = False, as_json: JsonFlag = False) -> None:
    """Extract question-answer pairs from Markdown notes; unchanged notes are skipped."""
    ws = _ws()
    if llm:
        from factory.llm_notes import extract_notes_llm

        with _progress("asking the model") as progress:
            result = extract_notes_llm(ws, path, wait=wait, progress=progress)
        job = result.job
        if as_json:
            return _print_json({**job.model_dump(), "llm": {k: v for k, v in result.__dict__.items() if k != "job"}})
        out.print(f"notes (llm): {_sync_summary(job)}, {job.skipped} unchanged notes skipped, "
                  f"{job.errors} notes with errors (job {job.id})")
        out.print(f"chunks: {result.chunks}, {result.asked} asked, {result.reused} answered before; "
                  f"{result.ungrounded} ungrounded pairs dropped; {result.usage['tokens_in']:,} tokens in, "
                  f"{result.usage['tokens_out']:,} out, ${result.usage['cost']:.4f}"
                  + (f" (ledger: `factory ledger {result.run_id}`)" if result.run_id else ""))
    else:
        from factory.ingest import extract_notes

        with _progress("extracting notes") as progress:
            job = extract_notes(ws, path, wait=wait, progress=progress)
        if as_json:
            return _print_json(job.model_dump())
        out.print(f"notes: {_sync_summary(job)}, {job.skipped} unchanged notes skipped, {job.errors} bad files "
                  f"(job {job.id})")
    for error in job.error_log[:10]:
        err.print(f"  {_literal(error['error'])}")
    if job.replaced:
        out.print("next: `factory approve --replacements` re-approves the small changes; the Queue shows each "
                  "replacement beside the text it replaces")


def _sync_summary(job: Any) -> str:
    """What a notes sync did to the pairs: a pair met again in another note is `already known`, not
    an update, and a pair that only moved within its note is `moved`."""
    added = f"{job.added} added" + (f" ({job.replaced} replacing a reviewed pair)" if job.replaced else "")
    updated = f", {job.updated} updated" if job.updated else ""
    return (f"{added}, {job.retired} retired, {job.moved} moved{updated}, {job.shared} already known from other "
            "sources")


@app.command("import")
def import_cmd(
    source: Annotated[str, typer.Argument(help="A Hugging Face dataset id, a dataset folder, or a .json, .jsonl, "
                                               ".parquet or .csv file.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, alpaca, sharegpt or openai.")] = "auto",
    mapping: Annotated[Optional[str], typer.Option("--map", help="Columns for other layouts: "
                                                   "instruction=q,output=answer[,input=..,system=..].")] = None,
    split: Annotated[str, typer.Option(help="Split to import.")] = "train",
    subset: Annotated[Optional[str], typer.Option(help="Hub subset (config name).")] = None,
    revision: Annotated[Optional[str], typer.Option(help="Hub branch, tag or commit.")] = None,
    license: Annotated[Optional[str], typer.Option("--license", help="License of the data, e.g. cc-by-nc-4.0 "
                                                   "(default: the dataset card's).")] = None,
    pool: Annotated[Optional[str], typer.Option("--pool", help="Import as the general pool NAME, for mixing "
                                                "into versions against forgetting.")] = None,
    wait: WaitFlag = False, as_json: JsonFlag = False,
) -> None:
    """Import an open dataset (streamed; re-importing an unchanged source adds nothing)."""
    from factory.importing import import_dataset
    from sources.open_datasets import FORMATS, DatasetRequest, parse_mapping

    if fmt not in FORMATS:
        raise FactoryError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    request = DatasetRequest(source=source, format=fmt, mapping=parse_mapping(mapping or ""), split=split,
                             subset=subset, revision=revision, license=license)
    with _progress(f"importing {source}") as progress:
        result = import_dataset(_ws(), request, pool=pool, wait=wait, progress=progress)
    if as_json:
        return _print_json(result.model_dump())
    job = result.job
    target = f"general pool {pool}" if pool else result.uri
    if result.unchanged_source:
        out.print(f"{_literal(target)}: unchanged since the last import of {_literal(result.uri)}; nothing to do "
                  f"(job {job.id})")
        return
    out.print(_import_summary(result, target))
    shown = f"{result.license} (from {result.license_from})" if result.license else "unknown; pass --license"
    out.print(f"license: {_literal(shown)}")
    if result.non_commercial:
        err.print(f"warning: {_literal(result.license)} forbids commercial use; versions with these samples say so")
    if not pool:
        out.print("next: `factory check`, then `factory status` and `factory ls --reason CODE`")


def _import_summary(result: Any, target: str) -> str:
    """What an import read and did; an empty or unreadable source says so (not `0 rows read as ;`)."""
    job = result.job
    if not result.rows:
        read = f"no rows read from {_literal(result.uri)}: it is empty"
    elif not result.format:  # the format is told from the first readable row, and there was none
        read = f"{_literal(target)}: none of the {result.rows} rows could be read"
    else:
        read = f"{_literal(target)}: {result.rows} rows read as {result.format}"
    return (f"{read}; {job.added} added, {job.shared} already known from other sources, {job.retired} retired, "
            f"{result.repeated} repeated rows, {result.bad_rows} bad rows skipped (job {job.id})")


@app.command("generate")
def generate_cmd(
    count: Annotated[int, typer.Option("--count", help="Pairs the run should hold in the end.")],
    domain: Annotated[Optional[str], typer.Option(help="Domain persona, e.g. 'traditional Chinese medicine'.")]
    = None,
    seeds: Annotated[str, typer.Option(help="'approved' (the workspace's approved samples) or a seed file "
                                             "(seed_tasks.jsonl or alpaca JSON).")] = "approved",
    concurrency: Annotated[Optional[int], typer.Option(help="Rounds in flight (config llm.concurrency).")] = None,
    new: Annotated[bool, typer.Option("--new", help="Start another run instead of resuming this one.")] = False,
    wait: WaitFlag = False, as_json: JsonFlag = False,
) -> None:
    """Self-Instruct with any OpenAI-compatible model ($FACTORY_API_KEY, $FACTORY_BASE_URL, $FACTORY_MODEL)."""
    from factory.generate import generate

    with _progress("generating") as progress:
        result = generate(_ws(), count=count, domain=domain, seeds=seeds, concurrency=concurrency, new_run=new,
                          wait=wait, progress=progress)
    if as_json:
        return _print_json(result.__dict__)
    verb = "resumed" if result.resumed else "started"
    out.print(f"{verb} run {result.run_id}: {result.added} pairs added, {result.total} of {result.target} in the run; "
              f"{result.requests} requests, {result.filtered} filtered out, {result.usage['tokens_in']:,} tokens in, "
              f"{result.usage['tokens_out']:,} out, ${result.usage['cost']:.4f}")
    if result.stopped:
        err.print(f"warning: stopped before the target: {_literal(result.stopped)}; run the same command to continue")
    out.print("next: `factory check`, then review them (`factory ls --source self_instruct`)")


@app.command()
def ledger(run_id: Annotated[Optional[str], typer.Argument(help="A generation run id (default: every run).")] = None,
           as_json: JsonFlag = False) -> None:
    """Generation runs and every model request they made: tokens, cost, latency, outcome, samples."""
    with _ws().open_store(for_reading=True) as store:
        runs = [r for r in store.llm_runs() if run_id in (None, r["id"])]
        if run_id and not runs:
            raise FactoryError(f"{run_id}: no such generation run; `factory ledger` lists them")
        entries = {r["id"]: store.llm_requests(r["id"]) for r in runs}
    if as_json:
        # Redacted again on the way out: rows stored before errors were redacted may hold a key.
        return _print_json([{**r, "requests_log": [_redacted_entry(e) for e in entries[r["id"]]]} for r in runs])
    for r in runs:
        out.print(f"[bold]{_literal(r['id'])}[/] {r['state']} {_literal(r['model'])}: {r['samples']} pairs of "
                  f"{r['target']}, {r['requests']} requests ({r['failed_requests']} failed), "
                  f"{r['tokens_in']:,} tokens in, {r['tokens_out']:,} out, ${r['cost']:.4f}")
        for e in entries[r["id"]] if run_id else []:
            out.print(f"  {_literal(e.key)}: {e.outcome}, {e.attempts} attempt(s), {e.latency_ms} ms, "
                      f"{e.tokens_in}+{e.tokens_out} tokens, {len(e.produced)} pairs, {e.rejected} filtered"
                      + (f", {_literal(redact(e.error))}" if e.error else ""))


def _redacted_entry(entry: Any) -> dict[str, Any]:
    row = entry.model_dump()
    return {**row, "error": row["error"] and redact(row["error"]), "raw": row["raw"] and redact(row["raw"])}


@app.command()
def check(all_pending: Annotated[bool, typer.Option("--all", help="Re-check every pending sample.")] = False,
          wait: WaitFlag = False, as_json: JsonFlag = False) -> None:
    """Run the checks on pending samples; findings of severity `reject` reject the sample."""
    from factory.checking import check_pending

    with _progress("checking") as progress:
        summary = check_pending(_ws(), recheck=all_pending, wait=wait, progress=progress)
    if as_json:
        return _print_json(summary.__dict__)
    out.print(f"checked {summary.checked}: {summary.rejected} rejected, {summary.warned} with warnings")
    if summary.changed_meanwhile:
        out.print(f"{len(summary.changed_meanwhile)} sample(s) changed by a reviewer during the check: "
                  "left as they are, unchecked until the next `factory check`")
    for code, n in sorted(summary.by_reason.items()):
        out.print(f"  {code}: {n}")


@app.command()
def reasons(as_json: JsonFlag = False) -> None:
    """Every reason code the checks can report, with its severity and meaning."""
    from factory.checks import REASON_CODES

    try:
        overrides = _ws().config.checks.severity
    except WorkspaceNotFound:  # outside a workspace: the defaults
        overrides = {}
    rows = {code: {"severity": overrides.get(code, sev), "description": text}
            for code, (sev, text) in sorted(REASON_CODES.items())}
    if as_json:
        return _print_json(rows)
    for code, row in rows.items():
        out.print(f"{code:28} {row['severity']:7} {escape(row['description'])}")


# -- looking at the store ------------------------------------------------------------------
@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Counts by status, source, language and reason code."""
    with _ws().open_store(for_reading=True) as store:
        stats = store.stats()
        stats["general_pools"] = {
            d.uri: {"source": d.meta.get("uri"), "revision": d.meta.get("revision") or d.content_hash,
                    "license": d.meta.get("license", ""), "rows": d.meta.get("rows")}
            for d in store.document_infos("general")}
        stats["generation_runs"] = store.llm_runs()
    if as_json:
        return _print_json(stats)
    in_pools = sum(stats["general_by_status"].values())
    out.print(f"{stats['total']} samples ({in_pools} in general pools, {stats['retired']} retired, "
              f"{stats['unchecked']} not checked yet)")
    for title, key in (("status (review)", "by_status"), ("source", "by_source"), ("language", "by_lang"),
                       ("license", "by_license"), ("reason", "by_reason")):
        if stats[key]:
            out.print(f"by {title}: " + ", ".join(f"{_literal(k)} {v}" for k, v in stats[key].items()))
    for run in stats["generation_runs"]:
        rate = "n/a" if run["acceptance_rate"] is None else f"{run['acceptance_rate']:.0%}"
        out.print(f"generation run {run['id']} ({run['state']}): {run['samples']} pairs of {run['target']}, "
                  f"{run['requests']} requests, ${run['cost']:.4f}, approved {rate}")
    for name, pool in stats["general_pools"].items():
        out.print(f"general pool {_literal(name)}: {pool['rows']} rows from {_literal(pool['source'])}, "
                  f"license {_literal(pool['license'] or 'unknown')}")


def _filter(status: str | None, reason: str | None, source: str | None, lang: str | None = None,
            text: str | None = None, no_findings: bool = False) -> SampleFilter:
    if status and status not in STATUSES:
        raise FactoryError(f"--status must be one of {', '.join(STATUSES)}, got {status!r}")
    # General-pool samples are mixed in at freeze, not reviewed: listed only with --source general.
    return SampleFilter(status=status, reason=reason, source_kind=source, lang=lang, text=text,
                        no_findings=no_findings, include_general=False)


StatusOpt = Annotated[Optional[str], typer.Option("--status", help="pending, approved or rejected.")]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="A finding's reason code.")]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Source kind: notes, dataset, or general "
                                                                   "(general pools are hidden otherwise).")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="Language code, e.g. zh.")]


@app.command("ls")
def list_samples(status: StatusOpt = None, reason: ReasonOpt = None, source: SourceOpt = None, lang: LangOpt = None,
                 text: Annotated[Optional[str], typer.Option("--text", help="Substring search.")] = None,
                 limit: Annotated[int, typer.Option(help="At most this many (0: all).")] = 50,
                 as_json: JsonFlag = False) -> None:
    """List samples with their findings (JSON lines with the full record under --json)."""
    flt = _filter(status, reason, source, lang, text)
    with _ws().open_store(for_reading=True) as store:
        total = store.count(flt)
        samples = store.samples(flt, limit=limit or None)
        replaces = store.replaced_ids([s.id for s in samples]) if as_json else {}
    if as_json:
        for s in samples:  # `replaces`: the reviewed pair a changed pair of a note stands for, or null
            out.file.write(json.dumps({**s.model_dump(mode="json"), "replaces": replaces.get(s.id)},
                                      ensure_ascii=False) + "\n")
        return
    table = Table(show_lines=False, expand=True)
    for column in ("id", "status", "lang", "instruction", "findings"):
        table.add_column(column, overflow="fold", ratio=4 if column == "instruction" else None)
    for s in samples:
        table.add_row(s.id, s.status, _literal(s.lang or ""), _literal(s.instruction[:120]),
                      ", ".join(f.code for f in s.findings))
    out.print(table)
    if total > len(samples):
        out.print(f"{len(samples)} of {total} shown; use --limit 0 for all")


def _resolve_ids(store: Any, ids: list[str]) -> list[str]:
    resolved = []
    for given in ids:
        matches = store.find_ids(given)
        if given in matches:
            resolved.append(given)
        elif len(matches) == 1:
            resolved.append(matches[0])
        else:
            raise FactoryError(f"{given}: " + ("no such sample" if not matches else "ambiguous id prefix"))
    return resolved


@app.command()
def show(sample_id: str, as_json: JsonFlag = False) -> None:
    """One sample with its source, findings and full history, and the reviewed pair it replaces."""
    from factory.review import replacement

    with _ws().open_store(for_reading=True) as store:
        (sample_id,) = _resolve_ids(store, [sample_id])
        sample, history = store.get(sample_id), store.history(sample_id)
        related = {f.related_id: store.get(f.related_id) for f in sample.findings
                   if f.related_id and store.find_ids(f.related_id) == [f.related_id]}
        replaced = replacement(store, sample)
        successors = [store.get(i) for i in store.replacements_of(sample_id)]
    if as_json:
        return _print_json({"sample": sample.model_dump(), "history": [h.model_dump() for h in history],
                            "related": {i: r.model_dump() for i, r in related.items()},
                            "replaces": replaced and {"id": replaced.old.id, "status": replaced.old.status,
                                                      "decision": replaced.decision, "diff": replaced.diffs,
                                                      "similarity": round(replaced.similarity, 4)},
                            "replaced_by": [s.id for s in successors]})
    out.print(f"[bold]{sample.id}[/] {sample.status} rev {sample.revision} lang {_literal(sample.lang)} "
              f"from {_literal(sample.source.uri)} {_literal(json.dumps(sample.source.locator, ensure_ascii=False))}")
    if replaced:  # the difference from the text a person decided on, as `[-removed-]{+added+}`
        out.print(f"[bold]replaces {replaced.old.id}[/] ({_literal(replaced.decision)}); changed from that text:")
        for name in ("instruction", *(n for n in replaced.diffs if n != "instruction")):
            out.print(f"  {name}: {_literal(replaced.diffs.get(name, 'unchanged'))}")
    for s in successors:
        out.print(f"replaced by {s.id} ({s.status})")
    out.print("[bold]instruction[/]", _literal(sample.instruction))
    if sample.input:
        out.print("[bold]input[/]", _literal(sample.input))
    out.print("[bold]output[/]", _literal(sample.output))
    for f in sample.findings:
        out.print(f"  [yellow]{f.severity}[/] {f.code}: {_literal(f.message)}")
        if f.related_id in related:  # the sample it duplicates, so both can be compared here
            other = related[f.related_id]
            out.print(f"    {other.id} ({other.status}, {_literal(other.source.uri)}): "
                      f"{_literal(other.instruction[:100])} → {_literal(other.output[:160])}")
    for h in history:
        out.print(f"  {h.at} {_literal(h.actor)} {_literal(h.action)} r{h.revision} "
                  f"{_literal(json.dumps(h.changes, ensure_ascii=False)[:200])}")


@app.command()
def jobs(limit: int = 20, as_json: JsonFlag = False) -> None:
    """Recent jobs (extraction, checks) with their counts and errors."""
    with _ws().open_store(for_reading=True) as store:
        runs = store.jobs(limit)
    if as_json:
        return _print_json([r.model_dump() for r in runs])
    table = Table()
    # replacing: of the added, pairs that replace a reviewed pair; moved: the same pair at new lines;
    # shared: pairs already known from another note or source (a new origin, not an update)
    for column in ("id", "kind", "source", "state", "started", "added", "replacing", "retired", "moved", "shared",
                   "updated", "skipped", "errors"):
        table.add_column(column)
    for r in runs:
        table.add_row(str(r.id), r.kind, _literal(r.source), r.state, r.started_at[:19].replace("T", " "),
                      *(str(n) for n in (r.added, r.replaced, r.retired, r.moved, r.shared, r.updated, r.skipped,
                                         r.errors)))
    out.print(table)
    for r in runs[:1]:
        for e in r.error_log:
            out.print(f"  job {r.id}: {_literal(e['error'])}")


# -- review --------------------------------------------------------------------------------
def _review(new_status: str, ids: list[str], status: str | None, reason: str | None, source: str | None,
            lang: str | None, no_findings: bool, reviewer: str | None, note: str | None) -> None:
    with _ws().open_store() as store:
        if ids:
            targets = _resolve_ids(store, ids)
            changed = store.set_status(targets, new_status, actor=_reviewer(reviewer), reason=note)
            out.print(f"{new_status} {changed} sample(s)" + (f" ({len(targets) - changed} already {new_status})"
                                                            if len(targets) > changed else ""))
            return
        if not any((status, reason, source, lang, no_findings)):
            raise FactoryError("give sample ids, or a filter such as --no-findings or --reason CODE")
        # Selected and written chunk by chunk in one transaction each: what someone else decides
        # while this runs (a reviewer in the app, a check, another bulk command) is left as they made it.
        flt = _filter(status or "pending", reason, source, lang, no_findings=no_findings)
        with _progress(f"{new_status}") as progress:
            result = store.set_status_matching(flt, new_status, actor=_reviewer(reviewer), reason=note,
                                               progress=progress)
    others = result.matched_at_start - result.changed
    out.print(f"{new_status} {result.changed} sample(s)"
              + (f" ({others} decided or changed by someone else meanwhile, left as they are)" if others > 0 else ""))


ReviewerOpt = Annotated[Optional[str], typer.Option(help="Name in the history (default $FACTORY_REVIEWER or "
                                                         "your login).")]
NoFindingsOpt = Annotated[bool, typer.Option("--no-findings", help="Only samples the checks found nothing in.")]


@app.command()
def approve(ids: Annotated[Optional[list[str]], typer.Argument(help="Sample ids (or unique prefixes).")] = None,
            status: StatusOpt = None, reason: ReasonOpt = None, source: SourceOpt = None, lang: LangOpt = None,
            no_findings: NoFindingsOpt = False, reviewer: ReviewerOpt = None,
            replacements: Annotated[bool, typer.Option("--replacements", help="Re-approve every pending pair that "
                                                       "replaces an approved pair of its note and changed little "
                                                       "(see --min-similarity); the others stay pending.")] = False,
            min_similarity: Annotated[float, typer.Option(help="With --replacements: how alike (0-1) the new and "
                                                          "the approved text must be.")] = SMALL_CHANGE) -> None:
    """Approve samples by id, or every sample matching the filters (pending by default)."""
    if replacements:
        return _reapprove(min_similarity, reviewer, given=bool(ids) or any((status, reason, source, lang, no_findings)))
    _review("approved", ids or [], status, reason, source, lang, no_findings, reviewer, None)


def _reapprove(min_similarity: float, reviewer: str | None, *, given: bool) -> None:
    from factory.review import small_replacements

    if given:
        raise FactoryError("--replacements chooses the samples itself; give it no ids or filters")
    with _ws().open_store() as store, store.transaction():  # chosen and approved in one go: nobody changes one between
        chosen, others = small_replacements(store, min_similarity)
        changed = store.set_status(list(chosen), "approved", actor=_reviewer(reviewer), expected_revisions=chosen)
    out.print(f"re-approved {changed} replacement(s) of approved pairs whose text changed little "
              f"(similarity at least {min_similarity:.2f})"
              + (f"; {others} changed more: review them in the Queue, or with `factory show ID`" if others else ""))


@app.command()
def reject(ids: Annotated[Optional[list[str]], typer.Argument(help="Sample ids (or unique prefixes).")] = None,
           status: StatusOpt = None, reason: ReasonOpt = None, source: SourceOpt = None, lang: LangOpt = None,
           no_findings: NoFindingsOpt = False, reviewer: ReviewerOpt = None,
           because: Annotated[Optional[str], typer.Option("--because", help="Why, kept in the history.")] = None
           ) -> None:
    """Reject samples by id, or every sample matching the filters (pending by default)."""
    _review("rejected", ids or [], status, reason, source, lang, no_findings, reviewer, because)


# -- versions ------------------------------------------------------------------------------
@app.command()
def freeze(name: str,
           eval_ratio: Annotated[Optional[float], typer.Option(help="Share held out for eval (config default 0.1).")]
           = None,
           seed: Annotated[Optional[int], typer.Option(help="Seed of the split and the general sample "
                                                         "(config default 0).")] = None,
           general_pool: Annotated[Optional[str], typer.Option(help="General pool to mix in against forgetting "
                                                               "(imported with --pool; config freeze.general_pool)."
                                                               )] = None,
           general_ratio: Annotated[Optional[float], typer.Option(help="Share of the train split that is general "
                                                                  "data (config default 0.1).")] = None,
           wait: WaitFlag = False, as_json: JsonFlag = False) -> None:
    """Freeze the approved samples (plus general data from a pool) into an immutable version NAME@vN."""
    from factory.versions import freeze_version

    with _progress("freezing") as progress:
        version, _ = freeze_version(_ws(), name, eval_ratio=eval_ratio, seed=seed, general_pool=general_pool,
                                    general_ratio=general_ratio, wait=wait, progress=progress)
    if as_json:
        return _print_json({"ref": version.ref, "path": str(version.path), **version.manifest})
    out.print(_version_summary(version.manifest, "froze"))


def _version_summary(manifest: dict[str, Any], verb: str) -> str:
    counts, general = manifest["counts"], manifest.get("general")
    text = f"{verb} [bold]{manifest['ref']}[/]: {counts['train']} train, {counts['eval']} eval"
    if general:
        text += (f" ({general['train']} of the train from general pool {_literal(general['pool'])}, ratio "
                 f"{general['ratio']['achieved']:.3f}; {general['held_out']} in general_eval.jsonl)")
    return text + f", hash {manifest['dataset_hash'][:12]}"


@app.command()
def versions(as_json: JsonFlag = False) -> None:
    """Every frozen version."""
    from factory.versions import list_versions

    found = list_versions(_ws(), damaged=True)  # a damaged one is shown as such, not left out
    if as_json:
        return _print_json([{"ref": v.ref, "path": str(v.path), "dataset_hash": v.dataset_hash or None,
                             "created_at": v.manifest.get("created_at"), "counts": v.manifest.get("counts"),
                             "damaged": v.damaged} for v in found])
    if not found:
        out.print("no versions yet; `factory freeze NAME` makes one")
    for v in found:
        if v.damaged:
            out.print(f"{v.ref}  [red]damaged: {_literal(v.damaged)}[/]")
            continue
        c = v.manifest["counts"]
        out.print(f"{v.ref}  {v.dataset_hash[:12]}  {v.manifest['created_at']}  {c.get('train')} train / "
                  f"{c.get('eval')} eval" + ("  (not recorded in the store: frozen before it kept records)"
                                             if v.legacy else ""))


@app.command()
def verify(ref: Annotated[str, typer.Argument(help="NAME@vN, NAME@latest or NAME@<hash prefix>.")],
           as_json: JsonFlag = False) -> None:
    """Recompute every hash of a version and compare them with the store's record; exit 1 on any difference."""
    from factory.versions import legacy_note, resolve_version, verify_version

    version = resolve_version(_ws(), ref)
    problems = verify_version(version)
    note = None if problems else legacy_note(version)
    if as_json:
        _print_json({"ref": version.ref, "ok": not problems, "problems": problems, "note": note})
    elif problems:
        for p in problems:
            err.print(f"[red]{version.ref}: {_literal(p)}[/]")
    else:
        out.print(f"{version.ref} verified: {version.dataset_hash}")
        if note:
            out.print(f"note: {_literal(note)}")
    if problems:
        raise typer.Exit(1)


@app.command()
def export(ref: Annotated[str, typer.Argument(help="NAME@vN, NAME@latest or NAME@<hash prefix>.")],
           fmt: Annotated[str, typer.Option("--format", help="alpaca, sharegpt, openai or llamafactory.")],
           out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")]) -> None:
    """Write a version in a trainer's format."""
    from factory.exports import export_version
    from factory.versions import resolve_version

    version = resolve_version(_ws(), ref)
    for path in export_version(version, fmt, out_dir):  # type: ignore[arg-type]
        out.print(f"wrote {path}")


@app.command()
def demo(path: Annotated[Path, typer.Argument(help="Folder for the demo workspace.")] = Path("factory-demo")
         ) -> None:
    """Build a workspace from bundled example notes: extract, check, approve the clean ones, freeze demo@v1."""
    from factory.demo import run_demo

    with _progress("demo") as progress:
        result = run_demo(path, progress=progress)
    stats, job, version, dataset = result.stats, result.job, result.version, result.dataset
    out.print(f"[bold]demo workspace:[/] {result.workspace.root}")
    out.print(f"notes: {job.added} pairs extracted, {job.errors} bad files skipped "
              f"({', '.join(e['file'] for e in job.error_log)})")
    if not dataset.unchanged_source:
        out.print(f"dataset {dataset.uri}: {dataset.rows} rows as {dataset.format}, {dataset.job.added} added, "
                  f"{dataset.repeated} repeated, {dataset.bad_rows} unreadable rows skipped")
    out.print(f"general pool {result.pool.job.source.split(':', 1)[1]}: {result.pool.rows} bilingual samples "
              "(kept out of review)")
    out.print("checks: " + ", ".join(f"{k} {v}" for k, v in stats["by_reason"].items()))
    out.print("samples: " + ", ".join(f"{k} {v}" for k, v in stats["by_status"].items()))
    out.print(_version_summary(version.manifest, "froze" if result.new_version else "unchanged since"))
    out.print("\nnext, from the demo folder:")
    if shutil.which("factory") is None:  # installed in a venv that is not active
        out.print(f"  source {Path(sys.executable).parent / 'activate'}")
    out.print(f"  cd {path}")
    for line in ("factory review       # the review app in your browser: queue, table, versions",
                 "factory status", "factory ls --status pending", "factory ls --reason refusal", "factory show ID",
                 "factory approve ID   # or: factory reject ID --because 'why'",
                 "factory freeze demo", "factory verify demo@latest",
                 "factory export demo@latest --format llamafactory --out export/"):
        out.print(f"  {line}")


# -- the review app ------------------------------------------------------------------------
@app.command()
def review(port: Annotated[int, typer.Option(help="Port to serve the app on.")] = 8501,
           host: Annotated[str, typer.Option(help="Address to bind; the default lets only this machine in "
                                                   "(0.0.0.0 opens it to the network).")] = "127.0.0.1") -> None:
    """Open the review app on this workspace: queue, table, dataset, versions and jobs (Ctrl+C stops it)."""
    import importlib.util
    import signal
    import subprocess

    ws = _ws()
    if importlib.util.find_spec("streamlit") is None:
        raise FactoryError("the review app needs Streamlit: pip install 'streamlit>=1.40'")
    import review_app

    command = [sys.executable, "-m", "streamlit", "run", str(Path(review_app.__file__).parent / "app.py"),
               "--server.port", str(port), "--server.address", host, "--server.headless", "true",
               "--server.fileWatcherType", "none", "--server.enableStaticServing", "false",
               "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    out.print(f"reviewing {_literal(ws.root)} at http://{'localhost' if host == '127.0.0.1' else host}:{port} "
              "(Ctrl+C stops it)")
    child = subprocess.Popen(command, env={**os.environ, "FACTORY_WORKSPACE": str(ws.root)})
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())  # stopped by a service manager: stop the app too
    try:
        code = child.wait()
    except KeyboardInterrupt:  # the terminal sent Ctrl+C to Streamlit too; let it finish shutting down
        code = child.wait()
    if code not in (0, -2, 130):
        raise typer.Exit(code)


from train.commands import register as register_training  # noqa: E402 - it extends the commands above

register_training(app)  # train, runs, eval, chat, and runs in `export`; torch is imported lazily


def main() -> None:
    try:
        _run_app()
    except FactoryError as exc:
        err.print(f"[red]error:[/] {_literal(exc)}")
        sys.exit(1)
    except KeyboardInterrupt:  # before or after a command (typer handles it during one, below)
        err.print("[red]interrupted[/]")
        sys.exit(130)


def _run_app() -> None:
    """The app, with what the machine did to it (a full disk, a read-only or locked store, a file it may
    not read) raised as the FactoryError saying so; any other error is a bug and keeps its traceback."""
    try:
        app()
    except SystemExit as exc:
        if exc.code == 130:  # typer's exit for Ctrl+C during a command, which it leaves unsaid
            err.print("[red]interrupted[/]")
        raise
    except (sqlite3.Error, OSError) as exc:
        error = _machine_error(exc)
        if error is None:
            raise
        raise error from None


def _machine_error(exc: sqlite3.Error | OSError) -> FactoryError | None:
    ws: Workspace | None = _state["ws"]  # the store SQLite means is this command's workspace's
    if isinstance(exc, sqlite3.Error):
        return store_error(exc, ws.store_path if ws else None, holder=ws.running_job() if ws else None)
    # A failed write names no file (only a failed open does); when the workspace's disk is the full one, say so.
    if exc.errno == errno.ENOSPC and not exc.filename and ws and os.statvfs(ws.factory_dir).f_bavail == 0:
        return DiskFull(f"the disk holding {ws.factory_dir} is full; free some space and run the command again")
    return os_error(exc)
