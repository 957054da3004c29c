"""Versions: freeze the approved samples into a new version, look at every version's manifest and
dataset card, and see what changed between two versions (added, removed, edited samples)."""

from __future__ import annotations

import streamlit as st

from factory import review
from factory.errors import FactoryError
from factory.version_diff import diff_versions
from factory.versions import CARD, VersionInfo, freeze_version, list_versions
from review_app import context, widgets

NO_POOL = "(none)"
SHOWN_PER_LIST = 200


def freeze() -> None:
    state = st.session_state
    pool = state.get("v_pool")
    try:
        version, _ = freeze_version(context.workspace(), (state.get("v_name") or "").strip(),
                                      eval_ratio=state.get("v_eval"), seed=int(state.get("v_seed") or 0),
                                      general_pool=None if pool in (None, NO_POOL) else pool,
                                      general_ratio=state.get("v_general") if pool not in (None, NO_POOL) else 0.0,
                                      reuse_identical=False)
    except FactoryError as exc:
        return context.flash("error", str(exc))
    counts = version.manifest["counts"]
    context.flash("success", f"Froze {version.ref}: {counts['train']:,} train, {counts['eval']:,} eval, "
                             f"hash {version.dataset_hash[:12]}.")
    for license in version.manifest["licenses"]["non_commercial"]:
        context.flash("warning", f"{version.ref} includes samples under {license}, which forbids commercial use; "
                                 "a model trained on it inherits that.")
    # Show the new version, and what changed since its parent.
    state["v_detail"] = state["v_new"] = version.ref
    if version.manifest.get("parent"):
        state["v_old"] = version.manifest["parent"]["ref"]


def freeze_form(defaults: review.FreezeDefaults) -> None:
    with st.form("freeze", border=True):
        st.markdown(f"**Freeze a new version** from the {defaults.approved:,} approved samples")
        name_col, eval_col, seed_col = st.columns([2, 1, 1])
        name_col.text_input("Name", defaults.name, key="v_name", help="The version becomes NAME@vN.")
        eval_col.number_input("Eval ratio", 0.0, 0.9, defaults.eval_ratio, 0.05, key="v_eval",
                              help="Share of the approved samples held out for evaluation, fixed by sample id.")
        seed_col.number_input("Seed", 0, None, defaults.seed, 1, key="v_seed")
        pools = [NO_POOL, *defaults.pools]
        pool_col, ratio_col = st.columns([2, 2])
        pool_col.selectbox("General pool", pools, index=pools.index(defaults.general_pool or NO_POOL), key="v_pool",
                           help="General data mixed in against forgetting (`factory import … --pool NAME`).")
        ratio_col.number_input("General ratio", 0.0, 0.9, defaults.general_ratio, 0.05, key="v_general",
                               help="Share of the train split that is general data.")
        st.form_submit_button("Freeze version", type="primary", on_click=freeze, disabled=not defaults.approved)


def choose(key: str, options: list[str], default: str) -> None:
    """Start a selectbox at `default`, or keep the reviewer's choice while it is still an option."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def version_table(versions: list[VersionInfo]) -> None:
    rows = []
    for v in reversed(versions):
        m = v.manifest
        general = m.get("general") or {}
        rows.append({"version": v.ref, "created": str(m.get("created_at", ""))[:19].replace("T", " "),
                     "train": m["counts"]["train"], "eval": m["counts"]["eval"],
                     "general in train": general.get("train", 0), "hash": v.dataset_hash[:12],
                     "parent": (m.get("parent") or {}).get("ref", "")})
    st.dataframe(rows, hide_index=True)


def version_detail(versions: list[VersionInfo]) -> None:
    refs = [v.ref for v in reversed(versions)]
    choose("v_detail", refs, refs[0])
    chosen = st.selectbox("Version", refs, key="v_detail")
    version = next(v for v in versions if v.ref == chosen)
    card_tab, manifest_tab = st.tabs(["Dataset card", "Manifest"])
    with card_tab:
        card = version.path / CARD
        # As text, not Markdown: the card quotes source names and licenses taken from datasets' own cards,
        # where an image or a link would reach the page (and load from, or point to, anywhere).
        widgets.text_block(CARD, card.read_text(encoding="utf-8") if card.is_file() else "(no dataset card)")
    with manifest_tab:
        st.json(version.manifest, expanded=1)


def record_rows(records: list[dict]) -> list[dict]:
    return [{"id": r["id"], "split": r["split"], "instruction": r["instruction"][:160],
             "output": r["output"][:160], "source": r["source"]["kind"]} for r in records[:SHOWN_PER_LIST]]


def version_diff(versions: list[VersionInfo]) -> None:
    refs = [v.ref for v in versions]
    choose("v_old", refs, refs[-2])
    choose("v_new", refs, refs[-1])
    old_col, new_col = st.columns(2)
    old_ref = old_col.selectbox("From", refs, key="v_old")
    new_ref = new_col.selectbox("To", refs, key="v_new")
    by_ref = {v.ref: v for v in versions}
    diff = diff_versions(by_ref[old_ref], by_ref[new_ref])
    with st.container(horizontal=True):
        for label, n in (("Added", len(diff.added)), ("Removed", len(diff.removed)), ("Edited", len(diff.edited)),
                         ("Moved between splits", len(diff.moved)), ("Unchanged", diff.unchanged)):
            st.metric(label, f"{n:,}", border=True)
    added, removed, edited = st.tabs([f"Added ({len(diff.added):,})", f"Removed ({len(diff.removed):,})",
                                      f"Edited ({len(diff.edited):,})"])
    with added:
        st.dataframe(record_rows(diff.added), hide_index=True)
    with removed:
        st.dataframe(record_rows(diff.removed), hide_index=True)
    with edited:
        for e in diff.edited[:SHOWN_PER_LIST]:
            st.caption(f"{e.id} · changed: {', '.join(e.fields)}")
            st.code(review.inline_diff(review.pair_text(e.old["instruction"], e.old.get("input", ""), e.old["output"]),
                                       review.pair_text(e.new["instruction"], e.new.get("input", ""), e.new["output"])),
                    language=None, wrap_lines=True)
    if max(len(diff.added), len(diff.removed), len(diff.edited)) > SHOWN_PER_LIST:
        st.caption(f"The lists show the first {SHOWN_PER_LIST}.")


st.title("Versions")
context.show_flash()
with context.open_store() as store:
    defaults = review.freeze_defaults(context.workspace(), store)
freeze_form(defaults)
versions = list_versions(context.workspace())
if not versions:
    st.info("No versions yet. Approve samples in the Queue, then freeze one above.")
    st.stop()
st.subheader("All versions", divider="gray")
version_table(versions)
if len(versions) > 1:
    st.subheader("What changed", divider="gray")
    version_diff(versions)
st.subheader("Dataset card and manifest", divider="gray")
version_detail(versions)
st.caption(widgets.escape_markdown(f"Versions live in {context.workspace().versions_dir}"))
