"""Shared fixtures: a fresh workspace, notes written on the fly, and the real CLI in a subprocess."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import hypothesis  # noqa: F401 - imported (and assert-rewritten) before any test runs; see below
import pytest

from factory.store import LedgerEntry, Store
from factory.workspace import Workspace, init_workspace
from tests.openai_server import openai_server  # noqa: F401 - a fixture for every test: a scripted OpenAI API

REPO = Path(__file__).resolve().parents[1]
# Why hypothesis is imported above: its pytest plugin imports it lazily at the end of a run, and on
# CPython 3.11.7 that late import's ast.parse (pytest rewrites its asserts) fails after some runs
# with "SystemError: AST constructor recursion depth mismatch" (seen at the end of
# tests/factory/test_llm_notes.py run alone). Imported here, it is parsed before any test runs.


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


def write_note(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def qa_note(*pairs: tuple[str, str], title: str = "Notes") -> str:
    """A note made only of explicit Q/A pairs, so tests know exactly which pairs it yields."""
    body = "\n\n".join(f"Q: {q}\nA: {a}" for q, a in pairs)
    return f"# {title}\n\n{body}\n"


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("FACTORY_WORKSPACE", None) if env is None or "FACTORY_WORKSPACE" not in env else None
    result = subprocess.run([sys.executable, "-m", "factory", *args], cwd=cwd, env=full_env, text=True,
                            capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"factory {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


_WORDS = ("adapter batch cache checkpoint cluster compile corpus dataset decoder device embedding epoch "
          "evaluation export gradient kernel latency layer memory merge metric model optimizer padding "
          "pipeline precision prompt quantize rank recipe schedule sequence shard split template token "
          "trainer tuning vector warmup weight window budget driver queue server review version label "
          "history mirror signal format bucket format clock ledger folder module branch commit").split()


def varied_text(seed: int, words: int = 12) -> str:
    """A sentence of random words: texts from different seeds are far from near duplicates."""
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


@contextmanager
def killed_while_recording(when: Callable[[int, LedgerEntry], bool]) -> Iterator[None]:
    """The process dies (KeyboardInterrupt) while recording the first model answer `when(n, entry)`
    picks (n counts from 1): the answer was paid for and never stored. The block must be killed."""
    original = Store.record_llm_request
    calls = count(1)

    def dying(self, run_id, entry, *args, **kwargs):
        if when(next(calls), entry):
            raise KeyboardInterrupt
        return original(self, run_id, entry, *args, **kwargs)

    Store.record_llm_request = dying
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        Store.record_llm_request = original
