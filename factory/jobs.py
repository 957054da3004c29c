"""Jobs that write many samples (extraction, checks, freeze) take the workspace job lock.

The lock is an OS file lock (`flock`), so it is released when its holder exits or is killed:
a crashed job never blocks the next one. A second job either waits for it or stops with a
message naming the job that holds it. Each job is also a row in the store's `jobs` table.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from factory.errors import FactoryError, JobLocked
from factory.store import now

log = logging.getLogger(__name__)


@contextmanager
def job_lock(lock_path: Path, job: str, *, wait: bool = False, poll_s: float = 0.2) -> Iterator[None]:
    with open(lock_path, "a+", encoding="utf-8") as handle:
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(lock_path)
                if not wait:
                    raise JobLocked(
                        f"another job is running on this workspace ({holder}); "
                        "try again when it ends, or pass --wait"
                    ) from None
                if not announced:
                    log.warning("waiting for another job to finish (%s)", holder)
                    announced = True
                time.sleep(poll_s)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"job": job, "pid": os.getpid(), "since": now()}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "unknown job"
    if not info:
        return "unknown job"
    return f"{info.get('job')}, pid {info.get('pid')}, since {info.get('since')}"


def failure_line(exc: BaseException) -> str:
    """What failed a job, in one line: a FactoryError's own message, else the exception's type and text."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, FactoryError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
