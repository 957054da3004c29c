"""A small real workspace for the review app: notes extracted from disk, a dataset imported from a
JSON lines file, a generation run in the ledger, and the checks run over all of it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from factory.checking import check_pending
from factory.demo import run_demo
from factory.importing import import_dataset
from factory.ingest import extract_notes
from factory.sample import Sample, Source
from factory.store import LedgerEntry, SampleFilter, new_sync_token
from factory.workspace import Workspace, init_workspace
from sources.open_datasets import DatasetRequest
from tests.conftest import REPO, qa_note, write_note

APP = REPO / "review_app" / "app.py"
HOSTILE = "<script>alert('x')</script> <b>bold</b> ![pixel](http://example.invalid/p.png) **not bold**"

NOTE_PAIRS = (
    ("How much memory does QLoRA need for a 7B model?",
     "About 6 GB for the 4-bit weights plus activations; a 16 GB card works with micro-batch 1."),
    ("What does gradient checkpointing trade?", "Compute for memory: activations are recomputed in the backward pass."),
    ("Why use NF4 instead of int4?", "NF4 levels follow a normal distribution, like trained weights do."),
)
DATASET_ROWS = (
    {"instruction": "What is a validation set?", "input": "", "output": "Data held out to tune choices on."},
    {"instruction": "Render this snippet", "input": HOSTILE, "output": HOSTILE},
    {"instruction": "How much memory does QLoRA need for a 7B model?",
     "input": "", "output": "About 6 GB for the 4-bit weights plus activations; a 16 GB card works with a "
                            "micro-batch of 1."},
)


@dataclass
class ReviewWorkspace:
    ws: Workspace
    note_ids: list[str]  # in note order
    hostile_id: str
    generated_id: str

    def app(self, reviewer: str | None = "ann") -> AppTest:
        """The app, run once; with a reviewer, past the name prompt, on the Queue page."""
        at = AppTest.from_file(str(APP), default_timeout=60)
        if reviewer:
            at.session_state["reviewer"] = reviewer
        return at.run()


def build_workspace(root: Path) -> ReviewWorkspace:
    ws = init_workspace(root)
    write_note(ws.root / "notes", "gpu.md", "---\ntags: [gpu]\n---\n" + qa_note(*NOTE_PAIRS, title="GPU memory"))
    extract_notes(ws, ws.root / "notes")
    data = ws.root / "datasets" / "qa.jsonl"
    data.parent.mkdir()
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in DATASET_ROWS), encoding="utf-8")
    import_dataset(ws, DatasetRequest(source=str(data), license="apache-2.0"))
    with ws.open_store() as store:
        generated = Sample(instruction="Explain LoRA rank in one sentence.", output="The rank bounds the update.",
                           source=Source(kind="self_instruct", uri="run-1", locator={"request": "round 1: instances"}))
        store.start_llm_run("run-1", "self_instruct", {"domain": "fine-tuning"}, "test-model", "http://127.0.0.1", 10)
        store.record_llm_request("run-1", LedgerEntry(key="round 1: instances", model="test-model", template_hash="t",
                                                      tokens_in=120, tokens_out=80, cost=0.0123),
                                 [generated], actor="job:generate", token=new_sync_token())
        store.finish_llm_run("run-1", "completed")
    check_pending(ws)
    with ws.open_store() as store:
        notes = store.samples(SampleFilter(source_kind="notes"))
        hostile = [s for s in store.samples() if s.input == HOSTILE]
    return ReviewWorkspace(ws=ws, note_ids=[s.id for s in notes], hostile_id=hostile[0].id,
                           generated_id=generated.id)


@pytest.fixture(scope="session")
def built_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("review") / "ws").ws.root


@pytest.fixture
def review_ws(built_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewWorkspace:
    """A fresh copy of the built workspace for each test, which the app finds via FACTORY_WORKSPACE."""
    ws = _copy(built_workspace, tmp_path / "ws", monkeypatch)
    with ws.open_store() as store:
        notes = store.samples(SampleFilter(source_kind="notes"))
        hostile = [s for s in store.samples() if s.input == HOSTILE]
        generated = store.samples(SampleFilter(source_kind="self_instruct"))
    return ReviewWorkspace(ws=ws, note_ids=[s.id for s in notes], hostile_id=hostile[0].id,
                           generated_id=generated[0].id)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `factory demo` builds, once per test run."""
    return run_demo(tmp_path_factory.mktemp("demo") / "factory-demo").workspace.root


@pytest.fixture
def demo_workspace(demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    return _copy(demo_root, tmp_path / "factory-demo", monkeypatch)


def _copy(built: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A test's own copy of a workspace built once, which the app finds via FACTORY_WORKSPACE."""
    shutil.copytree(built, root)
    monkeypatch.setenv("FACTORY_WORKSPACE", str(root))
    return Workspace(root.resolve())
