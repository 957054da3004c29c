"""Incremental extraction of a notes folder into the store, safe to run from cron.

Each note is synced in its own transaction and its content hash is recorded with it, so a
job killed halfway leaves every note either fully synced or untouched, and the next run
skips what is done and finishes the rest. Unchanged notes cost one read and one hash.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from factory.errors import BadInput, FactoryError
from factory.jobs import job_lock
from factory.progress import Progress, no_progress
from factory.store import JobRun, SyncCounts
from factory.workspace import Workspace
from sources import markdown_notes

log = logging.getLogger(__name__)
SOURCE_KIND = "notes"


def extract_notes(ws: Workspace, path: Path, *, wait: bool = False, progress: Progress = no_progress) -> JobRun:
    """Sync every note under `path` (a folder or one file) into the store; returns the job run."""
    if not path.exists():
        raise FactoryError(f"{path}: no such file or folder")
    files = markdown_notes.iter_note_files(path) if path.is_dir() else [path]
    scope = ws.uri_for(path)
    config = ws.config.notes
    with job_lock(ws.lock_path, f"extract notes {scope}", wait=wait), ws.open_store() as store:
        job_id = store.start_job("extract", f"{SOURCE_KIND}:{scope}", os.getpid())
        actor = f"job:extract#{job_id}"
        known = {uri: v for uri, v in store.documents(SOURCE_KIND).items() if _in_scope(uri, scope, path.is_dir())}
        counts, unchanged, errors = SyncCounts(), 0, []
        try:
            for done, file in enumerate(files, 1):
                uri = ws.uri_for(file)
                known_version = known.pop(uri, None)
                try:
                    text = markdown_notes.read_note(file, max_bytes=config.max_file_bytes, name=uri)
                    # The hash is of the decoded text, so a BOM or CRLF round trip is no change.
                    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                    if known_version == (digest, markdown_notes.EXTRACTOR_VERSION):
                        unchanged += 1
                        progress(done, len(files))
                        continue
                    samples = markdown_notes.extract_pairs(text, uri=uri, config=config, content_hash=digest)
                except BadInput as exc:
                    # A bad note is skipped and recorded; what it yielded before stays in the store.
                    log.warning("skipped %s", exc)
                    errors.append({"file": uri, "error": str(exc)})
                else:
                    counts += store.sync_document(SOURCE_KIND, uri, digest, markdown_notes.EXTRACTOR_VERSION,
                                                  samples, actor=actor, job_id=job_id)
                progress(done, len(files))
            for uri in sorted(known):  # notes that were synced before and are gone now
                counts.retired += store.forget_document(SOURCE_KIND, uri, actor=actor)
        except BaseException as exc:  # a bug fails the job; Ctrl-C interrupts it
            state = "failed" if isinstance(exc, Exception) else "interrupted"
            store.update_job(job_id, state=state, counts=counts, skipped=unchanged, errors=errors)
            raise
        store.update_job(job_id, state="completed", counts=counts, skipped=unchanged, errors=errors)
        return store.jobs(limit=1)[0]


def _in_scope(uri: str, scope: str, is_folder: bool) -> bool:
    if not is_folder:
        return uri == scope
    return scope == "." or uri.startswith(scope.rstrip("/") + "/")
