"""`factory extract notes PATH --llm`: a model writes question-answer pairs grounded in each note.

Each new or changed note is cut into chunks along its headings (sources/note_chunks.py); every
chunk is one request, asking for pairs that the chunk itself answers, each with a quote of its
evidence. Pairs whose quote is not in the chunk are dropped as ungrounded. Every pair keeps its
note, heading path, file lines, chunk key and evidence.

The rules of rule-based extraction hold: an unchanged note costs nothing (one read, one hash);
a changed note replaces its pairs in one transaction (unchanged pairs keep their review); a
deleted note retires its pairs. On top of that, each answered request is written to the ledger
with its reply as it arrives, keyed by a hash of the prompt, so a chunk is never paid for
twice: not after a kill, not when another part of its note changed, not when two notes share
it. A note whose chunks did not all get an answer (a request failed for good, the budget ran
out, a reply could not be read) keeps its previous pairs and is tried again on the next run,
which asks only the missing chunks. A permanent failure (the key refused, the model unknown, no
server) stops the asking at once and fails the job with that one error (LLMUnavailable), once
every answer that did come is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.errors import BadInput
from factory.ingest import NoteScan, finishing_job
from factory.jobs import job_lock
from factory.llm import (
    ChatRequest,
    ChatResult,
    LLMClient,
    LLMSettings,
    LLMUnavailable,
    ledger_entry,
    template_hash,
)
from factory.progress import Progress, no_progress
from factory.redaction import redact
from factory.sample import Sample, Source
from factory.store import JobRun, Store, SyncCounts
from factory.tokens import load_token_counter
from factory.workspace import Workspace
from sources.markdown_notes import note_outline
from sources.note_chunks import (
    PROMPT_TEMPLATE,
    Chunk,
    chunk_note,
    estimate_tokens,
    grounded_pairs,
    prompt_key,
)

log = logging.getLogger(__name__)
SOURCE_KIND = "notes_llm"
TEMPLATE_HASH = template_hash(PROMPT_TEMPLATE)
EXTRACTOR_VERSION = f"notes-llm/1+{TEMPLATE_HASH[:8]}"


@dataclass
class _Note:
    uri: str
    digest: str
    tags: list[str]
    chunks: list[tuple[Chunk, str]]  # (chunk, ledger key)
    samples: dict[str, list[Sample]] = field(default_factory=dict)  # key -> pairs, once answered
    missing: dict[str, str] = field(default_factory=dict)  # key -> why it has no answer

    @property
    def answered(self) -> bool:
        return len(self.samples) == len(self.chunks)


@dataclass
class LLMExtraction:
    job: JobRun
    run_id: str | None  # None when nothing had to be asked
    chunks: int
    asked: int
    reused: int
    ungrounded: int
    usage: dict[str, Any]


def extract_notes_llm(ws: Workspace, path: Path, *, wait: bool = False, progress: Progress = no_progress,
                      client: LLMClient | None = None) -> LLMExtraction:
    settings = LLMSettings.from_config(ws.config.llm)
    config = ws.config.llm_notes
    spec = ws.config.checks.tokenizer
    count_tokens = load_token_counter(spec) if spec.strip() else estimate_tokens
    with job_lock(ws.lock_path, f"extract notes {ws.uri_for(path)}", wait=wait), ws.open_store() as store:
        scan = NoteScan(ws, store, path, SOURCE_KIND, EXTRACTOR_VERSION)
        job_id = store.start_job("extract", f"{SOURCE_KIND}:{scan.scope}", os.getpid())
        job = _Job(store, settings, actor=f"job:extract#{job_id}", run_id=f"notes-llm-{job_id}", job_id=job_id)
        meta: dict[str, Any] = {"llm_run": None}
        with finishing_job(store, job_id, job.counts, scan, meta):
            notes = []
            for file in scan:
                try:
                    outline = note_outline(file.text, uri=file.uri)
                except BadInput as exc:
                    scan.error(file.uri, exc)
                    continue
                chunks = chunk_note(outline.sections, budget=config.chunk_tokens, count_tokens=count_tokens,
                                    min_chars=config.min_chunk_chars)
                notes.append(_Note(file.uri, file.digest, outline.tags,
                                   [(c, prompt_key(c.prompt(config.pairs_per_chunk))) for c in chunks]))
            job.answer(notes, config.pairs_per_chunk, client, progress)
            for note in notes:
                job.sync(note, scan)
            for uri in scan.gone:
                job.counts.retired += store.forget_document(SOURCE_KIND, uri, actor=job.actor)
            meta.update(llm_run=job.run_id if job.asked else None, chunks=job.chunk_count, asked=job.asked,
                        reused=job.reused, ungrounded=job.ungrounded, usage=job.usage)
            if job.unavailable:  # the job is recorded as failed, with its notes' errors
                raise LLMUnavailable(f"{job.unanswered} of {job.chunk_count} chunks got no answer: {job.unavailable}; "
                                     "notes keep their earlier pairs; once that is fixed, the same command asks only "
                                     "the missing chunks")
        return LLMExtraction(job=store.jobs(limit=1)[0], run_id=meta["llm_run"], chunks=job.chunk_count,
                             asked=job.asked, reused=job.reused, ungrounded=job.ungrounded, usage=job.usage)


@dataclass
class _Job:
    store: Store
    settings: LLMSettings
    actor: str
    run_id: str
    job_id: int
    counts: SyncCounts = field(default_factory=SyncCounts)
    chunk_count: int = 0
    asked: int = 0
    reused: int = 0
    ungrounded: int = 0
    unanswered: int = 0  # chunks (of the notes asked about) without a usable answer
    unavailable: str | None = None  # the permanent failure that stopped the asking
    usage: dict[str, Any] = field(default_factory=lambda: {"tokens_in": 0, "tokens_out": 0, "cost": 0.0})

    def answer(self, notes: list[_Note], pairs: int, client: LLMClient | None, progress: Progress) -> None:
        """Fill each note's samples: from earlier replies in the ledger, else by asking the model."""
        replies = self.store.llm_replies(SOURCE_KIND, TEMPLATE_HASH)
        chunks: dict[str, Chunk] = {}
        waiting: dict[str, list[_Note]] = {}  # a chunk's key -> the notes that hold it
        for note in notes:
            for chunk, key in note.chunks:
                self.chunk_count += 1
                chunks.setdefault(key, chunk)
                waiting.setdefault(key, []).append(note)
                if key in replies:
                    self.reused += 1
                    self._read(note, chunk, key, replies[key])
        wanted = {key: chunk for key, chunk in chunks.items() if key not in replies}
        if not wanted:
            return
        self.store.start_llm_run(self.run_id, SOURCE_KIND, {"job": self.job_id}, self.settings.model,
                                 redact(self.settings.base_url), len(wanted))
        requests = [ChatRequest(messages=[{"role": "user", "content": chunk.prompt(pairs)}], json_mode=True,
                                template_hash=TEMPLATE_HASH, key=key) for key, chunk in wanted.items()]
        done = iter(range(1, len(requests) + 1))

        def arrived(result: ChatResult) -> None:
            self._arrived(result, wanted[result.request.key], waiting[result.request.key])
            progress(next(done), len(requests))

        llm = client or LLMClient(self.settings)
        state = "interrupted"
        try:
            asyncio.run(_ask_all(llm, requests, arrived))
            self.unavailable = llm.unavailable
            state = "failed" if llm.unavailable else "completed"
        finally:
            self.store.finish_llm_run(self.run_id, state)
            self.usage = {"tokens_in": llm.usage.tokens_in, "tokens_out": llm.usage.tokens_out,
                          "cost": round(llm.usage.cost, 6)}

    def _arrived(self, result: ChatResult, chunk: Chunk, notes: list[_Note]) -> None:
        """Record one reply in the ledger at once (it is paid for) and read it into its notes."""
        key = result.request.key
        if result.outcome == "not_sent":  # after a permanent failure: nothing was asked, nothing to record
            for note in notes:
                note.missing[key] = result.error or "not asked"
            return
        self.asked += 1
        read = grounded_pairs(result.content, chunk) if result.content is not None else None
        unusable = read is not None and read.error is not None
        produced: list[str] = []
        for note in notes:
            if read is None or unusable:
                note.missing[key] = result.error or f"reply could not be read ({read.error if read else ''})"
            else:
                produced += [s.id for s in self._samples(note, chunk, key, read.pairs)]
        self.ungrounded += read.ungrounded if read else 0
        entry = ledger_entry(result, self.settings, outcome="unparsable" if unusable else result.outcome,
                             raw=result.content, produced=sorted(set(produced)),
                             rejected=read.ungrounded if read else 0)
        self.store.record_llm_request(self.run_id, entry, actor=self.actor, token="")

    def _read(self, note: _Note, chunk: Chunk, key: str, reply: str) -> None:
        read = grounded_pairs(reply, chunk)
        self.ungrounded += read.ungrounded
        self._samples(note, chunk, key, read.pairs)

    def _samples(self, note: _Note, chunk: Chunk, key: str, pairs: list[dict[str, str]]) -> list[Sample]:
        samples = [Sample(instruction=p["question"], input="", output=p["answer"], tags=list(note.tags),
                          source=Source(kind=SOURCE_KIND, uri=note.uri, extractor_version=EXTRACTOR_VERSION,
                                        content_hash=note.digest,
                                        locator={"heading_path": chunk.path, "lines": chunk.lines, "chunk": key,
                                                 "evidence": p["evidence"], "rule": "llm"}))
                   for p in pairs]
        note.samples[key] = samples
        return samples

    def sync(self, note: _Note, scan: NoteScan) -> None:
        if not note.answered:
            missing = [why for key, why in note.missing.items() if key not in note.samples]
            unanswered = len(note.chunks) - len(note.samples)
            self.unanswered += unanswered
            error = (f"{note.uri}: {unanswered} of {len(note.chunks)} chunks got no usable answer "
                     f"({missing[0] if missing else 'not asked'}); its earlier pairs are kept, run again to finish")
            if self.unavailable:  # listed with the job, not warned once per note: the job's one error says it
                scan.errors.append({"file": note.uri, "error": error})
            else:
                scan.error(note.uri, RuntimeError(error))
            return
        samples: dict[str, Sample] = {}  # a pair written from two chunks counts once
        for key in dict.fromkeys(k for _, k in note.chunks):
            samples.update((s.id, s) for s in note.samples[key] if s.id not in samples)
        self.counts += self.store.sync_document(SOURCE_KIND, note.uri, note.digest, EXTRACTOR_VERSION,
                                                list(samples.values()),
                                                actor=self.actor, job_id=self.job_id)


async def _ask_all(llm: LLMClient, requests: list[ChatRequest], arrived: Callable[[ChatResult], None]) -> None:
    try:
        await llm.chat_many(requests, on_result=arrived)
    finally:
        await llm.close()
