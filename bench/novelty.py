"""Benchmark: ROUGE-L novelty filter (`factory.novelty.NoveltyPool`) against a plain rouge-score loop.

    .venv/bin/python bench/novelty.py [--sizes 1000,10000,50000] [--candidates 200] [--seed 0]
                                      [--baseline-budget 60]

Generated instructions, half English, half Chinese, 8-30 tokens: an opening drawn from a few
common instruction openings ("write a", "explain how", "请写", "解释"...), then words (6,000
English-like) or Han characters (3,500) drawn Zipf-distributed, so unrelated instructions share
the frequent words and characters (the prefilter sees many overlapping entries), but rarely
whole phrases. Each pool size gets its own pool and 200 candidates; about 5% of the candidates
are near copies of a pool entry (1-3 tokens substituted, inserted or deleted), the rest are new.

Per pool size:

1. Baseline: `RougeScorer(["rougeL"], tokenizer=RougeTokenizer())`, `score(candidate, entry)`
   for every pool entry, reject when the maximum F is > 0.7 (Self-Instruct). Its pure Python LCS
   is slow, so it is timed on a subset of the candidates that fits `--baseline-budget` seconds
   (all 200 at 1,000; fewer at 10,000 and 50,000, at least one near copy) and reported per
   candidate; the speed-up divides that per-candidate time by NoveltyPool's.
2. `NoveltyPool.is_novel` on all 200 candidates (pool built once, build time reported apart).

Agreement of decisions: against rouge-score on the timed subset, and on all 200 candidates
against an exhaustive loop of `factory.novelty.rouge_l` (rapidfuzz LCS, the same formula, equal
to rouge-score's value bit for bit, checked by tests/factory/test_novelty.py). Nothing here is
asserted, only measured.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rouge_score import rouge_scorer

from factory.novelty import NoveltyPool, RougeTokenizer, rouge_l, tokens

THRESHOLD = 0.7
REPORT_DATE = "2026-11-23"

EN_OPENINGS = [
    "write a",
    "explain how",
    "give me",
    "list three",
    "describe the",
    "summarize the",
    "create a",
    "what is the",
    "how do i",
    "generate a",
    "translate the",
    "suggest some",
]
ZH_OPENINGS = [
    "请写",
    "解释",
    "给我",
    "列出三个",
    "描述一下",
    "总结",
    "生成一个",
    "什么是",
    "如何",
    "翻译",
    "推荐一些",
]


def _zipf_cum_weights(n: int, s: float = 1.07) -> list[float]:
    return list(itertools.accumulate(1.0 / (r**s) for r in range(1, n + 1)))


def _english_vocab(rng: random.Random, n: int) -> list[str]:
    cons, vows = "bcdfghjklmnprstvwz", "aeiou"
    out, seen = [], set()
    while len(out) < n:
        w = "".join(
            rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(1, 4))
        )
        if rng.random() < 0.5:
            w += rng.choice(cons)
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


class Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.en = _english_vocab(rng, 6000)
        self.zh = [chr(0x4E00 + i) for i in rng.sample(range(0x9FA5 - 0x4E00), 3500)]
        self.en_w = _zipf_cum_weights(len(self.en))
        self.zh_w = _zipf_cum_weights(len(self.zh))

    def instruction(self) -> str:
        rng = self.rng
        n = rng.randint(8, 30)
        if rng.random() < 0.5:
            head = rng.choice(EN_OPENINGS).split()
            body = rng.choices(self.en, cum_weights=self.en_w, k=max(n - len(head), 1))
            text = " ".join(head + body)
            return text[0].upper() + text[1:] + rng.choice([".", "?", "."])
        head = rng.choice(ZH_OPENINGS)
        body = "".join(
            rng.choices(self.zh, cum_weights=self.zh_w, k=max(n - len(head), 1))
        )
        return head + body + rng.choice(["。", "？", "。"])

    def near_copy(self, text: str) -> str:
        rng = self.rng
        toks = tokens(text)
        zh = not toks[0].isascii()
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(toks))
            new = rng.choices(
                self.zh if zh else self.en, cum_weights=self.zh_w if zh else self.en_w
            )[0]
            op = rng.random()
            if op < 0.5:
                toks[i] = new
            elif op < 0.8:
                toks.insert(i, new)
            elif len(toks) > 2:
                del toks[i]
        return "".join(toks) + "。" if zh else " ".join(toks).capitalize() + "."


def _baseline_is_novel(scorer, pool: list[str], text: str) -> bool:
    best = 0.0
    for other in pool:
        f = scorer.score(text, other)["rougeL"].fmeasure
        best = max(best, f)
    return best <= THRESHOLD


def _exhaustive_is_novel(pool_tokens: list[list[str]], text: str) -> bool:
    t = tokens(text)
    return all(rouge_l(t, o) <= THRESHOLD for o in pool_tokens)


def run(size: int, n_candidates: int, seed: int, budget: float) -> dict:
    rng = random.Random(seed * 1_000_003 + size)
    gen = Generator(rng)
    pool_texts = [gen.instruction() for _ in range(size)]
    n_near = max(1, round(0.05 * n_candidates))
    near = [gen.near_copy(rng.choice(pool_texts)) for _ in range(n_near)]
    fresh = [gen.instruction() for _ in range(n_candidates - n_near)]
    # near copies spread evenly, so any prefix of the candidates holds its share of them
    candidates, step = list(fresh), n_candidates / n_near
    for k, text in enumerate(near):
        candidates.insert(min(int(k * step + step / 4), len(candidates)), text)
    is_near = [c in set(near) for c in candidates]

    t0 = time.perf_counter()
    pool = NoveltyPool(pool_texts)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    fast = [pool.is_novel(c, THRESHOLD) for c in candidates]
    fast_s = (time.perf_counter() - t0) / len(candidates)
    # how many pool entries the prefilter leaves for an exact LCS (before is_novel's early stop)
    survivors = sum(
        len(pool._ranked(pool._encode(c), THRESHOLD)[0]) for c in candidates
    ) / len(candidates)

    # baseline: probe one candidate, then as many as fit the budget (at least one near copy)
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=RougeTokenizer())
    t0 = time.perf_counter()
    base = [_baseline_is_novel(scorer, pool_texts, candidates[0])]
    per = time.perf_counter() - t0
    n_base = max(1, min(len(candidates), int(budget / per)))
    while not any(is_near[:n_base]) and n_base < len(candidates):
        n_base += 1
    t0 = time.perf_counter()
    base += [_baseline_is_novel(scorer, pool_texts, c) for c in candidates[1:n_base]]
    base_s = (per + time.perf_counter() - t0) / n_base

    pool_tokens = [tokens(t) for t in pool_texts]
    exhaustive = [_exhaustive_is_novel(pool_tokens, c) for c in candidates]

    return {
        "size": size,
        "candidates": len(candidates),
        "near": n_near,
        "rejected": fast.count(False),
        "rejected_near": sum(1 for f, n in zip(fast, is_near) if not f and n),
        "build_s": build_s,
        "survivors": survivors,
        "fast_ms": fast_s * 1e3,
        "base_n": n_base,
        "base_ms": base_s * 1e3,
        "speedup": base_s / fast_s,
        "agree_base": sum(a == b for a, b in zip(fast, base)) / n_base,
        "agree_all": sum(a == b for a, b in zip(fast, exhaustive)) / len(candidates),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--baseline-budget",
        type=float,
        default=60.0,
        help="seconds of rouge-score loop per pool size (timed on a candidate subset)",
    )
    args = ap.parse_args()

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(size, args.candidates, args.seed, args.baseline_budget)
        rows.append(r)
        print(
            f"pool {r['size']:>6}: NoveltyPool {r['fast_ms']:8.3f} ms/candidate "
            f"(build {r['build_s']:.2f} s, {r['survivors']:.2f} entries/candidate left for exact LCS) | rouge-score loop {r['base_ms']:9.1f} ms/candidate "
            f"(on {r['base_n']}/{r['candidates']} candidates) | speed-up {r['speedup']:7.0f}x | "
            f"agreement {r['agree_base']:.1%} (rouge-score subset), {r['agree_all']:.1%} (all, exhaustive) | "
            f"rejected {r['rejected']} ({r['rejected_near']}/{r['near']} near copies)",
            flush=True,
        )

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print()
    print(f"### ROUGE-L novelty filter ({REPORT_DATE}, {machine})")
    print()
    print(
        "`.venv/bin/python bench/novelty.py` "
        f"(seed {args.seed}, {args.candidates} candidates per pool, ~5% near copies, threshold {THRESHOLD})"
    )
    print()
    print(
        "| pool | NoveltyPool ms/cand. | pool build s | entries left for exact LCS | rouge-score loop ms/cand. (timed on) | speed-up "
        "| agreement (rouge-score subset) | agreement (all, exhaustive) | rejected (near copies) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['size']:,} | {r['fast_ms']:.3f} | {r['build_s']:.2f} | {r['survivors']:.2f} | {r['base_ms']:.1f} "
            f"({r['base_n']}/{r['candidates']}) | {r['speedup']:.0f}x | {r['agree_base']:.1%} | "
            f"{r['agree_all']:.1%} | {r['rejected']} ({r['rejected_near']}/{r['near']}) |"
        )
    print()
    print(
        "The rouge-score loop (`score(candidate, entry)` over the whole pool, pure Python LCS) is "
        "timed on the first candidates that fit the per-size budget, near copies included, and "
        f"reported per candidate; its time per candidate is extrapolated to all {args.candidates}. Agreement on "
        f"all {args.candidates} candidates is against an exhaustive loop of `rouge_l` (same formula, rapidfuzz LCS)."
    )


if __name__ == "__main__":
    main()
