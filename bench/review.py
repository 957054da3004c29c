"""Benchmark: the review app's server-side render time on a 100,000-sample store, against a naive
page that loads every sample into pandas and filters there.

    .venv/bin/python bench/review.py [--samples 100000] [--repeat 7] [--seed 0]

Builds a workspace with `--samples` generated samples through the store's own writes (half
Chinese, half English; 50% notes, 35% dataset rows, 15% generated; 30% tagged; 10% with a
finding; 30% approved and 5% rejected by a reviewer, so ~65% stay pending). Then, in this one
process and through Streamlit's AppTest (the real page scripts, the whole script run, as a
browser's rerun would cost on the server):

- open the Queue (a new session, with the name given), move to the next sample (Skip), and
  change a filter (language; tag; finding; text search), each `--repeat` times; the median;
- the same three steps on a naive page: `pd.read_sql` of every sample with its finding codes
  (as a quick Streamlit page would load it), filter the frame, show the n-th row, count.

It also times the query functions behind the Queue directly. Nothing is asserted; it measures
and prints a markdown block for bench/RESULTS.md. The 300 ms goal is for the Queue's three steps.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit.testing.v1 import AppTest

from factory import review
from factory.sample import Finding, Sample, Source
from factory.store import CheckResult, Store, new_sync_token
from factory.workspace import Workspace, init_workspace
from review_app.context import MMAP_BYTES

APP = Path(__file__).resolve().parents[1] / "review_app" / "app.py"
GOAL_MS = 300
EN = ["model", "data", "train", "token", "batch", "layer", "weight", "answer", "question", "memory", "speed", "cache", "rank", "adapter", "prompt", "template", "eval", "loss", "step", "learning", "rate", "schedule", "export", "server", "queue", "the", "a", "of", "to", "and", "in", "is", "for", "with", "on", "how", "what", "why", "when", "which", "gradient", "checkpoint", "quantize", "merge"]
ZH = list("模型数据训练分词批次权重回答问题显存速度缓存学习率评测损失导出部署队列的是了在和有我们这个梯度检查点量化合并")
TAGS = ("gpu", "lora", "eval", "serving", "data", "tokenizer")
CODES = ("near_duplicate", "markdown_residue", "truncated_output", "language_mismatch", "refusal")

NAIVE_PAGE = '''
import os, sqlite3
import pandas as pd
import streamlit as st

@st.cache_resource
def connect(path):
    return sqlite3.connect(path, check_same_thread=False)

db = connect(os.environ["BENCH_STORE"])
df = pd.read_sql(
    "SELECT s.*, (SELECT group_concat(code) FROM findings f WHERE f.sample_id = s.id) AS codes "
    "FROM samples s WHERE s.retired_at IS NULL AND s.source_kind != 'general'", db)
lang = st.selectbox("Language", ["any", "en", "zh"], key="lang")
view = df[df["status"] == "pending"]
if lang != "any":
    view = view[view["lang"] == lang]
st.session_state.setdefault("i", 0)
if st.button("Skip", key="skip"):
    st.session_state.i += 1
row = view.iloc[min(st.session_state.i, len(view) - 1)]
st.markdown(f"### {st.session_state.i + 1} of {len(view)}")
st.code(row["instruction"], language=None)
st.code(row["output"], language=None)
st.text(row["codes"] or "")
'''


def _text(rng: random.Random, zh: bool, n: int) -> str:
    return "".join(rng.choices(ZH, k=n)) + "。" if zh else " ".join(rng.choices(EN, k=n)).capitalize() + "."


def build(root: Path, n: int, seed: int) -> Workspace:
    """A large store written the way sources write it (sync batches, check results, reviews)."""
    rng = random.Random(seed)
    ws = init_workspace(root)
    kinds = (("notes", "notes/all.md"), ("dataset", "datasets/big.jsonl"), ("self_instruct", "run-1"))
    batches: dict[tuple[str, str], list[Sample]] = {k: [] for k in kinds}
    for i in range(n):
        zh = i % 2 == 0
        kind = kinds[0] if i % 20 < 10 else kinds[1] if i % 20 < 17 else kinds[2]
        tags = [rng.choice(TAGS)] if rng.random() < 0.3 else []
        batches[kind].append(Sample(
            instruction=f"{_text(rng, zh, rng.randint(6, 30))} #{i}", output=_text(rng, zh, rng.randint(25, 150)),
            source=Source(kind=kind[0], uri=kind[1], locator={"row": i}), lang="zh" if zh else "en", tags=tags))
    with ws.open_store() as store:
        for (kind, uri), samples in batches.items():
            token = new_sync_token()
            for start in range(0, len(samples), 20_000):
                store.sync_batch(kind, uri, samples[start:start + 20_000], actor="job:bench", token=token)
        ids = store.ids()
        langs = dict(store.read("SELECT id, lang FROM samples"))
        flagged = rng.sample(ids, n // 10)
        store.save_check_results({i: CheckResult(lang=langs[i], findings=[Finding(
            check="bench", code=rng.choice(CODES), severity="warn", message="generated")]) for i in flagged},
            actor="check")
        reviewed = rng.sample(ids, int(n * 0.35))
        store.set_status(reviewed[: int(n * 0.30)], "approved", actor="reviewer:bench")
        store.set_status(reviewed[int(n * 0.30):], "rejected", actor="reviewer:bench", reason="low quality")
    return ws


def timed(step: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `step`."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


_COMPONENTS: object | None = None


def fresh_app(path: Path | None = None, script: str | None = None) -> AppTest:
    """A new session. AppTest scans every installed package for custom components on a new
    instance's first run (~0.7 s here); a real server does that once at start, so the scan is
    shared here and not counted in any step."""
    global _COMPONENTS
    at = AppTest.from_file(str(path), default_timeout=300) if path else AppTest.from_string(script or "",
                                                                                         default_timeout=300)
    if _COMPONENTS is None:
        from streamlit.components.v2.component_manager import BidiComponentManager

        _COMPONENTS = BidiComponentManager()
        _COMPONENTS.discover_and_register_components(start_file_watching=False)
    at._bidi_component_manager = _COMPONENTS  # a private attribute: this harness only
    return at


def app_steps(repeat: int) -> dict[str, float]:
    """Open, next, filter on the review app's Queue, each in fresh sessions."""
    def fresh() -> AppTest:
        at = fresh_app(APP)
        at.session_state["reviewer"] = "bench"
        return at

    results: dict[str, list[float]] = {}

    def measure(label: str, at: AppTest, act: Callable[[AppTest], object]) -> None:
        start = time.perf_counter()
        act(at)
        results.setdefault(label, []).append((time.perf_counter() - start) * 1000)
        assert not at.exception, at.exception

    filters: dict[str, Callable[[AppTest], object]] = {
        "filter: language": lambda a: a.selectbox(key="f_lang").select("zh").run(),
        "filter: tag": lambda a: a.selectbox(key="f_tag").select("gpu").run(),
        "filter: finding": lambda a: a.selectbox(key="f_reason").select("near_duplicate").run(),
        "filter: text search": lambda a: a.text_input(key="f_text").input("缓存").run(),
        "filter: text search, no match": lambda a: a.text_input(key="f_text").input("zzzz").run(),
    }
    for _ in range(repeat):
        at = fresh()
        measure("open the queue", at, lambda a: a.run())
        measure("next sample (Skip)", at, lambda a: next(b for b in a.button if b.label == "Skip").click().run())
        for label, act in filters.items():  # each filter alone, from the opened queue
            at = fresh()
            at.run()
            measure(label, at, act)
    return {label: statistics.median(v) for label, v in results.items()}


def naive_steps(repeat: int) -> dict[str, float]:
    results: dict[str, list[float]] = {}
    for _ in range(repeat):
        at = fresh_app(script=NAIVE_PAGE)
        for label, act in (("open the queue", lambda a: a.run()),
                           ("next sample (Skip)", lambda a: a.button(key="skip").click().run()),
                           ("filter: language", lambda a: a.selectbox(key="lang").select("zh").run())):
            start = time.perf_counter()
            act(at)
            results.setdefault(label, []).append((time.perf_counter() - start) * 1000)
            assert not at.exception, at.exception
    return {label: statistics.median(v) for label, v in results.items()}


def query_steps(ws: Workspace, repeat: int) -> dict[str, float]:
    out = {}
    with Store(ws.store_path, mmap_bytes=MMAP_BYTES) as store:  # as the app opens it
        for label, flt in (("pending", review.ReviewFilter()), ("pending, zh", review.ReviewFilter(lang="zh")),
                           ("pending, tag gpu", review.ReviewFilter(tag="gpu")),
                           ("pending, finding near_duplicate", review.ReviewFilter(reason="near_duplicate")),
                           ("pending, text search", review.ReviewFilter(text="缓存")),
                           ("pending, text search matching none", review.ReviewFilter(text="zzzz"))):
            first = review.queue_item(store, flt)
            out[f"`queue_item` ({label}: {first.total:,} match)"] = timed(lambda f=flt, c=first.rowid + 1: review.queue_item(store, f, c),
                                                   repeat)
        out["`table_page` (page 1,000 of 50 rows, pending)"] = timed(
            lambda: review.table_page(store, review.ReviewFilter(), 1000, 50), repeat)
        out["`filter_options`, all four lists (the app caches them: 30 s, tags 5 min)"] = timed(lambda: review.filter_options(store), repeat)
        out["`dashboard` (cached by the app until the store changes)"] = timed(lambda: review.dashboard(store), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        start = time.perf_counter()
        ws = build(folder / "ws", args.samples, args.seed)
        built = time.perf_counter() - start
        with ws.open_store() as store:
            counts = {r[0]: r[1] for r in store.read("SELECT status, count(*) FROM samples GROUP BY 1")}
        print(f"built {args.samples:,} samples in {built:.1f} s: {counts}", file=sys.stderr)
        os.environ["FACTORY_WORKSPACE"] = str(ws.root)
        os.environ["BENCH_STORE"] = str(ws.store_path)
        app_steps(1)  # warm-up: imports, compiled page scripts, the filter options' cache
        naive_steps(1)
        ours = app_steps(args.repeat)
        naive = naive_steps(max(3, args.repeat // 2))
        queries = query_steps(ws, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"## bench/review.py, {date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")
    print(f"{args.samples:,} samples (seed {args.seed}): {counts.get('pending', 0):,} pending, "
          f"{counts.get('approved', 0):,} approved, {counts.get('rejected', 0):,} rejected; 30% tagged, 10% with "
          f"a finding. Server-side time of one whole script run through AppTest, median of {args.repeat} fresh "
          "sessions; naive page: `pd.read_sql` of every sample, filtered in pandas.\n")
    print(f"| step | review app (SQL paging) | naive page (all rows in pandas) | speed-up | under {GOAL_MS} ms |")
    print("|---|---|---|---|---|")
    for label, ms in ours.items():
        base = naive.get(label)
        ratio = f"{base / ms:,.1f}x" if base else ""
        print(f"| {label} | {ms:,.0f} ms | {f'{base:,.0f} ms' if base else ''} | {ratio} | "
              f"{'yes' if ms < GOAL_MS else 'no'} |")
    print("\nThe queries behind it, called directly (median):\n")
    print("| query | time |")
    print("|---|---|")
    for label, ms in queries.items():
        print(f"| {label} | {ms:,.1f} ms |")
    print(f"\nLoad average (1 min) when the run ended: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
