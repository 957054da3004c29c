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

import getpass
import json
import logging
import os
import shutil
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

from factory.errors import FactoryError, WorkspaceNotFound
from factory.progress import Progress as ProgressCallback
from factory.sample import STATUSES
from factory.store import SampleFilter
from factory.workspace import Workspace, find_workspace, init_workspace

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Turn notes, open datasets and API models into reviewed, versioned SFT datasets.")
extract_app = typer.Typer(no_args_is_help=True, help="Extract samples from a source into the store.")
app.add_typer(extract_app, name="extract")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # errors stay one line, never wrapped
_state: dict[str, Any] = {"workspace": None}

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
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def _ws() -> Workspace:
    return find_workspace(_state["workspace"])


def _reviewer(name: str | None) -> str:
    return name or os.environ.get("FACTORY_REVIEWER") or getpass.getuser()


def _print_json(value: Any) -> None:
    out.file.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def _progress(label: str) -> Iterator[ProgressCallback]:
    """A progress bar on stderr; yields the (done, total) callback library code calls."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


# -- workspace and sources -----------------------------------------------------------------
@app.command()
def init(path: Annotated[Path, typer.Argument(help="Folder to make a workspace in.")] = Path(".")) -> None:
    """Create a workspace: .factory/ with the store, config.toml and versions/."""
    ws = init_workspace(path)
    out.print(f"workspace ready at {ws.root} (config: {ws.config_path.relative_to(ws.root)})")


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
        out.print(f"notes (llm): {job.added} added, {job.updated} updated, {job.retired} retired, "
                  f"{job.skipped} unchanged notes skipped, {job.errors} notes with errors (job {job.id})")
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
        out.print(f"notes: {job.added} added, {job.updated} updated, {job.retired} retired, "
                  f"{job.skipped} unchanged notes skipped, {job.errors} bad files (job {job.id})")
    for error in job.error_log[:10]:
        err.print(f"  {escape(error['error'])}")


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
        out.print(f"{target}: unchanged since the last import of {escape(result.uri)}; nothing to do (job {job.id})")
        return
    out.print(f"{escape(target)}: {result.rows} rows read as {result.format}; {job.added} added, "
              f"{job.updated} already known from other sources, {job.retired} retired, "
              f"{result.repeated} repeated rows, {result.bad_rows} bad rows skipped (job {job.id})")
    shown = f"{result.license} (from {result.license_from})" if result.license else "unknown; pass --license"
    out.print(f"license: {escape(shown)}")
    if result.non_commercial:
        err.print(f"warning: {escape(result.license)} forbids commercial use; versions with these samples say so")
    if not pool:
        out.print("next: `factory check`, then `factory status` and `factory ls --reason CODE`")


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
        err.print(f"warning: stopped before the target: {result.stopped}; run the same command to continue")
    out.print("next: `factory check`, then review them (`factory ls --source self_instruct`)")


@app.command()
def ledger(run_id: Annotated[Optional[str], typer.Argument(help="A generation run id (default: every run).")] = None,
           as_json: JsonFlag = False) -> None:
    """Generation runs and every model request they made: tokens, cost, latency, outcome, samples."""
    with _ws().open_store() as store:
        runs = [r for r in store.llm_runs() if run_id in (None, r["id"])]
        if run_id and not runs:
            raise FactoryError(f"{run_id}: no such generation run; `factory ledger` lists them")
        entries = {r["id"]: store.llm_requests(r["id"]) for r in runs}
    if as_json:
        return _print_json([{**r, "requests_log": [e.model_dump() for e in entries[r["id"]]]} for r in runs])
    for r in runs:
        out.print(f"[bold]{r['id']}[/] {r['state']} {r['model']}: {r['samples']} pairs of {r['target']}, "
                  f"{r['requests']} requests ({r['failed_requests']} failed), {r['tokens_in']:,} tokens in, "
                  f"{r['tokens_out']:,} out, ${r['cost']:.4f}")
        for e in entries[r["id"]] if run_id else []:
            out.print(f"  {escape(e.key)}: {e.outcome}, {e.attempts} attempt(s), {e.latency_ms} ms, "
                      f"{e.tokens_in}+{e.tokens_out} tokens, {len(e.produced)} pairs, {e.rejected} filtered"
                      + (f", {escape(e.error)}" if e.error else ""))


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
    with _ws().open_store() as store:
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
            out.print(f"by {title}: " + ", ".join(f"{k} {v}" for k, v in stats[key].items()))
    for run in stats["generation_runs"]:
        rate = "n/a" if run["acceptance_rate"] is None else f"{run['acceptance_rate']:.0%}"
        out.print(f"generation run {run['id']} ({run['state']}): {run['samples']} pairs of {run['target']}, "
                  f"{run['requests']} requests, ${run['cost']:.4f}, approved {rate}")
    for name, pool in stats["general_pools"].items():
        out.print(f"general pool {escape(name)}: {pool['rows']} rows from {escape(str(pool['source']))}, "
                  f"license {escape(pool['license'] or 'unknown')}")


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
    with _ws().open_store() as store:
        total = store.count(flt)
        samples = store.samples(flt, limit=limit or None)
    if as_json:
        for s in samples:
            out.file.write(s.model_dump_json() + "\n")
        return
    table = Table(show_lines=False, expand=True)
    for column in ("id", "status", "lang", "instruction", "findings"):
        table.add_column(column, overflow="fold", ratio=4 if column == "instruction" else None)
    for s in samples:
        table.add_row(s.id, s.status, s.lang or "", escape(s.instruction[:120]),
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
    """One sample with its source, findings and full history."""
    with _ws().open_store() as store:
        (sample_id,) = _resolve_ids(store, [sample_id])
        sample, history = store.get(sample_id), store.history(sample_id)
        related = {f.related_id: store.get(f.related_id) for f in sample.findings
                   if f.related_id and store.find_ids(f.related_id) == [f.related_id]}
    if as_json:
        return _print_json({"sample": sample.model_dump(), "history": [h.model_dump() for h in history],
                            "related": {i: r.model_dump() for i, r in related.items()}})
    out.print(f"[bold]{sample.id}[/] {sample.status} rev {sample.revision} lang {sample.lang} "
              f"from {escape(sample.source.uri)} {escape(json.dumps(sample.source.locator, ensure_ascii=False))}")
    out.print("[bold]instruction[/]", escape(sample.instruction))
    if sample.input:
        out.print("[bold]input[/]", escape(sample.input))
    out.print("[bold]output[/]", escape(sample.output))
    for f in sample.findings:
        out.print(f"  [yellow]{f.severity}[/] {f.code}: {escape(f.message)}")
        if f.related_id in related:  # the sample it duplicates, so both can be compared here
            other = related[f.related_id]
            out.print(f"    {other.id} ({other.status}, {escape(other.source.uri)}): "
                      f"{escape(other.instruction[:100])} → {escape(other.output[:160])}")
    for h in history:
        out.print(f"  {h.at} {h.actor} {h.action} r{h.revision} "
                  f"{escape(json.dumps(h.changes, ensure_ascii=False)[:200])}")


@app.command()
def jobs(limit: int = 20, as_json: JsonFlag = False) -> None:
    """Recent jobs (extraction, checks) with their counts and errors."""
    with _ws().open_store() as store:
        runs = store.jobs(limit)
    if as_json:
        return _print_json([r.model_dump() for r in runs])
    table = Table()
    for column in ("id", "kind", "source", "state", "started", "added", "updated", "retired", "skipped", "errors"):
        table.add_column(column)
    for r in runs:
        table.add_row(str(r.id), r.kind, escape(r.source), r.state, r.started_at, str(r.added), str(r.updated),
                      str(r.retired), str(r.skipped), str(r.errors))
    out.print(table)
    for r in runs[:1]:
        for e in r.error_log:
            out.print(f"  job {r.id}: {escape(e['error'])}")


# -- review --------------------------------------------------------------------------------
def _review(new_status: str, ids: list[str], status: str | None, reason: str | None, source: str | None,
            lang: str | None, no_findings: bool, reviewer: str | None, note: str | None) -> None:
    with _ws().open_store() as store:
        if ids:
            targets = _resolve_ids(store, ids)
        elif any((status, reason, source, lang, no_findings)):
            targets = store.ids(_filter(status or "pending", reason, source, lang, no_findings=no_findings))
        else:
            raise FactoryError("give sample ids, or a filter such as --no-findings or --reason CODE")
        changed = store.set_status(targets, new_status, actor=_reviewer(reviewer), reason=note)
    out.print(f"{new_status} {changed} sample(s)" + (f" ({len(targets) - changed} already {new_status})"
                                                    if len(targets) > changed else ""))


ReviewerOpt = Annotated[Optional[str], typer.Option(help="Name in the history (default $FACTORY_REVIEWER or "
                                                         "your login).")]
NoFindingsOpt = Annotated[bool, typer.Option("--no-findings", help="Only samples the checks found nothing in.")]


@app.command()
def approve(ids: Annotated[Optional[list[str]], typer.Argument(help="Sample ids (or unique prefixes).")] = None,
            status: StatusOpt = None, reason: ReasonOpt = None, source: SourceOpt = None, lang: LangOpt = None,
            no_findings: NoFindingsOpt = False, reviewer: ReviewerOpt = None) -> None:
    """Approve samples by id, or every sample matching the filters (pending by default)."""
    _review("approved", ids or [], status, reason, source, lang, no_findings, reviewer, None)


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
        text += (f" ({general['train']} of the train from general pool {escape(general['pool'])}, ratio "
                 f"{general['ratio']['achieved']:.3f}; {general['held_out']} in general_eval.jsonl)")
    return text + f", hash {manifest['dataset_hash'][:12]}"


@app.command()
def versions(as_json: JsonFlag = False) -> None:
    """Every frozen version."""
    from factory.versions import list_versions

    found = list_versions(_ws())
    if as_json:
        return _print_json([{"ref": v.ref, "path": str(v.path), "dataset_hash": v.dataset_hash,
                             "created_at": v.manifest["created_at"], "counts": v.manifest["counts"]} for v in found])
    if not found:
        out.print("no versions yet; `factory freeze NAME` makes one")
    for v in found:
        c = v.manifest["counts"]
        out.print(f"{v.ref}  {v.dataset_hash[:12]}  {v.manifest['created_at']}  {c['train']} train / {c['eval']} eval")


@app.command()
def verify(ref: Annotated[str, typer.Argument(help="NAME@vN, NAME@latest or NAME@<hash prefix>.")],
           as_json: JsonFlag = False) -> None:
    """Recompute every hash of a version; exit 1 on any difference."""
    from factory.versions import resolve_version, verify_version

    version = resolve_version(_ws(), ref)
    problems = verify_version(version)
    if as_json:
        _print_json({"ref": version.ref, "ok": not problems, "problems": problems})
    elif problems:
        for p in problems:
            err.print(f"[red]{version.ref}: {escape(p)}[/]")
    else:
        out.print(f"{version.ref} verified: {version.dataset_hash}")
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
    out.print(f"reviewing {escape(str(ws.root))} at http://{'localhost' if host == '127.0.0.1' else host}:{port} "
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
        app()
    except FactoryError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]")
        sys.exit(130)
