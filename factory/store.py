"""The embedded store: one SQLite file, reached only through this module.

Every write runs in one `BEGIN IMMEDIATE` transaction, so a killed process leaves either the
whole change or none of it. Every change to a sample appends a row to `history` (who, when, old
and new values); triggers make that table append-only. A sample can come from several places
(the same pair in two notes is one sample): `origins` lists them, and a sample whose last origin
disappears is retired, never deleted, so nothing a reviewer did is lost. A pair that a changed note
yields where a reviewed pair went away names that pair (`replaces`), so its review is not lost either.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from factory.errors import RevisionConflict, StoreError, store_error
from factory.progress import Progress, no_progress
from factory.replacements import PlacedPair, match_replacements
from factory.sample import Finding, Sample, Source, Status

# Each entry moves the schema from version i to i+1; never edit one that has shipped, add a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE samples (
        id TEXT PRIMARY KEY,
        instruction TEXT NOT NULL,
        input TEXT NOT NULL DEFAULT '',
        output TEXT NOT NULL,
        system TEXT,
        history TEXT NOT NULL DEFAULT '[]',
        source_kind TEXT NOT NULL,
        source_uri TEXT NOT NULL,
        source_locator TEXT NOT NULL DEFAULT '{}',
        extractor_version TEXT NOT NULL DEFAULT '',
        source_hash TEXT NOT NULL DEFAULT '',
        lang TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
        checked INTEGER NOT NULL DEFAULT 0,
        revision INTEGER NOT NULL DEFAULT 0,
        retired_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX samples_by_status ON samples (status, retired_at);
    CREATE INDEX samples_by_source ON samples (source_kind);
    CREATE TABLE origins (
        source_kind TEXT NOT NULL,
        source_uri TEXT NOT NULL,
        sample_id TEXT NOT NULL REFERENCES samples (id),
        locator TEXT NOT NULL DEFAULT '{}',
        extractor_version TEXT NOT NULL DEFAULT '',
        source_hash TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (source_kind, source_uri, sample_id)
    );
    CREATE INDEX origins_by_sample ON origins (sample_id);
    CREATE TABLE findings (
        sample_id TEXT NOT NULL REFERENCES samples (id),
        check_name TEXT NOT NULL,
        code TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        related_id TEXT
    );
    CREATE INDEX findings_by_sample ON findings (sample_id);
    CREATE INDEX findings_by_code ON findings (code);
    CREATE TABLE history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sample_id TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        revision INTEGER NOT NULL,
        changes TEXT NOT NULL
    );
    CREATE INDEX history_by_sample ON history (sample_id);
    CREATE TRIGGER history_is_append_only_update BEFORE UPDATE ON history
        BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
    CREATE TRIGGER history_is_append_only_delete BEFORE DELETE ON history
        BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
    CREATE TABLE documents (
        source_kind TEXT NOT NULL,
        uri TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        extractor_version TEXT NOT NULL,
        job_id INTEGER,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (source_kind, uri)
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'interrupted')),
        pid INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        added INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        retired INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        error_log TEXT NOT NULL DEFAULT '[]'
    );
    """,
    # 2: licenses on samples and origins; origins carry the sync run that last saw them, so a
    # source too large to hold in memory (a 1M-row dataset) is synced in batches and what the
    # run did not see is found by one query; documents keep the source's metadata.
    """
    ALTER TABLE samples ADD COLUMN source_license TEXT NOT NULL DEFAULT '';
    ALTER TABLE origins ADD COLUMN license TEXT NOT NULL DEFAULT '';
    ALTER TABLE origins ADD COLUMN sync_token TEXT;
    ALTER TABLE documents ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE jobs ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX origins_by_document ON origins (source_kind, source_uri, sync_token);
    """,
    # 3: the LLM ledger: every model request of a generation run, what it cost and produced.
    """
    CREATE TABLE llm_runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        args TEXT NOT NULL,
        model TEXT NOT NULL,
        base_url TEXT NOT NULL,
        target INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'running'
    );
    CREATE TABLE llm_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES llm_runs (id),
        key TEXT NOT NULL,
        at TEXT NOT NULL,
        model TEXT NOT NULL,
        template_hash TEXT NOT NULL,
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0,
        latency_ms INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL,
        error TEXT,
        raw TEXT,
        produced TEXT NOT NULL DEFAULT '[]',
        rejected INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX llm_requests_by_run ON llm_requests (run_id, key);
    """,
    # 4: the review app counts and pages its queue by status, source and language: one covering
    # index answers those counts without reading the rows (100,000 samples: ~60 ms -> ~10 ms).
    """
    CREATE INDEX samples_for_review ON samples (status, retired_at, source_kind, lang);
    """,
    # 5: every frozen version's hashes, recorded at freeze: a version folder edited afterwards
    # (records injected with recomputed hashes, a manifest rewritten) no longer matches the store.
    """
    CREATE TABLE versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        dataset_hash TEXT NOT NULL,
        manifest_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE TRIGGER versions_are_append_only_update BEFORE UPDATE ON versions
        BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;
    CREATE TRIGGER versions_are_append_only_delete BEFORE DELETE ON versions
        BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;
    """,
    # 6: re-review. A pair that a sync adds where a reviewed pair of the same note went away (one
    # sentence edited: a new content hash) names that pair, so a reviewer sees the difference from
    # the text they approved. Jobs count apart what the `updated` column used to mix up: pairs met
    # again from another document (shared), pairs whose lines moved, and replacements.
    """
    ALTER TABLE samples ADD COLUMN replaces TEXT;
    CREATE INDEX samples_by_replaces ON samples (replaces) WHERE replaces IS NOT NULL;
    ALTER TABLE jobs ADD COLUMN moved INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN replaced INTEGER NOT NULL DEFAULT 0;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
_SAMPLE_COLUMNS = (
    "id, instruction, input, output, system, history, source_kind, source_uri, source_locator, "
    "extractor_version, source_hash, source_license, lang, tags, status, revision"
)
TEXT_FIELDS = ("instruction", "input", "output", "system", "history")
EDITABLE_FIELDS = TEXT_FIELDS + ("tags",)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_sync_token() -> str:
    return uuid.uuid4().hex


# Built once: `json.dumps` with options builds an encoder per call, and imports encode per row.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: Any) -> str:
    if not value and isinstance(value, (list, dict)):  # most tags, histories and locators: no encoder call
        return "[]" if isinstance(value, list) else "{}"
    return _ENCODER.encode(value)


@dataclass
class SampleFilter:
    """Which samples a query means. Empty fields match everything; retired samples are left out."""

    status: Status | None = None
    reason: str | None = None  # a finding's reason code
    source_kind: str | None = None
    source_uri: str | None = None  # with source_kind: one document, e.g. one general pool
    lang: str | None = None
    text: str | None = None  # substring of instruction, input or output
    tag: str | None = None  # one of the sample's tags
    no_findings: bool = False
    unchecked: bool = False
    include_retired: bool = False
    include_general: bool = True  # general-pool samples; review views leave them out unless asked

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if not self.include_retired:
            clauses.append("retired_at IS NULL")
        if self.status:
            clauses.append("status = ?")
            params.append(self.status)
        if self.source_kind:
            clauses.append("source_kind = ?")
            params.append(self.source_kind)
        elif not self.include_general:
            clauses.append("source_kind != 'general'")
        if self.source_uri:
            clauses.append("source_uri = ?")
            params.append(self.source_uri)
        if self.lang:
            clauses.append("lang = ?")
            params.append(self.lang)
        if self.text:
            clauses.append("(instr(instruction, ?) OR instr(input, ?) OR instr(output, ?))")
            params += [self.text] * 3
        if self.tag:
            # instr() on the stored JSON skips most rows cheaply; json_each makes the match exact.
            clauses.append("instr(tags, ?) AND EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)")
            params += [json.dumps(self.tag, ensure_ascii=False), self.tag]
        if self.reason:
            # By rowid, so SQLite can start from the (few) findings instead of every sample.
            clauses.append("rowid IN (SELECT s.rowid FROM findings f JOIN samples s ON s.id = f.sample_id "
                           "WHERE f.code = ?)")
            params.append(self.reason)
        if self.no_findings:
            clauses.append("id NOT IN (SELECT sample_id FROM findings)")
        if self.unchecked:
            clauses.append("checked = 0")
        return (" AND ".join(clauses) or "1"), params


class HistoryEntry(BaseModel):
    seq: int
    sample_id: str
    at: str
    actor: str
    action: str
    revision: int
    changes: dict[str, Any]


class JobRun(BaseModel):
    id: int
    kind: str
    source: str
    state: str
    pid: int | None
    started_at: str
    finished_at: str | None
    added: int
    updated: int
    retired: int
    skipped: int
    errors: int
    error_log: list[dict[str, str]]
    meta: dict[str, Any] = {}
    moved: int = 0
    shared: int = 0
    replaced: int = 0


class DocumentInfo(BaseModel):
    """A synced document (a note, a dataset, a general pool) and what was recorded about it."""

    source_kind: str
    uri: str
    content_hash: str
    extractor_version: str
    job_id: int | None
    synced_at: str
    meta: dict[str, Any]


class VersionHashes(BaseModel):
    """What the store recorded about a frozen version when it was made."""

    dataset_hash: str
    manifest_hash: str
    created_at: str


@dataclass
class SyncCounts:
    """What a sync did to the samples of a document. Every pair it yields is counted once, as
    added, updated, shared, moved, unchanged or repeated."""

    added: int = 0  # new samples, and retired ones seen again
    updated: int = 0  # samples the sync changed (a new license); for a check job, samples checked
    retired: int = 0
    unchanged: int = 0
    repeated: int = 0  # the same pair met again in the same run (a duplicate row of the source)
    shared: int = 0  # already in the store from another document: a new origin, not a change
    moved: int = 0  # the same pair at another place in the document (lines or row moved)
    replaced: int = 0  # of `added`: pairs that replace a reviewed pair from the same place

    def __iadd__(self, other: "SyncCounts") -> "SyncCounts":
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


class LedgerEntry(BaseModel):
    """One model request of a generation run, as the ledger keeps it (never the API key)."""

    key: str  # the request's name within its run, e.g. "round 3: instructions"
    model: str
    template_hash: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    latency_ms: int = 0
    attempts: int = 0
    outcome: str = "ok"  # ok, failed, unparsable, budget
    error: str | None = None
    raw: str | None = None  # the reply as received: kept when it could not be parsed, or to be reused
    produced: list[str] = []
    rejected: int = 0  # pairs the generation filters dropped


@dataclass
class CheckResult:
    """What the check runner decided for one sample, and the revision of the text it checked."""

    lang: str | None
    findings: list[Finding] = field(default_factory=list)
    reject: bool = False
    revision: int | None = None  # None: save whatever the sample's revision is now


@dataclass
class CheckSaved:
    rejected: int = 0
    # Samples a person (or a sync) changed while the check ran: their results were for a text or
    # a status that is no longer there, so nothing was written and they stay unchecked.
    changed_meanwhile: list[str] = field(default_factory=list)


@dataclass
class BulkStatusResult:
    changed: int = 0
    matched_at_start: int = 0  # matched when the command began; the rest were decided by someone else meanwhile


class Store:
    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0, mmap_bytes: int = 0, read_only: bool = False):
        """With `read_only`, the file is read as it is (SQLite's immutable mode, blind to other processes'
        writes): for a read-only folder or a full disk, where SQLite cannot make the -wal/-shm files WAL
        needs. Writes then fail."""
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StoreError(f"{self.path.parent}: no such folder; run `factory init` first")
        target = f"{self.path.resolve().as_uri()}?immutable=1" if read_only else str(self.path)
        try:
            self._db = sqlite3.connect(target, timeout=busy_timeout_s, isolation_level=None, uri=read_only)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            if not read_only:  # a new store becomes WAL here; an existing one keeps the mode in its file
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA cache_size = -65536")  # 64 MB: the id indexes of a large store stay in memory
            self._db.execute("PRAGMA foreign_keys = ON")
            if mmap_bytes:  # a short-lived reader (one page render) reads through the OS cache, no copies
                self._db.execute(f"PRAGMA mmap_size = {int(mmap_bytes)}")
            self._migrate()
        except sqlite3.Error as exc:  # a read-only, full or locked store: one line naming it, not a traceback
            raise (store_error(exc, self.path) or exc) from None

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        if self.schema_version == SCHEMA_VERSION:  # the usual case: opening takes no write lock
            return
        with self.transaction():
            current = self.schema_version
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: store schema v{current} is newer than this factory understands "
                    f"(v{SCHEMA_VERSION}); upgrade dataset-factory"
                )
            for version in range(current, SCHEMA_VERSION):
                for statement in _split_sql(MIGRATIONS[version]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {version + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested use joins the outer one."""
        if self._db.in_transaction:
            yield self._db
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reads -----------------------------------------------------------------------------
    def get(self, sample_id: str) -> Sample:
        row = self._db.execute(f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE id = ?", (sample_id,)).fetchone()
        if row is None:
            raise StoreError(f"no sample with id {sample_id}")
        return self._samples_from_rows([row])[0]

    def find_ids(self, prefix: str) -> list[str]:
        """Ids starting with `prefix`, so people can type a short one."""
        rows = self._db.execute("SELECT id FROM samples WHERE id >= ? AND id < ? LIMIT 10", (prefix, prefix + "\uffff"))
        return [r[0] for r in rows]

    def samples(self, flt: SampleFilter | None = None, *, limit: int | None = None, offset: int = 0) -> list[Sample]:
        where, params = (flt or SampleFilter()).where()
        sql = f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE {where} ORDER BY created_at, rowid"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return self._samples_from_rows(self._db.execute(sql, params).fetchall())

    def count(self, flt: SampleFilter | None = None) -> int:
        where, params = (flt or SampleFilter()).where()
        return self._db.execute(f"SELECT count(*) FROM samples WHERE {where}", params).fetchone()[0]

    def ids(self, flt: SampleFilter | None = None) -> list[str]:
        where, params = (flt or SampleFilter()).where()
        return [r[0] for r in self._db.execute(f"SELECT id FROM samples WHERE {where} ORDER BY created_at, rowid", params)]

    def stats(self) -> dict[str, Any]:
        """Counts of live samples by status, source kind, language and reason code."""

        def grouped(sql: str) -> dict[str, int]:
            return {str(k): n for k, n in self._db.execute(sql)}

        live = "FROM samples WHERE retired_at IS NULL"
        return {
            "total": self._db.execute(f"SELECT count(*) {live}").fetchone()[0],
            "retired": self._db.execute("SELECT count(*) FROM samples WHERE retired_at IS NOT NULL").fetchone()[0],
            "unchecked": self._db.execute(f"SELECT count(*) {live} AND checked = 0").fetchone()[0],
            # Review counts leave general pools out: they are mixed in at freeze, not reviewed.
            "by_status": grouped(f"SELECT status, count(*) {live} AND source_kind != 'general' "
                                 "GROUP BY status ORDER BY status"),
            "general_by_status": grouped(f"SELECT status, count(*) {live} AND source_kind = 'general' "
                                         "GROUP BY status ORDER BY status"),
            "by_source": grouped(f"SELECT source_kind, count(*) {live} GROUP BY source_kind ORDER BY source_kind"),
            "by_lang": grouped(f"SELECT coalesce(lang, 'unknown'), count(*) {live} GROUP BY 1 ORDER BY 1"),
            "by_license": grouped(f"SELECT CASE source_license WHEN '' THEN 'unknown' ELSE source_license END, "
                                  f"count(*) {live} GROUP BY 1 ORDER BY 1"),
            "by_reason": grouped(
                "SELECT f.code, count(DISTINCT f.sample_id) FROM findings f JOIN samples s ON s.id = f.sample_id "
                "WHERE s.retired_at IS NULL GROUP BY f.code ORDER BY f.code"
            ),
        }

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only query, for views (the review app's queue and dashboards)."""
        if not sql.lstrip().upper().startswith("SELECT"):
            raise StoreError("Store.read runs SELECT queries only; writes go through the store's methods")
        return self._db.execute(sql, list(params)).fetchall()

    def replaces(self, sample_id: str) -> str | None:
        """The reviewed pair this sample replaces (the same place in its note, an earlier text), if any."""
        return self.replaced_ids([sample_id]).get(sample_id)

    def replaced_ids(self, sample_ids: Sequence[str]) -> dict[str, str]:
        """Sample id -> the id it replaces, for those of `sample_ids` that replace one."""
        found: dict[str, str] = {}
        for start in range(0, len(sample_ids), 900):
            found.update(self._db.execute(
                "SELECT id, replaces FROM samples WHERE id IN (SELECT value FROM json_each(?)) "
                "AND replaces IS NOT NULL", (_json(list(sample_ids[start:start + 900])),)).fetchall())
        return found

    def replacements_of(self, sample_id: str) -> list[str]:
        """The samples that replace this one, newest first."""
        return [r[0] for r in self._db.execute("SELECT id FROM samples WHERE replaces = ? ORDER BY rowid DESC",
                                               (sample_id,))]

    def history(self, sample_id: str) -> list[HistoryEntry]:
        rows = self._db.execute("SELECT * FROM history WHERE sample_id = ? ORDER BY seq", (sample_id,))
        return [HistoryEntry(**{**dict(r), "changes": json.loads(r["changes"])}) for r in rows]

    def documents(self, source_kind: str) -> dict[str, tuple[str, str]]:
        """uri -> (content hash, extractor version) of every document synced from this kind of source."""
        rows = self._db.execute(
            "SELECT uri, content_hash, extractor_version FROM documents WHERE source_kind = ?", (source_kind,)
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def document_infos(self, source_kind: str) -> list[DocumentInfo]:
        rows = self._db.execute("SELECT * FROM documents WHERE source_kind = ? ORDER BY uri", (source_kind,))
        return [DocumentInfo(**{**dict(r), "meta": json.loads(r["meta"])}) for r in rows]

    def document(self, source_kind: str, uri: str) -> DocumentInfo | None:
        row = self._db.execute("SELECT * FROM documents WHERE source_kind = ? AND uri = ?", (source_kind, uri)).fetchone()
        if row is None:
            return None
        return DocumentInfo(**{**dict(row), "meta": json.loads(row["meta"])})

    def _samples_from_rows(self, rows: Sequence[sqlite3.Row]) -> list[Sample]:
        findings: dict[str, list[Finding]] = {}
        ids = [r["id"] for r in rows]
        for chunk_start in range(0, len(ids), 900):
            chunk = ids[chunk_start : chunk_start + 900]
            for f in self._db.execute(
                "SELECT * FROM findings WHERE sample_id IN (SELECT value FROM json_each(?)) ORDER BY rowid",
                (_json(chunk),),
            ):
                findings.setdefault(f["sample_id"], []).append(
                    Finding(check=f["check_name"], code=f["code"], severity=f["severity"],
                            message=f["message"], related_id=f["related_id"])
                )
        return [
            Sample(
                id=r["id"], instruction=r["instruction"], input=r["input"], output=r["output"], system=r["system"],
                history=[tuple(t) for t in json.loads(r["history"])],
                source=Source(kind=r["source_kind"], uri=r["source_uri"], locator=json.loads(r["source_locator"]),
                              extractor_version=r["extractor_version"], content_hash=r["source_hash"],
                              license=r["source_license"]),
                lang=r["lang"], tags=json.loads(r["tags"]), status=r["status"],
                findings=findings.get(r["id"], []), revision=r["revision"],
            )
            for r in rows
        ]

    # -- writes: sources -------------------------------------------------------------------
    def sync_document(self, source_kind: str, uri: str, content_hash: str, extractor_version: str,
                      samples: Sequence[Sample], *, actor: str, job_id: int | None = None,
                      meta: dict[str, Any] | None = None) -> SyncCounts:
        """Make `samples` the complete set this document yields, in one transaction.

        For a document too large for one list (a dataset of a million rows), call `sync_batch`
        per batch with one token and `finish_sync` at the end instead.

        A new pair that stands where a reviewed pair went away (factory/replacements.py decides
        which) names it in `replaces`, with a history entry on both: see `_link_replacements`.
        """
        with self.transaction() as db:
            token = new_sync_token()
            counts, added = self._sync_batch(source_kind, uri, samples, actor=actor, token=token)
            gone = {r[0]: r[1] for r in db.execute(
                "SELECT sample_id, locator FROM origins WHERE source_kind = ? AND source_uri = ? "
                "AND sync_token IS NOT ?", (source_kind, uri, token))} if added else {}
            counts.retired += self.finish_sync(source_kind, uri, token=token, content_hash=content_hash,
                                               extractor_version=extractor_version, actor=actor, job_id=job_id,
                                               meta=meta)
            if gone:
                counts.replaced += self._link_replacements(gone, added, actor)
        return counts

    def sync_batch(self, source_kind: str, uri: str, samples: Sequence[Sample], *, actor: str,
                   token: str) -> SyncCounts:
        """Add one batch of a document's samples, marking their origins as seen by the run `token`.

        New pairs are added as pending; pairs already in the store keep their status, edits and
        approvals (an unchanged pair has the same id); a retired pair seen again is restored. A
        pair met twice in one run keeps its first origin and counts as `repeated`; one the store
        has from another document counts as `shared`, and one found at a new place in this
        document (its lines or row moved) as `moved`.
        """
        return self._sync_batch(source_kind, uri, samples, actor=actor, token=token)[0]

    def _sync_batch(self, source_kind: str, uri: str, samples: Sequence[Sample], *, actor: str,
                    token: str) -> tuple[SyncCounts, list[Sample]]:
        """`sync_batch`, also returning the samples it inserted."""
        counts = SyncCounts()
        wanted: dict[str, Sample] = {}
        for sample in samples:
            if sample.id in wanted:
                counts.repeated += 1
                continue
            # The document owns these samples' provenance, whatever the caller put in `source`.
            if (sample.source.kind, sample.source.uri) != (source_kind, uri):
                sample = sample.model_copy(
                    update={"source": sample.source.model_copy(update={"kind": source_kind, "uri": uri})})
            wanted[sample.id] = sample
        locators = {sample_id: _json(sample.source.locator) for sample_id, sample in wanted.items()}
        with self.transaction() as db:
            ids = _json(list(wanted))
            existing, licenses = {}, {}
            for r in db.execute("SELECT id, retired_at, source_kind, source_uri, source_license FROM samples "
                                "WHERE id IN (SELECT value FROM json_each(?))", (ids,)):
                existing[r[0]] = r[1]
                if (r[2], r[3]) == (source_kind, uri):  # this document is the sample's own source
                    licenses[r[0]] = r[4]
            seen_by, placed_at = {}, {}
            for sample_id, seen_token, locator in db.execute(
                    "SELECT sample_id, sync_token, locator FROM origins WHERE source_kind = ? AND source_uri = ? "
                    "AND sample_id IN (SELECT value FROM json_each(?))", (source_kind, uri, ids)):
                seen_by[sample_id], placed_at[sample_id] = seen_token, locator
            new = [s for i, s in wanted.items() if i not in existing]
            self._insert_many(new, actor, locators)
            counts.added += len(new)
            linked: list[Sample] = []
            kept: dict[str, str] = {}  # a live sample -> the count it adds to, once its license is compared
            for sample_id, sample in wanted.items():
                if sample_id not in existing:
                    linked.append(sample)
                    continue
                if seen_by.get(sample_id) == token:  # an earlier batch of this run had it
                    counts.repeated += 1
                    continue
                if existing[sample_id] is not None:
                    self._log(sample_id, actor, "restore", {"retired_at": [existing[sample_id], None]}, bump=True)
                    db.execute("UPDATE samples SET retired_at = NULL WHERE id = ?", (sample_id,))
                    counts.added += 1
                elif sample_id in seen_by:
                    kept[sample_id] = "unchanged" if _same_json(placed_at[sample_id], locators[sample_id]) else "moved"
                else:  # another document yields it too: one more origin, not a change to the sample
                    kept[sample_id] = "shared"
                linked.append(sample)
            db.executemany(
                "INSERT INTO origins (source_kind, source_uri, sample_id, locator, extractor_version, source_hash, "
                "license, sync_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "locator = excluded.locator, extractor_version = excluded.extractor_version, "
                "source_hash = excluded.source_hash, license = excluded.license, sync_token = excluded.sync_token",
                [(source_kind, uri, s.id, locators[s.id], s.source.extractor_version, s.source.content_hash,
                  s.source.license, token) for s in linked],
            )
            # A license is part of what a version promises about its data: a change is a revision.
            for s in linked:
                if s.id in licenses and licenses[s.id] != s.source.license:
                    self._log(s.id, actor, "license", {"license": [licenses[s.id], s.source.license]}, bump=True)
                    if s.id in kept:
                        kept[s.id] = "updated"
            for count in kept.values():
                setattr(counts, count, getattr(counts, count) + 1)
            # Keep a sample's own source pointing at where it lives now (line ranges move).
            db.executemany(
                "UPDATE samples SET source_locator = ?, source_hash = ?, extractor_version = ?, source_license = ? "
                "WHERE id = ? AND source_kind = ? AND source_uri = ?",
                [(locators[s.id], s.source.content_hash, s.source.extractor_version, s.source.license,
                  s.id, source_kind, uri) for s in linked if s.id in existing],
            )
        return counts, new

    def _link_replacements(self, gone: dict[str, str], added: Sequence[Sample], actor: str) -> int:
        """Link each new pair to the pair it replaces, among the `gone` ones (id -> the locator it
        had in the document) that the sync retired. A link is written only to a pair a person
        decided or edited; when the pair that went away was an unreviewed replacement itself, the
        new one names what that one replaced (the text a person last looked at). The new sample
        gets `replaces` and a history entry (a revision: its row changed); each pair it stands for
        gets a `replaced` entry naming it. Returns how many were linked."""
        db = self._db
        ids = _json(list(gone))
        rows = {r["id"]: r for r in db.execute(
            "SELECT id, instruction, input, output, status, replaces FROM samples "
            "WHERE id IN (SELECT value FROM json_each(?)) AND retired_at IS NOT NULL", (ids,))}
        if not rows:
            return 0
        edited = {r[0] for r in db.execute("SELECT DISTINCT sample_id FROM history WHERE action = 'edit' "
                                           "AND sample_id IN (SELECT value FROM json_each(?))", (ids,))}
        old = [PlacedPair.of(i, r["instruction"], r["input"], r["output"], json.loads(gone[i]))
               for i, r in rows.items()]
        new = [PlacedPair.of(s.id, s.instruction, s.input, s.output, s.source.locator) for s in added]
        linked = 0
        for old_id, new_id in match_replacements(old, new):
            row = rows[old_id]
            target = old_id if row["status"] != "pending" or old_id in edited else row["replaces"]
            if target is None:  # nobody looked at it: there is no reviewed text to compare with
                continue
            db.execute("UPDATE samples SET replaces = ? WHERE id = ?", (target, new_id))
            self._log(new_id, actor, "replaces", {"replaces": target} if target == old_id
                      else {"replaces": target, "instead_of": old_id}, bump=True)
            for replaced in dict.fromkeys((old_id, target)):
                self._log(replaced, actor, "replaced", {"replaced_by": new_id}, bump=False)
            linked += 1
        return linked

    def origin_rows(self, source_kind: str, uri: str, sample_ids: Sequence[str], *, token: str) -> dict[str, int]:
        """The source row each sample had in this document before the run `token` saw it again:
        anchors that tell which earlier rows an unreadable row sits between."""
        rows = self._db.execute(
            "SELECT sample_id, json_extract(locator, '$.row') FROM origins WHERE source_kind = ? AND source_uri = ? "
            "AND sample_id IN (SELECT value FROM json_each(?)) AND sync_token IS NOT ?",
            (source_kind, uri, _json(list(sample_ids)), token))
        return {sample_id: row for sample_id, row in rows if isinstance(row, int)}

    def keep_row_ranges(self, source_kind: str, uri: str, ranges: Sequence[tuple[int | None, int | None]], *,
                        token: str) -> int:
        """Mark as seen by the run `token` the origins whose earlier row lies strictly inside one of
        `ranges` (None: open-ended): what an unreadable row yielded before stays, wherever rows
        inserted or removed above it moved it. Returns how many origins were kept."""
        if not ranges:
            return 0
        # Only origins this run has not seen can be kept, and after a run they are few (the rows
        # that went away). Reaching them through the token ranges of origins_by_document, instead
        # of reading every origin of the document, keeps this cheap on a million-row dataset.
        not_yet_seen = " UNION ALL ".join(
            f"SELECT rowid, json_extract(locator, '$.row') FROM origins WHERE source_kind = :kind "
            f"AND source_uri = :uri AND sync_token {test}" for test in ("IS NULL", "< :token", "> :token"))
        bounds = [(hi, lo) if lo is not None and hi is not None and lo > hi else (lo, hi)  # reordered rows
                  for lo, hi in ranges]
        with self.transaction() as db:
            candidates = db.execute(not_yet_seen, {"kind": source_kind, "uri": uri, "token": token}).fetchall()
            kept = [rowid for rowid, row in candidates if isinstance(row, int) and any(
                (lo is None or lo < row) and (hi is None or row < hi) for lo, hi in bounds)]
            db.execute("UPDATE origins SET sync_token = ? WHERE rowid IN (SELECT value FROM json_each(?))",
                       (token, _json(kept)))
        return len(kept)

    def finish_sync(self, source_kind: str, uri: str, *, token: str, content_hash: str, extractor_version: str,
                    actor: str, job_id: int | None = None, meta: dict[str, Any] | None = None) -> int:
        """The run `token` has seen the whole document: drop the origins it did not see (retiring
        samples left with none) and record the document's hash. Returns how many were retired."""
        with self.transaction() as db:
            gone = [r[0] for r in db.execute(
                "SELECT sample_id FROM origins WHERE source_kind = ? AND source_uri = ? AND sync_token IS NOT ?",
                (source_kind, uri, token))]
            retired = self._drop_origins(source_kind, uri, gone, actor)
            db.execute(
                "INSERT INTO documents (source_kind, uri, content_hash, extractor_version, job_id, synced_at, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET content_hash = excluded.content_hash, "
                "extractor_version = excluded.extractor_version, job_id = excluded.job_id, "
                "synced_at = excluded.synced_at, meta = excluded.meta",
                (source_kind, uri, content_hash, extractor_version, job_id, now(), _json(meta or {})),
            )
        return retired

    def forget_document(self, source_kind: str, uri: str, *, actor: str) -> int:
        """The document is gone: drop its origins, retire samples left with none. Returns how many retired."""
        with self.transaction() as db:
            ids = {r[0] for r in db.execute(
                "SELECT sample_id FROM origins WHERE source_kind = ? AND source_uri = ?", (source_kind, uri))}
            retired = self._drop_origins(source_kind, uri, ids, actor)
            db.execute("DELETE FROM documents WHERE source_kind = ? AND uri = ?", (source_kind, uri))
        return retired

    def _drop_origins(self, source_kind: str, uri: str, sample_ids: Iterable[str], actor: str) -> int:
        retired = 0
        for sample_id in sample_ids:
            self._db.execute("DELETE FROM origins WHERE source_kind = ? AND source_uri = ? AND sample_id = ?",
                             (source_kind, uri, sample_id))
            other = self._db.execute("SELECT * FROM origins WHERE sample_id = ? ORDER BY rowid LIMIT 1",
                                     (sample_id,)).fetchone()
            row = self._db.execute("SELECT source_kind, source_uri, retired_at FROM samples WHERE id = ?",
                                   (sample_id,)).fetchone()
            if other is None:
                if row["retired_at"] is None:
                    stamp = now()
                    self._log(sample_id, actor, "retire", {"retired_at": [None, stamp], "origin": [uri, None]}, bump=True)
                    self._db.execute("UPDATE samples SET retired_at = ? WHERE id = ?", (stamp, sample_id))
                    retired += 1
            elif (row["source_kind"], row["source_uri"]) == (source_kind, uri):
                self._log(sample_id, actor, "move", {"source_uri": [uri, other["source_uri"]]}, bump=False)
                self._db.execute(
                    "UPDATE samples SET source_kind = ?, source_uri = ?, source_locator = ?, extractor_version = ?, "
                    "source_hash = ? WHERE id = ?",
                    (other["source_kind"], other["source_uri"], other["locator"], other["extractor_version"],
                     other["source_hash"], sample_id),
                )
        return retired

    def _insert_many(self, samples: Sequence[Sample], actor: str, locators: dict[str, str]) -> None:
        """Add new samples; `locators` holds each one's encoded source locator by id."""
        stamp = now()
        self._db.executemany(
            f"INSERT INTO samples ({_SAMPLE_COLUMNS}, checked, retired_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)",
            [(s.id, s.instruction, s.input, s.output, s.system, _json(s.history), s.source.kind, s.source.uri,
              locators[s.id], s.source.extractor_version, s.source.content_hash, s.source.license, s.lang,
              _json(s.tags), s.status, 1, stamp, stamp) for s in samples],
        )
        # The added text is the sample row itself; an edit logs the old and new text. A batch's
        # samples share one source and mostly one status, so the changes are encoded once per pair.
        changes: dict[tuple[str, str, str], str] = {}
        for s in samples:
            key = (s.status, s.source.kind, s.source.uri)
            if key not in changes:
                changes[key] = _json({"status": [None, s.status], "source": [None, f"{s.source.kind}:{s.source.uri}"]})
        self._db.executemany(
            "INSERT INTO history (sample_id, at, actor, action, revision, changes) VALUES (?, ?, ?, 'add', 1, ?)",
            [(s.id, stamp, actor, changes[s.status, s.source.kind, s.source.uri]) for s in samples],
        )

    def _log(self, sample_id: str, actor: str, action: str, changes: dict[str, Any], *, bump: bool,
             revision: int | None = None) -> int:
        """Append to the history and, when `bump`, advance the sample's revision. Returns the revision."""
        if revision is None:
            (revision,) = self._db.execute("SELECT revision FROM samples WHERE id = ?", (sample_id,)).fetchone()
            if bump:
                revision += 1
                self._db.execute("UPDATE samples SET revision = ?, updated_at = ? WHERE id = ?",
                                 (revision, now(), sample_id))
        self._db.execute(
            "INSERT INTO history (sample_id, at, actor, action, revision, changes) VALUES (?, ?, ?, ?, ?, ?)",
            (sample_id, now(), actor, action, revision, _json(changes)),
        )
        return revision

    # -- writes: review --------------------------------------------------------------------
    def set_status(self, sample_ids: Iterable[str], status: Status, *, actor: str, reason: str | None = None,
                   expected_revisions: dict[str, int] | None = None) -> int:
        """Approve or reject. With `expected_revisions`, refuse (and write nothing) if any sample moved on."""
        changed = 0
        with self.transaction() as db:
            for sample_id in sample_ids:
                row = db.execute("SELECT status, revision FROM samples WHERE id = ?", (sample_id,)).fetchone()
                if row is None:
                    raise StoreError(f"no sample with id {sample_id}")
                if expected_revisions and expected_revisions.get(sample_id, row["revision"]) != row["revision"]:
                    raise RevisionConflict(sample_id, expected_revisions[sample_id], row["revision"])
                if row["status"] == status:
                    continue
                changes: dict[str, Any] = {"status": [row["status"], status]}
                if reason:
                    changes["reason"] = reason
                self._log(sample_id, actor, status if status != "pending" else "reopen", changes, bump=True)
                db.execute("UPDATE samples SET status = ? WHERE id = ?", (status, sample_id))
                changed += 1
        return changed

    def set_status_matching(self, flt: SampleFilter, status: Status, *, actor: str, reason: str | None = None,
                            chunk: int = 5000, progress: Progress = no_progress) -> BulkStatusResult:
        """Approve or reject every sample matching `flt`, a chunk per transaction.

        Each chunk is selected inside the transaction that writes it, so a sample that someone
        else decided or edited after the command began no longer matches and is left alone: two
        bulk commands, a check and the review app can run at once and every sample gets one
        decision, each in the history.
        """
        where, params = flt.where()
        where += " AND status != ?"
        params.append(status)
        result = BulkStatusResult(matched_at_start=self._db.execute(
            f"SELECT count(*) FROM samples WHERE {where}", params).fetchone()[0])
        changes = ["'status'", "json_array(status, :status)"] + (["'reason'", ":reason"] if reason else [])
        named = {f"p{i}": value for i, value in enumerate(params)}
        where_named = _number_placeholders(where)
        after = -1
        while True:
            with self.transaction() as db:
                rows = db.execute(f"SELECT rowid, id FROM samples WHERE {where_named} AND rowid > :after "
                                  "ORDER BY rowid LIMIT :chunk", {**named, "after": after, "chunk": chunk}).fetchall()
                if not rows:
                    break
                after = rows[-1][0]
                values = {"ids": _json([r[1] for r in rows]), "status": status, "reason": reason, "at": now(),
                          "actor": actor, "action": status if status != "pending" else "reopen"}
                chosen = "id IN (SELECT value FROM json_each(:ids))"
                db.execute("INSERT INTO history (sample_id, at, actor, action, revision, changes) "
                           f"SELECT id, :at, :actor, :action, revision + 1, json_object({', '.join(changes)}) "
                           f"FROM samples WHERE {chosen}", values)
                db.execute(f"UPDATE samples SET status = :status, revision = revision + 1, updated_at = :at "
                           f"WHERE {chosen}", values)
                result.changed += len(rows)
            progress(result.changed, result.matched_at_start)
        return result

    def edit(self, sample_id: str, expected_revision: int, changes: dict[str, Any], *, actor: str) -> Sample:
        """Change text fields or tags, refusing when someone else changed the sample first."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise StoreError(f"cannot edit {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE_FIELDS)}")
        with self.transaction() as db:
            current = self.get(sample_id)
            if current.revision != expected_revision:
                raise RevisionConflict(sample_id, expected_revision, current.revision)
            updated = current.model_copy(update=changes)
            Sample.model_validate(updated.model_dump())  # the edit must still be a valid record
            old, new = current.model_dump(), updated.model_dump()
            diff = {k: [old[k], new[k]] for k in changes if old[k] != new[k]}
            if not diff:
                return current
            self._log(sample_id, actor, "edit", diff, bump=True)
            db.execute(
                "UPDATE samples SET instruction = ?, input = ?, output = ?, system = ?, history = ?, tags = ?, "
                "checked = 0 WHERE id = ?",
                (updated.instruction, updated.input, updated.output, updated.system, _json(updated.history),
                 _json(updated.tags), sample_id),
            )
            db.execute("DELETE FROM findings WHERE sample_id = ?", (sample_id,))
        return self.get(sample_id)

    def save_check_results(self, results: dict[str, CheckResult], *, actor: str) -> CheckSaved:
        """Replace findings and language; reject pending samples the checks reject.

        A result carrying the revision it was computed for is written only if the sample is still
        at that revision: an approval, an edit or a rejection made while the check ran is never
        overwritten, and an edited text is left unchecked for the next run.
        """
        saved = CheckSaved()
        with self.transaction() as db:
            for sample_id, result in results.items():
                row = db.execute("SELECT status, revision FROM samples WHERE id = ?", (sample_id,)).fetchone()
                if row is None or (result.revision is not None and row["revision"] != result.revision):
                    saved.changed_meanwhile.append(sample_id)
                    continue
                old = [f["code"] for f in db.execute(
                    "SELECT code FROM findings WHERE sample_id = ? ORDER BY rowid", (sample_id,))]
                new = [f.code for f in result.findings]
                db.execute("DELETE FROM findings WHERE sample_id = ?", (sample_id,))
                db.executemany(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)",
                    [(sample_id, f.check, f.code, f.severity, f.message, f.related_id) for f in result.findings],
                )
                db.execute("UPDATE samples SET lang = ?, checked = 1 WHERE id = ?", (result.lang, sample_id))
                if old != new:
                    self._log(sample_id, actor, "check", {"findings": [old, new]}, bump=False)
                if result.reject and row["status"] == "pending":  # a person's decision is never undone
                    reasons = ", ".join(sorted({f.code for f in result.findings if f.severity == "reject"}))
                    saved.rejected += self.set_status([sample_id], "rejected", actor=actor, reason=reasons)
        return saved

    # -- the LLM ledger --------------------------------------------------------------------
    def start_llm_run(self, run_id: str, kind: str, args: dict[str, Any], model: str, base_url: str,
                      target: int) -> bool:
        """Record a generation run; returns False when it exists already (a resumed run)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM llm_runs WHERE id = ?", (run_id,)).fetchone():
                db.execute("UPDATE llm_runs SET state = 'running', updated_at = ? WHERE id = ?", (now(), run_id))
                return False
            db.execute("INSERT INTO llm_runs (id, kind, args, model, base_url, target, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (run_id, kind, _json(args), model, base_url, target, now(), now()))
            return True

    def finish_llm_run(self, run_id: str, state: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE llm_runs SET state = ?, updated_at = ? WHERE id = ?", (state, now(), run_id))

    def record_llm_request(self, run_id: str, entry: LedgerEntry, samples: Sequence[Sample] = (), *,
                           actor: str, token: str) -> SyncCounts:
        """One finished request and the samples it produced, in one transaction: a run killed at
        any point has either both or neither, so a resumed run never pays twice for it."""
        with self.transaction() as db:
            counts = self.sync_batch(samples[0].source.kind, run_id, samples, actor=actor, token=token) \
                if samples else SyncCounts()
            db.execute(
                "INSERT INTO llm_requests (run_id, key, at, model, template_hash, tokens_in, tokens_out, cost, "
                "latency_ms, attempts, outcome, error, raw, produced, rejected) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, entry.key, now(), entry.model, entry.template_hash, entry.tokens_in, entry.tokens_out,
                 entry.cost, entry.latency_ms, entry.attempts, entry.outcome, entry.error, entry.raw,
                 _json([s.id for s in samples] or entry.produced), entry.rejected),
            )
            db.execute("UPDATE llm_runs SET updated_at = ? WHERE id = ?", (now(), run_id))
        return counts

    def llm_requests(self, run_id: str) -> list[LedgerEntry]:
        rows = self._db.execute("SELECT * FROM llm_requests WHERE run_id = ? ORDER BY id", (run_id,))
        return [LedgerEntry(**{k: r[k] for k in LedgerEntry.model_fields if k != "produced"},
                            produced=json.loads(r["produced"])) for r in rows]

    def llm_replies(self, kind: str, template_hash: str) -> dict[str, str]:
        """Request key -> reply of every answered request of that kind and template, across runs
        (the newest wins): what a later run reuses instead of paying again."""
        rows = self._db.execute(
            "SELECT q.key, q.raw FROM llm_requests q JOIN llm_runs r ON r.id = q.run_id WHERE r.kind = ? "
            "AND q.template_hash = ? AND q.outcome = 'ok' AND q.raw IS NOT NULL ORDER BY q.id", (kind, template_hash))
        return {key: raw for key, raw in rows}

    def llm_runs(self) -> list[dict[str, Any]]:
        """Every run with its totals: requests, tokens, cost, samples produced and their review state."""
        runs = []
        for r in self._db.execute("SELECT * FROM llm_runs ORDER BY created_at"):
            totals = self._db.execute(
                "SELECT count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), coalesce(sum(cost), 0), "
                "coalesce(sum(outcome != 'ok'), 0), coalesce(sum(rejected), 0) FROM llm_requests WHERE run_id = ?",
                (r["id"],)).fetchone()
            by_status = dict(self._db.execute(
                "SELECT status, count(*) FROM samples WHERE retired_at IS NULL AND id IN "
                "(SELECT j.value FROM llm_requests q, json_each(q.produced) j WHERE q.run_id = ?) GROUP BY status",
                (r["id"],)).fetchall())
            produced = sum(by_status.values())
            runs.append({"id": r["id"], "kind": r["kind"], "model": r["model"], "target": r["target"],
                         "state": r["state"], "created_at": r["created_at"], "requests": totals[0],
                         "failed_requests": totals[4], "tokens_in": totals[1], "tokens_out": totals[2],
                         "cost": round(totals[3], 6), "samples": produced, "filtered_out": totals[5],
                         "by_status": by_status,
                         "acceptance_rate": round(by_status.get("approved", 0) / produced, 4) if produced else None})
        return runs

    # -- frozen versions -------------------------------------------------------------------
    def record_version(self, name: str, version: int, *, dataset_hash: str, manifest_hash: str) -> None:
        """Remember a version's hashes at freeze; a version is recorded once and never changed."""
        with self.transaction() as db:
            db.execute("INSERT INTO versions (name, version, dataset_hash, manifest_hash, created_at) "
                       "VALUES (?, ?, ?, ?, ?)", (name, version, dataset_hash, manifest_hash, now()))

    def version_hashes(self, name: str, version: int) -> VersionHashes | None:
        """The hashes recorded when `name@v{version}` was frozen, or None for a version the store never froze."""
        row = self._db.execute("SELECT dataset_hash, manifest_hash, created_at FROM versions "
                               "WHERE name = ? AND version = ?", (name, version)).fetchone()
        return VersionHashes(**dict(row)) if row else None

    # -- jobs ------------------------------------------------------------------------------
    def start_job(self, kind: str, source: str, pid: int) -> int:
        with self.transaction() as db:
            # Whoever holds the job lock is the only live job: any "running" row left is a killed one.
            db.execute("UPDATE jobs SET state = 'interrupted' WHERE state = 'running'")
            cur = db.execute("INSERT INTO jobs (kind, source, state, pid, started_at) VALUES (?, ?, 'running', ?, ?)",
                             (kind, source, pid, now()))
            return int(cur.lastrowid)

    def update_job(self, job_id: int, *, state: str | None = None, counts: SyncCounts | None = None,
                   skipped: int = 0, errors: Sequence[dict[str, str]] = (), error_count: int | None = None,
                   meta: dict[str, Any] | None = None) -> None:
        """Record a job's progress; `error_count` when `errors` holds only the first few of them."""
        with self.transaction() as db:
            if meta is not None:
                db.execute("UPDATE jobs SET meta = ? WHERE id = ?", (_json(meta), job_id))
            if counts is not None:
                db.execute("UPDATE jobs SET added = ?, updated = ?, retired = ?, moved = ?, shared = ?, replaced = ? "
                           "WHERE id = ?", (counts.added, counts.updated, counts.retired, counts.moved, counts.shared,
                                            counts.replaced, job_id))
            db.execute("UPDATE jobs SET skipped = ?, errors = ?, error_log = ? WHERE id = ?",
                       (skipped, len(errors) if error_count is None else error_count, _json(list(errors)), job_id))
            if state is not None:
                db.execute("UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?", (state, now(), job_id))

    def jobs(self, limit: int = 50) -> list[JobRun]:
        rows = self._db.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        return [JobRun(**{**dict(r), "error_log": json.loads(r["error_log"]), "meta": json.loads(r["meta"])})
                for r in rows]

    def integrity_check(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]


def _same_json(a: str, b: str) -> bool:
    return a == b or json.loads(a) == json.loads(b)


def _number_placeholders(sql: str) -> str:
    """`?` placeholders as `:p0`, `:p1`, ... so a filter's clause can join a query with named ones."""
    parts = sql.split("?")
    return "".join(part + (f":p{i}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements; trigger bodies keep their inner semicolons."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current))
    return statements
