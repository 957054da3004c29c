"""Pieces several pages draw: the sidebar filters, a sample's text, its findings and its history.

Text that comes from samples, notes, datasets or reviewers is drawn with `st.code` or `st.text`
(plain text, never Markdown or HTML); when it must sit in Markdown (a label) it is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from factory.review import FilterOptions, Replacement, ReviewFilter, describe_change
from factory.sample import Finding, Sample
from factory.store import HistoryEntry

ANY = "any"
STATUS_CHOICES = ("pending", "approved", "rejected", ANY)
FILTER_KEYS = ("f_status", "f_source", "f_reason", "f_lang", "f_tag", "f_text")
KEPT_FILTERS = "filters_kept"  # Streamlit forgets a widget's value on a page that does not draw it
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=])")


def escape_markdown(text: str) -> str:
    """Text safe inside Markdown: every character Markdown or Streamlit's directives could use, escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


# -- filters -----------------------------------------------------------------------------
def current_filter() -> ReviewFilter:
    """The filter as the sidebar widgets hold it (for callbacks, which run before the page draws)."""
    return _as_filter({key: st.session_state.get(key) for key in FILTER_KEYS})


def _as_filter(values: dict[str, str | None]) -> ReviewFilter:
    def pick(key: str) -> str | None:
        value = values.get(key)
        return None if value in (None, ANY, "") else value

    status = values.get("f_status") or "pending"
    return ReviewFilter(status=None if status == ANY else status,  # type: ignore[arg-type]
                        source_kind=pick("f_source"), reason=pick("f_reason"), lang=pick("f_lang"),
                        tag=pick("f_tag"), text=(values.get("f_text") or "").strip() or None)


def sidebar_filters(options: FilterOptions, on_change: Callable[[], None] | None = None) -> ReviewFilter:
    """Status, source, finding, language, tag and text search; shared by the Queue and Table pages."""
    choices = {"f_status": list(STATUS_CHOICES), "f_source": [ANY, *options.source_kinds],
               "f_reason": [ANY, *options.reasons], "f_lang": [ANY, *options.langs], "f_tag": [ANY, *options.tags]}
    # Streamlit drops a widget's value when another page draws no widget with its key; the filters
    # live in KEPT_FILTERS (updated by on_change) and are handed back to the widgets on every run.
    kept = st.session_state.setdefault(KEPT_FILTERS, {})
    for key, value in kept.items():
        st.session_state[key] = value

    def changed() -> None:
        kept.update({key: st.session_state.get(key) for key in FILTER_KEYS if key in st.session_state})
        if on_change is not None:
            on_change()

    for key, values in choices.items():  # a value that went away (last sample with that tag) resets
        if key in st.session_state and st.session_state[key] not in values:
            st.session_state[key] = values[0]
    labels = {"f_status": "Status", "f_source": "Source", "f_reason": "Finding", "f_lang": "Language", "f_tag": "Tag"}
    values: dict[str, str | None] = {}
    with st.sidebar:
        st.subheader("Filters")
        for key, label in labels.items():
            values[key] = st.selectbox(label, choices[key], key=key, on_change=changed,
                                       help="A check's reason code; `factory reasons` lists them."
                                       if key == "f_reason" else None)
        values["f_text"] = st.text_input("Text search", key="f_text", on_change=changed,
                                         placeholder="in instruction, input or output")
    return _as_filter(values)


# -- a sample ------------------------------------------------------------------------------
def text_block(label: str, text: str, *, height: int | None = None) -> None:
    st.caption(label)
    st.code(text if text else "(empty)", language=None, wrap_lines=True, height=height or "content")


def sample_text(sample: Sample) -> None:
    if sample.system:
        text_block("System", sample.system)
    for i, (user, assistant) in enumerate(sample.history, 1):
        text_block(f"Earlier turn {i}: user", user)
        text_block(f"Earlier turn {i}: assistant", assistant)
    text_block("Instruction", sample.instruction)
    if sample.input:
        text_block("Input", sample.input)
    text_block("Output", sample.output)


def replacement(found: Replacement) -> None:
    """The reviewed pair a changed pair of a note replaces, and what changed from that text."""
    with st.container(border=True):
        st.markdown(":material/difference: " + escape_markdown(f"Replaces {found.old.id} ({found.decision})"))
        what = "approved" if found.approved else "reviewed"
        unchanged = "" if "instruction" in found.diffs else "; the instruction is unchanged"
        st.caption(f"What changed from the text that was {what}: [-removed-] {{+added+}}{unchanged}")
        for name, diff in found.diffs.items():
            text_block(name.capitalize(), diff)


SEVERITY_COLOURS = {"reject": "red", "warn": "orange"}


def findings(found: list[Finding]) -> None:
    if not found:
        st.caption("The checks found nothing.")
        return
    for f in found:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.badge(f.code, color=SEVERITY_COLOURS.get(f.severity, "gray"))  # type: ignore[arg-type]
            st.caption(f"{f.severity} · {f.check}")
        st.text(f.message)


def history(entries: list[HistoryEntry]) -> None:
    """A sample's full history, newest first; edits show the old and new text as an inline diff."""
    for h in reversed(entries):
        st.markdown(f"**{escape_markdown(h.actor)}** · {escape_markdown(h.action)} · revision {h.revision} · "
                    f"{escape_markdown(h.at[:19].replace('T', ' '))}")
        lines = describe_change(h)
        if lines:
            st.code("\n".join(f"{name}: {text}" for name, text in lines), language=None, wrap_lines=True)
