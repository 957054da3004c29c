"""The real `factory` command in a subprocess, as a user or a cron job runs it."""

import json
import re
from pathlib import Path

from tests.conftest import qa_note, run_cli, write_note


def test_module_entry_point_and_help(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    for command in ("init", "extract", "check", "status", "ls", "approve", "reject", "freeze", "versions",
                    "verify", "export", "demo", "jobs", "show"):
        assert command in result.stdout


def test_no_workspace_is_one_clear_line(tmp_path):
    result = run_cli("status", cwd=tmp_path, check=False)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no factory workspace" in lines[0] and "factory init" in lines[0]
    assert "Traceback" not in result.stderr


def test_workspace_from_flag_env_and_parent_folder(tmp_path):
    run_cli("init", str(tmp_path / "ws"), cwd=tmp_path)
    (tmp_path / "ws" / "deep" / "er").mkdir(parents=True)
    assert json.loads(run_cli("status", "--json", cwd=tmp_path / "ws" / "deep" / "er").stdout)["total"] == 0
    assert run_cli("--workspace", str(tmp_path / "ws"), "status", cwd=tmp_path).returncode == 0
    assert run_cli("status", cwd=tmp_path, env={"FACTORY_WORKSPACE": str(tmp_path / "ws")}).returncode == 0


def test_notes_to_verified_export(tmp_path):
    ws = tmp_path / "ws"
    run_cli("init", str(ws), cwd=tmp_path)
    notes = ws / "notes"
    write_note(notes, "a.md", qa_note(("What is NF4?", "A 4-bit NormalFloat data type used by QLoRA."),
                                      ("What is paged AdamW?", "AdamW whose states page to CPU memory under pressure."),
                                      ("Why use gradient checkpointing?", "Why use gradient checkpointing?")))
    write_note(notes, "b.md", qa_note(("What is NF4?", "A 4-bit NormalFloat data type used by QLoRA.")))
    job = json.loads(run_cli("extract", "notes", "notes", "--json", cwd=ws).stdout)
    assert job["added"] == 3 and job["state"] == "completed"

    run_cli("check", cwd=ws)
    stats = json.loads(run_cli("status", "--json", cwd=ws).stdout)
    assert stats["by_reason"]["output_equals_instruction"] == 1
    assert stats["by_status"] == {"pending": 2, "rejected": 1}
    assert stats["by_lang"] == {"en": 3}

    rejected = [json.loads(line) for line in run_cli("ls", "--reason", "output_equals_instruction", "--json",
                                                      cwd=ws).stdout.splitlines()]
    assert [s["status"] for s in rejected] == ["rejected"]
    assert rejected[0]["findings"][0]["code"] == "output_equals_instruction"

    run_cli("approve", "--no-findings", "--reviewer", "ana", cwd=ws)
    approved = [json.loads(line) for line in run_cli("ls", "--status", "approved", "--json", cwd=ws).stdout.splitlines()]
    assert len(approved) == 2
    shown = json.loads(run_cli("show", approved[0]["id"][:8], "--json", cwd=ws).stdout)
    assert any(h["actor"] == "ana" and h["action"] == "approved" for h in shown["history"])

    run_cli("reject", approved[0]["id"], "--because", "too vague", cwd=ws)
    frozen = json.loads(run_cli("freeze", "kb", "--eval-ratio", "0", "--json", cwd=ws).stdout)
    assert frozen["ref"] == "kb@v1" and frozen["counts"]["total"] == 1

    listed = json.loads(run_cli("versions", "--json", cwd=ws).stdout)
    assert [v["ref"] for v in listed] == ["kb@v1"]
    assert run_cli("verify", "kb@latest", cwd=ws).returncode == 0
    run_cli("export", "kb@v1", "--format", "llamafactory", "--out", str(tmp_path / "lf"), cwd=ws)
    assert json.loads((tmp_path / "lf" / "dataset_info.json").read_text())["kb_train"]["file_name"] == "kb_train.json"

    train = ws / ".factory" / "versions" / "kb" / "v1" / "train.jsonl"
    train.chmod(0o644)
    original = train.read_text()
    train.write_text(original.replace('"output":"', '"output":"Tampered. ', 1))
    assert train.read_text() != original
    result = run_cli("verify", "kb@v1", cwd=ws, check=False)
    assert result.returncode == 1 and "train.jsonl" in result.stderr

    jobs = json.loads(run_cli("jobs", "--json", cwd=ws).stdout)
    assert [j["kind"] for j in jobs][-1] == "extract"


def test_review_without_ids_or_filters_is_refused(tmp_path):
    run_cli("init", str(tmp_path), cwd=tmp_path)
    result = run_cli("approve", cwd=tmp_path, check=False)
    assert result.returncode == 1 and "give sample ids, or a filter" in result.stderr


def test_bad_config_names_the_file_and_field(tmp_path):
    run_cli("init", str(tmp_path), cwd=tmp_path)
    (tmp_path / ".factory" / "config.toml").write_text("[checks]\nnear_duplicate_threshold = 'high'\n")
    write_note(tmp_path / "notes", "a.md", qa_note(("What is NF4?", "A 4-bit type.")))
    result = run_cli("extract", "notes", "notes", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "config.toml" in result.stderr and "checks.near_duplicate_threshold" in result.stderr


def test_reasons_lists_every_code_with_overrides(tmp_path):
    from factory.checks import REASON_CODES

    run_cli("init", str(tmp_path), cwd=tmp_path)
    (tmp_path / ".factory" / "config.toml").write_text('[checks.severity]\nnear_duplicate = "reject"\n')
    rows = json.loads(run_cli("reasons", "--json", cwd=tmp_path).stdout)
    assert set(rows) == set(REASON_CODES)
    assert rows["near_duplicate"]["severity"] == "reject" and rows["empty_output"]["severity"] == "reject"


def test_unknown_severity_override_is_refused(tmp_path):
    run_cli("init", str(tmp_path), cwd=tmp_path)
    (tmp_path / ".factory" / "config.toml").write_text('[checks.severity]\nnear_duplicat = "reject"\n')
    result = run_cli("check", cwd=tmp_path, check=False)
    assert result.returncode == 1 and "checks.severity.near_duplicat: unknown reason code" in result.stderr


def test_show_puts_a_duplicate_beside_the_sample_it_duplicates(tmp_path):
    run_cli("init", "ws", cwd=tmp_path)
    ws = tmp_path / "ws"
    answer = "Start at rank 8, double it while the eval loss keeps falling, and stop when it flattens out."
    write_note(ws / "notes", "a.md", qa_note(("How do I pick the LoRA rank?", answer)))
    write_note(ws / "notes", "b.md", qa_note(("How do I pick the LoRA rank?", answer.replace("falling", "dropping"))))
    run_cli("extract", "notes", "notes", cwd=ws)
    run_cli("check", cwd=ws)
    flagged = [json.loads(line) for line in run_cli("ls", "--reason", "near_duplicate", "--json", cwd=ws).stdout.splitlines()]
    assert len(flagged) == 1
    shown = json.loads(run_cli("show", flagged[0]["id"], "--json", cwd=ws).stdout)
    (finding,) = [f for f in shown["sample"]["findings"] if f["code"] == "near_duplicate"]
    other = shown["related"][finding["related_id"]]
    assert other["output"] != shown["sample"]["output"] and "rank 8" in other["output"]
    text = run_cli("show", flagged[0]["id"], cwd=ws).stdout
    assert finding["related_id"] in text and other["source"]["uri"] in text


# Terminal control sequences a sample, a name or a file name could carry: clear the screen, retitle the
# window, a C1 CSI (red), a carriage return that overwrites the line, NUL, a backspace and DEL.
CONTROLS = "clear\x1b[2J title\x1b]0;pwned\x07 c1\x9b31m cr\rover nul\x00 bs\x08 del\x7f"
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def hostile_workspace(tmp_path: Path) -> tuple[Path, str, str]:
    """A workspace with a note named with control characters and a dataset row holding them, approved
    by a reviewer whose name holds them too. Returns the folder, the row's and the note's sample ids."""
    ws = tmp_path / "ws"
    run_cli("init", str(ws), cwd=tmp_path)
    write_note(ws / "notes", "evil\x1b[2J.md", qa_note(("What is a control character?", "A byte a terminal obeys.")))
    (ws / "notes" / "bad\x1b]0;x\x07.md").write_bytes(b"# Not UTF-8 \xff\xfe\n")
    extracted = run_cli("extract", "notes", "notes", cwd=ws)
    assert not RAW_CONTROL.search(extracted.stderr) and "bad\\x1b]0;x\\x07.md" in extracted.stderr
    row = {"instruction": f"Why {CONTROLS}?", "output": f"Because\ttabs and\nlines stay. {CONTROLS}"}
    (ws / "rows.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    run_cli("import", "rows.jsonl", cwd=ws)
    (note,) = [json.loads(line) for line in run_cli("ls", "--source", "notes", "--json", cwd=ws).stdout.splitlines()]
    (row,) = [json.loads(line) for line in run_cli("ls", "--source", "dataset", "--json", cwd=ws).stdout.splitlines()]
    run_cli("approve", row["id"], "--reviewer", "ann\x1b[2J", cwd=ws)
    return ws, row["id"], note["id"]


def test_show_and_ls_print_control_characters_visibly_never_raw(tmp_path):
    ws, row_id, note_id = hostile_workspace(tmp_path)
    shown = run_cli("show", row_id, cwd=ws).stdout
    assert not RAW_CONTROL.search(shown), repr(shown)
    assert "clear\\x1b[2J title\\x1b]0;pwned\\x07 c1\\x9b31m cr\\x0dover nul\\x00 bs\\x08 del\\x7f" in shown
    assert re.search(r"Because\s+tabs and\nlines stay\.", shown)  # tab and newline are text (rich expands tabs)
    assert "ann\\x1b[2J approved" in shown  # the history
    assert "notes/evil\\x1b[2J.md" in run_cli("show", note_id, cwd=ws).stdout  # a file name
    for command in (("ls", "--limit", "0"), ("jobs",), ("status",)):
        printed = run_cli(*command, cwd=ws).stdout
        assert not RAW_CONTROL.search(printed), (command, printed)
    assert "\\x1b[2J" in run_cli("ls", "--limit", "0", cwd=ws).stdout


def test_rich_markup_and_emoji_codes_in_text_are_printed_literally(tmp_path):
    ws = tmp_path / "ws"
    run_cli("init", str(ws), cwd=tmp_path)
    text = "Is dsfolder:train: a :smile: [bold]bold[/bold] or [/] markup?"
    rows = ws / "rows.jsonl"
    rows.write_text(json.dumps({"instruction": text, "output": "Neither: " + text}) + "\n", encoding="utf-8")
    run_cli("import", "rows.jsonl", "--license", "cc-by-4.0 [/] :train:", cwd=ws)
    (sample,) = [json.loads(line) for line in run_cli("ls", "--json", cwd=ws).stdout.splitlines()]
    assert text in run_cli("show", sample["id"], cwd=ws).stdout
    assert "dsfolder:train:" in run_cli("ls", cwd=ws).stdout
    assert "cc-by-4.0 [/] :train:" in run_cli("status", cwd=ws).stdout


def test_a_dataset_folders_split_is_named_as_it_is(tmp_path):
    ws = tmp_path / "ws"
    run_cli("init", str(ws), cwd=tmp_path)
    (ws / "dsfolder").mkdir()
    (ws / "dsfolder" / "train.jsonl").write_text(json.dumps({"instruction": "What is a split?", "output":
                                                             "A named part of a dataset."}) + "\n")
    assert "dsfolder:train: 1 rows read as alpaca" in run_cli("import", "dsfolder", cwd=ws).stdout


def test_an_import_that_reads_no_rows_says_so(tmp_path):
    ws = tmp_path / "ws"
    run_cli("init", str(ws), cwd=tmp_path)
    (ws / "empty.jsonl").write_text("")
    (ws / "broken.jsonl").write_text("not json\n{also not\n")
    empty = run_cli("import", "empty.jsonl", cwd=ws).stdout
    assert "no rows read from empty.jsonl: it is empty" in empty and "read as ;" not in empty
    broken = run_cli("import", "broken.jsonl", cwd=ws).stdout
    assert "broken.jsonl: none of the 2 rows could be read" in broken and "read as ;" not in broken


# -- re-review -----------------------------------------------------------------------------------
NF4 = ("What is NF4?", "A 4-bit NormalFloat data type for the frozen base weights of QLoRA.")
PAGED = ("What is paged AdamW?", "AdamW whose optimizer states page out to CPU memory under pressure.")


def ls_json(ws: Path, *args: str) -> list[dict]:
    return [json.loads(line) for line in run_cli("ls", "--json", *args, cwd=ws).stdout.splitlines()]


def replaced_workspace(tmp_path: Path) -> tuple[Path, str, str]:
    """A note whose approved NF4 pair was edited in the note. Returns the folder, the old and the new id."""
    ws = tmp_path / "ws"
    run_cli("init", str(ws), cwd=tmp_path)
    write_note(ws / "notes", "a.md", qa_note(NF4, PAGED))
    run_cli("extract", "notes", "notes", cwd=ws)
    (old,) = [s["id"] for s in ls_json(ws, "--text", "NF4")]
    run_cli("approve", old, "--reviewer", "ann", cwd=ws)
    write_note(ws / "notes", "a.md", qa_note((NF4[0], NF4[1].replace("frozen base", "frozen")), PAGED))
    summary = run_cli("extract", "notes", "notes", cwd=ws).stdout
    assert "1 added (1 replacing a reviewed pair), 1 retired" in summary
    (new,) = [s["id"] for s in ls_json(ws, "--text", "NF4")]
    return ws, old, new


def test_show_and_ls_name_the_reviewed_pair_a_changed_pair_replaces(tmp_path):
    ws, old, new = replaced_workspace(tmp_path)
    listed = {s["id"]: s for s in ls_json(ws)}
    assert listed[new]["replaces"] == old and listed[new]["status"] == "pending"
    assert [s["replaces"] for i, s in listed.items() if i != new] == [None]
    text = run_cli("show", new[:8], cwd=ws).stdout
    assert f"replaces {old} (approved by ann)" in text
    assert "output: A 4-bit NormalFloat data type for the frozen [-base -]weights of QLoRA." in text
    assert "instruction: unchanged" in text
    shown = json.loads(run_cli("show", new, "--json", cwd=ws).stdout)
    assert shown["replaces"]["id"] == old and shown["replaces"]["decision"] == "approved by ann"
    assert shown["replaces"]["diff"]["output"].startswith("A 4-bit NormalFloat data type for the frozen [-base -]")
    assert f"replaced by {new}" in run_cli("show", old, cwd=ws).stdout


def test_approve_replacements_re_approves_only_small_changes(tmp_path):
    ws, old, new = replaced_workspace(tmp_path)
    (paged,) = [s["id"] for s in ls_json(ws, "--text", "paged")]
    run_cli("approve", paged, "--reviewer", "ann", cwd=ws)
    write_note(ws / "notes", "a.md", qa_note((NF4[0], NF4[1].replace("frozen base", "frozen")),
                                             (PAGED[0], "Optimizer states that live in unified memory instead.")))
    run_cli("extract", "notes", "notes", cwd=ws)
    result = run_cli("approve", "--replacements", "--reviewer", "bob", cwd=ws).stdout
    assert "re-approved 1 replacement(s)" in result and "1 changed more" in result
    statuses = {s["output"]: s["status"] for s in ls_json(ws)}
    assert statuses == {NF4[1].replace("frozen base", "frozen"): "approved",
                        "Optimizer states that live in unified memory instead.": "pending"}
    assert any(h["actor"] == "bob" and h["action"] == "approved"
               for h in json.loads(run_cli("show", new, "--json", cwd=ws).stdout)["history"])


def test_extract_summary_and_jobs_count_moved_and_shared_pairs_not_updated(tmp_path):
    ws = tmp_path / "ws"
    run_cli("init", str(ws), cwd=tmp_path)
    write_note(ws / "notes", "a.md", qa_note(NF4, PAGED))
    write_note(ws / "notes", "b.md", qa_note(NF4))
    first = run_cli("extract", "notes", "notes", cwd=ws).stdout
    assert first.startswith("notes: 2 added, 0 retired, 0 moved, 1 already known from other sources, "
                            "0 unchanged notes skipped, 0 bad files (job 1)")
    write_note(ws / "notes", "a.md", qa_note(NF4, PAGED).replace("Q: What is paged", "\n\nQ: What is paged"))
    second = run_cli("extract", "notes", "notes", cwd=ws).stdout
    assert second.startswith("notes: 0 added, 0 retired, 1 moved, 0 already known from other sources, "
                             "1 unchanged notes skipped")
    jobs = json.loads(run_cli("jobs", "--json", cwd=ws).stdout)
    assert [(j["added"], j["updated"], j["moved"], j["shared"]) for j in jobs] == [(0, 0, 1, 0), (2, 0, 0, 1)]
    table = run_cli("jobs", cwd=ws, env={"COLUMNS": "200"}).stdout
    header = next(line for line in table.splitlines() if "moved" in line)
    assert [c.strip() for c in header.strip("┃│ ").replace("┃", "│").split("│")][5:10] == [
        "added", "replacing", "retired", "moved", "shared"]
