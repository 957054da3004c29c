"""Incremental extraction of a notes folder into the store, safe to run from cron.

Each note is synced in its own transaction and its content hash is recorded with it, so a
job killed halfway leaves every note either fully synced or untouched, and the next run
skips what is done and finishes the rest. Unchanged notes cost one read and one hash.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from factory.errors import BadInput, FactoryError
from factory.jobs import failure_line, job_lock
from factory.progress import Progress, no_progress
from factory.store import JobRun, Store, SyncCounts
from factory.workspace import Workspace
from sources import markdown_notes

log = logging.getLogger(__name__)
SOURCE_KIND = "notes"


@dataclass
class NoteFile:
    uri: str
    text: str
    digest: str  # sha256 of the decoded text, so a BOM or CRLF round trip is no change


class NoteScan:
    """The notes under `path` against what the store holds for them: iterating yields the new and
    changed notes (a bad note is logged and listed in `errors`); `gone` are the synced notes that
    are no longer there.

    A symbolic link is followed only to a file inside the folder, and the note is named by that
    file: a note met twice (itself and through a link) is read once, and one read only through a
    link is not met once the link goes, so its pairs retire. A link out of the folder is skipped
    with a warning (its target would be named outside the folder, never met again, never retired)."""

    def __init__(self, ws: Workspace, store: Store, path: Path, source_kind: str, extractor_version: str,
                 progress: Progress = no_progress):
        if not path.exists():
            raise FactoryError(f"{path}: no such file or folder")
        self.ws, self.version, self.progress = ws, extractor_version, progress
        self.max_bytes = ws.config.notes.max_file_bytes
        # A note named on the command line is read wherever its link leads; in a folder, links stay inside.
        self.root = path if path.is_dir() else None
        self.files = markdown_notes.iter_note_files(path) if path.is_dir() else [path]
        self.scope = ws.uri_for(path)
        self.known = {uri: v for uri, v in store.documents(source_kind).items()
                      if _in_scope(uri, self.scope, path.is_dir())}
        self.unchanged = 0
        self.errors: list[dict[str, str]] = []
        self.current: str | None = None  # the note last yielded, while the caller works on it
        self.met: set[str] = set()

    def __iter__(self) -> Iterator[NoteFile]:
        for done, file in enumerate(self.files, 1):
            if note := self._read(file):
                self.current = note.uri
                yield note
            self.current = None
            self.progress(done, len(self.files))

    def _read(self, file: Path) -> NoteFile | None:
        """The note at `file` when it is new or changed; None when unchanged, met before or bad."""
        name = self._name(file)
        try:
            real = markdown_notes.resolve_note(file, root=self.root, name=name)
        except BadInput as exc:
            self.known.pop(name, None)  # a bad note is skipped; what it yielded before stays in the store
            self.error(name, exc)
            return None
        uri = self.ws.uri_for(real)
        if uri in self.met:  # reached again through a link
            return None
        self.met.add(uri)
        known_version = self.known.pop(uri, None)
        try:
            text = markdown_notes.read_note(real, max_bytes=self.max_bytes, name=uri)
        except BadInput as exc:
            self.error(uri, exc)
            return None
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if known_version == (digest, self.version):
            self.unchanged += 1
            return None
        return NoteFile(uri, text, digest)

    def _name(self, file: Path) -> str:
        """The note's name as met, its last link not followed: how errors name a link loop."""
        return PurePosixPath(self.ws.uri_for(file.parent), file.name).as_posix()

    def error(self, uri: str, exc: Exception) -> None:
        log.warning("skipped %s", exc)
        self.errors.append({"file": uri, "error": str(exc)})

    @property
    def gone(self) -> list[str]:
        """Synced notes not met by the scan (valid once it has been iterated)."""
        return sorted(self.known)


def extract_notes(ws: Workspace, path: Path, *, wait: bool = False, progress: Progress = no_progress) -> JobRun:
    """Sync every note under `path` (a folder or one file) into the store; returns the job run."""
    version = markdown_notes.EXTRACTOR_VERSION
    with job_lock(ws.lock_path, f"extract notes {ws.uri_for(path)}", wait=wait), ws.open_store() as store:
        scan = NoteScan(ws, store, path, SOURCE_KIND, version, progress)
        job_id = store.start_job("extract", f"{SOURCE_KIND}:{scan.scope}", os.getpid())
        actor = f"job:extract#{job_id}"
        counts = SyncCounts()
        with finishing_job(store, job_id, counts, scan):
            for note in scan:
                try:
                    samples = markdown_notes.extract_pairs(note.text, uri=note.uri, config=ws.config.notes,
                                                           content_hash=note.digest)
                except BadInput as exc:
                    scan.error(note.uri, exc)
                    continue
                counts += store.sync_document(SOURCE_KIND, note.uri, note.digest, version, samples, actor=actor,
                                              job_id=job_id)
            for uri in scan.gone:
                counts.retired += store.forget_document(SOURCE_KIND, uri, actor=actor)
        return store.jobs(limit=1)[0]


@contextmanager
def finishing_job(store: Store, job_id: int, counts: SyncCounts, scan: NoteScan,
                  meta: dict[str, Any] | None = None) -> Iterator[None]:
    """Record the job's end: completed, or failed (a bug) / interrupted (Ctrl-C), then re-raise.
    A failure's one line ends the error log, naming the note it met, so `factory jobs` shows why;
    the error count stays the count of bad notes."""
    try:
        yield
    except BaseException as exc:
        state = "failed" if isinstance(exc, Exception) else "interrupted"
        errors = scan.errors
        if state == "failed":
            errors = [*errors, {"file": scan.current or scan.scope, "error": failure_line(exc)}]
        store.update_job(job_id, state=state, counts=counts, skipped=scan.unchanged, errors=errors,
                         error_count=len(scan.errors), meta=meta)
        raise
    store.update_job(job_id, state="completed", counts=counts, skipped=scan.unchanged, errors=scan.errors, meta=meta)


def _in_scope(uri: str, scope: str, is_folder: bool) -> bool:
    if not is_folder:
        return uri == scope
    return scope == "." or uri.startswith(scope.rstrip("/") + "/")
