"""Incremental, schedulable extraction: unchanged, changed, deleted and bad notes, locks and kills."""

import json
import logging
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from factory.errors import FactoryError, JobLocked
from factory.ingest import extract_notes
from factory.jobs import job_lock
from factory.store import SampleFilter, Store
from tests.conftest import REPO, qa_note, run_cli, write_note


def live(ws) -> dict[str, str]:
    """instruction -> status of every live sample."""
    with ws.open_store() as store:
        return {s.instruction: s.status for s in store.samples()}


@pytest.fixture
def notes(ws):
    folder = ws.root / "notes"
    write_note(folder, "a.md", qa_note(("What is NF4?", "A 4-bit NormalFloat data type."),
                                       ("What is double quantization?", "Quantizing the quantization constants.")))
    write_note(folder, "sub/b.md", qa_note(("LoRA 的秩怎么选？", "从 16 开始，数据多再加。")))
    return folder


def test_first_run_adds_every_pair_with_its_provenance(ws, notes):
    job = extract_notes(ws, notes)
    assert (job.state, job.added, job.skipped, job.errors) == ("completed", 3, 0, 0)
    with ws.open_store() as store:
        (nf4,) = store.samples(SampleFilter(text="NF4"))
    assert nf4.source.kind == "notes" and nf4.source.uri == "notes/a.md"
    assert nf4.source.locator["lines"][0] >= 3 and nf4.source.content_hash
    assert nf4.status == "pending"


def test_unchanged_notes_are_skipped(ws, notes):
    extract_notes(ws, notes)
    job = extract_notes(ws, notes)
    assert (job.added, job.updated, job.retired, job.skipped) == (0, 0, 0, 2)


def test_changed_note_replaces_its_pairs_and_keeps_unchanged_approvals(ws, notes):
    extract_notes(ws, notes)
    with ws.open_store() as store:
        store.set_status(store.ids(), "approved", actor="ana")
    write_note(notes, "a.md", qa_note(("What is NF4?", "A 4-bit NormalFloat data type."),
                                      ("What is double quantization?", "It quantizes the scales a second time.")))
    job = extract_notes(ws, notes)
    assert (job.added, job.retired, job.skipped) == (1, 1, 1)
    assert live(ws) == {"What is NF4?": "approved", "What is double quantization?": "pending",
                        "LoRA 的秩怎么选？": "approved"}


def test_deleted_note_retires_its_pairs(ws, notes):
    extract_notes(ws, notes)
    (notes / "sub" / "b.md").unlink()
    job = extract_notes(ws, notes)
    assert job.retired == 1
    assert "LoRA 的秩怎么选？" not in live(ws)
    with ws.open_store() as store:
        assert store.count(SampleFilter(include_retired=True)) == 3  # retired, not deleted


def test_extracting_one_folder_does_not_retire_another(ws, notes):
    other = ws.root / "other"
    write_note(other, "c.md", qa_note(("What is vLLM?", "A fast inference server.")))
    extract_notes(ws, notes)
    extract_notes(ws, other)
    assert len(live(ws)) == 4


BAD_FILES = {
    "binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR",
    "gbk.md": "# 笔记\n\n问：什么是显存？\n答：GPU 的内存。\n".encode("gbk"),
    "empty.md": b"",
    "blank.md": b"  \n\n\t\n",
    "front.md": b"---\ntitle: [unclosed\n\nQ: Is this read?\nA: No.\n",
}


@pytest.mark.parametrize("name", [*BAD_FILES, "huge.md"])
def test_bad_files_are_skipped_named_and_recorded(ws, notes, name, caplog):
    if name == "huge.md":
        (notes / name).write_text(qa_note(("Big?", "x" * (ws.config.notes.max_file_bytes + 10))))
    else:
        (notes / name).write_bytes(BAD_FILES[name])
    with caplog.at_level(logging.WARNING):
        job = extract_notes(ws, notes)
    assert job.state == "completed" and job.added == 3  # the good notes still land
    assert job.errors == 1 and job.error_log[0]["file"] == f"notes/{name}"
    assert job.error_log[0]["error"].startswith(f"notes/{name}: ") and "\n" not in job.error_log[0]["error"]
    assert any(name in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_a_note_turning_bad_keeps_what_it_yielded(ws, notes):
    extract_notes(ws, notes)
    (notes / "a.md").write_bytes(b"\xff\xfe broken")
    job = extract_notes(ws, notes)
    assert job.errors == 1 and job.retired == 0
    assert "What is NF4?" in live(ws)


def test_missing_path_is_a_clear_error(ws):
    with pytest.raises(FactoryError, match="no such file or folder"):
        extract_notes(ws, ws.root / "nope")


def test_second_job_stops_with_a_message_naming_the_first(ws, notes):
    with job_lock(ws.lock_path, "extract notes elsewhere"):
        with pytest.raises(JobLocked, match="another job is running.*extract notes elsewhere"):
            extract_notes(ws, notes)
        result = run_cli("extract", "notes", str(notes), cwd=ws.root, check=False)  # a real second process
    assert result.returncode == 1
    assert "another job is running" in result.stderr and "--wait" in result.stderr
    assert live(ws) == {}


def test_second_job_with_wait_runs_after_the_first(ws, notes):
    with job_lock(ws.lock_path, "first job"):
        waiting = subprocess.Popen([sys.executable, "-m", "factory", "extract", "notes", str(notes), "--wait",
                                    "--json"], cwd=ws.root, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting while the lock is held
    stdout, stderr = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, stderr
    assert "waiting for another job" in stderr
    assert json.loads(stdout)["added"] == 3


def _corpus(folder, n):
    for i in range(n):
        write_note(folder, f"n{i:05d}.md", qa_note((f"What does setting {i} control?", f"Setting {i} controls knob {i}."),
                                                   (f"Default of setting {i}?", f"It defaults to {i * 7}.")))


def test_killed_job_leaves_a_consistent_store_and_the_next_run_finishes(ws, tmp_path):
    notes = ws.root / "notes"
    _corpus(notes, 1500)
    proc = subprocess.Popen([sys.executable, "-m", "factory", "extract", "notes", str(notes)], cwd=ws.root,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    with ws.open_store() as store:
        while len(store.documents("notes")) < 50 and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = len(store.documents("notes"))
        assert proc.returncode == -signal.SIGKILL
        assert 50 <= done < 1500, "the job must be killed midway for this test to mean anything"
        assert store.integrity_check() == "ok"
        # every synced note has exactly its two pairs; nothing half-written
        assert store.count() == 2 * done
    job = extract_notes(ws, notes)
    assert job.skipped == done and job.added == 2 * (1500 - done)
    with ws.open_store() as store:
        states = [j.state for j in store.jobs()]
        assert states == ["completed", "interrupted"]
        assert store.count() == 3000


def test_line_ending_or_bom_changes_alone_are_no_change(ws, notes):
    extract_notes(ws, notes)
    path = notes / "a.md"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text(encoding="utf-8").replace("\n", "\r\n").encode("utf-8"))
    job = extract_notes(ws, notes)
    assert (job.added, job.retired, job.skipped) == (0, 0, 2)


def test_a_link_to_a_note_outside_the_folder_is_skipped_naming_the_link(ws, notes, tmp_path, caplog):
    outside = write_note(tmp_path / "elsewhere", "secret.md", qa_note(("What is the root password?", "Never in a note.")))
    (notes / "secret.md").symlink_to(outside)
    with caplog.at_level(logging.WARNING):
        job = extract_notes(ws, notes)
    assert job.added == 3 and "What is the root password?" not in live(ws)
    (error,) = job.error_log
    assert error["file"] == "notes/secret.md" and "outside the notes folder" in error["error"]
    assert any("notes/secret.md" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_a_link_inside_the_folder_is_read_as_its_target_and_removing_it_retires_its_pairs(ws, notes):
    draft = write_note(notes / ".drafts", "x.md", qa_note(("What is a draft?", "A note not yet published.")))
    (notes / "draft.md").symlink_to(draft)  # the hidden folder is read only through this link
    (notes / "again.md").symlink_to(notes / "a.md")  # a note linked twice is read once
    job = extract_notes(ws, notes)
    assert (job.added, job.errors) == (4, 0)
    with ws.open_store() as store:
        assert sorted(store.documents("notes")) == ["notes/.drafts/x.md", "notes/a.md", "notes/sub/b.md"]
    (notes / "draft.md").unlink()
    job = extract_notes(ws, notes)
    assert (job.retired, job.skipped) == (1, 2) and "What is a draft?" not in live(ws)


def test_a_symlink_loop_is_named_and_the_rest_syncs(ws, notes):
    (notes / "loop.md").symlink_to(notes / "loop.md")
    job = extract_notes(ws, notes)
    assert (job.state, job.added) == ("completed", 3)
    (error,) = job.error_log
    assert error["file"] == "notes/loop.md" and "link loop" in error["error"]


def test_a_failed_job_records_its_error_for_factory_jobs(ws, notes, monkeypatch):
    def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "sync_document", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        extract_notes(ws, notes)
    monkeypatch.undo()
    with ws.open_store() as store:
        (job,) = store.jobs()
    assert job.state == "failed" and job.errors == 0  # no bad note; the log says why the job failed
    (error,) = job.error_log
    assert error["file"] == "notes/a.md" and error["error"] == "OperationalError: database or disk is full"
    assert "database or disk is full" in run_cli("jobs", cwd=ws.root).stdout


def test_a_note_of_20000_pairs_lands_whole(ws):
    pairs = [(f"What is k{i}?", f"Knob {i}.") for i in range(20_000)]
    write_note(ws.root / "notes", "big.md", qa_note(*pairs))  # 620 KB, under notes.max_file_bytes
    job = extract_notes(ws, ws.root / "notes")
    assert (job.added, job.errors) == (20_000, 0)


# -- re-review: a changed pair names the reviewed pair it replaces --------------------------
def decide(ws, status: str = "approved", actor: str = "reviewer:ann") -> None:
    with ws.open_store() as store:
        store.set_status(store.ids(), status, actor=actor)


def links(ws) -> dict[str, str | None]:
    """output -> output of the sample it replaces (None: replaces nothing), for every live sample."""
    with ws.open_store() as store:
        found = {}
        for s in store.samples():
            old = store.replaces(s.id)
            found[s.output] = store.get(old).output if old else None
        return found


RANK = "# LoRA\n\n## Rank\n\nStart with rank 16. Raise it when the data is large and the loss plateaus.\n"


def test_a_changed_section_names_the_approved_pair_it_replaces(ws):
    notes = ws.root / "notes"
    write_note(notes, "lora.md", RANK)
    extract_notes(ws, notes)
    decide(ws)
    with ws.open_store() as store:
        (old,) = store.samples()
    write_note(notes, "lora.md", RANK.replace("is large", "is large and varied"))
    job = extract_notes(ws, notes)
    assert (job.added, job.retired, job.replaced) == (1, 1, 1)
    with ws.open_store() as store:
        (new,) = store.samples()
        assert new.status == "pending" and store.replaces(new.id) == old.id
        assert store.get(old.id).status == "approved"  # retired, its review kept
        added, linked = store.history(new.id)
        assert (added.action, linked.action, linked.changes) == ("add", "replaces", {"replaces": old.id})
        assert linked.revision == new.revision == 2  # a change to the sample, so a revision
        assert store.history(old.id)[-1].changes == {"replaced_by": new.id}
        assert [h.action for h in store.history(old.id)] == ["add", "approved", "retire", "replaced"]


def test_a_pair_never_reviewed_replaces_nothing(ws):
    notes = ws.root / "notes"
    write_note(notes, "lora.md", RANK)
    extract_notes(ws, notes)
    write_note(notes, "lora.md", RANK.replace("is large", "is large and varied"))
    job = extract_notes(ws, notes)
    assert (job.added, job.retired, job.replaced) == (1, 1, 0)
    assert list(links(ws).values()) == [None]


def test_a_section_rewritten_from_scratch_still_names_the_pair_it_replaces(ws):
    notes = ws.root / "notes"
    write_note(notes, "lora.md", RANK)
    extract_notes(ws, notes)
    decide(ws)
    write_note(notes, "lora.md", "# LoRA\n\n## Rank\n\nUse 8 everywhere; nobody measured a difference above it.\n")
    extract_notes(ws, notes)
    assert links(ws) == {"Use 8 everywhere; nobody measured a difference above it.":
                         "Start with rank 16. Raise it when the data is large and the loss plateaus."}


FAQ = (("What is NF4?", "A 4-bit NormalFloat data type for the frozen base weights."),
       ("What is double quantization?", "Quantizing the quantization constants, to save memory."),
       ("What is paged AdamW?", "AdamW whose optimizer states page out to CPU memory under pressure."))


def test_pairs_of_one_list_are_matched_by_their_text_wherever_they_moved(ws):
    notes = ws.root / "notes"
    write_note(notes, "faq.md", qa_note(*FAQ, title="QLoRA"))
    extract_notes(ws, notes)
    decide(ws)
    nf4, double, paged = FAQ
    edited = ((paged[0], paged[1]),  # unchanged, now first
              (double[0], double[1].replace("to save memory", "to save a little more memory")),
              (nf4[0], nf4[1].replace("frozen base", "frozen")))
    write_note(notes, "faq.md", qa_note(*edited, title="QLoRA"))
    job = extract_notes(ws, notes)
    assert (job.added, job.retired, job.replaced) == (2, 2, 2)
    assert links(ws) == {paged[1]: None, edited[1][1]: double[1], edited[2][1]: nf4[1]}
    assert live(ws)[paged[0]] == "approved"  # the unchanged pair keeps its id and its review


def test_a_pair_that_went_away_is_not_replaced_by_an_unrelated_new_one(ws):
    notes = ws.root / "notes"
    write_note(notes, "faq.md", qa_note(*FAQ[:2], title="QLoRA"))
    extract_notes(ws, notes)
    decide(ws)
    nf4, double = FAQ[:2]
    new_nf4 = nf4[1].replace("frozen base", "frozen")
    unrelated = ("Which GPU do we train on?", "The two A100s in rack 3, booked through the calendar.")
    write_note(notes, "faq.md", qa_note((nf4[0], new_nf4), unrelated, title="QLoRA"))
    job = extract_notes(ws, notes)
    assert (job.added, job.retired, job.replaced) == (2, 2, 1)
    assert links(ws) == {new_nf4: nf4[1], unrelated[1]: None}


def test_a_pair_under_a_renamed_heading_is_matched_by_its_lines_and_text(ws):
    notes = ws.root / "notes"
    write_note(notes, "faq.md", qa_note(*FAQ[:2], title="QLoRA"))
    extract_notes(ws, notes)
    decide(ws)
    nf4, double = FAQ[:2]
    new_double = double[1].replace("to save memory", "to save memory again")
    write_note(notes, "faq.md", qa_note(nf4, (double[0], new_double), title="QLoRA in practice"))
    extract_notes(ws, notes)
    assert links(ws) == {nf4[1]: None, new_double: double[1]}


def test_a_replacement_changed_again_before_review_still_names_the_approved_pair(ws):
    notes = ws.root / "notes"
    write_note(notes, "lora.md", RANK)
    extract_notes(ws, notes)
    decide(ws)
    write_note(notes, "lora.md", RANK.replace("is large", "is large and varied"))
    extract_notes(ws, notes)
    write_note(notes, "lora.md", RANK.replace("is large", "is large, varied"))
    job = extract_notes(ws, notes)
    assert job.replaced == 1
    assert links(ws) == {"Start with rank 16. Raise it when the data is large, varied and the loss plateaus.":
                         "Start with rank 16. Raise it when the data is large and the loss plateaus."}


# -- what a job counts ----------------------------------------------------------------------
def test_a_pair_shared_by_two_notes_is_known_already_not_updated(ws):
    notes = ws.root / "notes"
    write_note(notes, "a.md", qa_note(FAQ[0], FAQ[1]))
    write_note(notes, "b.md", qa_note(FAQ[0]))
    job = extract_notes(ws, notes)
    assert (job.added, job.updated, job.shared) == (2, 0, 1)


def test_pairs_whose_lines_moved_are_counted_as_moved(ws):
    notes = ws.root / "notes"
    write_note(notes, "a.md", qa_note(*FAQ))
    extract_notes(ws, notes)
    text = (notes / "a.md").read_text(encoding="utf-8")
    write_note(notes, "a.md", text.replace(f"Q: {FAQ[1][0]}", f"\n\nQ: {FAQ[1][0]}"))  # two pairs move down
    job = extract_notes(ws, notes)
    assert (job.added, job.updated, job.retired, job.moved, job.skipped) == (0, 0, 0, 2, 0)
    with ws.open_store() as store:
        (paged,) = store.samples(SampleFilter(text="paged"))
    lines = (notes / "a.md").read_text(encoding="utf-8").split("\n")
    assert lines[paged.source.locator["lines"][0] - 1] == f"Q: {FAQ[2][0]}"  # the sample points at its new lines


def test_every_pair_of_a_long_list_changed_at_once_finds_its_own(ws):
    """What a new extractor version does to a big note: every text changes, some pairs go."""
    from tests.conftest import varied_text

    notes = ws.root / "notes"
    pairs = [(f"What does setting {i} control?", varied_text(i)) for i in range(300)]
    write_note(notes, "settings.md", qa_note(*pairs))
    extract_notes(ws, notes)
    decide(ws)
    edited = [(q, a.replace(".", ", since v2.")) for q, a in pairs[3:]]  # the first three deleted
    write_note(notes, "settings.md", qa_note(*edited))
    job = extract_notes(ws, notes)
    assert (job.added, job.retired, job.replaced) == (297, 300, 297)
    assert links(ws) == {new: old for (_, old), (_, new) in zip(pairs[3:], edited)}
