"""A workspace is a folder with `.factory/` in it: the store, the config and the frozen versions.

It is found from `--workspace`, then `FACTORY_WORKSPACE`, then by walking up from the current
folder, like git finds `.git`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from factory.config import DEFAULT_CONFIG_TOML, WorkspaceConfig, load_config
from factory.errors import BadInput, DiskFull, StoreReadOnly, WorkspaceNotFound
from factory.store import Store

MARKER = ".factory"
DEFAULT_BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def factory_dir(self) -> Path:
        return self.root / MARKER

    @property
    def store_path(self) -> Path:
        return self.factory_dir / "store.sqlite"

    @property
    def config_path(self) -> Path:
        return self.factory_dir / "config.toml"

    @property
    def versions_dir(self) -> Path:
        return self.factory_dir / "versions"

    @property
    def lock_path(self) -> Path:
        return self.factory_dir / "job.lock"

    @cached_property
    def config(self) -> WorkspaceConfig:
        return load_config(self.config_path)

    def open_store(self, *, for_reading: bool = False) -> Store:
        return open_store(self.store_path, for_reading=for_reading)

    def running_job(self) -> str | None:
        """The job the job lock names ("import x.jsonl, pid 12, since ..."), or None; for messages."""
        try:
            info = json.loads(self.lock_path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict) or not info.get("job"):
            return None
        return f"{info['job']}, pid {info.get('pid')}, since {info.get('since')}"

    def uri_for(self, path: Path) -> str:
        """How a file is named in the store: relative to the workspace when inside it, else absolute."""
        path = path.resolve()
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def busy_timeout_s() -> float:
    """How long a command waits for another process's write to the store: $FACTORY_BUSY_TIMEOUT_S, else 30 s."""
    value = os.environ.get("FACTORY_BUSY_TIMEOUT_S", "").strip()
    if not value:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise BadInput(f"FACTORY_BUSY_TIMEOUT_S={value!r}: expected seconds, such as 30 or 0.5")
    return seconds


def open_store(path: Path, *, for_reading: bool = False) -> Store:
    """The store at `path`. `for_reading` (commands that only read): when the store cannot be opened
    for writing (a read-only folder or disk, a full disk), it is read as it is, instead of failing."""
    timeout = busy_timeout_s()
    try:
        return Store(path, busy_timeout_s=timeout)
    except (StoreReadOnly, DiskFull):
        if not for_reading:
            raise
        return Store(path, busy_timeout_s=timeout, read_only=True)


def init_workspace(path: Path) -> Workspace:
    """Create (or reuse) a workspace at `path`; an existing config is never overwritten."""
    ws = Workspace(path.resolve())
    ws.versions_dir.mkdir(parents=True, exist_ok=True)
    if not ws.config_path.exists():
        ws.config_path.write_text(DEFAULT_CONFIG_TOML, encoding="utf-8")
    ws.open_store().close()
    return ws


def find_workspace(explicit: Path | None = None, cwd: Path | None = None) -> Workspace:
    if explicit is None and os.environ.get("FACTORY_WORKSPACE"):
        explicit = Path(os.environ["FACTORY_WORKSPACE"])
    if explicit is not None:
        if not (explicit / MARKER).is_dir():
            raise WorkspaceNotFound(f"{explicit}: not a factory workspace (no {MARKER}/); run `factory init {explicit}`")
        return Workspace(explicit.resolve())
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_dir():
            return Workspace(folder)
    raise WorkspaceNotFound(
        f"no factory workspace in {here} or above; run `factory init`, or pass --workspace / set FACTORY_WORKSPACE"
    )
