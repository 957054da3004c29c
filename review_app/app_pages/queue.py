"""Queue: one sample at a time, with its source, findings, near duplicates and history.

Keys: A approve, X reject (then Enter), E edit (Ctrl+Enter saves, Esc cancels), S skip, B back.
A pair that replaces a reviewed pair of its note (one sentence of the note edited) shows that
pair, who decided it and the difference first; for one that replaces an approved pair, A
re-approves.
The queue is the samples matching the sidebar filters in the order they arrived; the cursor is a
rowid, so moving on is one indexed query however long the queue is. Every action names the
revision the reviewer saw: a sample someone else changed meanwhile is refused, never overwritten.
"""

from __future__ import annotations

import streamlit as st

from factory import review
from factory.errors import FactoryError, RevisionConflict
from factory.sample import Sample
from factory.store import Store
from review_app import context, widgets

state = st.session_state
state.setdefault("q_cursor", 0)  # rowid the queue reads from
state.setdefault("q_seen", None)  # {"id", "revision"}: the sample as the reviewer first saw it
state.setdefault("q_mode", "view")  # view, edit or reject
state.setdefault("q_conflict", None)  # {"id", "seen", "message"} after a refused save
state.setdefault("q_reviewed", 0)


def restart() -> None:
    state.q_cursor, state.q_mode, state.q_conflict = 0, "view", None


def move_to(rowid: int) -> None:
    state.q_cursor, state.q_mode, state.q_conflict = rowid, "view", None


def refused(exc: RevisionConflict, sample_id: str, seen: int, what: str) -> None:
    state.q_conflict = {"id": sample_id, "seen": seen,
                        "message": f"Your {what} was not saved: someone changed this sample after you opened it "
                                   f"(revision {exc.expected}, now {exc.actual}). Their change is below."}


def approve(sample_id: str, rowid: int, seen: int, replaces: str | None = None) -> None:
    try:
        with context.open_store() as store:
            review.approve(store, sample_id, seen, context.reviewer() or "")
    except RevisionConflict as exc:
        return refused(exc, sample_id, seen, "approval")
    state.q_reviewed += 1
    context.flash("success", f"Re-approved {sample_id}, which replaces {replaces}." if replaces
                  else f"Approved {sample_id}.")
    move_to(rowid + 1)


def reject(sample_id: str, rowid: int, seen: int) -> None:
    reason = state.get(f"r_reason_{sample_id}") or ""
    note = (state.get(f"r_note_{sample_id}") or "").strip()
    try:
        with context.open_store() as store:
            review.reject(store, sample_id, seen, context.reviewer() or "", f"{reason}: {note}" if note else reason)
    except RevisionConflict as exc:
        return refused(exc, sample_id, seen, "rejection")
    except FactoryError as exc:
        return context.flash("error", str(exc))
    state.q_reviewed += 1
    context.flash("success", f"Rejected {sample_id}.")
    move_to(rowid + 1)


def reopen(sample_id: str, seen: int) -> None:
    try:
        with context.open_store() as store:
            review.reopen(store, sample_id, seen, context.reviewer() or "")
    except RevisionConflict as exc:
        return refused(exc, sample_id, seen, "reopening")
    context.flash("info", f"{sample_id} is pending again.")
    state.q_seen = None


def save(sample_id: str, rowid: int, seen: int, then_approve: bool) -> None:
    draft = {name: state.get(f"e_{name}_{sample_id}") or "" for name in ("instruction", "input", "output", "system")}
    try:
        with context.open_store() as store:
            saved = review.edit(store, sample_id, seen, context.reviewer() or "", tags=review.parse_tags(
                state.get(f"e_tags_{sample_id}") or ""), **draft)
            if then_approve:
                review.approve(store, sample_id, saved.revision, context.reviewer() or "")
    except RevisionConflict as exc:
        return refused(exc, sample_id, seen, "edit")
    except FactoryError as exc:
        return context.flash("error", str(exc))
    state.q_seen = {"id": sample_id, "revision": saved.revision}
    state.q_mode, state.q_conflict = "view", None
    context.forget_tags()  # the edit may have added one
    if then_approve:
        state.q_reviewed += 1
        context.flash("success", f"Saved and approved {sample_id}.")
        move_to(rowid + 1)
    else:
        context.flash("success", f"Saved {sample_id} (revision {saved.revision}); the old text is in its history.")


def forget_draft(sample_id: str) -> None:
    for name in ("instruction", "input", "output", "system", "tags"):
        state.pop(f"e_{name}_{sample_id}", None)


def reload(sample_id: str, revision: int, keep_draft: bool) -> None:
    """Take the sample as it is now; with `keep_draft`, the reviewer's edit stays to be saved again."""
    state.q_seen, state.q_conflict = {"id": sample_id, "revision": revision}, None
    if not keep_draft:
        forget_draft(sample_id)
        state.q_mode = "view"


def set_mode(mode: str) -> None:
    state.q_mode = mode


def back(rowid: int) -> None:
    with context.open_store() as store:
        previous = review.previous_rowid(store, widgets.current_filter(), rowid)
    if previous is None:
        context.flash("info", "This is the first sample of the queue.")
    else:
        move_to(previous)


# -- drawing ---------------------------------------------------------------------------------
def action_bar(sample: Sample, rowid: int, seen: int, replaced: review.Replacement | None) -> None:
    with st.container(horizontal=True):
        if replaced is not None and replaced.approved:  # one key, as for any approval
            st.button("Re-approve", key="approve", type="primary", shortcut="A", on_click=approve,
                      args=(sample.id, rowid, seen, replaced.old.id), disabled=sample.status == "approved",
                      help=f"A re-approval: approve this text in place of {replaced.old.id} "
                           f"({replaced.decision}); the difference is shown above the text.")
        else:
            st.button("Approve", key="approve", type="primary", shortcut="A", on_click=approve,
                      args=(sample.id, rowid, seen), disabled=sample.status == "approved")
        st.button("Reject", key="reject", shortcut="X", on_click=set_mode, args=("reject",),
                  disabled=sample.status == "rejected")
        st.button("Edit", key="edit", shortcut="E", on_click=set_mode, args=("edit",))
        st.button("Skip", key="skip", shortcut="S", on_click=move_to, args=(rowid + 1,))
        st.button("Back", key="back", shortcut="B", on_click=back, args=(rowid,))
        if sample.status != "pending":
            st.button("Reopen", key="reopen", on_click=reopen, args=(sample.id, seen))


def reject_form(sample: Sample, rowid: int, seen: int) -> None:
    codes = [f.code for f in sample.findings]
    reasons = list(dict.fromkeys([*codes, *review.REJECT_REASONS]))
    with st.form(f"reject_{sample.id}", border=True):
        st.markdown("**Reject this sample because…**")
        st.selectbox("Reason", reasons, key=f"r_reason_{sample.id}")
        st.text_input("Note (optional)", key=f"r_note_{sample.id}", placeholder="what is wrong, for whoever looks next")
        with st.container(horizontal=True):
            st.form_submit_button("Reject with this reason", type="primary", shortcut="Enter", on_click=reject,
                                  args=(sample.id, rowid, seen))
            st.form_submit_button("Cancel", shortcut="Esc", on_click=set_mode, args=("view",))


def edit_form(sample: Sample, rowid: int, seen: int) -> None:
    with st.form(f"edit_{sample.id}", border=True):
        st.markdown("**Edit in place** · the previous text is kept in the history")
        st.text_area("Instruction", sample.instruction, key=f"e_instruction_{sample.id}", height=90)
        st.text_area("Input", sample.input, key=f"e_input_{sample.id}", height=68)
        st.text_area("Output", sample.output, key=f"e_output_{sample.id}", height=220)
        st.text_area("System prompt", sample.system or "", key=f"e_system_{sample.id}", height=68)
        st.text_input("Tags", ", ".join(sample.tags), key=f"e_tags_{sample.id}", help="Comma-separated.")
        with st.container(horizontal=True):
            st.form_submit_button("Save", type="primary", shortcut="Ctrl+Enter", on_click=save,
                                  args=(sample.id, rowid, seen, False))
            st.form_submit_button("Save and approve", shortcut="Ctrl+Shift+Enter", on_click=save,
                                  args=(sample.id, rowid, seen, True))
            st.form_submit_button("Cancel", shortcut="Esc", on_click=set_mode, args=("view",))


def changed_meanwhile(store: Store, sample: Sample, seen: int, message: str) -> None:
    st.error(message)
    for h in review.changes_since(store, sample.id, seen):
        widgets.history([h])
    with st.container(horizontal=True):
        st.button("Take their version", key="reload", type="primary", on_click=reload,
                  args=(sample.id, sample.revision, False), help="Discard your draft and look at the sample again.")
        if state.q_mode == "edit":
            st.button("Keep my draft", key="keep_draft", on_click=reload, args=(sample.id, sample.revision, True),
                      help="Your text stays in the editor; saving it replaces their change, knowingly.")


def source_panel(store: Store, sample: Sample) -> None:
    ctx = review.source_context(context.workspace(), store, sample)
    with st.container(border=True):
        st.markdown(f"**Source** · {escape(ctx.kind)}")
        st.text(ctx.title)
        st.code("\n".join(f"{k}: {v}" for k, v in ctx.facts.items() if v), language=None, wrap_lines=True)
        if ctx.notice:
            st.caption(ctx.notice)
        if ctx.original is not None:
            st.caption("Original")
            st.code(ctx.original, language=ctx.original_language, wrap_lines=True, height=320)


def escape(text: str) -> str:
    return widgets.escape_markdown(text)


def near_duplicates(store: Store, sample: Sample) -> None:
    for rel in review.related_samples(store, sample):
        st.subheader(f"{rel.finding.code.replace('_', ' ').capitalize()}", divider="gray")
        if rel.other is None:
            st.text(rel.finding.message)
            continue
        left, right = st.columns(2)
        with left:
            st.caption(f"This sample · {sample.id}")
            st.code(review.sample_text(sample), language=None, wrap_lines=True)
        with right:
            st.caption(f"The other · {rel.other.id} · {rel.other.status} · {rel.other.source.kind}")
            st.code(review.sample_text(rel.other), language=None, wrap_lines=True)
        st.caption("Difference ([-only in the other-] {+only in this one+})")
        st.code(rel.diff, language=None, wrap_lines=True)


def end_of_queue(item: review.QueueItem, flt: review.ReviewFilter) -> None:
    if item.total == 0:
        st.success(f"Nothing to review here: no samples match ({flt.describe()}).")
        st.caption("Change the filters in the sidebar, or look at the Table page.")
        return
    st.success("You reached the end of the queue.")
    st.write(f"{item.skipped_before:,} matching samples are earlier in the queue (skipped or changed).")
    st.button("Back to the first", key="restart", type="primary", on_click=restart)


with context.open_store() as store:
    flt = widgets.sidebar_filters(context.options(store), on_change=restart)
    st.sidebar.caption("Keys: **A** approve (for a pair that replaces an approved one: re-approve) · "
                       "**X** reject · **E** edit · **S** skip · **B** back · **Ctrl+Enter** save")
    item = review.queue_item(store, flt, state.q_cursor)
    head, count = st.columns([3, 2], vertical_alignment="bottom")
    head.title("Queue")
    context.show_flash()
    if item.sample is None:
        count.caption(f"{state.q_reviewed} reviewed this session")
        end_of_queue(item, flt)
        st.stop()
    sample = item.sample
    if state.q_seen is None or state.q_seen["id"] != sample.id:
        state.q_seen, state.q_mode, state.q_conflict = {"id": sample.id, "revision": sample.revision}, "view", None
    seen = state.q_seen["revision"]
    count.markdown(f"### {item.position:,} of {item.total:,}")
    count.caption(f"{escape(flt.describe())} · {state.q_reviewed} reviewed this session")

    conflict = state.q_conflict if state.q_conflict and state.q_conflict["id"] == sample.id else None
    if conflict:
        changed_meanwhile(store, sample, conflict["seen"], conflict["message"])
    elif sample.revision != seen:
        changed_meanwhile(store, sample, seen, "Someone changed this sample after you opened it; look at their "
                                               "change before you act on it.")
    replaced = review.replacement(store, sample)
    action_bar(sample, item.rowid, seen, replaced)
    meta = [sample.status, sample.source.kind, sample.lang or "language unknown", f"revision {sample.revision}",
            f"id {sample.id}"] + ([f"tags: {', '.join(sample.tags)}"] if sample.tags else [])
    st.caption(escape(" · ".join(meta)))

    main, side = st.columns([3, 2], gap="medium")
    with main:
        if replaced is not None:  # first: what the reviewer needs to re-decide
            widgets.replacement(replaced)
        if state.q_mode == "reject":
            reject_form(sample, item.rowid, seen)
        if state.q_mode == "edit":
            edit_form(sample, item.rowid, seen)
        else:
            widgets.sample_text(sample)
    with side:
        source_panel(store, sample)
        with st.container(border=True):
            st.markdown("**Findings**")
            widgets.findings(sample.findings)
    near_duplicates(store, sample)
    entries = store.history(sample.id)
    with st.expander(f"History ({len(entries)} changes)", expanded=False, icon=":material/history:"):
        widgets.history(entries)
