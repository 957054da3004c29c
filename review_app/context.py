"""What every page needs: the workspace, a store for this run, who is reviewing, one-shot messages.

The store is opened per script run, not cached: an SQLite connection belongs to the thread that
opened it, and Streamlit runs each rerun on a thread of its own. Opening costs under a
millisecond (no write lock unless the schema needs migrating).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Literal

import streamlit as st

from factory.review import FilterOptions, filter_options
from factory.store import Store
from factory.workspace import Workspace, find_workspace

Level = Literal["success", "info", "warning", "error"]
REVIEWER_KEY = "reviewer"


def workspace() -> Workspace:
    """The workspace from $FACTORY_WORKSPACE (set by `factory review`), else the nearest upwards."""
    return find_workspace()


MMAP_BYTES = 1 << 30  # the store is read through the OS page cache: a fresh connection per run stays fast


@contextmanager
def open_store() -> Iterator[Store]:
    with Store(workspace().store_path, mmap_bytes=MMAP_BYTES) as store:
        yield store


def reviewer() -> str | None:
    return st.session_state.get(REVIEWER_KEY)


def options(store: Store) -> FilterOptions:
    """The filters' choices. They change rarely and tags cost a pass over the rows, so they are
    cached: kinds, languages and codes for 30 s, tags for 5 minutes or until an edit here."""
    return replace(_cached_options(str(store.path)), tags=_cached_tags(str(store.path)))


def forget_tags() -> None:
    _cached_tags.clear()


@st.cache_data(ttl=30, show_spinner=False)
def _cached_options(store_path: str) -> FilterOptions:
    with Store(Path(store_path), mmap_bytes=MMAP_BYTES) as store:
        return filter_options(store, with_tags=False)


@st.cache_data(ttl=300, show_spinner=False)
def _cached_tags(store_path: str) -> list[str]:
    with Store(Path(store_path), mmap_bytes=MMAP_BYTES) as store:
        return filter_options(store).tags


def flash(level: Level, text: str, detail: str | None = None) -> None:
    """A message for the next render (actions run in callbacks, before the page draws)."""
    pending = st.session_state.setdefault("flash", [])
    if (level, text, detail) not in pending:  # the same action sent twice says so once
        pending.append((level, text, detail))


def show_flash() -> None:
    """Show and forget the pending messages; they may quote what someone typed, so as plain text."""
    from review_app.widgets import escape_markdown

    for level, text, detail in st.session_state.pop("flash", []):
        getattr(st, level)(escape_markdown(text))
        if detail:
            st.code(detail, language=None, wrap_lines=True)
