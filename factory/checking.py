"""The check runner: runs the pure checks over pending samples and does the bookkeeping.

It sets each sample's language, replaces its findings, auto-rejects samples with a finding of
severity `reject`, and records all of it in the history under the actor "check".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from factory.checks import CHECKS, REASON_CODES, CheckContext, run_checks
from factory.checks.language import detect_language
from factory.errors import BadInput
from factory.jobs import job_lock
from factory.progress import Progress, no_progress
from factory.store import CheckResult, SampleFilter, SyncCounts
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
        ctx = CheckContext(config=ws.config.checks, reference=reference)
        findings: dict[str, list] = {s.id: [] for s in batch}
        for done, name in enumerate(CHECKS, 1):
            for sample_id, found in run_checks(batch, ctx, names=[name]).items():
                findings[sample_id].extend(found)
            progress(done, len(CHECKS))
        summary = CheckSummary(checked=len(batch))
        results = {}
        for sample in batch:
            found = findings[sample.id]
            reject = any(f.severity == "reject" for f in found)
            summary.warned += bool(found) and not reject
            for code in {f.code for f in found}:
                summary.by_reason[code] = summary.by_reason.get(code, 0) + 1
            results[sample.id] = CheckResult(lang=detect_language(f"{sample.instruction}\n{sample.output}"),
                                             findings=found, reject=reject)
        summary.rejected = store.save_check_results(results, actor="check")
        store.update_job(job_id, state="completed", counts=SyncCounts(updated=summary.checked))
        return summary
