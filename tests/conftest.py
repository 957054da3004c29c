"""Shared fixtures: a fresh workspace, notes written on the fly, and the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from factory.workspace import Workspace, init_workspace

REPO = Path(__file__).resolve().parents[1]


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
