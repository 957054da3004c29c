import sqlite3

import pytest

from factory.errors import RevisionConflict, StoreError
from factory.sample import Sample, Source
from factory.store import SCHEMA_VERSION, SampleFilter, Store


def pair(q: str, a: str, uri: str = "notes/a.md", **kw) -> Sample:
    return Sample(instruction=q, output=a, source=Source(kind="notes", uri=uri, locator={"lines": [1, 2]}), **kw)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.sqlite") as s:
        yield s


def test_wal_mode_and_schema_version(store, tmp_path):
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version == SCHEMA_VERSION
    store.close()
    with Store(tmp_path / "store.sqlite") as again:  # reopening migrates nothing and keeps data
        assert again.schema_version == SCHEMA_VERSION


def test_newer_schema_is_refused_without_touching_it(tmp_path):
    path = tmp_path / "store.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this factory"):
        Store(path)


def test_migrations_run_from_an_empty_file(tmp_path):
    path = tmp_path / "store.sqlite"
    sqlite3.connect(path).close()
    with Store(path) as store:
        tables = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"samples", "origins", "findings", "history", "documents", "jobs"} <= tables


def test_history_is_append_only(store):
    store.sync_document("notes", "a.md", "h1", "v1", [pair("What is NF4?", "A 4-bit data type.")], actor="job")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("UPDATE history SET actor = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("DELETE FROM history")


def test_failed_transaction_writes_nothing(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.sync_document("notes", "a.md", "h1", "v1", [pair("What is NF4?", "A 4-bit type.")], actor="job")
            raise RuntimeError("killed halfway")
    assert store.count() == 0
    assert store.documents("notes") == {}


def test_sync_adds_keeps_and_retires(store):
    a, b = pair("What is NF4?", "A 4-bit data type."), pair("What is LoRA?", "Low-rank adapters.")
    counts = store.sync_document("notes", "a.md", "h1", "v1", [a, b], actor="job")
    assert (counts.added, counts.retired) == (2, 0)
    store.set_status([a.id], "approved", actor="ana")

    b2 = pair("What is LoRA?", "Low-rank adapters added to frozen weights.")
    counts = store.sync_document("notes", "a.md", "h2", "v1", [a, b2], actor="job")
    assert (counts.added, counts.unchanged, counts.retired) == (1, 1, 1)
    assert store.get(a.id).status == "approved"  # unchanged text keeps its approval
    assert store.get(b2.id).status == "pending"
    assert store.count(SampleFilter(include_retired=True)) == 3
    assert {s.id for s in store.samples()} == {a.id, b2.id}
    assert [h.action for h in store.history(b.id)] == ["add", "retire"]


def test_same_pair_in_two_documents_is_one_sample(store):
    shared = pair("What is NF4?", "A 4-bit data type.")
    store.sync_document("notes", "a.md", "h1", "v1", [shared], actor="job")
    store.sync_document("notes", "b.md", "h2", "v1", [shared.model_copy(update={"source": Source(kind="notes", uri="b.md")})],
                        actor="job")
    assert store.count() == 1
    assert store.forget_document("notes", "a.md", actor="job") == 0  # b.md still yields it
    live = store.get(shared.id)
    assert live.source.uri == "b.md"
    assert store.forget_document("notes", "b.md", actor="job") == 1
    assert store.count() == 0


def test_retired_sample_comes_back_with_its_review(store):
    a = pair("What is NF4?", "A 4-bit data type.")
    store.sync_document("notes", "a.md", "h1", "v1", [a], actor="job")
    store.set_status([a.id], "approved", actor="ana")
    store.forget_document("notes", "a.md", actor="job")
    store.sync_document("notes", "a.md", "h1", "v1", [a], actor="job")
    assert store.get(a.id).status == "approved"
    assert [h.action for h in store.history(a.id)] == ["add", "approved", "retire", "restore"]


def test_edit_checks_revision_and_keeps_old_text(store):
    a = pair("What is NF4?", "A 4-bit data type.")
    store.sync_document("notes", "a.md", "h1", "v1", [a], actor="job")
    seen = store.get(a.id)
    store.edit(a.id, seen.revision, {"output": "NF4 is a 4-bit NormalFloat type."}, actor="ana")
    with pytest.raises(RevisionConflict, match="changed since you read it"):
        store.edit(a.id, seen.revision, {"output": "Bob's version"}, actor="bob")
    now = store.get(a.id)
    assert now.output == "NF4 is a 4-bit NormalFloat type."
    edit = [h for h in store.history(a.id) if h.action == "edit"]
    assert len(edit) == 1 and edit[0].actor == "ana"
    assert edit[0].changes["output"] == ["A 4-bit data type.", "NF4 is a 4-bit NormalFloat type."]


def test_edit_refuses_unknown_fields_and_invalid_records(store):
    a = pair("What is NF4?", "A 4-bit data type.")
    store.sync_document("notes", "a.md", "h1", "v1", [a], actor="job")
    with pytest.raises(StoreError, match="cannot edit status"):
        store.edit(a.id, 1, {"status": "approved"}, actor="ana")


def test_status_changes_are_recorded_with_reviewer(store):
    a = pair("What is NF4?", "A 4-bit data type.")
    store.sync_document("notes", "a.md", "h1", "v1", [a], actor="job")
    store.set_status([a.id], "rejected", actor="ana", reason="outdated")
    (entry,) = [h for h in store.history(a.id) if h.action == "rejected"]
    assert entry.actor == "ana"
    assert entry.changes == {"status": ["pending", "rejected"], "reason": "outdated"}
    assert store.get(a.id).revision == 2


def test_stale_running_job_is_marked_interrupted(store):
    first = store.start_job("extract", "notes:x", pid=1)
    second = store.start_job("extract", "notes:x", pid=2)
    states = {j.id: j.state for j in store.jobs()}
    assert states == {first: "interrupted", second: "running"}


# -- bulk decisions: selected inside the transaction that writes them ----------------------
def _decisions(store: Store, sample_id: str) -> list[tuple[str, str]]:
    return [(h.actor, h.changes["status"][1]) for h in store.history(sample_id) if h.action != "add"
            and "status" in h.changes]


def test_two_bulk_decisions_at_once_give_each_sample_one(store, tmp_path):
    samples = [pair(f"Question {i}?", f"Answer number {i}.") for i in range(9)]
    store.sync_document("notes", "a.md", "h1", "v1", samples, actor="job")
    rival: list = []

    def reject_meanwhile(done: int, total: int) -> None:
        if not rival:  # after approve's first chunk, a second command rejects what is still pending
            with Store(tmp_path / "store.sqlite") as other:
                rival.append(other.set_status_matching(SampleFilter(status="pending"), "rejected", actor="bob",
                                                       reason="bulk", chunk=2))

    approved = store.set_status_matching(SampleFilter(status="pending"), "approved", actor="ann", chunk=2,
                                         progress=reject_meanwhile)
    assert approved.changed == 2 and rival[0].changed == 7
    assert approved.matched_at_start == 9
    for s in samples:
        assert len(_decisions(store, s.id)) == 1  # never both, never one written over the other
    assert store.count(SampleFilter(status="approved")) + store.count(SampleFilter(status="rejected")) == 9


def test_a_bulk_reject_leaves_what_a_reviewer_approved_meanwhile(store, tmp_path):
    samples = [pair(f"Question {i}?", f"Answer number {i}.") for i in range(6)]
    store.sync_document("notes", "a.md", "h1", "v1", samples, actor="job")
    last = samples[-1].id

    def review_meanwhile(done: int, total: int) -> None:
        with Store(tmp_path / "store.sqlite") as app:
            if app.get(last).status == "pending":
                app.set_status([last], "approved", actor="reviewer:ann",
                               expected_revisions={last: app.get(last).revision})

    result = store.set_status_matching(SampleFilter(status="pending"), "rejected", actor="bob", reason="stale",
                                       chunk=2, progress=review_meanwhile)
    assert store.get(last).status == "approved"
    assert _decisions(store, last) == [("reviewer:ann", "approved")]
    assert result.changed == 5 and result.matched_at_start == 6
    entry = [h for h in store.history(samples[0].id) if h.action == "rejected"][0]
    assert entry.changes == {"status": ["pending", "rejected"], "reason": "stale"} and entry.revision == 2
    assert store.get(samples[0].id).revision == 2


def test_a_new_license_is_a_revision_with_its_history(store):
    def licensed(license: str) -> Sample:
        return Sample(instruction="What is NF4?", output="A 4-bit data type.",
                      source=Source(kind="dataset", uri="d.jsonl", locator={"row": 0}, license=license))

    store.sync_document("dataset", "d.jsonl", "h1", "v1", [licensed("mit")], actor="job:import#1")
    sample_id = licensed("mit").id
    store.set_status([sample_id], "approved", actor="reviewer:ann")
    seen = store.get(sample_id).revision
    store.sync_document("dataset", "d.jsonl", "h1", "v1", [licensed("cc-by-nc-4.0")], actor="job:import#2")
    now = store.get(sample_id)
    assert now.source.license == "cc-by-nc-4.0" and now.revision == seen + 1
    assert [(h.actor, h.action, h.changes) for h in store.history(sample_id)][-1] == (
        "job:import#2", "license", {"license": ["mit", "cc-by-nc-4.0"]})
    store.sync_document("dataset", "d.jsonl", "h1", "v1", [licensed("cc-by-nc-4.0")], actor="job:import#3")
    assert store.get(sample_id).revision == seen + 1  # the same license again is no change


def test_a_store_of_schema_5_is_migrated_keeping_samples_reviews_and_jobs(tmp_path):
    from factory.store import MIGRATIONS, _split_sql

    path = tmp_path / "store.sqlite"
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:5]:  # the schema as the last release shipped it
        for statement in _split_sql(script):
            db.execute(statement)
    db.execute("PRAGMA user_version = 5")
    db.execute("INSERT INTO samples (id, instruction, output, source_kind, source_uri, status, revision, created_at, "
               "updated_at) VALUES ('a1', 'What is NF4?', 'A 4-bit type.', 'notes', 'a.md', 'approved', 2, 't', 't')")
    db.execute("INSERT INTO jobs (kind, source, state, started_at, added, updated) "
               "VALUES ('extract', 'notes:.', 'completed', 't', 1, 4)")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert (store.get("a1").status, store.get("a1").revision, store.replaces("a1")) == ("approved", 2, None)
        (job,) = store.jobs()
        assert (job.added, job.updated, job.moved, job.shared, job.replaced) == (1, 4, 0, 0, 0)


def placed(q: str, a: str, path: list[str], lines: list[int], rule: str = "qa") -> Sample:
    return Sample(instruction=q, output=a, source=Source(kind="notes", uri="a.md", locator={
        "heading_path": path, "lines": lines, "rule": rule}))


def test_an_edited_pair_is_replaced_by_link_and_another_kind_of_pair_is_not(store):
    qa = placed("What is NF4?", "A 4-bit data type.", ["FAQ"], [3, 4])
    section = placed("What is rank in LoRA?", "Start at 16.", ["Rank"], [6, 8], rule="section")
    store.sync_document("notes", "a.md", "h1", "v1", [qa, section], actor="job")
    store.edit(qa.id, store.get(qa.id).revision, {"output": "A 4-bit NormalFloat data type."}, actor="reviewer:ann")
    store.set_status([section.id], "approved", actor="reviewer:ann")
    new_qa = placed("What is NF4?", "A 4-bit NormalFloat type.", ["FAQ"], [3, 4])
    as_faq = placed("What is rank in LoRA?", "Start at 16, then 32.", ["Rank"], [6, 8], rule="faq")  # another rule
    counts = store.sync_document("notes", "a.md", "h2", "v1", [new_qa, as_faq], actor="job")
    assert (counts.added, counts.retired, counts.replaced) == (2, 2, 1)
    assert store.replaces(new_qa.id) == qa.id  # an edited pair counts as reviewed, pending or not
    assert store.replaces(as_faq.id) is None


def test_sync_counts_pairs_met_in_another_document_moved_and_license_changes_apart(store):
    a = placed("What is NF4?", "A 4-bit data type.", ["FAQ"], [3, 4])
    store.sync_document("notes", "a.md", "h1", "v1", [a], actor="job")
    counts = store.sync_document("notes", "b.md", "h1", "v1", [a], actor="job")
    assert (counts.added, counts.updated, counts.shared, counts.unchanged) == (0, 0, 1, 0)
    moved = placed("What is NF4?", "A 4-bit data type.", ["FAQ"], [5, 6])
    counts = store.sync_document("notes", "a.md", "h2", "v1", [moved], actor="job")
    assert (counts.moved, counts.unchanged, counts.updated) == (1, 0, 0)
    counts = store.sync_document("notes", "a.md", "h3", "v1", [moved], actor="job")
    assert (counts.moved, counts.unchanged) == (0, 1)
    licensed = moved.model_copy(update={"source": moved.source.model_copy(update={"license": "mit"})})
    counts = store.sync_document("notes", "a.md", "h4", "v1", [licensed], actor="job")
    assert (counts.updated, counts.unchanged) == (1, 0)  # a license change is a change to the sample
