"""Exports of a frozen version into the formats trainers read.

- `alpaca`: JSON arrays of {instruction, input, output, system, history}
- `sharegpt`: JSON arrays of {conversations: [{from: human|gpt, value}], system}
- `openai`: JSON lines of {messages: [{role, content}]}
- `llamafactory`: alpaca files with every column on every row, plus the `dataset_info.json`
  LLaMA-Factory reads from its data dir (`dataset_dir`); train with `dataset: NAME_train`
"""

from __future__ import annotations

import json
import os
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
    """Write `version` in `fmt` under `out`; refuses a version whose hashes do not verify.

    Every file goes to a temporary file beside it first, and all are renamed into place at the end,
    so a failed export (a full disk) leaves no partial file, and an earlier export stays whole."""
    if fmt not in FORMATS:
        raise VersionError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    _check_out(version, out)
    problems = verify_version(version)
    if problems:
        raise VersionError(f"{version.ref} does not verify ({problems[0]}); refusing to export it")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VersionError(f"{out}: cannot make the folder ({exc.strerror or exc})") from exc
    return _write_files(out, _contents(version, fmt))


def _check_out(version: VersionInfo, out: Path) -> None:
    versions_dir = version.path.parents[1].resolve()  # .factory/versions: every name's versions
    target = out.resolve()
    if target == versions_dir or versions_dir in target.parents:
        raise VersionError(f"{out}: inside {versions_dir}, where frozen versions live (a file there breaks "
                           "them); export to a folder outside it")
    if out.exists() and not out.is_dir():
        raise VersionError(f"{out}: a file, not a folder; --out names the folder the export is written into")


def _contents(version: VersionInfo, fmt: Format) -> dict[str, str]:
    """Each file of the export, by name, as text."""
    convert = CONVERTERS[fmt]
    contents: dict[str, str] = {}
    dataset_info = {}
    for split in SPLITS:
        rows = [convert(r) for r in version.records(split)]
        if fmt == "openai":
            contents[f"{split}.jsonl"] = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            continue
        stem = f"{version.name}_{split}" if fmt == "llamafactory" else split
        contents[f"{stem}.json"] = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
        dataset_info[stem] = {  # only written for llamafactory
            "file_name": f"{stem}.json",
            "formatting": "alpaca",
            "columns": {"prompt": "instruction", "query": "input", "response": "output",
                        "system": "system", "history": "history"},
        }
    if fmt == "llamafactory":
        contents["dataset_info.json"] = json.dumps(dataset_info, ensure_ascii=False, indent=2) + "\n"
    return contents


def _write_files(out: Path, contents: dict[str, str]) -> list[Path]:
    temps = {out / name: out / f".{name}.tmp-{os.getpid()}" for name in contents}
    try:
        for (final, tmp), text in zip(temps.items(), contents.values()):
            try:
                tmp.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise VersionError(f"{final}: cannot write it ({exc.strerror or exc}); the export stopped and "
                                   "left no partial file") from exc
        for final, tmp in temps.items():
            try:
                os.replace(tmp, final)
            except OSError as exc:
                raise VersionError(f"{final}: cannot move it into place ({exc.strerror or exc})") from exc
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)  # a renamed one is gone already
    return list(temps)
