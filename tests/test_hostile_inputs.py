"""No input breaks a run: hostile notes and dataset rows, each named in one line, the rest synced.

Each case is a file a real notes folder or dataset can hold: emphasis nested 2,000 deep, a code
block Python's parser chokes on, a YAML alias bomb, a symlink loop, a FIFO, a link out of the
folder, JSON nested 5,000 deep, a lone surrogate escape. Every run goes through the library's
entry points (`extract_notes`, `import_dataset`) or the real CLI, on a fresh workspace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from factory.errors import BadInput
from factory.importing import import_dataset
from factory.ingest import extract_notes
from factory.store import SampleFilter
from sources.open_datasets import DatasetRequest
from tests.conftest import qa_note, run_cli, write_note

# -- hostile notes ----------------------------------------------------------------------------
STARS = "# Emphasis\n\n" + "*" * 2000 + "a deeply emphasised sentence" + "*" * 2000 + "\n"  # 4 KB
PLUS = "# Sums\n\n```python\nx=" + "+".join(["1"] * 100_000) + "\n```\n"  # 200 KB
MINUS = "# Negation\n\n```python\nx=" + "-" * 200_000 + "1\n```\n"
DOCUMENTED_PLUS = ('# Helpers\n\n```python\ndef f():\n    """Adds ones."""\n\nx=' + "+".join(["1"] * 6000)
                   + "\n```\n")  # small enough to parse, too deep for Python's parser
ALIAS_BOMB = ("---\n" + "a: &a [x, x, x, x, x, x, x, x, x]\n"
              + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(6))
              + "tags: *g\n---\n# Bomb\n\nQ: Is this read?\nA: Not with its tags.\n")
DEEP_FRONT_MATTER = "---\ntags: " + "[" * 3000 + "]" * 3000 + "\n---\n# Deep\n\nQ: Read?\nA: No.\n"


def _link(target: Path) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


HOSTILE_NOTES: dict[str, str | Callable[[Path], None]] = {
    "stars.md": STARS, "plus.md": PLUS, "minus.md": MINUS, "documented.md": DOCUMENTED_PLUS,
    "bomb.md": ALIAS_BOMB, "deep.md": DEEP_FRONT_MATTER,
    "loop.md": lambda path: path.symlink_to(path),
    "pipe.md": os.mkfifo,
    "zero.md": _link(Path("/dev/zero")),
}
# What each refused note's one-line error says; the others extract.
REFUSED = {"bomb.md": "alias", "deep.md": "front matter", "loop.md": "link", "pipe.md": "not a regular file",
           "zero.md": "outside the notes folder"}


def make(folder: Path, name: str, content: str | Callable[[Path], None]) -> None:
    if isinstance(content, str):
        write_note(folder, name, content)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        content(folder / name)


def live(ws) -> set[str]:
    with ws.open_store() as store:
        return {s.instruction for s in store.samples()}


@pytest.fixture
def notes(ws) -> Path:
    """Good notes before and after the hostile ones (in sort order), and one that will be deleted."""
    folder = ws.root / "notes"
    write_note(folder, "a-first.md", qa_note(("What is NF4?", "A 4-bit NormalFloat data type.")))
    write_note(folder, "z-last.md", qa_note(("What is vLLM?", "A fast inference server.")))
    write_note(folder, "gone.md", qa_note(("What was the old VPN?", "A server we retired.")))
    return folder


def test_hostile_notes_are_named_and_everything_else_syncs_on_every_run(ws, notes):
    extract_notes(ws, notes)
    (notes / "gone.md").unlink()
    for name, content in HOSTILE_NOTES.items():
        make(notes, name, content)
    for run in range(2):  # a rerun meets the same notes and does the same
        job = extract_notes(ws, notes)
        assert job.state == "completed"
        errors = {e["file"]: e["error"] for e in job.error_log}
        assert set(errors) == {f"notes/{name}" for name in REFUSED}
        for name, words in REFUSED.items():
            error = errors[f"notes/{name}"]
            assert error.startswith(f"notes/{name}: ") and words in error and "\n" not in error, error
        assert {"What is NF4?", "What is vLLM?"} <= live(ws)
        assert "What was the old VPN?" not in live(ws)
        assert job.retired == (1 if run == 0 else 0)


def test_notes_that_only_look_dangerous_are_read_like_any_other(ws, notes):
    for name in ("stars.md", "plus.md", "minus.md", "documented.md"):
        make(notes, name, HOSTILE_NOTES[name])
    job = extract_notes(ws, notes)
    assert job.errors == 0
    with ws.open_store() as store:
        assert {f"notes/{n}" for n in ("stars.md", "plus.md", "minus.md", "documented.md")} <= set(
            store.documents("notes"))
        samples = store.samples()
    by_note = {s.source.uri: s for s in samples}
    assert by_note["notes/stars.md"].output == "a deeply emphasised sentence"
    # Read without an error, and no docstring pair from code too deep to parse (the block is also
    # over the answer's length cap, so the section gives no pair either).
    assert [s for s in samples if s.source.uri == "notes/documented.md" and s.source.locator["rule"] == "docstring"] \
        == []


def test_a_front_matter_alias_bomb_is_refused_naming_the_note(ws, notes):
    make(notes, "bomb.md", ALIAS_BOMB)
    job = extract_notes(ws, notes)
    (error,) = job.error_log
    assert error["file"] == "notes/bomb.md" and "alias" in error["error"]
    with ws.open_store() as store:
        assert all(len(tag) < 100 for s in store.samples() for tag in s.tags)


@pytest.mark.parametrize("name", ["pipe.md", "zero.md"])
def test_cli_extract_of_a_fifo_or_device_note_finishes_and_names_it(ws, name):
    """Through the CLI: a hang here would hold the job lock forever (the timeout fails the test)."""
    notes = ws.root / "notes"
    write_note(notes, "a.md", qa_note(("What is NF4?", "A 4-bit NormalFloat data type.")))
    make(notes, name, HOSTILE_NOTES[name])
    result = run_cli("extract", "notes", "notes", cwd=ws.root, timeout=60)
    assert "1 added" in result.stdout and f"notes/{name}" in result.stderr


def test_a_device_named_directly_is_followed_then_refused(ws, tmp_path):
    zero = tmp_path / "zero.md"
    zero.symlink_to("/dev/zero")
    job = extract_notes(ws, zero)  # named by the user: followed, then refused as no regular file
    (error,) = job.error_log
    assert "not a regular file" in error["error"] and "\n" not in error["error"]


# -- hostile dataset rows ----------------------------------------------------------------------
def good(i: int) -> str:
    return json.dumps({"instruction": f"What does option {i} do?", "output": f"Option {i} sets knob {i}."})


HOSTILE_LINES = {
    "deep": '{"instruction": "q", "output": "a", "extra": ' + "[" * 5000 + "]" * 5000 + "}",
    "surrogate": '{"instruction": "broken \\ud800 text", "output": "a"}',
    "surrogate in history": '{"instruction": "q", "output": "a", "history": [["\\udfff", "x"]]}',
    "huge number": '{"instruction": "q", "output": ' + "7" * 5000 + "}",
    "wrong type": '{"instruction": {"text": "q"}, "output": "a"}',
    "not json": '{"instruction": ',
    "not an object": "[1, 2]",
}


def test_hostile_rows_are_row_errors_and_every_good_row_lands(ws):
    lines = [good(0), *HOSTILE_LINES.values(), good(1)]
    path = ws.root / "dirty.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_dataset(ws, DatasetRequest(source=str(path)))
    assert result.job.state == "completed" and result.job.added == 2
    assert result.bad_rows == len(HOSTILE_LINES)
    errors = [e["error"] for e in result.job.error_log]
    assert [e.split(":")[0].split(",")[0] for e in errors] == [f"line {n}" for n in range(2, 2 + len(HOSTILE_LINES))]
    assert all("\n" not in e for e in errors)
    assert "nested" in errors[0] and "surrogate" in errors[1] and "surrogate" in errors[2]
    assert live(ws) == {"What does option 0 do?", "What does option 1 do?"}


def test_a_hostile_row_in_a_changed_file_loses_nothing_stored(ws):
    path = ws.root / "data.jsonl"
    path.write_text(f"{good(0)}\n{good(1)}\n", encoding="utf-8")
    import_dataset(ws, DatasetRequest(source=str(path)))
    path.write_text(f"{good(0)}\n{HOSTILE_LINES['surrogate']}\n{good(1)}\n", encoding="utf-8")
    result = import_dataset(ws, DatasetRequest(source=str(path)))
    assert (result.job.state, result.job.retired, result.bad_rows) == ("completed", 0, 1)
    with ws.open_store() as store:
        assert store.count(SampleFilter(include_retired=True)) == 2


@pytest.mark.parametrize("make_file", [os.mkfifo, lambda path: path.symlink_to("/dev/zero")],
                         ids=["fifo", "dev-zero"])
def test_cli_import_of_a_fifo_or_device_is_one_line_refusal(ws, make_file):
    make_file(ws.root / "data.jsonl")
    result = run_cli("import", "data.jsonl", cwd=ws.root, timeout=60, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "data.jsonl" in line and "not a regular file" in line


def test_import_of_a_device_is_bad_input_and_no_job(ws):
    with pytest.raises(BadInput, match="not a regular file"):
        import_dataset(ws, DatasetRequest(source="/dev/zero"))
    with ws.open_store() as store:
        assert store.jobs() == []
