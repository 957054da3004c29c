"""Benchmark: LLM client throughput at concurrency 1, 8 and 32 against a server with fixed latency.

    .venv/bin/python bench/generate.py [--latency 0.2] [--requests 320] [--rounds 40] [--repeat 3]

The server is the scripted OpenAI-compatible test server (tests/openai_server.py) on 127.0.0.1,
answering every chat completion after `--latency` seconds, in its own process (as a real server
is: in this process its threads would compete with the client for the interpreter lock). The client is `factory.llm.LLMClient`
(the official `openai` AsyncOpenAI underneath). The ceiling at concurrency c is c / latency
requests per second; the goal is at least 80% of it. The ROUGE-L novelty filter is measured
by bench/novelty.py. Nothing here asserts; it measures.

How it measures, and why:
- Each measurement uses a fresh client and first sends one untimed round of `concurrency` requests
  on it: that opens its connections and pays the client's one-off first-request costs (the
  `openai` client detects the platform in worker threads on its first requests), which are not
  throughput. The timed batch then goes through `chat_many` as a generate run would.
- At concurrency c > 1 a batch is at least `--rounds` rounds of c requests (1,280 at c=32).
  `chat_many` starts c requests at once; the client spends ~4 ms of CPU on each (the `openai`
  SDK and httpx), all on one event loop, so they leave in a burst spread over ~c x 4 ms and the
  bursts persist round after round until jitter spreads them. With only 10 rounds (320 requests,
  this script's batch before 2026-11-23; `--rounds 10` gives it again) that start-up and the drain
  of the last round cost ~10 points of the ceiling at c=32; over 40 rounds they are a small share,
  as in a real run of thousands of requests.
- Each level is measured `--repeat` times; the table gives the median rate and each run's. The
  machine may be shared, so it also gives CPU per request of the client and of the server process
  (the work, which sharing hardly changes; summed over the runs) and the share of wall time the
  client's event loop was ready to run but waiting for a core (/proc schedstat: high means other
  processes took it, and the rate then says more about them than about the client).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factory.llm import ChatRequest, LLMClient, LLMSettings
from tests.openai_server import OpenAIServer, slow


def _reply(latency: float, body: dict) -> object:
    return slow('[{"instruction": "x", "input": "", "output": "y"}]', latency)


def _serve(latency: float, urls: multiprocessing.Queue) -> None:
    import functools
    import threading

    with OpenAIServer() as server:
        server.set_default(functools.partial(_reply, latency))
        urls.put(server.base_url)
        threading.Event().wait()  # until terminated


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads) from /proc; None where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _run_queue_wait_s() -> float | None:
    """Seconds this thread (the event loop) has waited, runnable, for a core; None without schedstat."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


@dataclass
class Run:
    requests: int
    seconds: float  # wall time of the timed batch
    client_cpu_s: float  # client process CPU (all threads) during the batch
    server_cpu_s: float | None  # server process CPU during the batch (counted in 10 ms ticks)
    waiting_s: float | None  # time the client's event loop was runnable but had no core

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def measure(base_url: str, concurrency: int, requests: int, server_pid: int) -> Run:
    settings = LLMSettings(base_url=base_url, model="bench", concurrency=concurrency, max_retries=0)

    async def go() -> Run:
        client = LLMClient(settings, key="bench-key")
        warm_up = [ChatRequest(messages=[{"role": "user", "content": f"warm up {i}"}]) for i in range(concurrency)]
        batch = [ChatRequest(messages=[{"role": "user", "content": f"write pairs {i}"}]) for i in range(requests)]
        try:
            results = await client.chat_many(warm_up)
            server_cpu, wait = _cpu_seconds(server_pid), _run_queue_wait_s()
            cpu, start = time.process_time(), time.perf_counter()
            results += await client.chat_many(batch)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            server_cpu, wait = _delta(server_cpu, _cpu_seconds(server_pid)), _delta(wait, _run_queue_wait_s())
        finally:
            await client.close()
        failed = [r for r in results if r.outcome != "ok"]
        if failed:
            raise RuntimeError(f"{len(failed)} requests failed: {failed[0].error}")
        return Run(requests, seconds, cpu, server_cpu, wait)

    return asyncio.run(go())


def batch_size(concurrency: int, requests: int, rounds: int) -> int:
    if concurrency == 1:
        return 16  # one request at a time: no start-up burst to amortise
    return max(requests, rounds * concurrency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--requests", type=int, default=320, help="at least this many timed requests at c > 1")
    parser.add_argument("--rounds", type=int, default=40, help="at least this many rounds of c requests at c > 1")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per concurrency (median reported)")
    args = parser.parse_args()
    rows = []
    urls: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(args.latency, urls), daemon=True)
    server.start()
    try:
        base_url = urls.get(timeout=30)
        for concurrency in (1, 8, 32):
            n = batch_size(concurrency, args.requests, args.rounds)
            runs = [measure(base_url, concurrency, n, server.pid) for _ in range(args.repeat)]
            rows.append((concurrency, n, runs, concurrency / args.latency))
    finally:
        server.terminate()

    def per(runs: list[Run], field: str, over: str, scale: float, fmt: str) -> str:
        """sum of `field` over the sum of `over`, all runs together (the server's 10 ms ticks need it)."""
        values = [getattr(r, field) for r in runs]
        if any(v is None for v in values):
            return "n/a"
        return format(sum(values) / sum(getattr(r, over) for r in runs) * scale, fmt)

    print(f"## bench/generate.py, {date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")
    print(f"`LLMClient.chat_many` against the scripted OpenAI-compatible server on 127.0.0.1, every reply after "
          f"{args.latency * 1000:.0f} ms; one untimed warm-up round per client; median of {args.repeat} runs.\n")
    print("| concurrency | requests | requests/s (runs) | ceiling (concurrency / latency) | share of ceiling "
          "| client CPU ms/request | server CPU ms/request | client waiting for a core |")
    print("|---|---|---|---|---|---|---|---|")
    for concurrency, n, runs, ceiling in rows:
        rates = [r.rate for r in runs]
        rate = statistics.median(rates)
        print(f"| {concurrency} | {n} | {rate:.1f} ({', '.join(f'{r:.1f}' for r in rates)}) | {ceiling:.1f} "
              f"| {rate / ceiling:.0%} ({min(rates) / ceiling:.0%}-{max(rates) / ceiling:.0%}) "
              f"| {per(runs, 'client_cpu_s', 'requests', 1000, '.2f')} "
              f"| {per(runs, 'server_cpu_s', 'requests', 1000, '.2f')} "
              f"| {per(runs, 'waiting_s', 'seconds', 100, '.0f')}% |")


if __name__ == "__main__":
    main()
