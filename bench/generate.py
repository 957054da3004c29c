"""Benchmark: LLM client throughput at concurrency 1, 8 and 32 against a server with fixed latency.

    .venv/bin/python bench/generate.py [--latency 0.2] [--requests 64]

The server is the scripted OpenAI-compatible test server (tests/openai_server.py) on 127.0.0.1,
answering every chat completion after `--latency` seconds, in its own process (as a real server
is: in this process its threads would compete with the client for the interpreter lock). The client is `factory.llm.LLMClient`
(the official `openai` AsyncOpenAI underneath). The ceiling at concurrency c is c / latency
requests per second; the goal is at least 80% of it. The ROUGE-L novelty filter is measured
by bench/novelty.py. Nothing here asserts; it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factory.llm import ChatRequest, LLMClient, LLMSettings  # noqa: E402
from tests.openai_server import OpenAIServer, slow  # noqa: E402


def _reply(latency: float, body: dict) -> object:
    return slow('[{"instruction": "x", "input": "", "output": "y"}]', latency)


def _serve(latency: float, urls: multiprocessing.Queue) -> None:
    import functools
    import threading

    with OpenAIServer() as server:
        server.set_default(functools.partial(_reply, latency))
        urls.put(server.base_url)
        threading.Event().wait()  # until terminated


def measure(base_url: str, concurrency: int, requests: int) -> float:
    settings = LLMSettings(base_url=base_url, model="bench", concurrency=concurrency, max_retries=0)

    async def go() -> float:
        client = LLMClient(settings, key="bench-key")
        batch = [ChatRequest(messages=[{"role": "user", "content": f"write pairs {i}"}]) for i in range(requests)]
        start = time.perf_counter()
        results = await client.chat_many(batch)
        seconds = time.perf_counter() - start
        await client.close()
        failed = [r for r in results if r.outcome != "ok"]
        if failed:
            raise RuntimeError(f"{len(failed)} requests failed: {failed[0].error}")
        return requests / seconds

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--requests", type=int, default=320)
    args = parser.parse_args()
    rows = []
    urls: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(args.latency, urls), daemon=True)
    server.start()
    try:
        base_url = urls.get(timeout=30)
        for concurrency in (1, 8, 32):
            n = max(args.requests, 2 * concurrency) if concurrency > 1 else 16
            rate = measure(base_url, concurrency, n)
            rows.append((concurrency, n, rate, concurrency / args.latency))
    finally:
        server.terminate()
    print(f"## bench/generate.py, {date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")
    print(f"`LLMClient.chat_many` against the scripted OpenAI-compatible server on 127.0.0.1, every reply after "
          f"{args.latency * 1000:.0f} ms.\n")
    print("| concurrency | requests | requests/s | ceiling (concurrency / latency) | share of ceiling |")
    print("|---|---|---|---|---|")
    for concurrency, n, rate, ceiling in rows:
        print(f"| {concurrency} | {n} | {rate:.1f} | {ceiling:.1f} | {rate / ceiling:.0%} |")


if __name__ == "__main__":
    main()
