"""Benchmark: language detection on short QA strings, plain langdetect against `detect_language`.

    .venv/bin/python bench/language.py [--data tests/factory/checks/data/language_short_qa.tsv] [--repeat 5]

The data is a hand-labelled set of short questions and answers (label<TAB>text, ISO 639-1
labels, "unknown" for strings with no linguistic content such as "42" or "https://x.y").
For each detector it prints accuracy overall, on the held-out rows (the file's last rows, below
its "# held-out" line, written after the rules of ours were fixed), on the Chinese strings that
carry English terms ("LoRA 的秩怎么选?"), on the strings of at most 12 characters and per label,
plus the time per call on these strings and on answer-sized texts (12 strings of one label
joined), all measured side by side in this process:

- langdetect: plain `langdetect.detect`, seeded (`DetectorFactory.seed = 0`), its "zh-cn" and
  "zh-tw" read as "zh" and its exception ("no features in text") read as "unknown";
- ours: `factory.checks.language.detect_language`;
- lingua (only when `lingua` is importable, e.g. `pip install --target DIR
  lingua-language-detector` and `PYTHONPATH=DIR`): `LanguageDetectorBuilder.from_all_languages()`
  with low-accuracy mode off, "unknown" when it returns None. Not a project dependency; it
  is here to tell whether a better detector would be worth adopting.

It then lists the strings ours hands to langdetect's profiles and those it gets wrong, checks
that ours answers the same in two fresh processes (different hash seeds, the second with the
strings shuffled), and prints a Markdown block for bench/RESULTS.md. Nothing here is asserted, only measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import langdetect
from langdetect.lang_detect_exception import LangDetectException

from factory.checks import language
from factory.checks.language import detect_language

DATE = "2026-11-23"
DATA = REPO / "tests/factory/checks/data/language_short_qa.tsv"
SHORT = 12  # characters
_LATIN = re.compile(r"[A-Za-z]")


def load(path: Path) -> tuple[list[tuple[str, str]], int]:
    """The (label, text) rows, and the index of the first held-out row (len(rows) if none)."""
    rows, held_out = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# held-out"):
            held_out = len(rows)
        elif line and not line.startswith("# "):
            label, text = line.split("\t", 1)
            rows.append((label, text))
    return rows, len(rows) if held_out is None else held_out


def plain_langdetect(text: str) -> str:
    try:
        return langdetect.detect(text).split("-")[0]
    except LangDetectException:
        return "unknown"


def lingua_detector() -> Callable[[str], str] | None:
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        return None
    detector = LanguageDetectorBuilder.from_all_languages().build()

    def detect(text: str) -> str:
        lang = detector.detect_language_of(text)
        return "unknown" if lang is None else lang.iso_code_639_1.name.lower()

    return detect


def subsets(rows: list[tuple[str, str]], held_out: int) -> dict[str, list[int]]:
    """Row indexes per reported subset, in print order."""
    groups: dict[str, list[int]] = {"overall": list(range(len(rows)))}
    if held_out < len(rows):
        groups["held-out rows"] = list(range(held_out, len(rows)))
    groups["zh + English terms"] = [i for i, (lab, t) in enumerate(rows) if lab == "zh" and _LATIN.search(t)]
    groups[f"<= {SHORT} chars"] = [i for i, (_, t) in enumerate(rows) if len(t) <= SHORT]
    for label in sorted({lab for lab, _ in rows}, key=lambda lab: (-sum(r[0] == lab for r in rows), lab)):
        groups[label] = [i for i, (lab, _) in enumerate(rows) if lab == label]
    return groups


def time_per_call(detect: Callable[[str], str], texts: list[str], repeat: int) -> list[float]:
    """Microseconds per call for each text, the best of `repeat` timed calls (after a warm-up pass)."""
    for t in texts:
        detect(t)
    best = [float("inf")] * len(texts)
    clock = time.perf_counter
    for _ in range(repeat):
        for i, t in enumerate(texts):
            start = clock()
            detect(t)
            best[i] = min(best[i], clock() - start)
    return [b * 1e6 for b in best]


def paragraphs(rows: list[tuple[str, str]], labels: tuple[str, ...], n: int) -> list[tuple[str, str]]:
    """`n` answer-sized texts per label, each 12 of the label's strings joined, as outputs are longer."""
    rng = random.Random(0)
    out = []
    for label in labels:
        pool = [t for lab, t in rows if lab == label]
        out += [(label, " ".join(rng.choices(pool, k=12))) for _ in range(n)]
    return out


def summary(micros: list[float]) -> str:
    ordered = sorted(micros)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.fmean(micros):,.1f} µs mean, {statistics.median(micros):,.1f} median, {p99:,.0f} p99"


_CHILD = """import json, sys
from factory.checks.language import detect_language
print(json.dumps([detect_language(t) for t in json.load(sys.stdin)]))"""


def fresh_process_answers(texts: list[str], hash_seed: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(texts), env=env,
                         capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout)


def determinism(texts: list[str], in_process: list[str]) -> tuple[bool, int]:
    first = fresh_process_answers(texts, "1")
    order = list(range(len(texts)))
    random.Random(7).shuffle(order)
    shuffled = fresh_process_answers([texts[i] for i in order], "2")
    second = [""] * len(texts)
    for pos, i in enumerate(order):
        second[i] = shuffled[pos]
    differing = sum(not (a == b == c) for a, b, c in zip(first, second, in_process, strict=True))
    return differing == 0, differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per string (best is kept)")
    args = parser.parse_args()

    rows, held_out = load(args.data)
    texts = [t for _, t in rows]
    langdetect.DetectorFactory.seed = 0
    methods: dict[str, Callable[[str], str]] = {"langdetect": plain_langdetect, "ours": detect_language}
    lingua = lingua_detector()
    if lingua is not None:
        methods["lingua"] = lingua

    consulted = []  # which strings our rules hand to langdetect's profiles
    scorer = language._langdetect
    language._langdetect = lambda text, among: consulted.append(text) or scorer(text, among)
    answers = {name: [detect(t) for t in texts] for name, detect in methods.items()}
    language._langdetect = scorer
    micros = {name: time_per_call(detect, texts, args.repeat) for name, detect in methods.items()}
    long_rows = paragraphs(rows, ("en", "zh", "fr", "ja", "ru"), 20)
    long_texts = [t for _, t in long_rows]
    long_micros = {name: time_per_call(detect, long_texts, 2) for name, detect in methods.items()}
    long_right = {name: sum(detect(t) == lab for lab, t in long_rows) for name, detect in methods.items()}
    groups = subsets(rows, held_out)

    def acc(name: str, idx: list[int]) -> str:
        right = sum(answers[name][i] == rows[i][0] for i in idx)
        return f"{right / len(idx):.3f} ({right}/{len(idx)})"

    names = list(methods)
    table = ["| subset | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for group, idx in groups.items():
        label = f"**{group}**" if group == "overall" else group
        table.append(f"| {label} | {len(idx)} | " + " | ".join(acc(n, idx) for n in names) + " |")
    table.append("| time per call, mean | | " + " | ".join(f"{statistics.fmean(micros[n]):,.1f} µs" for n in names) + " |")
    table.append("| time per call, median | | " + " | ".join(f"{statistics.median(micros[n]):,.1f} µs" for n in names) + " |")
    mean_len = statistics.fmean(len(t) for t in long_texts)
    long_line = (f"{len(long_texts)} answer-sized texts (12 strings of one label joined, mean {mean_len:.0f} characters, "
                 "en zh fr ja ru): " + "; ".join(f"{n} {long_right[n]}/{len(long_texts)} right, {summary(long_micros[n])}"
                                                 for n in names))

    source = args.data.relative_to(REPO) if args.data.is_relative_to(REPO) else args.data
    print(f"{len(rows)} labelled strings from {source} ({len(rows) - held_out} of them held out)\n")
    print("\n".join(table))
    print()
    for name in names:
        print(f"{name}: short strings {summary(micros[name])}")
    print(long_line)
    print(f"ours handed {len(consulted)} of {len(texts)} strings to langdetect's profiles: {consulted}")

    for name in names:
        wrong = [(rows[i][0], answers[name][i], rows[i][1]) for i in range(len(rows)) if answers[name][i] != rows[i][0]]
        if name != "ours":
            print(f"\n{name}: {len(wrong)} wrong")
            continue
        print(f"\nours: {len(wrong)} wrong (label -> answer: text)")
        for want, got, text in wrong:
            print(f"  {want} -> {got}: {text}")

    same, differing = determinism(texts, answers["ours"])
    verdict = "identical" if same else f"{differing} of {len(texts)} answers differ"
    print(f"\ndeterminism of ours: two fresh processes (PYTHONHASHSEED 1 and 2, the second on shuffled "
          f"order) and this one: {verdict}")

    per_sample = 2 * statistics.fmean(long_micros["ours"])  # instruction and output, both answer-sized
    print(f"ours on 100,000 samples, instruction and output both answer-sized: about {100_000 * per_sample / 1e6:,.0f} s")

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    loadavg = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"
    print("\n--- paste into bench/RESULTS.md ---\n")
    print(f"## bench/language.py, {DATE}, {machine}\n")
    print(f"{len(rows)} hand-labelled short QA strings, 2 to 120 characters ({source}; the last "
          f"{len(rows) - held_out} were written after the rules were fixed and are reported apart as held-out), "
          "accuracy (right/total) and time per call, side by side in one process. langdetect is "
          "`langdetect.detect` seeded with 0; ours is `detect_language`.\n")
    print("\n".join(table))
    print(f"\n- {long_line}.")
    print(f"- ours handed {len(consulted)} of {len(texts)} strings to langdetect's profiles; the rules decided the rest.")
    print(f"- Determinism of ours (two fresh processes, different hash seeds, one on shuffled order): {verdict}.")
    print(f"- Load average (1 min) when the run ended: {loadavg}; times are wall-clock, best of {args.repeat} calls per string.")


if __name__ == "__main__":
    main()
