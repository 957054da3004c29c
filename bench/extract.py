"""Benchmark: note extraction throughput against a plain baseline (near duplicates: bench/dedupe.py).

    .venv/bin/python bench/extract.py [--notes 10000]

1. Notes per second on a generated corpus of Chinese and English notes:
   - baseline: what a one-off script does: read every file and parse it with markdown-it
     into heading sections, no rules, no store;
   - `extract notes`, first run (rules, checks of the files, SQLite writes, one transaction per note);
   - `extract notes`, second run with nothing changed, and with 1% of the notes edited.
Both run in this process, side by side; nothing here is asserted, only measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from markdown_it import MarkdownIt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from factory.ingest import extract_notes  # noqa: E402
from factory.workspace import init_workspace  # noqa: E402

EN_TOPICS = ["LoRA rank", "learning rate", "KV cache", "gradient checkpointing", "eval split", "chat template",
             "tokenizer", "vLLM server", "Ollama import", "GPU queue", "data cleaning", "dedup threshold"]
ZH_TOPICS = ["显存预算", "学习率", "数据清洗", "去重阈值", "模型部署", "评测集", "分词器", "训练队列"]


def _zipf(n: int) -> list[float]:
    return [1 / (rank + 1) for rank in range(n)]


# Text with the statistics of real prose: a 6,000-word English-like vocabulary and the 3,500
# most common-range Han characters, both drawn Zipf-distributed, so unrelated texts share the
# frequent words and characters but not whole passages (a tiny vocabulary would make every
# pair look alike and measure nothing but the worst case).
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
_vocab_rng = random.Random(42)
EN_WORDS = sorted({"".join(_vocab_rng.choices(_SYLLABLES, k=_vocab_rng.randint(1, 3))) for _ in range(6000)})
_vocab_rng.shuffle(EN_WORDS)
EN_WEIGHTS = _zipf(len(EN_WORDS))
ZH_CHARS = [chr(0x4E00 + i) for i in range(3500)]
_vocab_rng.shuffle(ZH_CHARS)
ZH_WEIGHTS = _zipf(len(ZH_CHARS))


def en_sentence(rng: random.Random) -> str:
    return " ".join(rng.choices(EN_WORDS, EN_WEIGHTS, k=rng.randint(8, 16))).capitalize() + "."


def zh_sentence(rng: random.Random) -> str:
    return "".join(rng.choices(ZH_CHARS, ZH_WEIGHTS, k=rng.randint(12, 24))) + "。"


def make_note(i: int, rng: random.Random) -> str:
    zh = i % 2 == 1
    topic = rng.choice(ZH_TOPICS if zh else EN_TOPICS)
    sentence = zh_sentence if zh else en_sentence
    parts = [f"# {topic} {i}\n"]
    for s in range(rng.randint(3, 6)):
        heading = f"{topic} 的要点 {s}" if zh else f"{topic} details {s}"
        parts.append(f"## {heading}\n\n" + " ".join(sentence(rng) for _ in range(rng.randint(2, 4))) + "\n")
    q, a = ("问", "答") if zh else ("Q", "A")
    parts.append(f"{q}: {sentence(rng)[:-1]}?\n{a}: {sentence(rng)}\n")
    return "\n".join(parts)


def baseline_parse(files: list[Path]) -> int:
    """Read and split every note into heading sections: the floor any extractor pays."""
    md = MarkdownIt("commonmark")
    sections = 0
    for path in files:
        tokens = md.parse(path.read_text(encoding="utf-8"))
        sections += sum(1 for t in tokens if t.type == "heading_open")
    return sections


def bench_notes(n: int, root: Path) -> list[str]:
    rng = random.Random(0)
    notes = root / "notes"
    notes.mkdir(parents=True)
    for i in range(n):
        (notes / f"note-{i:05d}.md").write_text(make_note(i, rng), encoding="utf-8")
    files = sorted(notes.glob("*.md"))
    ws = init_workspace(root / "ws")

    t = time.perf_counter()
    baseline_parse(files)
    base = time.perf_counter() - t
    t = time.perf_counter()
    first = extract_notes(ws, notes)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    extract_notes(ws, notes)
    warm = time.perf_counter() - t
    for k, path in enumerate(files[::100]):
        path.write_text(path.read_text(encoding="utf-8") + f"\nQ: One more question, number {k}?\n"
                        f"A: One more answer, number {k}.\n", encoding="utf-8")
    t = time.perf_counter()
    changed = extract_notes(ws, notes)
    one_percent = time.perf_counter() - t
    rows = [
        f"| baseline: read + markdown-it parse, no store | {n / base:,.0f} notes/s | 1.00x |",
        f"| `extract notes`, first run ({first.added:,} pairs into SQLite) | {n / cold:,.0f} notes/s | {base / cold:.2f}x |",
        f"| `extract notes`, nothing changed | {n / warm:,.0f} notes/s | {base / warm:.2f}x |",
        f"| `extract notes`, 1% of notes edited ({changed.added} new pairs) | {n / one_percent:,.0f} notes/s | "
        f"{base / one_percent:.2f}x |",
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    args = parser.parse_args()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"## bench/extract.py, {date.today()}, {machine}\n")
    root = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    try:
        print(f"Notes ({args.notes:,} generated notes, half Chinese):\n")
        print("| run | throughput | vs baseline |\n|---|---|---|")
        for row in bench_notes(args.notes, root):
            print(row, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
