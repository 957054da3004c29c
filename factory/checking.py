"""The check runner: runs the pure checks over pending samples and does the bookkeeping.

It sets each sample's language, replaces its findings, auto-rejects samples with a finding of
severity `reject`, and records all of it in the history under the actor "check".

Duplicates are looked for across all sources (general pools included) and against every frozen
version: a sample frozen earlier and since rejected or retired is still what a model was
trained on, so a new copy of it is reported with the version that holds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from factory.checks import CHECKS, REASON_CODES, CheckContext, run_checks
from factory.checks.language import sample_languages
from factory.errors import BadInput
from factory.jobs import job_lock
from factory.progress import Progress, no_progress
from factory.sample import Finding, Sample, Source
from factory.store import CheckResult, SampleFilter, SyncCounts
from factory.tokens import load_token_counter
from factory.versions import list_versions
from factory.workspace import Workspace


@dataclass
class CheckSummary:
    checked: int = 0
    rejected: int = 0
    warned: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def check_pending(ws: Workspace, *, recheck: bool = False, wait: bool = False,
                  progress: Progress = no_progress) -> CheckSummary:
    """Check pending samples not checked since their last change (all pending ones with `recheck`)."""
    for code in ws.config.checks.severity:  # a typo here would silently change nothing
        if code not in REASON_CODES:
            raise BadInput(f"{ws.config_path}: checks.severity.{code}: unknown reason code; "
                           "`factory reasons` lists them")
    with job_lock(ws.lock_path, "check", wait=wait), ws.open_store() as store:
        job_id = store.start_job("check", "pending", os.getpid())
        batch = store.samples(SampleFilter(status="pending", unchecked=not recheck))
        batch_ids = {s.id for s in batch}
        # Approved samples and pending ones already checked are the reference: they win ties.
        reference = [s for s in store.samples(SampleFilter()) if s.id not in batch_ids and s.status != "rejected"]
        frozen = _frozen_samples(ws, skip=batch_ids | {s.id for s in reference})
        cfg = ws.config.checks
        ctx = CheckContext(config=cfg, reference=reference + [s for s, _ in frozen.values()],
                           count_tokens=load_token_counter(cfg.tokenizer) if cfg.tokenizer else None)
        findings: dict[str, list] = {s.id: [] for s in batch}
        for done, name in enumerate(CHECKS, 1):
            for sample_id, found in run_checks(batch, ctx, names=[name]).items():
                findings[sample_id].extend(_name_version(f, frozen) for f in found)
            progress(done, len(CHECKS))
        summary = CheckSummary(checked=len(batch))
        results = {}
        for sample in batch:
            found = findings[sample.id]
            reject = any(f.severity == "reject" for f in found)
            summary.warned += bool(found) and not reject
            for code in {f.code for f in found}:
                summary.by_reason[code] = summary.by_reason.get(code, 0) + 1
            results[sample.id] = CheckResult(lang=sample_languages(sample.instruction, sample.output)[2],
                                             findings=found, reject=reject)
        summary.rejected = store.save_check_results(results, actor="check")
        store.update_job(job_id, state="completed", counts=SyncCounts(updated=summary.checked))
        return summary


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
