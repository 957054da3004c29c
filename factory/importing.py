"""`factory import`: an open dataset into the store, streamed in batches, safe to re-run.

Rows are read, converted and stored a batch at a time, so memory stays flat however large the
dataset. Each batch is one transaction; the dataset's hash is recorded only when the last batch
is in, so a killed import is finished by running it again (rows already stored are found by
their content id and count as unchanged, nothing is added twice), and an import of a file whose
hash and options are unchanged does nothing at all.

With `pool`, the rows become a general pool (source kind `general`, named by the pool): data
mixed into versions against forgetting, checked like everything else but kept out of review.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from factory.errors import BadInput
from factory.jobs import failure_line, job_lock
from factory.licenses import is_non_commercial
from factory.progress import Progress, no_progress
from factory.store import JobRun, SyncCounts, new_sync_token
from factory.versions import NAME_PATTERN
from factory.workspace import Workspace
from sources import open_datasets
from sources.open_datasets import DatasetRequest, RowError

log = logging.getLogger(__name__)
SOURCE_KIND = "dataset"
GENERAL_KIND = "general"
# Rows per transaction. Each batch dirties pages all over the id indexes, so larger batches write
# far fewer pages per row (measured: 20,000 rows per batch imports ~1.5x faster than 2,000 at
# 300,000 rows); memory stays flat at a few tens of MB for the batch.
BATCH_ROWS = 20_000
ERRORS_KEPT = 1000  # per job; beyond this only the count grows
ERRORS_LOGGED = 20


class ImportResult(BaseModel):
    job: JobRun
    uri: str
    format: str
    license: str
    license_from: str
    non_commercial: bool
    rows: int
    bad_rows: int
    repeated: int
    unchanged_source: bool  # the same file or hub commit was imported with the same options before


def import_dataset(ws: Workspace, request: DatasetRequest, *, pool: str | None = None, wait: bool = False,
                   progress: Progress = no_progress) -> ImportResult:
    if pool is not None and not NAME_PATTERN.match(pool):
        raise BadInput(f"--pool {pool!r}: a pool name is letters, digits, '.', '_' or '-' (at most 64)")
    path = Path(request.source)
    local = ws.uri_for(path) if path.exists() else None
    opened = open_datasets.open_dataset(request, uri=local)
    kind, doc_uri = (GENERAL_KIND, pool) if pool else (SOURCE_KIND, opened.uri)
    options = f"{open_datasets.EXTRACTOR_VERSION} format={request.format} map={sorted(request.mapping.items())}"
    with job_lock(ws.lock_path, f"import {doc_uri}", wait=wait), ws.open_store() as store:
        job_id = store.start_job("import", f"{kind}:{doc_uri}", os.getpid())
        known = store.document(kind, doc_uri)
        if not opened.license and known and known.meta.get("license"):  # not given again: not forgotten
            opened.license, opened.license_from = known.meta["license"], "the previous import"
        if known and (known.content_hash, known.extractor_version) == (opened.content_hash, options) \
                and known.meta.get("license") == opened.license:
            meta = {**known.meta, "unchanged": True}
            store.update_job(job_id, state="completed", skipped=known.meta.get("rows", 0), meta=meta)
            return _result(store.jobs(limit=1)[0], opened, known.meta.get("format", ""), meta, unchanged=True)
        actor = f"job:import#{job_id}"
        token, counts, rows, errors, bad_rows = new_sync_token(), SyncCounts(), 0, [], 0
        meta: dict[str, Any] = {}
        try:
            gaps = BadRowGaps()
            for batch in opened.batches(BATCH_ROWS):
                samples, in_order = [], []
                for item in batch:
                    if isinstance(item, RowError):
                        in_order.append(None)
                        bad_rows += 1
                        if bad_rows <= ERRORS_LOGGED:
                            log.warning("skipped %s: %s", opened.uri, item)
                        if len(errors) < ERRORS_KEPT:
                            errors.append({"file": opened.uri, "row": str(item.row), "error": str(item)})
                        continue
                    # The reader names the dataset already; a pool's samples are named by the pool,
                    # with the dataset in the locator.
                    if pool:
                        locator = {"dataset": opened.uri, **item.source.locator}
                        item.source = item.source.model_copy(update={"kind": kind, "uri": doc_uri, "locator": locator})
                    samples.append(item)
                    in_order.append(item.id)
                rows += len(batch)
                if known:  # where each row was before: the anchors around a row that turned unreadable
                    gaps.feed(in_order, store.origin_rows(kind, doc_uri, [s.id for s in samples], token=token))
                counts += store.sync_batch(kind, doc_uri, samples, actor=actor, token=token)
                progress(rows, opened.total or rows)
            store.keep_row_ranges(kind, doc_uri, gaps.finish(), token=token)  # what a bad row gave before stays
            meta = {"source": request.source, "uri": opened.uri, "revision": opened.revision,
                    "subset": request.subset, "split": request.split, "format": opened.format,
                    "license": opened.license, "license_from": opened.license_from, "rows": rows,
                    "bad_rows": bad_rows, "repeated": counts.repeated}
            counts.retired += store.finish_sync(kind, doc_uri, token=token, content_hash=opened.content_hash,
                                                extractor_version=options, actor=actor, job_id=job_id, meta=meta)
        except BaseException as exc:  # a bug or bad file fails the job; Ctrl-C interrupts it
            state = "failed" if isinstance(exc, Exception) else "interrupted"
            if state == "failed":  # why, last in the log, so `factory jobs` says it; the count stays the bad rows'
                errors = [*errors, {"file": opened.uri, "error": failure_line(exc)}]
            store.update_job(job_id, state=state, counts=counts, errors=errors, error_count=bad_rows,
                             meta={"rows": rows, "bad_rows": bad_rows})
            raise
        if bad_rows > ERRORS_LOGGED:
            log.warning("%d more bad rows in %s; `factory jobs --json` lists the first %d", bad_rows - ERRORS_LOGGED,
                        opened.uri, ERRORS_KEPT)
        store.update_job(job_id, state="completed", counts=counts, errors=errors, error_count=bad_rows, meta=meta)
        return _result(store.jobs(limit=1)[0], opened, opened.format, meta, unchanged=False)


class BadRowGaps:
    """Which rows of the previous import an unreadable row may stand for.

    Row numbers alone cannot say it: a row inserted above shifts every number below. The rows
    that still read and were there before are anchors; an unreadable row stands for whatever lay
    between the anchors around it, so those earlier rows are kept instead of retired.
    """

    def __init__(self) -> None:
        self.ranges: list[tuple[int | None, int | None]] = []
        self._anchor: int | None = None  # the earlier row of the last anchor met; None: the start
        self._open = False  # an unreadable row was met since that anchor

    def feed(self, in_order: list[str | None], earlier_rows: dict[str, int]) -> None:
        """One batch: sample ids in row order, None for an unreadable row."""
        for sample_id in in_order:
            if sample_id is None:
                self._open = True
            elif sample_id in earlier_rows:
                if self._open:
                    self.ranges.append((self._anchor, earlier_rows[sample_id]))
                    self._open = False
                self._anchor = earlier_rows[sample_id]

    def finish(self) -> list[tuple[int | None, int | None]]:
        return self.ranges + ([(self._anchor, None)] if self._open else [])


def _result(job: JobRun, opened: open_datasets.OpenedDataset, fmt: str, meta: dict[str, Any],
            unchanged: bool) -> ImportResult:
    return ImportResult(job=job, uri=opened.uri, format=fmt, license=opened.license,
                        license_from=opened.license_from, non_commercial=is_non_commercial(opened.license),
                        rows=meta.get("rows", 0), bad_rows=meta.get("bad_rows", 0),
                        repeated=meta.get("repeated", 0), unchanged_source=unchanged)
