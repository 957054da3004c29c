"""Runs: training runs (`factory train`) with the data that trained them, their loss curve, and,
once `factory eval RUN_ID` has run, base against tuned on the held-out questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from review_app import charts, context
from train.evaluate import load_eval
from train.runs import CURVE, Run, list_runs

ws = context.workspace()
runs = list_runs(ws)[::-1]  # newest first

st.title("Runs")
if not runs:
    st.info("No training runs yet: `factory train --dataset NAME@vN --base-model HUB_ID_OR_PATH` makes one "
            "from a frozen version, and `factory eval RUN_ID` compares it with its base model.")
    st.stop()

st.dataframe(pd.DataFrame([run.summary() for run in runs]).drop(columns=["path"]), hide_index=True)
chosen: Run = st.selectbox("Run", runs, format_func=lambda run: run.id)
info = chosen.info


def inside_workspace(path: Path) -> bool:
    """The app shows files of the workspace only (a run folder could hold a link to elsewhere)."""
    return path.is_file() and path.resolve().is_relative_to(ws.root.resolve())


left, right = st.columns(2)
with left:
    st.subheader("Trained on", divider="gray")
    dataset, base = info.get("dataset", {}), info.get("base_model", {})
    st.code(f"dataset      {dataset.get('ref')}\nhash         {dataset.get('dataset_hash')}\n"
            f"base model   {base.get('id')}\n"
            f"revision     {base.get('commit') or base.get('revision') or base.get('fingerprint')}",
            language=None)
with right:
    st.subheader("Loss", divider="gray")
    curve = chosen.path / CURVE
    if inside_workspace(curve):
        st.image(str(curve))
    else:
        st.caption("No loss curve yet.")

st.subheader("Base against tuned", divider="gray")
result = load_eval(chosen)
if result is None:
    st.info(f"Not evaluated yet: `factory eval {chosen.id}`.")
    st.stop()


def side_rows(splits: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for split, summary in splits.items():
        for side in ("base", "tuned"):
            rows.append({"split": split, "model": side, "samples": summary["samples"],
                         "ROUGE-L": summary[side]["rouge_l"], "exact match": summary[side]["exact_match"],
                         **{f"judge {k}": v for k, v in (summary[side].get("judge") or {}).items() if k != "judged"}})
    return rows


scores = pd.DataFrame(side_rows(result["splits"]))
st.dataframe(scores, hide_index=True)
charts.bars(scores.assign(split_model=scores["split"] + " · " + scores["model"]), "split_model", "ROUGE-L",
            horizontal=True)
if "forgetting" in result:
    drop = result["forgetting"]["rouge_l_drop"]
    (st.warning if drop > 0 else st.success)(
        f"Forgetting check (general_eval ROUGE-L, base minus tuned): {drop:+.3f}"
        + (": the tuned model answers general questions worse than its base." if drop > 0 else "."))
st.caption(f"Evaluated {result['created_at'][:19].replace('T', ' ')} on {result['dataset']}, greedy decoding; "
           f"judge: {result.get('judge_model') or 'none'}.")
split = st.segmented_control("Answers", list(result["splits"]), default=next(iter(result["splits"])))
answers = [{"question": r["question"], "reference": r["reference"], "base": r["base"]["answer"],
            "tuned": r["tuned"]["answer"], "ROUGE-L base": r["base"]["rouge_l"],
            "ROUGE-L tuned": r["tuned"]["rouge_l"]} for r in result["samples"] if r["split"] == split]
st.dataframe(pd.DataFrame(answers), hide_index=True)  # cells are text: nothing a model wrote is rendered
