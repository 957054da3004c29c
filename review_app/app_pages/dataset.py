"""Dataset: where the review stands, as charts: status, source, language, reason codes, lengths,
approval rates by source and by generation run, and who reviewed what.

The numbers are one `factory.review.dashboard` call, cached until the store changes (the key
is the store's last history row, job and ledger entry, read in one cheap query).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from factory import review
from factory.store import Store
from review_app import charts, context


@st.cache_data(max_entries=4, show_spinner="Counting…")
def load(store_path: str, marker: tuple[int, ...]) -> review.Dashboard:
    with Store(Path(store_path), mmap_bytes=context.MMAP_BYTES) as store:
        return review.dashboard(store)


def counted(counts: dict[str, int], label: str) -> list[dict[str, object]]:
    return [{label: key, "samples": n} for key, n in counts.items()]


with context.open_store() as store:
    board = load(str(store.path), review.store_marker(store))

st.title("Dataset")
with st.container(horizontal=True):
    st.metric("In review", f"{board.total:,}", border=True,
              help=f"Live samples from notes, datasets and generation. Not counted: {board.general:,} in general "
                   f"pools (mixed in at freeze, not reviewed) and {board.retired:,} retired (their source is gone).")
    for status in ("pending", "approved", "rejected"):
        st.metric(status.capitalize(), f"{board.by_status.get(status, 0):,}", border=True)
    rate = board.approval_rate
    st.metric("Approval rate", "–" if rate is None else f"{rate:.0%}", border=True,
              help="Approved among the reviewed samples (approved or rejected).")
    st.metric("General pools", f"{board.general:,}", border=True)

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Status by source", divider="gray")
    charts.bars(board.status_by_source, "source", "samples", color="status", horizontal=True)
    st.subheader("Languages", divider="gray")
    charts.bars(counted(board.by_lang, "language"), "language", "samples", horizontal=True)
with right:
    st.subheader("Reason codes", divider="gray")
    if board.by_reason:
        charts.bars(counted(board.by_reason, "reason code"), "reason code", "samples", horizontal=True)
    else:
        st.caption("No findings yet; `factory check` runs the checks.")

st.subheader("Lengths in characters", divider="gray")
for column, name in zip(st.columns(2, gap="large"), ("instruction", "output"), strict=True):
    with column:
        st.caption(name.capitalize())
        charts.bars([r for r in board.lengths if r["field"] == name], "characters", "samples",
                    order=review.length_bin_labels(), height=200)

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Approval rate by source", divider="gray")
    rated = [r for r in board.approval_by_source if r["approval rate"] is not None]
    charts.bars(rated, "source", "approval rate", horizontal=True, percent=True)
    st.dataframe(pd.DataFrame(board.approval_by_source), hide_index=True, column_config={
        "approval rate": st.column_config.NumberColumn(format="percent")})
with right:
    st.subheader("Approval rate by generation run", divider="gray")
    if not board.approval_by_run:
        st.caption("No generation runs yet (`factory generate`).")
    else:
        charts.bars([r for r in board.approval_by_run if r["approval rate"] is not None], "run", "approval rate",
                    horizontal=True, percent=True)
        st.dataframe(pd.DataFrame(board.approval_by_run), hide_index=True, column_config={
            "approval rate": st.column_config.NumberColumn(format="percent"),
            "cost": st.column_config.NumberColumn(format="$%.4f")})

st.subheader("Reviewer activity, last 30 days", divider="gray")
if board.reviewer_activity:
    left, right = st.columns(2, gap="large")
    with left:
        st.caption("Actions per day")
        charts.bars(board.reviewer_activity, "day", "count", color="action")
    with right:
        st.caption("Actions per reviewer")
        charts.bars(board.reviewer_activity, "reviewer", "count", color="action", horizontal=True)
    st.dataframe(pd.DataFrame(board.reviewers), hide_index=True)
else:
    st.caption("Nobody has reviewed anything yet.")
