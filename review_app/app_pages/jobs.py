"""Jobs: extraction, import and check runs with their counts and errors, and generation runs with
their requests, tokens and cost (the LLM ledger)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from review_app import charts, context

JOBS_SHOWN = 200


def when(stamp: str) -> str:
    return stamp[:19].replace("T", " ")


def took(started: str, finished: str | None) -> str:
    if not finished:
        return "running"
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

with context.open_store() as store:
    jobs = store.jobs(JOBS_SHOWN)
    runs = store.llm_runs()

st.title("Jobs")
st.subheader("Extraction, import and check runs", divider="gray")
if not jobs:
    st.info("No jobs yet: `factory extract notes PATH` or `factory import SOURCE` start one.")
else:
    st.dataframe(pd.DataFrame([{"job": j.id, "kind": j.kind, "source": j.source, "state": j.state,
                                "started": when(j.started_at), "took": took(j.started_at, j.finished_at),
                                "added": j.added, "updated": j.updated, "retired": j.retired,
                                "skipped": j.skipped, "errors": j.errors} for j in jobs]), hide_index=True)
    failing = [j for j in jobs if j.error_log]
    for j in failing:
        with st.expander(f"Job {j.id} · {j.kind} · {j.errors:,} errors", icon=":material/error:"):
            st.dataframe(pd.DataFrame(j.error_log), hide_index=True)
            if j.errors > len(j.error_log):
                st.caption(f"The first {len(j.error_log):,} of {j.errors:,} are kept.")

st.subheader("Generation runs", divider="gray")
if not runs:
    st.info("No generation runs yet: `factory generate --count N` starts one.")
else:
    with st.container(horizontal=True):
        st.metric("Runs", f"{len(runs):,}", border=True)
        st.metric("Requests", f"{sum(r['requests'] for r in runs):,}", border=True)
        st.metric("Tokens", f"{sum(r['tokens_in'] + r['tokens_out'] for r in runs):,}", border=True)
        st.metric("Cost", f"${sum(r['cost'] for r in runs):,.4f}", border=True)
    frame = pd.DataFrame([{"run": r["id"], "state": r["state"], "model": r["model"], "started": when(r["created_at"]),
                           "target": r["target"], "samples": r["samples"], "requests": r["requests"],
                           "failed requests": r["failed_requests"], "filtered out": r["filtered_out"],
                           "tokens in": r["tokens_in"], "tokens out": r["tokens_out"], "cost": r["cost"],
                           "approval rate": r["acceptance_rate"]} for r in runs])
    st.dataframe(frame, hide_index=True, column_config={
        "cost": st.column_config.NumberColumn(format="$%.4f"),
        "approval rate": st.column_config.NumberColumn(format="percent")})
    charts.bars(frame, "run", "cost", horizontal=True)
