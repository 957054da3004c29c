"""`factory demo`: the whole left half of the pipeline on bundled example data.

The notes are ~20 realistic team notes in Chinese and English, a few with deliberate problems
(a duplicated pair, a near copy, placeholder answers, HTML residue, a GBK-encoded file, broken
front matter, an empty file). The open dataset is a small Alpaca-style file with the problems
public datasets have (empty and "N/A" outputs, URL-only inputs, merged instructions, refusals,
control characters, truncated answers, copies, unreadable lines). The bundled bilingual starter
pool is mixed in at 10% against forgetting. Every stage has something to show.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from factory.checking import check_pending
from factory.importing import ImportResult, import_dataset
from factory.ingest import extract_notes
from factory.progress import Progress, no_progress
from factory.store import JobRun, SampleFilter
from factory.versions import VersionInfo, freeze_version
from factory.workspace import Workspace, init_workspace
from sources.open_datasets import DatasetRequest

DEMO_VERSION = "demo"
REVIEWER = "demo"
POOL = "starter"
DATASET_LICENSE = "apache-2.0"  # written for this project


@dataclass
class DemoResult:
    workspace: Workspace
    job: JobRun
    dataset: ImportResult
    pool: ImportResult
    stats: dict[str, Any]
    version: VersionInfo
    new_version: bool


def bundled_notes() -> Path:
    return Path(str(resources.files("factory") / "demo" / "notes"))


def bundled_dataset() -> Path:
    return Path(str(resources.files("factory") / "demo" / "datasets" / "open_qa.jsonl"))


def run_demo(path: Path, *, progress: Progress = no_progress) -> DemoResult:
    ws = init_workspace(path)
    notes = ws.root / "notes"
    shutil.copytree(bundled_notes(), notes, dirs_exist_ok=True)
    datasets = ws.root / "datasets"
    datasets.mkdir(exist_ok=True)
    shutil.copy2(bundled_dataset(), datasets / "open_qa.jsonl")
    job = extract_notes(ws, notes, progress=progress)
    dataset = import_dataset(ws, DatasetRequest(source=str(datasets / "open_qa.jsonl"), license=DATASET_LICENSE),
                             progress=progress)
    pool = import_dataset(ws, DatasetRequest(source="builtin:starter"), pool=POOL, progress=progress)
    check_pending(ws, progress=progress)
    with ws.open_store() as store:
        clean = store.ids(SampleFilter(status="pending", no_findings=True, include_general=False))
        store.set_status(clean, "approved", actor=REVIEWER, reason="demo: no findings")
        stats = store.stats()
    version, new = freeze_version(ws, DEMO_VERSION, general_pool=POOL, general_ratio=0.1, reuse_identical=True,
                                  progress=progress)
    return DemoResult(workspace=ws, job=job, dataset=dataset, pool=pool, stats=stats, version=version,
                      new_version=new)
