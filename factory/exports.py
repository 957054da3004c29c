"""Exports of a frozen version into the formats trainers read.

- `alpaca`: JSON arrays of {instruction, input, output, system, history}
- `sharegpt`: JSON arrays of {conversations: [{from: human|gpt, value}], system}
- `openai`: JSON lines of {messages: [{role, content}]}
- `llamafactory`: alpaca files with every column on every row, plus the `dataset_info.json`
  LLaMA-Factory reads from its data dir (`dataset_dir`); train with `dataset: NAME_train`
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from factory.errors import VersionError
from factory.versions import VersionInfo, verify_version

Format = Literal["alpaca", "sharegpt", "openai", "llamafactory"]
FORMATS: tuple[Format, ...] = ("alpaca", "sharegpt", "openai", "llamafactory")
SPLITS = ("train", "eval")


def _prompt(record: dict[str, Any]) -> str:
    return f"{record['instruction']}\n\n{record['input']}" if record["input"] else record["instruction"]


def to_alpaca(record: dict[str, Any]) -> dict[str, Any]:
    row = {"instruction": record["instruction"], "input": record["input"], "output": record["output"]}
    if record.get("system"):
        row["system"] = record["system"]
    if record.get("history"):
        row["history"] = record["history"]
    return row


def to_llamafactory(record: dict[str, Any]) -> dict[str, Any]:
    # LLaMA-Factory indexes every column declared in dataset_info.json on every row
    # (`example[history]`), so each row carries all five, empty where unused.
    return {"instruction": record["instruction"], "input": record["input"], "output": record["output"],
            "system": record.get("system") or "", "history": record.get("history") or []}


def to_sharegpt(record: dict[str, Any]) -> dict[str, Any]:
    turns = []
    for user, assistant in record.get("history") or []:
        turns += [{"from": "human", "value": user}, {"from": "gpt", "value": assistant}]
    turns += [{"from": "human", "value": _prompt(record)}, {"from": "gpt", "value": record["output"]}]
    row: dict[str, Any] = {"conversations": turns}
    if record.get("system"):
        row["system"] = record["system"]
    return row


def to_openai(record: dict[str, Any]) -> dict[str, Any]:
    messages = [{"role": "system", "content": record["system"]}] if record.get("system") else []
    for user, assistant in record.get("history") or []:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    messages += [{"role": "user", "content": _prompt(record)}, {"role": "assistant", "content": record["output"]}]
    return {"messages": messages}


CONVERTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "alpaca": to_alpaca, "sharegpt": to_sharegpt, "openai": to_openai, "llamafactory": to_llamafactory,
}


def export_version(version: VersionInfo, fmt: Format, out: Path) -> list[Path]:
    """Write `version` in `fmt` under `out`; refuses a version whose hashes do not verify."""
    if fmt not in FORMATS:
        raise VersionError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    problems = verify_version(version)
    if problems:
        raise VersionError(f"{version.ref} does not verify ({problems[0]}); refusing to export it")
    out.mkdir(parents=True, exist_ok=True)
    convert = CONVERTERS[fmt]
    written = []
    dataset_info = {}
    for split in SPLITS:
        rows = [convert(r) for r in version.records(split)]
        if fmt == "openai":
            path = out / f"{split}.jsonl"
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        else:
            stem = f"{version.name}_{split}" if fmt == "llamafactory" else split
            path = out / f"{stem}.json"
            path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            dataset_info[stem] = {  # only written for llamafactory
                "file_name": path.name,
                "formatting": "alpaca",
                "columns": {"prompt": "instruction", "query": "input", "response": "output",
                            "system": "system", "history": "history"},
            }
        written.append(path)
    if fmt == "llamafactory":
        info_path = out / "dataset_info.json"
        info_path.write_text(json.dumps(dataset_info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(info_path)
    return written
