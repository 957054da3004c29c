"""Run folders: `.factory/runs/RUN_ID/`, everything one training run made and what made it.

    run.json          dataset ref, hash and manifest files; base model id and revision; library
                      versions; the resolved config; data and training summary
    config.json       the resolved TrainConfig alone (feed it back with --config after `toml` export)
    adapter/          the LoRA adapter (the best checkpoint by eval loss)
    tokenizer/        the tokenizer with the chat template it trained with
    template.json     template source, sha256, end-of-turn marker, stop tokens, system prompt
    metrics.jsonl     one line per logged step: train loss, eval loss, learning rate, ...
    loss.png          the loss curve
    checkpoints/      trainer checkpoints, for --resume (removed after success unless kept)
    COMPLETE          written last; a folder without it is a run that was killed or is still going
    eval.json, eval.md, export/   written later by `factory eval` and `factory export`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factory.errors import BadInput
from factory.workspace import Workspace

RUN_FILE = "run.json"
CONFIG_FILE = "config.json"
COMPLETE = "COMPLETE"
METRICS = "metrics.jsonl"
CURVE = "loss.png"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class Run:
    id: str
    path: Path

    @property
    def info(self) -> dict[str, Any]:
        path = self.path / RUN_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def write_info(self, info: dict[str, Any]) -> None:
        tmp = self.path / f".{RUN_FILE}.tmp"
        tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.path / RUN_FILE)

    def update_info(self, **fields: Any) -> dict[str, Any]:
        info = {**self.info, **fields}
        self.write_info(info)
        return info

    @property
    def adapter_dir(self) -> Path:
        return self.path / "adapter"

    @property
    def tokenizer_dir(self) -> Path:
        return self.path / "tokenizer"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def complete(self) -> bool:
        return (self.path / COMPLETE).is_file()

    def mark_complete(self) -> None:
        (self.path / COMPLETE).write_text(now() + "\n", encoding="utf-8")

    def metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return []
        with self.metrics_path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def append_metrics(self, record: dict[str, Any]) -> None:
        with self.metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def truncate_metrics(self, last_step: int) -> None:
        """Drop lines logged after `last_step`: a resumed run logs those steps again."""
        kept = [m for m in self.metrics() if m.get("step", 0) <= last_step]
        self.metrics_path.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in kept),
                                     encoding="utf-8")

    def last_checkpoint(self) -> Path | None:
        found = [(int(m[1]), p) for p in self.checkpoints_dir.glob("checkpoint-*")
                 if (m := re.fullmatch(r"checkpoint-(\d+)", p.name)) and (p / "trainer_state.json").is_file()]
        return max(found)[1] if found else None

    def summary(self) -> dict[str, Any]:
        info = self.info
        training = info.get("training", {})
        return {"id": self.id, "path": str(self.path), "status": "complete" if self.complete else "incomplete",
                "dataset": info.get("dataset", {}).get("ref"),
                "dataset_hash": info.get("dataset", {}).get("dataset_hash"),
                "base_model": info.get("base_model", {}).get("id"), "started_at": info.get("started_at"),
                "finished_at": info.get("finished_at"), "steps": training.get("global_step"),
                "best_eval_loss": training.get("best_eval_loss"),
                "evaluated": (self.path / "eval.json").is_file()}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def runs_dir(ws: Workspace) -> Path:
    return ws.factory_dir / "runs"


def new_run_id(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise BadInput(f"--output-name {name!r}: letters, digits, '.', '_' or '-' (at most 64)")
    return f"{name}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def create_run(ws: Workspace, run_id: str) -> Run:
    path = runs_dir(ws) / run_id
    path.mkdir(parents=True, exist_ok=True)
    return Run(run_id, path)


def list_runs(ws: Workspace) -> list[Run]:
    folder = runs_dir(ws)
    if not folder.is_dir():
        return []
    runs = [Run(p.name, p) for p in folder.iterdir() if p.is_dir() and (p / RUN_FILE).is_file()]
    return sorted(runs, key=lambda r: (r.info.get("started_at", ""), r.id))


def resolve_run(ws: Workspace, run_id: str) -> Run:
    """A run by id or unique id prefix."""
    runs = list_runs(ws)
    exact = [r for r in runs if r.id == run_id]
    matches = exact or [r for r in runs if r.id.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise BadInput(f"{run_id}: ambiguous run id ({', '.join(r.id for r in matches[:5])})")
    raise BadInput(f"{run_id}: no such run; `factory runs` lists them")


def is_run(ws: Workspace, run_id: str) -> bool:
    try:
        resolve_run(ws, run_id)
    except BadInput:
        return False
    return True


def resumable_run(ws: Workspace, dataset_hash: str, base_model: str, output_name: str) -> Run | None:
    """The latest incomplete run of the same data, base model and name, with a checkpoint to go on from."""
    for run in reversed(list_runs(ws)):
        info = run.info
        if (not run.complete and info.get("dataset", {}).get("dataset_hash") == dataset_hash
                and info.get("base_model", {}).get("id") == base_model and info.get("output_name") == output_name):
            return run
    return None
