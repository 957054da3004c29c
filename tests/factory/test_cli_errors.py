"""What the real `factory` command says when the machine gets in the way: a read-only workspace, a
full disk, a store another process holds, a config it cannot read, Ctrl+C. Always one line naming
the file and exit code 1 (130 for Ctrl+C), never a traceback; reads keep working where they can."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from factory.ingest import extract_notes
from factory.jobs import job_lock
from factory.versions import freeze_version
from factory.workspace import Workspace
from tests.conftest import REPO, qa_note, run_cli, write_note

PAIRS = (("What does the store keep?", "Every sample with its findings and its whole history."),
         ("What does freeze write?", "An immutable version folder with a manifest and a dataset card."))


def factory(*args: str, cwd: Path, prefix: Sequence[str] = (), env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """`factory ARGS` in a subprocess like run_cli, under `prefix` (a user or mount namespace)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("FACTORY_WORKSPACE", None)
    return subprocess.run([*prefix, sys.executable, "-m", "factory", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def total(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["total"]


def _namespace_works(prefix: list[str]) -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run([*prefix, "true"], capture_output=True).returncode == 0


@pytest.fixture
def as_user() -> list[str]:
    """A prefix under which file permissions hold. Root ignores them, so as root the command runs in
    a user namespace as an ordinary user who owns the files (root's files map to that user)."""
    if os.geteuid() != 0:
        return []
    prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    if not _namespace_works(prefix):
        pytest.skip("running as root without user namespaces: no way to deny this process a permission")
    return prefix


@pytest.fixture
def mount_namespace() -> list[str]:
    """A prefix that runs the command with mounts of its own, gone when it ends (for a tiny tmpfs)."""
    prefix = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    if not _namespace_works(prefix):
        pytest.skip("no mount namespaces here: cannot mount a small disk to fill")
    return prefix


@pytest.fixture
def filled(ws: Workspace) -> tuple[Workspace, str]:
    """A workspace with a note's two pairs, one approved and frozen as kb@v1; and the id of the other."""
    write_note(ws.root / "notes", "a.md", qa_note(*PAIRS))
    extract_notes(ws, ws.root / "notes")
    with ws.open_store() as store:
        first, second = store.ids()
        store.set_status([first], "approved", actor="reviewer:ann")
    freeze_version(ws, "kb", eval_ratio=0.0)
    return ws, second


def chmod_tree(folder: Path, *, dirs: int, files: int) -> None:
    for path in (folder, *folder.rglob("*")):
        path.chmod(dirs if path.is_dir() else files)


@pytest.fixture
def read_only(filled: tuple[Workspace, str]) -> Iterator[tuple[Workspace, str]]:
    """The workspace's .factory/ as a read-only copy has it: folders 0555, files 0444."""
    ws, sample_id = filled
    chmod_tree(ws.factory_dir, dirs=0o555, files=0o444)
    yield ws, sample_id
    chmod_tree(ws.factory_dir, dirs=0o755, files=0o644)  # so the folder can be cleaned up


# -- a read-only workspace -----------------------------------------------------------------
def test_a_read_only_workspace_reads_and_refuses_writes_in_one_line(read_only, as_user):
    ws, sample_id = read_only
    assert total(factory("status", "--json", cwd=ws.root, prefix=as_user)) == 2
    shown = factory("show", sample_id, "--json", cwd=ws.root, prefix=as_user)
    assert shown.returncode == 0 and json.loads(shown.stdout)["sample"]["id"] == sample_id
    for command in (("ls",), ("jobs",), ("versions",), ("ledger",), ("verify", "kb@v1")):
        assert factory(*command, cwd=ws.root, prefix=as_user).returncode == 0, command

    assert_one_line_error(factory("reject", sample_id, cwd=ws.root, prefix=as_user), "store.sqlite", "read-only")
    assert_one_line_error(factory("extract", "notes", "notes", cwd=ws.root, prefix=as_user), "job.lock",
                          "permission denied")


def test_a_read_only_store_file_reads_and_refuses_writes_in_one_line(filled, as_user):
    ws, sample_id = filled
    ws.store_path.chmod(0o444)
    assert total(factory("status", "--json", cwd=ws.root, prefix=as_user)) == 2
    assert_one_line_error(factory("reject", sample_id, cwd=ws.root, prefix=as_user), "store.sqlite", "read-only")
    assert_one_line_error(factory("extract", "notes", "notes", cwd=ws.root, prefix=as_user), "store.sqlite",
                          "read-only")


# -- a full disk -----------------------------------------------------------------------------
FULL_DISK = """
mount -t tmpfs -o size=512k tmpfs "$DISK" && cp -a "$WS" "$DISK/ws" || exit 99
if [ -n "$FILL" ]; then cat /dev/zero > "$DISK/filler" 2>/dev/null; fi
cd "$DISK/ws" && exec "$PYTHON" -m factory "$@"
"""


def on_full_disk(ws: Workspace, prefix: list[str], *args: str, fill: bool = True) -> subprocess.CompletedProcess[str]:
    """`factory ARGS` on a copy of the workspace on a 512 kB disk, filled up first unless not `fill`."""
    disk = ws.root.parent / "disk"
    disk.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISK": str(disk), "WS": str(ws.root), "PYTHON": sys.executable,
           "FILL": "1" if fill else ""}
    env.pop("FACTORY_WORKSPACE", None)
    result = subprocess.run([*prefix, "sh", "-c", FULL_DISK, "sh", *args], env=env, text=True, capture_output=True,
                            timeout=120)
    assert result.returncode != 99, result.stderr
    return result


def test_an_import_that_fills_the_disk_is_one_line_naming_the_store(filled, mount_namespace, tmp_path):
    ws, _ = filled
    rows = tmp_path / "rows.jsonl"  # about 1 MB: more than the disk has room for
    rows.write_text("".join(json.dumps({"instruction": f"Question {i} about the store?", "output": f"Answer {i} " * 20})
                            + "\n" for i in range(5000)), encoding="utf-8")
    result = on_full_disk(ws, mount_namespace, "import", str(rows), fill=False)
    assert_one_line_error(result, "store.sqlite", "disk is full")


@pytest.mark.parametrize("command", [("import", "builtin:starter"), ("freeze", "kb2"), ("reject", "SAMPLE")],
                         ids=lambda c: c[0])
def test_a_full_disk_is_one_line(filled, mount_namespace, command):
    ws, sample_id = filled
    result = on_full_disk(ws, mount_namespace, *(sample_id if a == "SAMPLE" else a for a in command))
    line = assert_one_line_error(result, "is full")
    assert "/disk/ws/.factory" in line  # the store, or the folder on the full disk where a write failed


def test_an_export_onto_a_full_disk_is_one_line_naming_the_file(filled, mount_namespace):
    ws, _ = filled
    result = on_full_disk(ws, mount_namespace, "export", "kb@v1", "--format", "alpaca", "--out", "exported")
    assert_one_line_error(result, "exported/train.json", "No space left")


def test_status_works_on_a_full_disk(filled, mount_namespace):
    ws, _ = filled
    assert total(on_full_disk(ws, mount_namespace, "status", "--json")) == 2


# -- a store another process holds ---------------------------------------------------------------
def test_a_store_locked_past_the_timeout_names_the_job_holding_it(filled):
    ws, sample_id = filled
    ws.lock_path.write_text(json.dumps({"job": "import big.jsonl", "pid": 4242, "since": "2026-01-02T03:04:05Z"}))
    holder = sqlite3.connect(ws.store_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        env = {"FACTORY_BUSY_TIMEOUT_S": "0.05"}
        assert total(factory("status", "--json", cwd=ws.root, env=env)) == 2  # readers are not held up
        line = assert_one_line_error(factory("reject", sample_id, cwd=ws.root, env=env), "store.sqlite",
                                     "another process", "import big.jsonl, pid 4242")
        assert "FACTORY_BUSY_TIMEOUT_S" in line
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with ws.open_store() as store:
        assert store.get(sample_id).status == "pending"


def test_a_bad_busy_timeout_is_one_line(filled):
    ws, _ = filled
    result = factory("status", cwd=ws.root, env={"FACTORY_BUSY_TIMEOUT_S": "soon"})
    assert_one_line_error(result, "FACTORY_BUSY_TIMEOUT_S", "soon")


# -- the config file -----------------------------------------------------------------------------
def test_a_config_that_is_a_folder_is_one_line(filled):
    ws, _ = filled
    ws.config_path.unlink()
    ws.config_path.mkdir()
    assert_one_line_error(run_cli("check", cwd=ws.root, check=False), "config.toml", "folder")


def test_an_unreadable_config_is_one_line(filled, as_user):
    ws, _ = filled
    ws.config_path.chmod(0o000)
    assert_one_line_error(factory("check", cwd=ws.root, prefix=as_user), "config.toml", "permission denied")


# -- Ctrl+C --------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [("extract", "notes", "notes"), ("import", "builtin:starter"), ("check",),
                                     ("freeze", "kb2")], ids=lambda c: c[0])
def test_ctrl_c_during_a_long_command_is_one_line_and_exit_130(filled, command):
    ws, _ = filled
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FACTORY_WORKSPACE", None)
    with job_lock(ws.lock_path, "a job the test holds"):  # so the command waits (--wait) until Ctrl+C
        child = subprocess.Popen([sys.executable, "-m", "factory", *command, "--wait"], cwd=ws.root, env=env,
                                 text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        waiting = child.stderr.readline()  # the command is running, inside the job's code
        assert "waiting for another job" in waiting, waiting + child.communicate(timeout=120)[1]
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    assert child.returncode == 130
    assert [line for line in stderr.splitlines() if line.strip()] == ["interrupted"]
