"""The queries and actions behind the app (factory/review.py, factory/version_diff.py) on a real store."""

from __future__ import annotations

import pytest

from factory import review
from factory.errors import BadInput, RevisionConflict, StoreError
from factory.review import ReviewFilter
from factory.sample import Sample, Source
from factory.store import SampleFilter
from factory.version_diff import diff_versions
from factory.versions import freeze_version
from tests.conftest import varied_text


def pair(n: int, kind: str = "notes", uri: str = "notes/a.md", **kw) -> Sample:
    return Sample(instruction=f"Question {n}: {varied_text(n, 6)}", output=varied_text(n + 100),
                  source=Source(kind=kind, uri=uri, locator={"lines": [1, 2]}), **kw)


def add(ws, samples: list[Sample], uri: str = "notes/a.md", kind: str = "notes") -> None:
    with ws.open_store() as store:
        store.sync_document(kind, uri, "h", "v1", samples, actor="job:test")


def test_queue_counts_and_moves_by_cursor_over_the_matching_samples(ws):
    add(ws, [pair(i, lang="en" if i % 2 else "zh") for i in range(6)])
    with ws.open_store() as store:
        ids = store.ids()
        store.set_status([ids[1]], "approved", actor="reviewer:ann")
        flt = ReviewFilter(lang="en")  # pending, English: samples 3 and 5 (1 is approved)
        first = review.queue_item(store, flt)
        assert (first.sample.id, first.position, first.total) == (ids[3], 1, 2)
        second = review.queue_item(store, flt, first.rowid + 1)
        assert (second.sample.id, second.position, second.total) == (ids[5], 2, 2)
        end = review.queue_item(store, flt, second.rowid + 1)
        assert end.sample is None and end.total == 2 and end.skipped_before == 2
        assert review.previous_rowid(store, flt, second.rowid) == first.rowid
        assert review.previous_rowid(store, flt, first.rowid) is None
        everything = review.queue_item(store, ReviewFilter(status=None))
        assert everything.total == 6 and everything.sample.id == ids[0]


def test_general_pool_samples_stay_out_of_the_queue(ws):
    add(ws, [pair(1)])
    add(ws, [pair(2, kind="general", uri="starter")], uri="starter", kind="general")
    with ws.open_store() as store:
        assert review.queue_item(store, ReviewFilter()).total == 1
        assert review.filter_options(store).source_kinds == ["notes"]


def test_tag_filter_matches_whole_tags_only(ws):
    add(ws, [pair(1, tags=["gpu"]), pair(2, tags=["gpu-large"]), pair(3, tags=["x", "gpu"]), pair(4)])
    with ws.open_store() as store:
        found = {s.instruction[:10] for s in store.samples(SampleFilter(tag="gpu"))}
        assert found == {"Question 1", "Question 3"}
        assert review.filter_options(store).tags == ["gpu", "gpu-large", "x"]


def test_text_search_and_reason_filters(ws):
    add(ws, [pair(1), pair(2), Sample(instruction="What is NF4?", output="A 4-bit data type.",
                                      source=Source(kind="notes", uri="notes/a.md"))])
    with ws.open_store() as store:
        assert review.queue_item(store, ReviewFilter(text="4-bit")).total == 1
        assert review.queue_item(store, ReviewFilter(text="  ")).total == 3  # blank: no text filter
        assert review.queue_item(store, ReviewFilter(reason="near_duplicate")).total == 0


def test_actions_name_the_revision_the_reviewer_saw(ws):
    add(ws, [pair(1)])
    with ws.open_store() as store:
        (sample_id,) = store.ids()
        store.edit(sample_id, 1, {"output": "changed by bob"}, actor="reviewer:bob")
        with pytest.raises(RevisionConflict):
            review.approve(store, sample_id, 1, "ann")
        assert store.get(sample_id).status == "pending"
        assert review.approve(store, sample_id, 2, "ann") == 1
        assert store.history(sample_id)[-1].actor == "reviewer:ann"
        with pytest.raises(BadInput, match="say why"):
            review.reject(store, sample_id, 3, "ann", "  ")
        changes = review.changes_since(store, sample_id, 1)
        assert [(h.actor, h.action) for h in changes] == [("reviewer:bob", "edit"), ("reviewer:ann", "approved")]


def test_reviewer_names_are_checked():
    assert review.reviewer_actor("  Ann   Lee ") == "reviewer:Ann Lee"
    assert review.reviewer_actor("王芳") == "reviewer:王芳"
    for bad in ("", "   ", "a" * 41, "<script>", "ann;drop"):
        with pytest.raises(BadInput):
            review.reviewer_actor(bad)


def test_edits_refuse_empty_text_and_parse_tags(ws):
    add(ws, [pair(1)])
    with ws.open_store() as store:
        (sample_id,) = store.ids()
        with pytest.raises(BadInput, match="cannot be empty"):
            review.edit(store, sample_id, 1, "ann", instruction="q", input="", output=" ", system=None, tags=[])
    assert review.parse_tags(" gpu, ,memory, gpu ") == ["gpu", "memory"]


def test_store_read_runs_only_selects(ws):
    with ws.open_store() as store:
        assert store.read("SELECT count(*) FROM samples")[0][0] == 0
        for sql in ("DELETE FROM samples", "UPDATE samples SET status = 'approved'",
                    "WITH x AS (SELECT 1) DELETE FROM samples"):
            with pytest.raises(StoreError, match="SELECT"):
                store.read(sql)


def test_note_source_shows_the_lines_from_the_workspace_only(ws, tmp_path):
    note = ws.root / "notes" / "a.md"
    note.parent.mkdir()
    note.write_text("# Memory\n\nQ: How much?\nA: Six GB.\n", encoding="utf-8")
    inside = pair(1, uri="notes/a.md").model_copy(update={"source": Source(
        kind="notes", uri="notes/a.md", locator={"heading_path": ["Memory"], "lines": [3, 4]})})
    with ws.open_store() as store:
        ctx = review.source_context(ws, store, inside)
    assert ctx.original == "Q: How much?\nA: Six GB." and ctx.title == "notes/a.md › Memory"
    assert ctx.notice is None or "changed" in ctx.notice

    secret = tmp_path / "secret.md"
    secret.write_text("password = hunter2\n", encoding="utf-8")
    for uri in ("../secret.md", str(secret)):
        outside = inside.model_copy(update={"source": Source(kind="notes", uri=uri, locator={"lines": [1, 1]})})
        with ws.open_store() as store:
            ctx = review.source_context(ws, store, outside)
        assert ctx.original is None and "not in this workspace" in ctx.notice


def test_dataset_source_shows_its_row(ws):
    data = ws.root / "data.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n', encoding="utf-8")
    sample = pair(1).model_copy(update={"source": Source(kind="dataset", uri="data.jsonl", locator={"row": 1},
                                                         license="mit")})
    with ws.open_store() as store:
        ctx = review.source_context(ws, store, sample)
    assert '"instruction": "c"' in ctx.original and ctx.facts["license"] == "mit"
    hub = sample.model_copy(update={"source": Source(kind="dataset", uri="tatsu-lab/alpaca", locator={"row": 7})})
    with ws.open_store() as store:
        ctx = review.source_context(ws, store, hub)
    assert ctx.original is None and ctx.title == "tatsu-lab/alpaca, row 7"


def test_bulk_applies_to_the_snapshot_or_not_at_all(ws):
    add(ws, [pair(i) for i in range(4)])
    with ws.open_store() as store:
        chosen = review.selection(store, ReviewFilter())
        add(ws, [pair(9)], uri="notes/b.md")  # arrives after the selection: not part of it
        assert review.bulk_set_status(store, chosen, "approved", "ann") == 4
        assert store.count(SampleFilter(status="pending")) == 1
        chosen = review.selection(store, ReviewFilter(status="approved"))
        first = next(iter(chosen))
        store.edit(first, chosen[first], {"output": "changed"}, actor="reviewer:bob")
        with pytest.raises(RevisionConflict):
            review.bulk_set_status(store, chosen, "rejected", "ann", "outdated")
        assert store.count(SampleFilter(status="rejected")) == 0


def test_dashboard_counts_review_samples_and_reviewer_activity(ws):
    add(ws, [pair(i, lang="en") for i in range(4)])
    add(ws, [pair(10, kind="general", uri="starter")], uri="starter", kind="general")
    with ws.open_store() as store:
        ids = store.ids(SampleFilter(include_general=False))
        review.approve(store, ids[0], 1, "ann")
        review.reject(store, ids[1], 1, "bob", "outdated")
        board = review.dashboard(store)
    assert board.by_status == {"approved": 1, "pending": 2, "rejected": 1} and board.general == 1
    assert board.approval_rate == 0.5 and board.by_lang == {"en": 4}
    assert {(r["reviewer"], r["approved"], r["rejected"]) for r in board.reviewers} == {("ann", 1, 0), ("bob", 0, 1)}
    assert sum(r["samples"] for r in board.lengths if r["field"] == "output") == 4


def test_inline_diff_marks_words_and_han_characters():
    assert review.inline_diff("keep at least 2 GB", "leave at least 2 GB") == "[-keep-]{+leave+} at least 2 GB"
    assert review.inline_diff("模型训练需要显存", "模型推理需要显存") == "模型[-训练-]{+推理+}需要显存"
    assert review.inline_diff("abc", "xyz") == "[-abc-]{+xyz+}"


def test_version_diff_finds_added_removed_edited_and_moved(ws):
    add(ws, [pair(i) for i in range(6)])
    with ws.open_store() as store:
        ids = store.ids()
        store.set_status(ids[:5], "approved", actor="reviewer:ann")
    v1, _ = freeze_version(ws, "kb", eval_ratio=0.0)
    with ws.open_store() as store:
        store.edit(ids[0], store.get(ids[0]).revision, {"output": "Edited."}, actor="reviewer:ann")
        store.set_status([ids[1]], "rejected", actor="reviewer:ann", reason="outdated")
        store.set_status([ids[5]], "approved", actor="reviewer:ann")
    v2, _ = freeze_version(ws, "kb", eval_ratio=0.0)
    diff = diff_versions(v1, v2)
    assert [r["id"] for r in diff.added] == [ids[5]] and [r["id"] for r in diff.removed] == [ids[1]]
    assert [(e.id, e.fields) for e in diff.edited] == [(ids[0], ["output"])]
    assert diff.unchanged == 3 and diff.moved == []
    assert diff.summary() == "kb@v1 → kb@v2: 1 added, 1 removed, 1 edited, 0 moved between splits, 3 unchanged"


def placed(q: str, a: str, lines: list[int]) -> Sample:
    return Sample(instruction=q, output=a, source=Source(kind="notes", uri="notes/a.md", locator={
        "heading_path": ["FAQ"], "lines": lines, "rule": "qa"}))


def test_a_replacement_shows_the_reviewed_text_who_decided_it_and_the_difference(ws):
    old = [placed("What is NF4?", "A 4-bit data type for frozen base weights.", [3, 4]),
           placed("What is LoRA?", "Low-rank adapters on frozen weights.", [6, 7]),
           placed("What is QLoRA?", "LoRA on a 4-bit base model.", [9, 10])]
    add(ws, old)
    with ws.open_store() as store:
        review.approve(store, old[0].id, 1, "ann")
        review.reject(store, old[1].id, 1, "bob", "outdated")
        store.edit(old[2].id, 1, {"output": "LoRA adapters on a 4-bit base model."}, actor="reviewer:cy")
    new = [placed("What is NF4?", "A 4-bit data type for frozen weights.", [3, 4]),
           placed("What is LoRA, briefly?", "Low-rank adapters on frozen weights.", [6, 7]),
           placed("What is QLoRA?", "LoRA on a 4-bit base model, in bf16.", [9, 10])]
    add(ws, new)
    with ws.open_store() as store:
        shown = [review.replacement(store, store.get(s.id)) for s in new]
        assert review.replacement(store, store.get(old[0].id)) is None
    assert [(r.old.id, r.decision) for r in shown] == [
        (old[0].id, "approved by ann"), (old[1].id, "rejected by bob"), (old[2].id, "edited by cy")]
    assert shown[0].diffs == {"output": "A 4-bit data type for frozen [-base -]weights."}
    assert shown[1].diffs == {"instruction": "What is LoRA{+, briefly+}?"}
    # against the text the reviewer left, not the note's old text
    assert shown[2].diffs == {"output": "LoRA[- adapters-] on a 4-bit base model{+, in bf16+}."}
    assert shown[0].similarity > 0.9 > shown[2].similarity
