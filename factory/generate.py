"""`factory generate`: Self-Instruct through any OpenAI-compatible model, resumable from the ledger.

Without a domain, one round is the paper's two steps: the model is shown 8 tasks (6 from the
seed pool of people, 2 it wrote earlier, once there are any) and writes new instructions; those
that pass the paper's filters (length bounds, a keyword blacklist of tasks a text model cannot
do, and ROUGE-L novelty <= 0.7 against the whole pool) are sent back for their input and output.

In domain mode (`--domain` or `[generate] domain`) the model speaks as a persona ("You are a
senior practitioner of ...") and one request writes many whole cases on one topic of the
config's list (in turn), shown the same mix of human and machine examples; each case then
passes the same filters.

`concurrency` rounds are in flight at any time. Every finished request is written to the
ledger together with the samples it produced, in one transaction, so a run killed at any point
continues where it stopped: the run id is a hash of the arguments, the pool is rebuilt from the
store, a round whose instructions came back but whose instances did not is finished from the
instructions kept in the ledger, and nothing that finished is asked again. What earlier
sessions spent counts against the run's budget. `new_run=True` starts another run instead.
Generated pairs enter the store as pending `self_instruct` samples and go through the checks.

A run stopped by its budget, or by rounds that made nothing, returns (run it again to go on). A
permanent failure (the key refused, the model unknown, no server) raises LLMUnavailable naming
it, after recording what the run made: nothing more would have come of asking again.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.config import GenerateConfig
from factory.errors import BadInput
from factory.jobs import job_lock
from factory.json_repair import parse_pairs
from factory.llm import (
    ChatRequest,
    ChatResult,
    LLMClient,
    LLMSettings,
    LLMUnavailable,
    ledger_entry,
    template_hash,
)
from factory.novelty import NoveltyPool
from factory.progress import Progress, no_progress
from factory.redaction import redact
from factory.sample import Sample, Source
from factory.store import SampleFilter, Store, new_sync_token
from factory.workspace import Workspace

log = logging.getLogger(__name__)
SOURCE_KIND = "self_instruct"
HUMAN_EXAMPLES, MACHINE_EXAMPLES = 6, 2  # per prompt, as in the paper
STALL_ROUNDS = 3  # rounds per worker in a row without a new pair before the run gives up
# The paper's blacklist: tasks a text-only model cannot do (plus their Chinese counterparts).
BLACKLIST = ("image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
             "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram",
             "图片", "图像", "照片", "画一", "绘制", "视频", "音频", "音乐", "流程图", "文件")

INSTRUCTIONS_TEMPLATE = """You write new, diverse tasks for training an assistant.
Here are example tasks:
{examples}
Write {n} new tasks that differ from these in topic and form. Answer with a JSON array of
objects with the key "instruction" only, in the language of the examples."""

INSTANCES_TEMPLATE = """For each task below, write one input (or "" when the task needs none) and a
correct, complete output. Answer with a JSON array of objects with the keys
"instruction", "input" and "output", in the order given.
Tasks:
{tasks}"""

CASES_TEMPLATE = """Write {n} new, realistic cases{topic} of the kind you meet in your work in {domain}.
Each case is a task or question (instruction), the details it needs when it needs any (input,
else ""), and the complete answer you would give (output). Vary the situations; do not repeat
these earlier cases:
{examples}
Answer with a JSON array of objects with the keys "instruction", "input" and "output", in the
language of the examples."""


@dataclass
class GenerateResult:
    run_id: str
    resumed: bool
    added: int
    total: int
    target: int
    requests: int
    filtered: int
    stopped: str | None  # why the run stopped before the target: "budget", "no progress", "failed"
    usage: dict[str, Any]


def load_seeds(path: Path) -> list[dict[str, str]]:
    """Seed tasks from the paper's seed_tasks.jsonl shape ({instruction, instances:[{input, output}]})
    or an alpaca JSON / JSON lines file."""
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    if text is None:
        raise BadInput(f"{path}: no such seed file")
    rows: list[Any]
    try:
        rows = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not JSON or JSON lines ({exc.msg} at line {exc.lineno})") from None
    seeds = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("instruction"), str):
            raise BadInput(f"{path}: seed {number} has no instruction")
        instance = (row.get("instances") or [{}])[0]
        seeds.append({"instruction": row["instruction"], "input": instance.get("input", row.get("input", "")) or "",
                      "output": instance.get("output", row.get("output", "")) or ""})
    return seeds


def run_id_for(args: dict[str, Any], nonce: str = "") -> str:
    digest = hashlib.sha256((json.dumps(args, sort_keys=True) + nonce).encode()).hexdigest()
    return f"si-{digest[:12]}"


def passes_filters(instruction: str) -> str | None:
    """Why the paper's filters drop this instruction, or None when it passes."""
    text = instruction.strip()
    words = len(text.split()) if not re.search(r"[\u4e00-\u9fff]", text) else len(text) // 2
    if words < 3 or words > 150:
        return "length"
    lower = text.lower()
    if any(re.search(rf"\b{re.escape(w)}\b", lower) if w.isascii() else w in text for w in BLACKLIST):
        return "blacklist"
    if not text[0].isalnum() and not re.match(r"[\u4e00-\u9fff]", text):
        return "starts with punctuation"
    return None


@dataclass(frozen=True)
class Plan:
    """What the rounds of one run ask for."""

    domain: str
    persona: str  # the system message in domain mode
    topics: tuple[str, ...]
    pairs_per_call: int
    instructions_per_round: int
    novelty_threshold: float

    @classmethod
    def from_config(cls, config: GenerateConfig, domain: str | None) -> Plan:
        domain = (domain if domain is not None else config.domain).strip()
        return cls(domain=domain, persona=config.persona.replace("{domain}", domain) if domain else "",
                   topics=tuple(t.strip() for t in config.topics if t.strip()), pairs_per_call=config.pairs_per_call,
                   instructions_per_round=config.instructions_per_round, novelty_threshold=config.novelty_threshold)

    def topic(self, round_number: int) -> str:
        return self.topics[(round_number - 1) % len(self.topics)] if self.topics else ""


def generate(ws: Workspace, *, count: int, domain: str | None = None, seeds: str = "approved",
             concurrency: int | None = None, new_run: bool = False, wait: bool = False,
             progress: Progress = no_progress, client: LLMClient | None = None) -> GenerateResult:
    """Generate until the run holds `count` pairs (or the budget stops it); raises LLMUnavailable
    when a permanent failure stopped it."""
    settings = LLMSettings.from_config(ws.config.llm)
    if concurrency:
        settings = LLMSettings(**{**settings.__dict__, "concurrency": concurrency})
    plan = Plan.from_config(ws.config.generate, domain)
    args = {"count": count, "domain": plan.domain, "topics": list(plan.topics), "seeds": seeds,
            "model": settings.model}
    with job_lock(ws.lock_path, "generate", wait=wait), ws.open_store() as store:
        pool_seeds = _seed_pool(store, seeds, ws)
        run_id = run_id_for(args, os.urandom(4).hex() if new_run else "")
        resumed = not store.start_llm_run(run_id, SOURCE_KIND, args, settings.model, redact(settings.base_url), count)
        llm = client or LLMClient(settings)
        run = _Run.resume(store, llm, run_id, plan, pool_seeds)
        try:
            result = asyncio.run(_generate(run, count, settings.concurrency, progress))
        except BaseException:
            store.finish_llm_run(run_id, "interrupted")
            raise
        store.finish_llm_run(run_id, "completed" if result.stopped is None else result.stopped)
        if llm.unavailable:
            raise LLMUnavailable(f"run {run_id} stopped: {llm.unavailable}; {result.added} pairs added ({result.total} "
                                 f"of {count} in the run); once that is fixed, the same command continues the run")
        result.resumed = resumed
        return result


def _seed_pool(store: Store, seeds: str, ws: Workspace) -> list[dict[str, str]]:
    if seeds == "approved":
        pool = [{"instruction": s.instruction, "input": s.input, "output": s.output}
                for s in store.samples(SampleFilter(status="approved", include_general=False))]
        if not pool:
            raise BadInput("no approved samples to seed from; approve some, or pass --seeds FILE")
        return pool
    return load_seeds(Path(seeds))


def _round_of(key: str) -> int:
    return int(key.split()[1].rstrip(":"))


@dataclass
class _Round:
    added: int = 0
    filtered: int = 0
    requests: int = 0
    budget: bool = False


@dataclass
class _Run:
    """One run's state, shared by its concurrent rounds."""

    store: Store
    llm: LLMClient
    run_id: str
    plan: Plan
    seeds: list[dict[str, str]]
    machine: list[dict[str, str]]
    novelty: NoveltyPool
    first_round: int
    replays: list[tuple[int, str]]  # (round, instructions reply) still owed their instances
    rng: random.Random
    token: str = field(default_factory=new_sync_token)

    @classmethod
    def resume(cls, store: Store, llm: LLMClient, run_id: str, plan: Plan, seeds: list[dict[str, str]]) -> _Run:
        machine = [{"instruction": s.instruction, "input": s.input, "output": s.output}
                   for s in store.samples(SampleFilter(source_kind=SOURCE_KIND, source_uri=run_id))]
        ledger = store.llm_requests(run_id)
        llm.carry_over(sum(e.tokens_in + e.tokens_out for e in ledger), sum(e.cost for e in ledger))
        asked = {e.key for e in ledger}
        replays = [(_round_of(e.key), e.raw) for e in ledger
                   if e.key.endswith(": instructions") and e.outcome == "ok" and e.raw
                   and e.key.replace("instructions", "instances") not in asked]
        return cls(store=store, llm=llm, run_id=run_id, plan=plan, seeds=seeds, machine=machine,
                   novelty=NoveltyPool([s["instruction"] for s in seeds + machine]),
                   first_round=1 + max((_round_of(k) for k in asked), default=0), replays=replays,
                   rng=random.Random(run_id))

    @property
    def actor(self) -> str:
        return f"generate:{self.run_id}"

    def examples(self) -> str:
        chosen = self.rng.sample(self.seeds, min(HUMAN_EXAMPLES, len(self.seeds)))
        chosen += self.rng.sample(self.machine, min(MACHINE_EXAMPLES, len(self.machine)))
        return "\n".join(f"{i}. {c['instruction']}" for i, c in enumerate(chosen, 1))

    def request(self, template: str, prompt: str, key: str) -> ChatRequest:
        system = [{"role": "system", "content": self.plan.persona}] if self.plan.persona else []
        return ChatRequest(messages=system + [{"role": "user", "content": prompt}], json_mode=True,
                           template_hash=template_hash(template), key=key)

    def novel(self, instruction: str) -> bool:
        """The paper's filters and ROUGE-L novelty; a novel instruction joins the pool at once, so
        rounds in flight together cannot both add the same task."""
        if passes_filters(instruction) or not self.novelty.is_novel(instruction, self.plan.novelty_threshold):
            return False
        self.novelty.add(instruction)
        return True

    def record(self, result: ChatResult, *, raw: str | None = None, outcome: str | None = None, rejected: int = 0,
               samples: list[Sample] | None = None) -> None:
        entry = ledger_entry(result, self.llm.settings, outcome=outcome or result.outcome, raw=raw, rejected=rejected)
        self.store.record_llm_request(self.run_id, entry, samples or [], actor=self.actor, token=self.token)
        self.machine.extend({"instruction": s.instruction, "input": s.input, "output": s.output}
                            for s in samples or [])

    def sample(self, item: dict[str, str], request: ChatRequest, **locator: str) -> Sample:
        return Sample(instruction=item["instruction"].strip(), input=item.get("input", ""), output=item["output"],
                      source=Source(kind=SOURCE_KIND, uri=self.run_id,
                                    locator={"request": request.key, "template": request.template_hash, **locator},
                                    extractor_version="self-instruct/1"))


async def _generate(run: _Run, count: int, concurrency: int, progress: Progress) -> GenerateResult:
    try:
        return await _workers(run, count, concurrency, progress)
    finally:
        await run.llm.close()


async def _workers(run: _Run, count: int, concurrency: int, progress: Progress) -> GenerateResult:
    """`concurrency` workers take rounds (owed replays first) until the run holds `count` pairs;
    a worker does not start a round that the rounds in flight are expected to make unneeded."""
    numbers = itertools.count(run.first_round)
    totals = _Round()
    finished = in_flight = stalled = 0
    stopped: str | None = None
    per_round = run.plan.pairs_per_call if run.plan.domain else run.plan.instructions_per_round

    def expected() -> float:
        return max(1.0, totals.added / finished) if finished else per_round

    async def worker() -> None:
        nonlocal finished, in_flight, stalled, stopped
        while stopped is None and len(run.machine) + in_flight * expected() < count:
            in_flight += 1
            try:
                if run.replays:
                    outcome = await _replay(run, *run.replays.pop(0))
                else:
                    number = next(numbers)
                    outcome = await (_cases(run, number) if run.plan.domain else _two_steps(run, number))
            finally:
                in_flight -= 1
            finished += 1
            totals.added += outcome.added
            totals.filtered += outcome.filtered
            totals.requests += outcome.requests
            stalled = 0 if outcome.added else stalled + 1
            if run.llm.unavailable:
                stopped = "failed"  # every further request would fail the same way
            elif outcome.budget:
                stopped = "budget"
            elif stalled >= STALL_ROUNDS * concurrency and len(run.machine) < count:
                stopped = "no progress"
                log.warning("%d rounds in a row produced nothing new; stopping run %s", stalled, run.run_id)
            progress(min(len(run.machine), count), count)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    usage = run.llm.usage
    return GenerateResult(run_id=run.run_id, resumed=False, added=totals.added, total=len(run.machine), target=count,
                          requests=totals.requests, filtered=totals.filtered, stopped=stopped,
                          usage={"tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out,
                                 "cost": round(usage.cost, 6), "failed": usage.failed})


def _candidates(run: _Run, content: str) -> tuple[list[str], int, bool]:
    """New instructions from an instructions reply that pass the filters: (kept, dropped, parsed)."""
    parsed = parse_pairs(content, required=("instruction",))
    kept, dropped = [], 0
    for item in parsed.items:
        instruction = item["instruction"].strip()
        if run.novel(instruction):
            kept.append(instruction)
        else:
            dropped += 1
    return kept, dropped, parsed.error is None


async def _two_steps(run: _Run, number: int) -> _Round:
    """The paper's round: new instructions, the filters, then their instances."""
    prompt = INSTRUCTIONS_TEMPLATE.format(examples=run.examples(), n=run.plan.instructions_per_round)
    request = run.request(INSTRUCTIONS_TEMPLATE, prompt, f"round {number}: instructions")
    result = await run.llm.ask(request)
    if result.outcome in ("budget", "not_sent"):  # not_sent: the run is stopping on a permanent failure
        return _Round(budget=result.outcome == "budget")
    kept, dropped, parsed = _candidates(run, result.content) if result.content else ([], 0, False)
    # The reply is kept: raw when unusable, and for a resumed run to finish this round from.
    run.record(result, raw=result.content, rejected=dropped,
               outcome="unparsable" if result.content is not None and not parsed else None)
    if not kept:
        return _Round(filtered=dropped, requests=1)
    outcome = await _instances(run, number, kept)
    return _Round(outcome.added, outcome.filtered + dropped, outcome.requests + 1, outcome.budget)


async def _replay(run: _Run, number: int, instructions_reply: str) -> _Round:
    """Finish a round of an earlier session whose instructions were paid for and kept."""
    kept, dropped, _ = _candidates(run, instructions_reply)
    if not kept:
        return _Round(filtered=dropped)
    outcome = await _instances(run, number, kept)
    return _Round(outcome.added, outcome.filtered + dropped, outcome.requests, outcome.budget)


async def _instances(run: _Run, number: int, tasks: list[str]) -> _Round:
    listed = "\n".join(f"{i}. {text}" for i, text in enumerate(tasks, 1))
    request = run.request(INSTANCES_TEMPLATE, INSTANCES_TEMPLATE.format(tasks=listed), f"round {number}: instances")
    # A pair for a task the model was not given is dropped.
    return await _ask_for_pairs(run, request, keep=lambda instruction: instruction in tasks)


async def _cases(run: _Run, number: int) -> _Round:
    """Domain mode: the persona writes many whole cases on one topic in one request."""
    topic = run.plan.topic(number)
    prompt = CASES_TEMPLATE.format(n=run.plan.pairs_per_call, topic=f" about {topic}" if topic else "",
                                   domain=run.plan.domain, examples=run.examples())
    request = run.request(CASES_TEMPLATE, prompt, f"round {number}: cases")
    return await _ask_for_pairs(run, request, keep=run.novel, **({"topic": topic} if topic else {}))


async def _ask_for_pairs(run: _Run, request: ChatRequest, keep: Callable[[str], bool], **locator: str) -> _Round:
    """One request for whole pairs; those whose instruction `keep` accepts become samples, recorded
    with the request in the ledger (the reply kept raw when nothing could be read from it)."""
    result = await run.llm.ask(request)
    if result.outcome in ("budget", "not_sent"):
        return _Round(budget=result.outcome == "budget")
    parsed = parse_pairs(result.content) if result.content else None
    samples, dropped = [], 0
    for item in parsed.items if parsed else []:
        if keep(item["instruction"].strip()):
            samples.append(run.sample(item, request, **locator))
        else:
            dropped += 1
    unusable = result.content is not None and (parsed is None or not parsed.items)
    run.record(result, raw=result.content if unusable else None, outcome="unparsable" if unusable else None,
               rejected=dropped, samples=samples)
    return _Round(added=len(samples), filtered=dropped, requests=1)
