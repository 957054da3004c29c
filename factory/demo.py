"""`factory demo`: the whole left half of the pipeline on bundled example notes.

The notes are ~20 realistic team notes in Chinese and English, a few with deliberate problems
(a duplicated pair, a near copy, placeholder answers, HTML residue, a GBK-encoded file, broken
front matter, an empty file) so every stage has something to show.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from factory.checking import check_pending
from factory.ingest import extract_notes
from factory.progress import Progress, no_progress
from factory.store import JobRun, SampleFilter
from factory.versions import VersionInfo, freeze_version
from factory.workspace import Workspace, init_workspace

DEMO_VERSION = "demo"
REVIEWER = "demo"


@dataclass
class DemoResult:
    workspace: Workspace
    job: JobRun
    stats: dict[str, Any]
    version: VersionInfo
    new_version: bool


def bundled_notes() -> Path:
    return Path(str(resources.files("factory") / "demo" / "notes"))


def run_demo(path: Path, *, progress: Progress = no_progress) -> DemoResult:
    ws = init_workspace(path)
    notes = ws.root / "notes"
    shutil.copytree(bundled_notes(), notes, dirs_exist_ok=True)
    job = extract_notes(ws, notes, progress=progress)
    check_pending(ws, progress=progress)
    with ws.open_store() as store:
        clean = store.ids(SampleFilter(status="pending", no_findings=True))
        store.set_status(clean, "approved", actor=REVIEWER, reason="demo: no findings")
        stats = store.stats()
    version, new = freeze_version(ws, DEMO_VERSION, reuse_identical=True, progress=progress)
    return DemoResult(workspace=ws, job=job, stats=stats, version=version, new_version=new)
