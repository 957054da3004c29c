"""Benchmark: importing a large open dataset, rows per second and peak memory, against plain baselines.

    .venv/bin/python bench/import.py [--rows 1000000]

Generates an Alpaca-style JSON lines file (Chinese and English rows, 0.1% broken lines) and the
same rows as Parquet, then runs each variant in its own child process so that each peak
resident memory (VmHWM) is its own:

- baseline, stream: read the file and `json.loads` every line, keep nothing (the floor);
- baseline, load all: what a one-off script does, `json.loads` every line into one list, then
  write all rows to SQLite with one `executemany` (no checks of rows, no ids, no provenance);
- `factory import` of the JSON lines file (rows to samples, ids, provenance, store writes, batches),
  with resident memory sampled as it goes to show whether it stays flat;
- `factory import` of the same file again (unchanged: nothing to do);
- `factory import` of the Parquet file (read through `datasets` streaming).

Nothing here asserts; it measures and prints a markdown block for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EN = ("model data train token batch layer weight answer question memory speed cache rank adapter "
      "prompt template eval loss step learning rate schedule export server queue the a of to and in is "
      "for with on how what why when which").split()
ZH = list("模型数据训练分词批次权重回答问题显存速度缓存学习率评测损失导出部署队列的是了在和有我们这个")


def _text(rng: random.Random, zh: bool, n: int) -> str:
    if zh:
        return "".join(rng.choices(ZH, k=n)) + "。"
    return " ".join(rng.choices(EN, k=n)).capitalize() + "."


def generate(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    jsonl, parquet = folder / "data.jsonl", folder / "data.parquet"
    writer = None
    with jsonl.open("w", encoding="utf-8") as handle:
        chunk: dict[str, list[str]] = {"instruction": [], "input": [], "output": []}
        for i in range(rows):
            zh = i % 2 == 0
            row = {"instruction": _text(rng, zh, rng.randint(6, 20)),
                   "input": _text(rng, zh, 8) if i % 5 == 0 else "",
                   "output": _text(rng, zh, rng.randint(20, 80))}
            if i % 1000 == 999:
                handle.write('{"instruction": "broken\n')  # an unreadable line, reported and skipped
            else:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            for key in chunk:
                chunk[key].append(row[key])
            if len(chunk["output"]) == 50_000 or i == rows - 1:
                table = pa.table(chunk)
                writer = writer or pq.ParquetWriter(parquet, table.schema)
                writer.write_table(table)
                chunk = {k: [] for k in chunk}
    if writer:
        writer.close()
    return jsonl, parquet


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss, not inherited from the parent)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(variant: str, path: Path, work: Path) -> dict:
    start = time.perf_counter()
    samples: list[float] = []
    if variant == "stream":
        rows = 0
        with path.open("rb") as handle:
            for line in handle:
                try:
                    json.loads(line)
                    rows += 1
                except json.JSONDecodeError:
                    pass
    elif variant == "load_all":
        data = []
        with path.open("rb") as handle:
            for line in handle:
                try:
                    data.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        db = sqlite3.connect(work / "plain.sqlite")
        db.execute("CREATE TABLE rows (instruction TEXT, input TEXT, output TEXT)")
        with db:
            db.executemany("INSERT INTO rows VALUES (?, ?, ?)",
                           ((r.get("instruction"), r.get("input"), r.get("output")) for r in data))
        rows = len(data)
    else:
        from factory.importing import import_dataset
        from factory.workspace import init_workspace
        from sources.open_datasets import DatasetRequest

        ws = init_workspace(work / "ws")

        def progress(done: int, total: int) -> None:
            if total and done * 20 // total > len(samples):  # every 5% of the rows
                samples.append(_rss_mb())

        start = time.perf_counter()
        result = import_dataset(ws, DatasetRequest(source=str(path)), progress=progress)
        rows = result.rows
    seconds = time.perf_counter() - start
    peak = _peak_mb()
    return {"variant": variant, "rows": rows, "seconds": seconds, "peak_mb": peak, "rss_samples": samples}


def run_child(variant: str, path: Path, work: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", variant, "--path", str(path), "--work", str(work)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child")
    parser.add_argument("--path", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.path, args.work)))
        return

    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        t = time.perf_counter()
        jsonl, parquet = generate(folder, args.rows)
        print(f"generated {args.rows:,} rows ({jsonl.stat().st_size / 2**20:.0f} MB JSON lines, "
              f"{parquet.stat().st_size / 2**20:.0f} MB Parquet) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        work = folder / "work"
        work.mkdir()
        runs = [
            ("baseline: stream, json.loads each line, keep nothing", run_child("stream", jsonl, work)),
            ("baseline: load all rows into a list, one executemany into SQLite", run_child("load_all", jsonl, work)),
            ("`factory import` JSON lines (first import)", run_child("factory", jsonl, work)),
        ]
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "factory", "-w", str(work / "ws"), "import", str(jsonl)], check=True,
                       capture_output=True, cwd=Path(__file__).resolve().parents[1])
        again = time.perf_counter() - t
        shutil.rmtree(work / "ws")
        runs.append(("`factory import` Parquet via datasets streaming (first import)",
                     run_child("factory", parquet, work)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    base = runs[0][1]["rows"] / runs[0][1]["seconds"]
    print(f"## bench/import.py, {date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")
    print(f"{args.rows:,} generated rows, half Chinese, one broken line in a thousand.\n")
    print("| run | rows/s | vs stream baseline | peak memory |")
    print("|---|---|---|---|")
    for label, r in runs:
        rate = r["rows"] / r["seconds"]
        print(f"| {label} | {rate:,.0f} | {rate / base:.2f}x | {r['peak_mb']:,.0f} MB |")
    print(f"| `factory import` of the unchanged file again (whole CLI process) | {again:.2f} s in all | | |")
    for label, r in runs:
        if r["rss_samples"]:
            trace = ", ".join(f"{m:.0f}" for m in r["rss_samples"][:: max(1, len(r["rss_samples"]) // 5)])
            print(f"\nResident memory (MB) during {label}, every ~20% of the rows: {trace}")


if __name__ == "__main__":
    main()
