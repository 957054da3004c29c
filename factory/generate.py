"""`factory generate`: Self-Instruct through any OpenAI-compatible model, resumable from the ledger.

One round is the paper's two steps: the model is shown 8 tasks (6 from the seed pool of people,
2 it wrote earlier, once there are any) and writes new instructions; those that pass the
paper's filters (length bounds, a keyword blacklist of tasks a text model cannot do, and
ROUGE-L novelty <= 0.7 against the whole pool) are sent back for their input and output.
In domain mode a system persona and topic steer both steps ("a senior practitioner of ...").

Rounds run `concurrency` at a time. Every finished request is written to the ledger together
with the samples it produced, in one transaction, so a run killed at any point continues where
it stopped: the run id is a hash of the arguments, the pool is rebuilt from the store, and only
requests that had not finished are sent again. `new_run=True` starts another run instead.
Generated pairs enter the store as pending `self_instruct` samples and go through the checks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.errors import BadInput
from factory.jobs import job_lock
from factory.json_repair import parse_pairs
from factory.llm import ChatRequest, ChatResult, LLMClient, LLMSettings, template_hash
from factory.novelty import NoveltyPool
from factory.progress import Progress, no_progress
from factory.sample import Sample, Source
from factory.store import LedgerEntry, SampleFilter, Store, new_sync_token
from factory.workspace import Workspace

log = logging.getLogger(__name__)
SOURCE_KIND = "self_instruct"
HUMAN_EXAMPLES, MACHINE_EXAMPLES = 6, 2  # per prompt, as in the paper
NEW_PER_ROUND = 8
NOVELTY_THRESHOLD = 0.7
# The paper's blacklist: tasks a text-only model cannot do (plus their Chinese counterparts).
BLACKLIST = ("image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
             "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram",
             "图片", "图像", "照片", "画一", "绘制", "视频", "音频", "音乐", "流程图", "文件")

INSTRUCTIONS_TEMPLATE = """You write new, diverse tasks for training an assistant{domain}.
Here are example tasks:
{examples}
Write {n} new tasks that differ from these in topic and form. Answer with a JSON array of
objects with the key "instruction" only, in the language of the examples."""

INSTANCES_TEMPLATE = """For each task below, write one input (or "" when the task needs none) and a
correct, complete output{domain}. Answer with a JSON array of objects with the keys
"instruction", "input" and "output", in the order given.
Tasks:
{tasks}"""


@dataclass
class GenerateResult:
    run_id: str
    resumed: bool
    added: int
    total: int
    target: int
    requests: int
    filtered: int
    stopped: str | None  # why the run stopped before the target: "budget", "no progress"
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


def generate(ws: Workspace, *, count: int, domain: str | None = None, seeds: str = "approved",
             concurrency: int | None = None, new_run: bool = False, wait: bool = False,
             progress: Progress = no_progress, client: LLMClient | None = None) -> GenerateResult:
    """Generate until the run holds `count` pairs (or the budget stops it)."""
    settings = LLMSettings.from_config(ws.config.llm)
    if concurrency:
        settings = LLMSettings(**{**settings.__dict__, "concurrency": concurrency})
    args = {"count": count, "domain": domain or "", "seeds": seeds, "model": settings.model}
    with job_lock(ws.lock_path, "generate", wait=wait), ws.open_store() as store:
        pool_seeds = _seed_pool(store, seeds, ws)
        run_id = run_id_for(args, os.urandom(4).hex() if new_run else "")
        resumed = not store.start_llm_run(run_id, SOURCE_KIND, args, settings.model, settings.base_url, count)
        llm = client or LLMClient(settings)
        result = asyncio.run(_loop(store, llm, run_id, pool_seeds, count, domain, settings, progress))
        store.finish_llm_run(run_id, "completed" if result.stopped is None else result.stopped)
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


async def _loop(store: Store, llm: LLMClient, run_id: str, seeds: list[dict[str, str]], count: int,
                domain: str | None, settings: LLMSettings, progress: Progress) -> GenerateResult:
    try:
        return await _rounds(store, llm, run_id, seeds, count, domain, settings, progress)
    finally:
        await llm.close()


async def _rounds(store: Store, llm: LLMClient, run_id: str, seeds: list[dict[str, str]], count: int,
                  domain: str | None, settings: LLMSettings, progress: Progress) -> GenerateResult:
    machine = [{"instruction": s.instruction, "input": s.input, "output": s.output}
               for s in store.samples(SampleFilter(source_kind=SOURCE_KIND, source_uri=run_id))]
    novelty = NoveltyPool([s["instruction"] for s in seeds + machine])
    done_keys = {e.key for e in store.llm_requests(run_id) if e.outcome == "ok"}
    round_number = 1 + max((int(k.split()[1].rstrip(":")) for k in done_keys if k.startswith("round ")),
                           default=0)
    token, actor = new_sync_token(), f"generate:{run_id}"
    added = filtered = requests = 0
    stopped = None
    rng = random.Random(run_id)
    stalled = 0
    while len(machine) < count:
        rounds = list(range(round_number, round_number + settings.concurrency))
        round_number += settings.concurrency
        before = len(machine)
        outcomes = await asyncio.gather(*(
            _one_round(store, llm, run_id, r, seeds, machine, novelty, domain, rng, token, actor) for r in rounds))
        for produced, dropped, sent, budget in outcomes:
            added += produced
            filtered += dropped
            requests += sent
            stopped = stopped or ("budget" if budget else None)
        progress(min(len(machine), count), count)
        if stopped:
            break
        stalled = stalled + 1 if len(machine) == before else 0
        if stalled >= 3:
            stopped = "no progress"
            log.warning("three rounds in a row produced nothing new; stopping run %s", run_id)
            break
    usage = llm.usage
    return GenerateResult(run_id=run_id, resumed=False, added=added, total=len(machine), target=count,
                          requests=requests, filtered=filtered, stopped=stopped,
                          usage={"tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out,
                                 "cost": round(usage.cost, 6), "failed": usage.failed})


def _examples(seeds: list[dict[str, str]], machine: list[dict[str, str]], rng: random.Random) -> list[str]:
    chosen = rng.sample(seeds, min(HUMAN_EXAMPLES, len(seeds)))
    chosen += rng.sample(machine, min(MACHINE_EXAMPLES, len(machine)))
    return [c["instruction"] for c in chosen]


def _ledger(result: ChatResult, key: str, llm: LLMClient, raw: str | None = None, outcome: str | None = None,
            rejected: int = 0) -> LedgerEntry:
    return LedgerEntry(key=key, model=llm.settings.model, template_hash=result.request.template_hash,
                       tokens_in=result.tokens_in, tokens_out=result.tokens_out,
                       cost=llm.settings.cost(result.tokens_in, result.tokens_out), latency_ms=int(result.latency_s * 1000), attempts=result.attempts,
                       outcome=outcome or result.outcome, error=result.error, raw=raw, rejected=rejected)


async def _one_round(store: Store, llm: LLMClient, run_id: str, number: int, seeds: list[dict[str, str]],
                     machine: list[dict[str, str]], novelty: NoveltyPool, domain: str | None, rng: random.Random,
                     token: str, actor: str) -> tuple[int, int, int, bool]:
    """One round: new instructions, the filters, then their instances. Returns (added, filtered,
    requests sent, budget spent)."""
    persona = f" as a senior practitioner of {domain}" if domain else ""
    system = [{"role": "system", "content": f"You are a senior practitioner of {domain}."}] if domain else []
    examples = "\n".join(f"{i}. {text}" for i, text in enumerate(_examples(seeds, machine, rng), 1))
    prompt = INSTRUCTIONS_TEMPLATE.format(domain=persona, examples=examples, n=NEW_PER_ROUND)
    request = ChatRequest(messages=system + [{"role": "user", "content": prompt}], json_mode=True,
                          template_hash=template_hash(INSTRUCTIONS_TEMPLATE), key=f"round {number}: instructions")
    asked = await llm.chat_many([request])
    result = asked[0]
    if result.outcome == "budget":
        return 0, 0, 0, True
    parsed = parse_pairs(result.content or "", required=("instruction",)) if result.content else None
    candidates, dropped = [], 0
    for item in parsed.items if parsed else []:
        instruction = item["instruction"].strip()
        if passes_filters(instruction) or not novelty.is_novel(instruction, NOVELTY_THRESHOLD):
            dropped += 1
            continue
        novelty.add(instruction)
        candidates.append(instruction)
    unusable = result.content is not None and (parsed is None or parsed.error is not None)
    entry = _ledger(result, request.key, llm, raw=result.content if unusable else None,
                    outcome="unparsable" if unusable else None, rejected=dropped)
    store.record_llm_request(run_id, entry, actor=actor, token=token)
    if not candidates:
        return 0, dropped, 1, False
    tasks = "\n".join(f"{i}. {text}" for i, text in enumerate(candidates, 1))
    prompt = INSTANCES_TEMPLATE.format(domain=persona, tasks=tasks)
    request = ChatRequest(messages=system + [{"role": "user", "content": prompt}], json_mode=True,
                          template_hash=template_hash(INSTANCES_TEMPLATE), key=f"round {number}: instances")
    result = (await llm.chat_many([request]))[0]
    if result.outcome == "budget":
        return 0, dropped, 1, True
    parsed = parse_pairs(result.content) if result.content else None
    samples = []
    for item in parsed.items if parsed else []:
        if item["instruction"].strip() not in candidates:
            dropped += 1  # the model answered a task it was not given
            continue
        samples.append(Sample(instruction=item["instruction"].strip(), input=item.get("input", ""),
                              output=item["output"],
                              source=Source(kind=SOURCE_KIND, uri=run_id,
                                            locator={"request": request.key, "template": request.template_hash},
                                            extractor_version="self-instruct/1")))
    unusable = result.content is not None and (parsed is None or not parsed.items)
    entry = _ledger(result, request.key, llm, raw=result.content if unusable else None,
                    outcome="unparsable" if unusable else None)
    store.record_llm_request(run_id, entry, samples, actor=actor, token=token)
    machine.extend({"instruction": s.instruction, "input": s.input, "output": s.output} for s in samples)
    return len(samples), dropped, 2, False
