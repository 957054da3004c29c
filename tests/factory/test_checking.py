"""The check runner: duplicates across sources and against earlier frozen versions."""

from factory.checking import check_pending
from factory.sample import Sample, Source
from factory.versions import freeze_version
from tests.conftest import varied_text


def test_a_copy_of_a_frozen_sample_is_found_after_the_original_left_the_store(ws):
    original = Sample(instruction=varied_text(1), output=varied_text(2, words=25), source=Source(kind="notes", uri="a"))
    other = Sample(instruction=varied_text(3), output=varied_text(4, words=25), source=Source(kind="notes", uri="a"))
    with ws.open_store() as store:
        store.sync_document("notes", "a.md", "h1", "v1", [original, other], actor="job")
        store.set_status([original.id, other.id], "approved", actor="ana")
    freeze_version(ws, "kb", eval_ratio=0)
    words = original.output.split()
    words[2] = "zeppelin"
    copy = Sample(instruction=original.instruction, output=" ".join(words), source=Source(kind="dataset", uri="d"))
    with ws.open_store() as store:
        store.forget_document("notes", "a.md", actor="job")  # the note is deleted: both samples retire
        store.sync_document("dataset", "d.jsonl", "h2", "v1", [copy], actor="job")
    check_pending(ws)
    with ws.open_store() as store:
        found = store.get(copy.id).findings
    near = [f for f in found if f.code == "near_duplicate"]
    assert len(near) == 1 and near[0].related_id == original.id
    assert "frozen in kb@v1" in near[0].message


def test_duplicates_are_found_across_source_kinds(ws):
    base = Sample(instruction=varied_text(5), output=varied_text(6, words=25), source=Source(kind="notes", uri="a"))
    same = Sample(instruction=base.instruction.upper(), output=base.output, source=Source(kind="general", uri="p"))
    with ws.open_store() as store:
        store.sync_document("notes", "a.md", "h1", "v1", [base], actor="job")
    check_pending(ws)
    with ws.open_store() as store:
        store.sync_document("general", "pool", "h2", "v1", [same], actor="job")
    check_pending(ws)
    with ws.open_store() as store:
        copy = store.get(same.id)
    assert copy.status == "rejected"
    assert [(f.code, f.related_id) for f in copy.findings if f.code == "exact_duplicate"] == [
        ("exact_duplicate", base.id)]


def test_the_configured_training_tokenizer_measures_length(ws, tmp_path):
    from tests.factory.test_tokens import train_tokenizer

    train_tokenizer().save(str(tmp_path / "tokenizer.json"))
    config = ws.config_path.read_text()
    ws.config_path.write_text(config.replace('tokenizer = ""', f'tokenizer = "{tmp_path / "tokenizer.json"}"')
                              .replace("max_tokens = 2048", "max_tokens = 40"))
    short = Sample(instruction="start at rank 8", output="double it", source=Source(kind="notes", uri="a"))
    long = Sample(instruction="start at rank 8", output="the rank sets how many directions " * 6,
                  source=Source(kind="notes", uri="a"))
    with ws.open_store() as store:
        store.sync_document("notes", "a.md", "h", "v1", [short, long], actor="job")
    from factory.workspace import Workspace
    check_pending(Workspace(ws.root))  # a fresh Workspace reads the edited config
    with ws.open_store() as store:
        assert "too_many_tokens" in [f.code for f in store.get(long.id).findings]
        assert "too_many_tokens" not in [f.code for f in store.get(short.id).findings]
