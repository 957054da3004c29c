"""Every page and action of the review app through Streamlit's AppTest, checked against the store."""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from factory.importing import import_dataset
from factory.sample import Sample
from factory.store import SampleFilter
from factory.versions import freeze_version, list_versions
from review_app.widgets import escape_markdown
from sources.open_datasets import DatasetRequest
from tests.review_app.conftest import APP, HOSTILE, NOTE_PAIRS, ReviewWorkspace


def click(at: AppTest, label: str) -> AppTest:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0].click().run()


def plain(element) -> str:
    """A message as the reader sees it (the app escapes Markdown in what it shows)."""
    return re.sub(r"\\(.)", r"\1", element.value)


def position(at: AppTest) -> str:
    return next(m.value.removeprefix("### ") for m in at.markdown if m.value.startswith("### "))


def codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def sample(review_ws: ReviewWorkspace, sample_id: str) -> Sample:
    with review_ws.ws.open_store() as store:
        return store.get(sample_id)


def reviewer_actions(review_ws: ReviewWorkspace, sample_id: str) -> list[tuple[str, str]]:
    with review_ws.ws.open_store() as store:
        return [(h.actor, h.action) for h in store.history(sample_id) if h.actor.startswith("reviewer:")]


def assert_no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


# -- who is reviewing -------------------------------------------------------------------------
def test_the_name_is_asked_once_and_every_action_is_recorded_under_it(review_ws):
    at = review_ws.app(reviewer=None)
    assert at.title[0].value == "Review samples" and not [b for b in at.button if b.label == "Approve"]
    at.text_input(key="name_input").input("   ")
    click(at, "Start reviewing")
    assert "reviewer name" in plain(at.error[0]) and at.title[0].value == "Review samples"
    at.text_input(key="name_input").input("ann")
    click(at, "Start reviewing")
    assert at.title[0].value == "Queue" and position(at) == "1 of 7"
    at.switch_page("app_pages/table.py").run()
    at.switch_page("app_pages/queue.py").run()
    assert at.title[0].value == "Queue"  # not asked again
    click(at, "Approve")
    assert reviewer_actions(review_ws, review_ws.note_ids[0]) == [("reviewer:ann", "approved")]


def test_without_a_workspace_the_app_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORY_WORKSPACE", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert at.title[0].value == "No workspace" and "not a factory workspace" in plain(at.error[0])
    assert any("factory demo" in m.value for m in at.markdown)


# -- the queue ---------------------------------------------------------------------------------
def test_queue_shows_the_sample_with_its_note_section_and_position(review_ws):
    at = review_ws.app()
    assert_no_errors(at)
    assert position(at) == "1 of 7"
    question, answer = NOTE_PAIRS[0]
    shown = codes(at)
    assert question in shown and answer in shown
    assert any(t.value == "notes/gpu.md › GPU memory" for t in at.text)  # the heading path
    original = next(c for c in shown if c.startswith("Q: "))  # the note's own lines, read from disk
    assert original == f"Q: {question}\nA: {answer}"


def test_approve_reject_skip_and_back_move_through_the_queue(review_ws):
    first, second, third = review_ws.note_ids
    at = review_ws.app()
    click(at, "Approve")
    assert sample(review_ws, first).status == "approved"
    assert position(at) == "1 of 6" and NOTE_PAIRS[1][0] in codes(at)
    click(at, "Skip")
    assert position(at) == "2 of 6" and NOTE_PAIRS[2][0] in codes(at)
    click(at, "Back")
    assert position(at) == "1 of 6" and NOTE_PAIRS[1][0] in codes(at)
    assert sample(review_ws, second).status == "pending"  # skipping and going back change nothing

    click(at, "Reject")
    at.selectbox(key=f"r_reason_{second}").select("outdated")
    at.text_input(key=f"r_note_{second}").input("superseded by the 2025 runbook")
    click(at, "Reject with this reason")
    assert sample(review_ws, second).status == "rejected"
    with review_ws.ws.open_store() as store:
        last = store.history(second)[-1]
    assert (last.actor, last.action, last.changes["reason"]) == (
        "reviewer:ann", "rejected", "outdated: superseded by the 2025 runbook")
    assert position(at) == "1 of 5" and NOTE_PAIRS[2][0] in codes(at)
    assert sample(review_ws, third).status == "pending"


def test_a_finding_preselects_the_reject_reason(review_ws):
    at = review_ws.app()
    at.text_input(key="f_text").input("Render this").run()
    click(at, "Reject")
    assert at.selectbox(key=f"r_reason_{review_ws.hostile_id}").value == "truncated_output"
    click(at, "Cancel")
    assert sample(review_ws, review_ws.hostile_id).status == "pending"


def test_a_decided_sample_can_be_reopened(review_ws):
    first = review_ws.note_ids[0]
    with review_ws.ws.open_store() as store:
        store.set_status([first], "approved", actor="reviewer:bob")
    at = review_ws.app()
    at.selectbox(key="f_status").select("approved").run()
    assert position(at) == "1 of 1" and next(b for b in at.button if b.label == "Approve").disabled
    click(at, "Reopen")
    assert sample(review_ws, first).status == "pending"
    assert reviewer_actions(review_ws, first) == [("reviewer:bob", "approved"), ("reviewer:ann", "reopen")]


def test_the_end_of_the_queue_offers_to_start_over(review_ws):
    at = review_ws.app()
    at.selectbox(key="f_source").select("self_instruct").run()
    assert position(at) == "1 of 1"
    click(at, "Skip")
    assert "end of the queue" in plain(at.success[0])
    click(at, "Back to the first")
    assert position(at) == "1 of 1"


def test_edit_in_place_saves_and_keeps_the_old_text_in_the_history(review_ws):
    first = review_ws.note_ids[0]
    before = sample(review_ws, first)
    at = review_ws.app()
    click(at, "Edit")
    at.text_area(key=f"e_output_{first}").input("About 6 GB in NF4, plus activations.")
    at.text_input(key=f"e_tags_{first}").input("gpu, memory")
    click(at, "Save")
    assert_no_errors(at)
    after = sample(review_ws, first)
    assert after.output == "About 6 GB in NF4, plus activations." and after.tags == ["gpu", "memory"]
    assert after.revision == before.revision + 1 and after.status == "pending"
    with review_ws.ws.open_store() as store:
        edit = store.history(first)[-1]
    assert edit.actor == "reviewer:ann" and edit.changes["output"] == [before.output, after.output]
    # the history on the page shows the change, old text included
    change = "output: About 6 GB [-for the 4-bit weights-]{+in NF4,+} plus activations[-; a 16 GB card works " \
             "with micro-batch 1-]."
    assert any(change in c for c in codes(at))
    assert position(at) == "1 of 7"  # still on the sample: approving it is the next key press
    click(at, "Approve")
    assert sample(review_ws, first).status == "approved"


def test_save_and_approve_moves_on(review_ws):
    first = review_ws.note_ids[0]
    at = review_ws.app()
    click(at, "Edit")
    at.text_area(key=f"e_instruction_{first}").input("How much GPU memory does QLoRA need for 7B?")
    click(at, "Save and approve")
    saved = sample(review_ws, first)
    assert saved.status == "approved" and saved.instruction.endswith("for 7B?")
    assert position(at) == "1 of 6"


def test_a_second_reviewers_save_is_refused_and_shows_the_first_ones_change(review_ws):
    first = review_ws.note_ids[0]
    at = review_ws.app()  # ann opens the sample
    click(at, "Edit")
    at.text_area(key=f"e_output_{first}").input("ann's answer")
    with review_ws.ws.open_store() as store:  # meanwhile bob saves his own edit
        seen = store.get(first).revision
        store.edit(first, seen, {"output": "bob's answer"}, actor="reviewer:bob")
    click(at, "Save")
    assert_no_errors(at)
    assert "was not saved" in plain(at.error[0])
    assert any(m.value.startswith(f"**{escape_markdown('reviewer:bob')}** · edit") for m in at.markdown)  # who …
    assert any("bob's answer" in c for c in codes(at))  # … and what they wrote
    now = sample(review_ws, first)
    assert now.output == "bob's answer" and now.revision == seen + 1  # nothing of ann's was written
    assert reviewer_actions(review_ws, first) == [("reviewer:bob", "edit")]
    assert at.text_area(key=f"e_output_{first}").value == "ann's answer"  # her draft is kept

    click(at, "Approve")  # approving what she has not seen is refused too
    assert sample(review_ws, first).status == "pending"
    click(at, "Keep my draft")  # knowingly, against bob's version
    click(at, "Save")
    assert sample(review_ws, first).output == "ann's answer"
    assert reviewer_actions(review_ws, first) == [("reviewer:bob", "edit"), ("reviewer:ann", "edit")]


def test_a_sample_changed_while_on_screen_is_flagged_before_acting(review_ws):
    first = review_ws.note_ids[0]
    at = review_ws.app()
    with review_ws.ws.open_store() as store:
        store.edit(first, store.get(first).revision, {"output": "bob's answer"}, actor="reviewer:bob")
    at.run()
    assert "changed this sample after you opened it" in plain(at.error[0])
    click(at, "Approve")
    assert sample(review_ws, first).status == "pending" and "was not saved" in plain(at.error[0])
    click(at, "Take their version")
    click(at, "Approve")
    assert sample(review_ws, first).status == "approved"


def test_filters_narrow_the_queue_and_carry_over_to_the_table(review_ws):
    at = review_ws.app()
    at.selectbox(key="f_source").select("dataset").run()
    assert position(at) == "1 of 3"
    at.selectbox(key="f_reason").select("near_duplicate").run()
    assert position(at) == "1 of 1" and "How much memory does QLoRA need for a 7B model?" in codes(at)
    at.selectbox(key="f_reason").select("any").run()
    at.selectbox(key="f_source").select("any").run()
    at.selectbox(key="f_tag").select("gpu").run()
    assert position(at) == "1 of 3"
    at.selectbox(key="f_tag").select("any").run()
    at.selectbox(key="f_lang").select("en").run()
    at.text_input(key="f_text").input("validation").run()
    assert position(at) == "1 of 1" and "What is a validation set?" in codes(at)
    at.selectbox(key="f_status").select("approved").run()
    assert "Nothing to review here" in plain(at.success[0])
    at.switch_page("app_pages/table.py").run()
    assert at.selectbox(key="f_lang").value == "en" and "0 samples match" in at.caption[0].value


def test_near_duplicates_are_shown_side_by_side_with_a_diff(review_ws):
    at = review_ws.app()
    at.selectbox(key="f_reason").select("near_duplicate").run()
    shown = codes(at)
    assert any(c.startswith("Instruction: How much memory") and "micro-batch of 1" in c for c in shown)  # this one
    assert any(c.startswith("Instruction: How much memory") and "micro-batch 1." in c for c in shown)  # the other
    assert any(c.endswith("works with {+a +}micro-batch {+of +}1.") for c in shown)  # the difference, marked


def test_sources_of_datasets_and_generation_runs_are_shown(review_ws):
    at = review_ws.app()
    at.text_input(key="f_text").input("validation").run()
    row = json.loads(next(c for c in codes(at) if c.startswith("{")))  # the dataset row, from the file
    assert row["output"] == "Data held out to tune choices on."
    at.text_input(key="f_text").input("").run()
    at.selectbox(key="f_source").select("self_instruct").run()
    facts = next(c for c in codes(at) if c.startswith("run: "))
    assert "run: run-1" in facts and "cost: $0.0123" in facts and "model: test-model" in facts


def test_sample_text_is_shown_literally_never_as_html_or_markdown(review_ws):
    at = review_ws.app()
    at.text_input(key="f_text").input("Render this").run()
    assert_no_errors(at)
    assert HOSTILE in codes(at)  # input and output, verbatim, in code blocks
    rendered = [e.value for e in (*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.success)]
    for text in rendered:
        assert "<script>" not in text and "![pixel]" not in text


def test_history_of_a_sample_is_visible(review_ws):
    hostile = review_ws.hostile_id
    at = review_ws.app()
    at.text_input(key="f_text").input("Render this").run()
    history = [m.value for m in at.markdown if "· revision" in m.value]
    assert any("check" in h for h in history) and any("job" in h and "add" in h for h in history)
    assert [e for e in at.expander if e.label.startswith("History (")]
    with review_ws.ws.open_store() as store:
        assert len(history) == len(store.history(hostile))


# -- the table ---------------------------------------------------------------------------------
def table(review_ws: ReviewWorkspace) -> AppTest:
    at = review_ws.app()
    return at.switch_page("app_pages/table.py").run()


def test_table_lists_a_page_of_the_filtered_samples(review_ws):
    at = table(review_ws)
    assert_no_errors(at)
    assert "7 samples match (pending)" in at.caption[0].value
    assert len(at.dataframe[0].value) == 7
    at.selectbox(key="t_size").select(25).run()
    at.selectbox(key="f_source").select("notes").run()
    frame = at.dataframe[0].value
    assert list(frame["id"]) == review_ws.note_ids and set(frame["status"]) == {"pending"}


def test_bulk_approve_asks_with_the_count_then_applies_to_that_selection(review_ws):
    at = table(review_ws)
    at.selectbox(key="f_source").select("notes").run()
    click(at, "Approve all 3")
    assert "Approve 3 samples?" in plain(at.warning[0])
    with review_ws.ws.open_store() as store:
        assert store.count(SampleFilter(status="approved")) == 0  # nothing yet
    click(at, "Yes, approve 3 samples")
    assert "Approved 3 samples" in plain(at.success[0])
    with review_ws.ws.open_store() as store:
        assert sorted(store.ids(SampleFilter(status="approved"))) == sorted(review_ws.note_ids)
    assert all(reviewer_actions(review_ws, i) == [("reviewer:ann", "approved")] for i in review_ws.note_ids)


def test_bulk_reject_needs_a_reason_and_can_be_cancelled(review_ws):
    at = table(review_ws)
    at.selectbox(key="f_source").select("dataset").run()
    click(at, "Reject all 3")
    assert "Say why" in plain(at.warning[0])
    at.text_input(key="t_reason").input("license unclear")
    click(at, "Reject all 3")
    assert "Reject 3 samples?" in plain(at.warning[0])
    click(at, "Cancel")
    with review_ws.ws.open_store() as store:
        assert store.count(SampleFilter(status="rejected")) == 0
    click(at, "Reject all 3")
    click(at, "Yes, reject 3 samples")
    with review_ws.ws.open_store() as store:
        rejected = store.ids(SampleFilter(status="rejected"))
        assert len(rejected) == 3 and store.history(rejected[0])[-1].changes["reason"] == "license unclear"


def test_bulk_is_refused_whole_when_a_selected_sample_changed(review_ws):
    at = table(review_ws)
    at.selectbox(key="f_source").select("notes").run()
    click(at, "Approve all 3")
    first = review_ws.note_ids[0]
    with review_ws.ws.open_store() as store:
        store.edit(first, store.get(first).revision, {"output": "changed meanwhile"}, actor="reviewer:bob")
    click(at, "Yes, approve 3 samples")
    assert "Nothing was changed" in plain(at.error[0])
    with review_ws.ws.open_store() as store:
        assert store.count(SampleFilter(status="approved")) == 0


# -- dataset, versions, jobs -------------------------------------------------------------------
def test_dataset_page_counts_and_charts(review_ws):
    with review_ws.ws.open_store() as store:
        store.set_status(review_ws.note_ids[:2], "approved", actor="reviewer:ann")
        store.set_status(review_ws.note_ids[2:], "rejected", actor="reviewer:bob", reason="outdated")
    at = review_ws.app().switch_page("app_pages/dataset.py").run()
    assert_no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["In review"] == "7" and metrics["Approved"] == "2" and metrics["Rejected"] == "1"
    assert metrics["Pending"] == "4" and metrics["Approval rate"] == "67%"
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 8  # status, language, reasons, two length histograms, two approval rates, activity
    reviewers = next(d.value for d in at.dataframe if "reviewer" in d.value.columns)
    assert set(reviewers["reviewer"]) == {"ann", "bob"}


def test_versions_page_freezes_lists_and_diffs(review_ws):
    with review_ws.ws.open_store() as store:
        store.set_status(review_ws.note_ids[:2], "approved", actor="reviewer:ann")
    at = review_ws.app().switch_page("app_pages/versions.py").run()
    assert_no_errors(at)
    assert "No versions yet" in plain(at.info[0])
    at.text_input(key="v_name").input("team-kb")
    at.number_input(key="v_eval").set_value(0.0)
    click(at, "Freeze version")
    assert "Froze team-kb@v1" in plain(at.success[0])
    (v1,) = list_versions(review_ws.ws)
    assert v1.ref == "team-kb@v1" and v1.manifest["counts"]["train"] == 2
    assert list(at.dataframe[0].value["version"]) == ["team-kb@v1"]
    assert any("# team-kb@v1" in c for c in codes(at))  # the dataset card, as text

    with review_ws.ws.open_store() as store:  # edit one approved sample, approve another
        first = review_ws.note_ids[0]
        store.edit(first, store.get(first).revision, {"output": "Edited answer."}, actor="reviewer:ann")
        store.set_status([first, review_ws.note_ids[2]], "approved", actor="reviewer:ann")
    at.run()
    click(at, "Freeze version")
    assert "Froze team-kb@v2" in plain(at.success[0])
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Added"], metrics["Removed"], metrics["Edited"]) == ("1", "0", "1")
    assert any("Output: [-About 6 GB" in c and "-]{+Edited answer+}." in c for c in codes(at))


EVIL_LICENSE = "![x](http://evil/x.png) [click](http://phish)"


def test_the_dataset_card_is_text_so_a_license_from_a_dataset_adds_no_image_or_link(review_ws, tmp_path):
    rows = tmp_path / "licensed.jsonl"
    rows.write_text(json.dumps({"instruction": "What is a license?", "output": "The terms data is used under."}) + "\n")
    import_dataset(review_ws.ws, DatasetRequest(source=str(rows), license=EVIL_LICENSE))  # as a dataset card says
    with review_ws.ws.open_store() as store:
        store.set_status(store.ids(SampleFilter(source_kind="dataset")), "approved", actor="reviewer:ann")
    freeze_version(review_ws.ws, "kb", eval_ratio=0.0)
    at = review_ws.app().switch_page("app_pages/versions.py").run()
    assert_no_errors(at)
    assert any(EVIL_LICENSE in c and "# kb@v1" in c for c in codes(at))  # the card, shown as written
    for text in (e.value for e in (*at.markdown, *at.caption)):
        assert "](http://evil" not in text and "](http://phish" not in text, text


def test_freezing_needs_approved_samples(review_ws):
    at = review_ws.app().switch_page("app_pages/versions.py").run()
    assert any("from the 0 approved samples" in m.value for m in at.markdown)
    assert next(b for b in at.button if b.label == "Freeze version").disabled
    assert list_versions(review_ws.ws) == []


def test_jobs_page_lists_runs_with_counts_errors_and_cost(review_ws):
    at = review_ws.app().switch_page("app_pages/jobs.py").run()
    assert_no_errors(at)
    jobs = at.dataframe[0].value
    assert list(jobs["kind"]) == ["check", "import", "extract"] and list(jobs["added"])[1:] == [3, 3]
    runs = at.dataframe[1].value
    assert list(runs["run"]) == ["run-1"] and list(runs["cost"]) == [0.0123] and list(runs["samples"]) == [1]
    assert {m.label: m.value for m in at.metric}["Cost"] == "$0.0123"


def test_every_page_renders_on_the_demo_workspace(demo_workspace):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["reviewer"] = "ann"
    at.run()
    for page in ("queue", "table", "dataset", "versions", "jobs", "runs"):
        at.switch_page(f"app_pages/{page}.py").run()
        assert_no_errors(at)
        assert not at.error, [e.value for e in at.error]


# -- runs --------------------------------------------------------------------------------------
def _eval_row(split: str, question: str, reference: str, base: str, tuned: str) -> dict:
    from train.scoring import exact_match, rouge_l

    return {"split": split, "id": question[:8], "lang": "en", "question": question, "reference": reference,
            **{side: {"answer": answer, "rouge_l": round(rouge_l(answer, reference, "en"), 4),
                      "exact_match": exact_match(answer, reference, "en")}
               for side, answer in (("base", base), ("tuned", tuned))}}


def _training_run(review_ws: ReviewWorkspace) -> str:
    """A finished run folder as `factory train` and `factory eval` leave it (no model files needed here)."""
    from train.evaluate import EVAL_JSON, summarise
    from train.plot import loss_curve_png
    from train.runs import create_run

    run = create_run(review_ws.ws, "kb-20261123-101500")
    run.write_info({"started_at": "2026-11-23T10:15:00Z", "finished_at": "2026-11-23T10:25:00Z",
                    "dataset": {"ref": "kb@v1", "dataset_hash": "ab" * 32},
                    "base_model": {"id": "Qwen/Qwen2.5-7B", "commit": "c0ffee"},
                    "training": {"global_step": 40, "best_eval_loss": 1.25}})
    loss_curve_png([{"step": s, "loss": 3.0 / s} for s in range(1, 41)], run.path / "loss.png")
    rows = [_eval_row("eval", "What is NF4?", "A 4-bit data type.", "No idea.", "A 4-bit data type."),
            _eval_row("eval", "Hostile?", "fine", "<script>alert(1)</script>", "fine"),
            _eval_row("general_eval", "Capital of France?", "Paris.", "Paris.", "Lyon.")]
    splits = {name: summarise([r for r in rows if r["split"] == name]) for name in ("eval", "general_eval")}
    result = {"run": run.id, "created_at": "2026-11-23T10:30:00Z", "dataset": "kb@v1", "dataset_hash": "ab" * 32,
              "base_model": "Qwen/Qwen2.5-7B", "template": "tokenizer", "judge_model": None,
              "generation": {"greedy": True, "max_new_tokens": 64}, "splits": splits, "samples": rows,
              "forgetting": {"rouge_l_drop": splits["general_eval"]["base"]["rouge_l"]
                             - splits["general_eval"]["tuned"]["rouge_l"]}}
    (run.path / EVAL_JSON).write_text(json.dumps(result), encoding="utf-8")
    run.mark_complete()
    return run.id


def test_runs_page_says_how_to_train_when_there_is_no_run(review_ws):
    at = review_ws.app().switch_page("app_pages/runs.py").run()
    assert_no_errors(at)
    assert "factory train --dataset" in at.info[0].value


def test_runs_page_shows_the_data_the_curve_and_base_against_tuned(review_ws):
    run_id = _training_run(review_ws)
    at = review_ws.app().switch_page("app_pages/runs.py").run()
    assert_no_errors(at)
    listed = at.dataframe[0].value
    assert list(listed["id"]) == [run_id] and list(listed["dataset"]) == ["kb@v1"] and list(listed["evaluated"]) == [True]
    assert "kb@v1" in codes(at)[0] and "ab" * 32 in codes(at)[0] and "c0ffee" in codes(at)[0]
    assert len(at.get("image")) == 1  # the loss curve
    scores = at.dataframe[1].value.set_index(["split", "model"])
    assert scores.loc[("eval", "tuned"), "ROUGE-L"] > scores.loc[("eval", "base"), "ROUGE-L"]
    assert scores.loc[("eval", "tuned"), "exact match"] == 1.0
    assert "Forgetting check" in at.warning[0].value and "worse than its base" in at.warning[0].value
    answers = at.dataframe[2].value
    assert "<script>alert(1)</script>" in list(answers["base"])  # shown as a cell's text, never rendered
    at.segmented_control[0].set_value("general_eval").run()
    assert list(at.dataframe[2].value["tuned"]) == ["Lyon."]


# -- re-review ---------------------------------------------------------------------------------
def test_a_changed_pair_shows_the_approved_text_it_replaces_and_A_re_approves_it(review_ws):
    from factory import review
    from factory.ingest import extract_notes
    from tests.conftest import qa_note, write_note

    first = review_ws.note_ids[0]
    with review_ws.ws.open_store() as store:
        store.set_status([first], "approved", actor="reviewer:ann")
    question, answer = NOTE_PAIRS[0]
    changed = answer.replace("micro-batch 1", "micro-batch of 2")
    write_note(review_ws.ws.root / "notes", "gpu.md",
               "---\ntags: [gpu]\n---\n" + qa_note((question, changed), *NOTE_PAIRS[1:], title="GPU memory"))
    extract_notes(review_ws.ws, review_ws.ws.root / "notes")
    at = review_ws.app()
    at.text_input(key="f_text").input("micro-batch of 2").run()
    assert_no_errors(at)
    assert position(at) == "1 of 1"
    assert any(f"Replaces {first} (approved by ann)" in plain(m) for m in at.markdown)
    assert review.inline_diff(answer, changed) in codes(at)  # the difference from the approved text
    button = next(b for b in at.button if b.label == "Re-approve")
    assert button.proto.shortcut.lower() == "a" and "re-approv" in button.help
    assert any("re-approve" in plain(c) for c in at.sidebar.caption)  # the Queue's keys say so
    click(at, "Re-approve")
    with review_ws.ws.open_store() as store:
        (new,) = store.samples(SampleFilter(text="micro-batch of 2"))
        assert new.status == "approved" and store.replaces(new.id) == first
    assert reviewer_actions(review_ws, new.id) == [("reviewer:ann", "approved")]
    assert any("Re-approved" in plain(s) for s in at.success)
