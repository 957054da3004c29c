"""The check runner: duplicates across sources and against earlier frozen versions."""

import pytest

from factory.checking import check_pending
from factory.sample import Sample, Source
from factory.store import SampleFilter
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


# -- a check never overwrites what a person did while it ran --------------------------------
REFUSAL = "I'm sorry, but as an AI language model I cannot help with that request."


def _pending(ws, *samples: Sample) -> None:
    with ws.open_store() as store:
        store.sync_document("notes", "a.md", "h1", "v1", list(samples), actor="job")


def _while_checking(action):
    """A progress callback that runs `action` once, between the check's first two stages: after
    the batch was read and before the results are written, as a reviewer in the app would."""
    done = []

    def progress(step: int, total: int) -> None:
        if not done:
            done.append(step)
            action()
    return progress


def test_an_approval_made_while_the_check_ran_is_kept(ws):
    refused = Sample(instruction=varied_text(10), output=REFUSAL, source=Source(kind="notes", uri="a"))
    _pending(ws, refused)

    def approve() -> None:
        with ws.open_store() as other:
            other.set_status([refused.id], "approved", actor="reviewer:ann",
                             expected_revisions={refused.id: other.get(refused.id).revision})

    summary = check_pending(ws, progress=_while_checking(approve))
    with ws.open_store() as store:
        sample, history = store.get(refused.id), store.history(refused.id)
    assert sample.status == "approved"
    assert [h.actor for h in history if "status" in h.changes] == ["job", "reviewer:ann"]
    assert summary.changed_meanwhile == [refused.id] and summary.rejected == 0


def test_a_fix_made_while_the_check_ran_is_kept_and_checked_next_time(ws):
    refused = Sample(instruction=varied_text(11), output=REFUSAL, source=Source(kind="notes", uri="a"))
    _pending(ws, refused)
    fixed_text = varied_text(12, words=20)

    def fix() -> None:
        with ws.open_store() as other:
            other.edit(refused.id, other.get(refused.id).revision, {"output": fixed_text}, actor="reviewer:ann")

    check_pending(ws, progress=_while_checking(fix))
    with ws.open_store() as store:
        after_first = store.get(refused.id)
        unchecked = store.ids(SampleFilter(unchecked=True))
    assert after_first.status == "pending" and after_first.output == fixed_text
    assert after_first.findings == [] and unchecked == [refused.id]  # the old text's refusal is not its finding

    second = check_pending(ws)  # the next run checks the text the reviewer wrote
    with ws.open_store() as store:
        assert store.ids(SampleFilter(unchecked=True)) == []
        assert store.get(refused.id).status == "pending"
    assert second.checked == 1 and second.rejected == 0


def test_samples_nobody_touched_are_still_checked_and_rejected(ws):
    refused = Sample(instruction=varied_text(13), output=REFUSAL, source=Source(kind="notes", uri="a"))
    touched = Sample(instruction=varied_text(14), output=REFUSAL, source=Source(kind="notes", uri="a"))
    _pending(ws, refused, touched)

    def approve() -> None:
        with ws.open_store() as other:
            other.set_status([touched.id], "approved", actor="reviewer:ann")

    summary = check_pending(ws, progress=_while_checking(approve))
    with ws.open_store() as store:
        assert store.get(refused.id).status == "rejected"
        assert store.get(touched.id).status == "approved"
    assert (summary.checked, summary.rejected) == (1, 1)


def test_a_check_that_crashes_is_a_failed_job_with_its_error(ws, monkeypatch):
    _pending(ws, Sample(instruction=varied_text(15), output=varied_text(16), source=Source(kind="notes", uri="a")))
    import factory.checking

    def broken(*args, **kwargs):
        raise ValueError("a bug in a check")

    monkeypatch.setattr(factory.checking, "run_checks", broken)
    with pytest.raises(ValueError):
        check_pending(ws)
    with ws.open_store() as store:
        job = store.jobs(limit=1)[0]
    assert job.state == "failed" and "a bug in a check" in job.error_log[0]["error"]


# -- the note each sample was made from: read once, and never an error -----------------------
import hashlib  # noqa: E402

from factory.checking import source_texts  # noqa: E402

NOTE = "# RMS Norm\n\n计算公式为：\n\n$$\n\\bar{a}_i = \\frac{a_i}{RMS(a)} g_i\n$$\n\n其余内容。\n"
MANGLED = "计算公式为：$$ \\bar{a}i = \\frac{a_i}{RMS(a)} g_i $$"  # the underscore after \bar{a} is lost
KEPT = "计算公式为：$$ \\bar{a}_i = \\frac{a_i}{RMS(a)} g_i $$"


def _note_sample(uri: str, output: str, text: str = NOTE, kind: str = "notes", **locator) -> Sample:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Sample(instruction="什么是 RMS Norm？", output=output,
                  source=Source(kind=kind, uri=uri, content_hash=digest, locator={"lines": [1, 8]} | locator))


def test_source_texts_are_the_note_lines_of_each_sample(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "rms.md").write_text(NOTE, encoding="utf-8")
    relative = _note_sample("notes/rms.md", MANGLED)
    absolute = _note_sample(str(tmp_path / "notes" / "rms.md"), KEPT, locator=None)
    llm = _note_sample("notes/rms.md", "另一个回答。", kind="notes_llm", lines=[3, 3], evidence="其余内容。")
    texts = source_texts(tmp_path, [relative, absolute, llm])
    assert texts[relative.id] == "\n".join(NOTE.split("\n")[:8])
    assert "\\bar{a}_i" in texts[absolute.id]
    assert texts[llm.id] == "计算公式为：\n其余内容。"


def test_a_missing_changed_or_unreadable_note_gives_nothing(tmp_path):
    (tmp_path / "changed.md").write_text(NOTE + "\n新的一行。\n", encoding="utf-8")
    (tmp_path / "gbk.md").write_bytes(NOTE.encode("gbk"))
    (tmp_path / "folder.md").mkdir()
    other = Sample(instruction="What is NF4?", output="A 4-bit data type.", source=Source(kind="dataset", uri="changed.md"))
    samples = [_note_sample(uri, KEPT) for uri in ("gone.md", "changed.md", "gbk.md", "folder.md", "")] + [other]
    assert source_texts(tmp_path, samples) == {}


def test_each_note_is_read_once(tmp_path, monkeypatch):
    (tmp_path / "rms.md").write_text(NOTE, encoding="utf-8")
    import factory.checking

    reads = []
    real = factory.checking._read_note
    monkeypatch.setattr(factory.checking, "_read_note", lambda root, uri: reads.append(uri) or real(root, uri))
    samples = [_note_sample("rms.md", f"回答 {i}。") for i in range(5)] + [_note_sample("gone.md", "回答。")]
    assert len(source_texts(tmp_path, samples)) == 5
    assert reads == ["rms.md", "gone.md"]


def test_check_compares_the_formulas_of_note_pairs_with_their_note(ws):
    (ws.root / "notes").mkdir()
    (ws.root / "notes" / "rms.md").write_text(NOTE, encoding="utf-8")
    mangled, kept = _note_sample("notes/rms.md", MANGLED), _note_sample("notes/rms.md", KEPT)
    gone = _note_sample("notes/deleted.md", MANGLED + "另外一句。")
    with ws.open_store() as store:
        store.sync_document("notes", "notes/rms.md", mangled.source.content_hash, "v1", [mangled, kept], actor="job")
        store.sync_document("notes", "notes/deleted.md", gone.source.content_hash, "v1", [gone], actor="job")
    summary = check_pending(ws)
    with ws.open_store() as store:
        found = {s.id: [f.code for f in store.get(s.id).findings] for s in (mangled, kept, gone)}
    assert "formula_differs_from_source" in found[mangled.id]
    assert "formula_differs_from_source" not in found[kept.id]
    assert "formula_differs_from_source" not in found[gone.id]  # its note is gone: not compared, no error
    assert summary.by_reason["formula_differs_from_source"] == 1
