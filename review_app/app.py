"""The review app: `factory review`, or `streamlit run review_app/app.py` inside a workspace.

Pages are thin: each draws what `factory.review`, `factory.versions` and the store return and
calls them for every action. The reviewer's name is asked once per session and every action is
recorded under `reviewer:NAME`.

The pages live in `app_pages/`, not `pages/`: Streamlit treats a `pages/` folder beside the
entry script as an old-style multipage app and would run those scripts without this one.
"""

from __future__ import annotations

import streamlit as st

from factory.errors import FactoryError
from factory.review import reviewer_actor
from review_app import context
from review_app.widgets import escape_markdown

st.set_page_config(page_title="Review · dataset factory", page_icon=":material/fact_check:", layout="wide")


def start_reviewing() -> None:
    name = " ".join((st.session_state.get("name_input") or "").split())
    try:
        reviewer_actor(name)
    except FactoryError as exc:
        context.flash("error", str(exc))
    else:
        st.session_state[context.REVIEWER_KEY] = name


def ask_name() -> None:
    st.title("Review samples")
    st.write("Approve, edit and reject the samples in this workspace. Your name goes into the history "
             "with every change you make.")
    context.show_flash()
    with st.form("name", border=False, enter_to_submit=True, width=420):
        st.text_input("Your name", key="name_input", max_chars=40, placeholder="e.g. ann")
        st.form_submit_button("Start reviewing", type="primary", on_click=start_reviewing)


def change_reviewer() -> None:
    del st.session_state[context.REVIEWER_KEY]


def sidebar(root: str) -> None:
    with st.sidebar:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"Reviewing as **{escape_markdown(context.reviewer() or '')}**")
            st.button("Change", key="change_reviewer", type="tertiary", on_click=change_reviewer)
        st.caption("Workspace")
        st.code(root, language=None, wrap_lines=True)


try:
    ws = context.workspace()
except FactoryError as exc:
    st.title("No workspace")
    st.error(escape_markdown(str(exc)))
    st.write("Start the app from a workspace folder (`factory review`), or make one first: "
             "`factory demo` builds an example workspace in `factory-demo/`.")
    st.stop()

pages = [
    st.Page("app_pages/queue.py", title="Queue", icon=":material/fact_check:", default=True),
    st.Page("app_pages/table.py", title="Table", icon=":material/table_rows:"),
    st.Page("app_pages/dataset.py", title="Dataset", icon=":material/bar_chart:"),
    st.Page("app_pages/versions.py", title="Versions", icon=":material/inventory_2:"),
    st.Page("app_pages/jobs.py", title="Jobs", icon=":material/history:"),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/model_training:"),
]
page = st.navigation(pages, position="sidebar" if context.reviewer() else "hidden")
if not context.reviewer():
    ask_name()
    st.stop()
sidebar(str(ws.root))
page.run()
