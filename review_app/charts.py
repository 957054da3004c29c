"""The few chart shapes the pages draw, as Altair specs with readable labels (no cut-off codes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

LABEL_LIMIT = 320  # pixels; reason codes and file names stay whole
# Review states and actions keep one colour everywhere.
PALETTE = {"approved": "#2e9e5b", "rejected": "#d64545", "pending": "#a3acb9", "edit": "#3d74c5",
           "reopen": "#9b7bd4"}


def bars(rows: Sequence[dict[str, Any]] | pd.DataFrame, category: str, value: str, *, color: str | None = None,
         horizontal: bool = False, order: Sequence[str] | None = None, percent: bool = False,
         height: int | None = None) -> None:
    """A bar chart of `value` per `category`, stacked by `color` when given."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        st.caption("Nothing to show yet.")
        return
    cat = alt.Axis(labelLimit=LABEL_LIMIT, labelAngle=0, title=None)
    num = alt.Axis(format=".0%" if percent else "~s", title=value, tickMinStep=0.1 if percent else 1)
    sort: Any = list(order) if order is not None else ("-x" if horizontal else None)
    category_enc = (alt.Y if horizontal else alt.X)(f"{category}:N", axis=cat, sort=sort)
    value_enc = (alt.X if horizontal else alt.Y)(f"{value}:Q", axis=num,
                                                scale=alt.Scale(domain=[0, 1]) if percent else alt.Undefined)
    encoding: dict[str, Any] = {"x": value_enc, "y": category_enc} if horizontal else {"x": category_enc,
                                                                                        "y": value_enc}
    tooltip = [category, value] + ([color] if color else [])
    if color:
        names = sorted(frame[color].unique())
        scale = alt.Scale(domain=names, range=[PALETTE[n] for n in names]) \
            if all(n in PALETTE for n in names) else alt.Undefined
        encoding["color"] = alt.Color(f"{color}:N", scale=scale, legend=alt.Legend(orient="bottom", title=None))
    narrow = horizontal or frame[category].nunique() < 8  # a few categories: bars, not slabs
    size = {"size": 18 if horizontal else 36} if narrow else {}
    chart = alt.Chart(frame).mark_bar(**size).encode(**encoding, tooltip=tooltip)
    # Horizontal: one 28-pixel row per category, so a long list of codes stays readable.
    st.altair_chart(chart.properties(height=alt.Step(28) if horizontal else (height or 240)), width="stretch")
