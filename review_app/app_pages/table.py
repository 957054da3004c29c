"""Table: every sample matching the filters, a page at a time, with bulk approve and reject.

A bulk action first takes a snapshot of the matching samples and their revisions and asks for
confirmation with the count; it then applies to exactly that snapshot, and if any of those
samples changed in between, nothing is written.
"""

from __future__ import annotations

import streamlit as st

from factory import review
from factory.errors import FactoryError, RevisionConflict
from factory.sample import Status
from review_app import context, widgets

PAGE_SIZES = (25, 50, 100, 200)
state = st.session_state
state.setdefault("t_page", 1)
state.setdefault("t_bulk", None)  # {"status", "ids": {id: revision}, "reason", "filter"} awaiting confirmation


def first_page() -> None:
    state.t_page, state.t_bulk = 1, None


def ask(status: Status) -> None:
    """Snapshot what the filter matches now; the confirmation shows how many."""
    reason = (state.get("t_reason") or "").strip()
    if status == "rejected" and not reason:
        return context.flash("warning", "Say why these samples are rejected (the reason box), then try again.")
    flt = widgets.current_filter()
    with context.open_store() as store:
        chosen = review.selection(store, flt)
    state.t_bulk = {"status": status, "ids": chosen, "reason": reason or None, "filter": flt.describe()}


def confirm() -> None:
    bulk, state.t_bulk = state.t_bulk, None
    try:
        with context.open_store() as store:
            changed = review.bulk_set_status(store, bulk["ids"], bulk["status"], context.reviewer() or "",
                                             bulk["reason"])
    except RevisionConflict as exc:
        return context.flash("error", f"Nothing was changed: sample {exc.sample_id} (and maybe others) changed "
                                      "after you selected them. Look at the table again and repeat the action.")
    except FactoryError as exc:
        return context.flash("error", str(exc))
    verb = "Approved" if bulk["status"] == "approved" else "Rejected"
    context.flash("success", f"{verb} {changed:,} samples ({len(bulk['ids']) - changed:,} were already "
                             f"{bulk['status']}).")


def cancel() -> None:
    state.t_bulk = None


def bulk_panel(total: int) -> None:
    bulk = state.t_bulk
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button(f"Approve all {total:,}", key="bulk_approve", on_click=ask, args=("approved",),
                  disabled=not total or bulk is not None)
        st.text_input("Reason for rejecting", key="t_reason", placeholder="e.g. outdated API")
        st.button(f"Reject all {total:,}", key="bulk_reject", on_click=ask, args=("rejected",),
                  disabled=not total or bulk is not None)
    if not bulk:
        return
    verb = "Approve" if bulk["status"] == "approved" else "Reject"
    with st.container(border=True):
        st.warning(f"{verb} {len(bulk['ids']):,} samples? They are every sample matching "
                   f"({widgets.escape_markdown(bulk['filter'])}) when you asked. Each change is kept in "
                   "the samples' history.")
        if bulk["reason"]:
            st.caption("Reason")
            st.text(bulk["reason"])
        with st.container(horizontal=True):
            st.button(f"Yes, {verb.lower()} {len(bulk['ids']):,} samples", key="bulk_confirm", type="primary",
                      on_click=confirm, disabled=not bulk["ids"])
            st.button("Cancel", key="bulk_cancel", on_click=cancel)


with context.open_store() as store:
    flt = widgets.sidebar_filters(context.options(store), on_change=first_page)
    st.title("Table")
    context.show_flash()
    size = state.get("t_size", PAGE_SIZES[1])
    page = review.table_page(store, flt, state.t_page, size)
state.t_page = page.page
st.caption(f"{page.total:,} samples match ({widgets.escape_markdown(flt.describe())}) · page {page.page:,} "
           f"of {page.pages:,}")
st.dataframe(page.rows, hide_index=True, height=min(38 + 35 * max(len(page.rows), 1), 720),
             column_order=("id", "status", "findings", "source_kind", "lang", "instruction", "output", "tags",
                           "revision", "source_uri"),
             column_config={"id": st.column_config.TextColumn("id", width=140),
                            "source_kind": "source", "lang": "language",
                            "instruction": st.column_config.TextColumn("instruction", width="large"),
                            "output": st.column_config.TextColumn("output", width="large"),
                            "source_uri": "source uri"})
with st.container(horizontal=True, vertical_alignment="bottom"):
    st.number_input("Page", min_value=1, max_value=page.pages, step=1, key="t_page", width=160)
    st.selectbox("Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(size), key="t_size", on_change=first_page,
                 width=160)
st.subheader("Bulk actions", divider="gray")
st.caption("Apply to every sample the filters match, on all pages.")
bulk_panel(page.total)
