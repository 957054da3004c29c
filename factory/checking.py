"""The check runner: runs the pure checks over pending samples and does the bookkeeping.

It sets each sample's language, replaces its findings, auto-rejects samples with a finding of
severity `reject`, and records all of it in the history under the actor "check".

Samples from notes are checked against their note too: the runner reads each note once, at the
path its samples name, and hands the checks the lines each sample was made from (`formulas`
compares the math; `junk` and `answers` tell a paragraph the note left without a full stop from a
cut one, and find an image's alt text left where the image was dropped).

Duplicates are looked for across all sources (general pools included) and against every frozen
version: a sample frozen earlier and since rejected or retired is still what a model was
trained on, so a new copy of it is reported with the version that holds it.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from factory.checks import CHECKS, REASON_CODES, CheckContext, run_checks
from factory.checks.language import sample_languages
from factory.errors import BadInput
from factory.jobs import failure_line, job_lock
from factory.progress import Progress, no_progress
from factory.sample import Finding, Sample, Source
from factory.store import CheckResult, SampleFilter, Store, SyncCounts
from factory.tokens import load_token_counter
from factory.versions import list_versions
from factory.workspace import Workspace


@dataclass
class CheckSummary:
    checked: int = 0
    rejected: int = 0
    warned: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    # Changed by a person while the check ran: left unchecked, with what they decided, for the next run.
    changed_meanwhile: list[str] = field(default_factory=list)


def check_pending(ws: Workspace, *, recheck: bool = False, wait: bool = False,
                  progress: Progress = no_progress) -> CheckSummary:
    """Check pending samples not checked since their last change (all pending ones with `recheck`)."""
    for code in ws.config.checks.severity:  # a typo here would silently change nothing
        if code not in REASON_CODES:
            raise BadInput(f"{ws.config_path}: checks.severity.{code}: unknown reason code; "
                           "`factory reasons` lists them")
    with job_lock(ws.lock_path, "check", wait=wait), ws.open_store() as store:
        job_id = store.start_job("check", "pending", os.getpid())
        try:
            summary = _check_batch(ws, store, recheck, progress)
        except BaseException as exc:  # a bug fails the job, Ctrl-C interrupts it; either way it is not "running"
            store.update_job(job_id, state="failed" if isinstance(exc, Exception) else "interrupted",
                             errors=[{"file": "", "error": failure_line(exc)}])
            raise
        store.update_job(job_id, state="completed", counts=SyncCounts(updated=summary.checked),
                         skipped=len(summary.changed_meanwhile))
        return summary


def _check_batch(ws: Workspace, store: Store, recheck: bool, progress: Progress) -> CheckSummary:
    batch = store.samples(SampleFilter(status="pending", unchecked=not recheck))
    batch_ids = {s.id for s in batch}
    # Approved samples and pending ones already checked are the reference: they win ties.
    reference = [s for s in store.samples(SampleFilter()) if s.id not in batch_ids and s.status != "rejected"]
    frozen = _frozen_samples(ws, skip=batch_ids | {s.id for s in reference})
    cfg = ws.config.checks
    ctx = CheckContext(config=cfg, reference=reference + [s for s, _ in frozen.values()],
                       count_tokens=load_token_counter(cfg.tokenizer) if cfg.tokenizer else None,
                       source_texts=source_texts(ws.root, batch))
    findings: dict[str, list] = {s.id: [] for s in batch}
    for done, name in enumerate(CHECKS, 1):
        for sample_id, found in run_checks(batch, ctx, names=[name]).items():
            findings[sample_id].extend(_name_version(f, frozen) for f in found)
        progress(done, len(CHECKS))
    results = {}
    for sample in batch:
        found = findings[sample.id]
        # The revision read with the text: what a reviewer changed meanwhile is not overwritten.
        results[sample.id] = CheckResult(lang=sample_languages(sample.instruction, sample.output)[2],
                                         findings=found, reject=any(f.severity == "reject" for f in found),
                                         revision=sample.revision)
    saved = store.save_check_results(results, actor="check")
    summary = CheckSummary(checked=len(batch) - len(saved.changed_meanwhile), rejected=saved.rejected,
                           changed_meanwhile=saved.changed_meanwhile)
    for sample_id, result in results.items():
        if sample_id in saved.changed_meanwhile:
            continue
        summary.warned += bool(result.findings) and not result.reject
        for code in {f.code for f in result.findings}:
            summary.by_reason[code] = summary.by_reason.get(code, 0) + 1
    return summary


NOTE_SOURCE_KINDS = ("notes", "notes_llm")


def source_texts(root: Path, samples: Sequence[Sample]) -> dict[str, str]:
    """The note text each note sample was made from, by sample id: its note's lines at
    `locator["lines"]` (1-based, inclusive), and for an LLM pair its `evidence` quote too.

    A note is named by its uri, relative to the workspace root or absolute, and read once. A note
    that is gone, unreadable, not UTF-8, or changed since the sample was extracted (its sha256 is
    not the sample's `content_hash`) gives nothing: the sample is not compared with it, and the
    next extraction replaces the sample anyway.
    """
    notes: dict[str, tuple[str, list[str]] | None] = {}
    texts: dict[str, str] = {}
    for sample in samples:
        source = sample.source
        if source.kind not in NOTE_SOURCE_KINDS or not source.uri:
            continue
        if source.uri not in notes:
            notes[source.uri] = _read_note(root, source.uri)
        note = notes[source.uri]
        if note is None or (source.content_hash and source.content_hash != note[0]):
            continue
        parts = []
        lines = source.locator.get("lines")
        if isinstance(lines, (list, tuple)) and len(lines) == 2 and all(isinstance(n, int) for n in lines):
            start, end = lines
            parts.append("\n".join(note[1][max(start, 1) - 1 : max(end, 0)]))
        evidence = source.locator.get("evidence")
        if isinstance(evidence, str) and evidence.strip():
            parts.append(evidence)
        if any(p.strip() for p in parts):
            texts[sample.id] = "\n".join(parts)
    return texts


def _read_note(root: Path, uri: str) -> tuple[str, list[str]] | None:
    """(sha256 of the decoded text, its lines) as extraction read it: UTF-8 without BOM, unix
    newlines; None when it cannot be read."""
    path = Path(uri)
    try:
        data = (path if path.is_absolute() else root / path).read_bytes()
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), text.split("\n")


def _frozen_samples(ws: Workspace, skip: set[str]) -> dict[str, tuple[Sample, str]]:
    """Records of every frozen version that are not live samples any more, by id, with the first
    version that holds each."""
    found: dict[str, tuple[Sample, str]] = {}
    for version in list_versions(ws):
        for split in ("train", "eval", "general_eval"):
            if not (version.path / f"{split}.jsonl").is_file():
                continue
            for record in version.records(split):
                if record["id"] in skip or record["id"] in found:
                    continue
                sample = Sample(id=record["id"], instruction=record["instruction"], input=record["input"],
                                output=record["output"], system=record.get("system"),
                                history=[tuple(t) for t in record.get("history") or []],
                                source=Source(**record["source"]), lang=record.get("lang"), status="approved")
                found[record["id"]] = (sample, version.ref)
    return found


def _name_version(finding: Finding, frozen: dict[str, tuple[Sample, str]]) -> Finding:
    if finding.related_id in frozen:
        ref = frozen[finding.related_id][1]
        return finding.model_copy(update={"message": f"{finding.message}; that sample is frozen in {ref}"})
    return finding
