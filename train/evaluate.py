"""`factory eval RUN_ID`: the base model and the tuned one answer the same held-out questions.

Both answer, greedily and with the run's stored template, the version's eval split (questions the
adapter never trained on) and, when the version has one, `general_eval.jsonl` (general questions
held out at freeze: a drop there from base to tuned is forgetting). Scores: ROUGE-L F1 against the
reference (character-level for Chinese), exact match where the reference is short enough for it,
and, with `--judge`, an LLM judge's 1-5 scores for domain knowledge, style and accuracy.
Writes `eval.json` (every answer and score, and the means) and `eval.md`, a side-by-side report,
into the run folder; the review app shows them when present.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from statistics import mean
from typing import Any

from factory.errors import BadInput
from factory.progress import Progress, no_progress
from factory.versions import GENERAL_EVAL, VersionInfo
from factory.workspace import Workspace
from train.generation import load_run, require_complete
from train.judge import CRITERIA, judge_answers
from train.runs import Run, now, resolve_run
from train.scoring import exact_match, rouge_l
from train.template import record_messages
from train.trainer import frozen_version

log = logging.getLogger(__name__)

EVAL_JSON, EVAL_REPORT = "eval.json", "eval.md"
SPLITS = {"eval": "eval.jsonl", "general_eval": GENERAL_EVAL}


def run_version(ws: Workspace, run: Run) -> VersionInfo:
    """The version the run trained on, refused if it changed since."""
    dataset = run.info["dataset"]
    version = frozen_version(ws, dataset["ref"])
    if version.dataset_hash != dataset["dataset_hash"]:
        raise BadInput(f"{dataset['ref']} now has hash {version.dataset_hash[:12]}, but run {run.id} trained on "
                       f"{dataset['dataset_hash'][:12]}")
    return version


def evaluate_run(ws: Workspace, run_id: str, *, judge: bool = False, max_samples: int | None = None,
                 progress: Progress = no_progress) -> dict[str, Any]:
    run = resolve_run(ws, run_id)
    require_complete(run)
    version = run_version(ws, run)
    splits = {name: version.records(name) for name, file in SPLITS.items() if (version.path / file).is_file()}
    loaded = load_run(run)
    limit = max_samples if max_samples is not None else loaded.config.eval_max_samples
    splits = {name: records[:limit] if limit else records for name, records in splits.items()}
    total, done = 2 * sum(len(r) for r in splits.values()), 0
    progress(0, total)
    rows: list[dict[str, Any]] = []
    for name, records in splits.items():
        prompts = [record_messages(r, loaded.template.system_prompt, with_answer=False) for r in records]
        answers = {}
        for side in ("base", "tuned"):
            answers[side] = loaded.generate(prompts, base=side == "base")
            done += len(records)
            progress(done, total)
        for i, record in enumerate(records):
            row = {"split": name, "id": record.get("id"), "lang": record.get("lang"),
                   "question": prompts[i][-1]["content"], "reference": record["output"]}
            for side in ("base", "tuned"):
                answer = answers[side][i]
                row[side] = {"answer": answer, "rouge_l": round(rouge_l(answer, record["output"], row["lang"]), 4),
                             "exact_match": exact_match(answer, record["output"], row["lang"])}
            rows.append(row)
    judge_model = None
    if judge and rows:
        items = [(r["question"], r["reference"], r[side]["answer"]) for side in ("base", "tuned") for r in rows]
        scores, judge_model = judge_answers(ws, items)
        for i, side in enumerate(("base", "tuned")):
            for row, score in zip(rows, scores[i * len(rows):(i + 1) * len(rows)], strict=True):
                row[side]["judge"] = score
    result = {
        "run": run.id, "created_at": now(), "dataset": version.ref, "dataset_hash": version.dataset_hash,
        "base_model": loaded.config.base_model, "template": loaded.template.source,
        "generation": {"greedy": True, "max_new_tokens": loaded.config.max_new_tokens},
        "judge_model": judge_model,
        "splits": {name: summarise([r for r in rows if r["split"] == name]) for name in splits},
        "samples": rows,
    }
    if result["splits"].get("general_eval", {}).get("samples"):
        general = result["splits"]["general_eval"]
        result["forgetting"] = {"rouge_l_drop": round(general["base"]["rouge_l"] - general["tuned"]["rouge_l"], 4)}
    (run.path / EVAL_JSON).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (run.path / EVAL_REPORT).write_text(report(result), encoding="utf-8")
    return result


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"samples": len(rows)}
    for side in ("base", "tuned"):
        matches = [r[side]["exact_match"] for r in rows if r[side]["exact_match"] is not None]
        side_summary: dict[str, Any] = {
            "rouge_l": round(mean(r[side]["rouge_l"] for r in rows), 4) if rows else None,
            "exact_match": round(sum(matches) / len(matches), 4) if matches else None,
            "exact_match_samples": len(matches),
        }
        judged = [r[side]["judge"] for r in rows if r[side].get("judge")]
        if any("judge" in r[side] for r in rows):
            side_summary["judge"] = {c: round(mean(j[c] for j in judged), 3) if judged else None for c in CRITERIA}
            side_summary["judge"]["judged"] = len(judged)
        summary[side] = side_summary
    if rows:
        summary["rouge_l_gain"] = round(summary["tuned"]["rouge_l"] - summary["base"]["rouge_l"], 4)
    return summary


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


_HEADER = ("| split | samples | ROUGE-L base | ROUGE-L tuned | exact match base | exact match tuned | judge base "
           "| judge tuned |")


def report(result: dict[str, Any]) -> str:
    lines = [f"# Eval of run {result['run']}", "",
             (f"Dataset {result['dataset']} (hash `{result['dataset_hash'][:12]}`), base model "
              f"`{result['base_model']}`, template {result['template']}, greedy decoding, at most "
              f"{result['generation']['max_new_tokens']} new tokens. Judge: {result['judge_model'] or 'none'}."), "",
             _HEADER, "|---|---|---|---|---|---|---|---|"]
    for name, s in result["splits"].items():
        judges = []
        for side in ("base", "tuned"):
            j = s[side].get("judge")
            judges.append(" / ".join(_fmt(j[c]) for c in CRITERIA) if j else "n/a")
        lines.append(f"| {name} | {s['samples']} | {_fmt(s['base']['rouge_l'])} | {_fmt(s['tuned']['rouge_l'])} | "
                     f"{_fmt(s['base']['exact_match'])} | {_fmt(s['tuned']['exact_match'])} | {judges[0]} | "
                     f"{judges[1]} |")
    if "forgetting" in result:
        drop = result["forgetting"]["rouge_l_drop"]
        lines += ["", (f"Forgetting (general_eval ROUGE-L, base minus tuned): {drop:+.3f} (above 0: the tuned "
                       "model answers general questions worse than the base).")]
    if any("judge" in r["base"] for r in result["samples"]):
        lines += ["", "Judge scores are domain knowledge / style / accuracy, 1-5."]
    for name in result["splits"]:
        lines += ["", f"## {name}", "", "| question | reference | base | tuned | ROUGE-L base / tuned |",
                  "|---|---|---|---|---|"]
        for r in (r for r in result["samples"] if r["split"] == name):
            lines.append(f"| {_cell(r['question'])} | {_cell(r['reference'])} | {_cell(r['base']['answer'])} | "
                         f"{_cell(r['tuned']['answer'])} | {r['base']['rouge_l']:.3f} / {r['tuned']['rouge_l']:.3f} |")
    return "\n".join(lines) + "\n"


def load_eval(run: Run) -> dict[str, Any] | None:
    """A run's eval.json, for the review app and `factory runs`; None before `factory eval`."""
    path = run.path / EVAL_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def eval_report_path(run: Run) -> Path | None:
    path = run.path / EVAL_REPORT
    return path if path.is_file() else None
