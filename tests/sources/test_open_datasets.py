"""Open datasets, read row by row: formats, auto detection, bad rows, file types, cards and licenses.

Pure reading: every test writes a real file under tmp_path and reads it with `open_dataset`;
nothing touches the store, and nothing reaches the network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.errors import BadInput
from factory.sample import Sample
from sources.open_datasets import DatasetRequest, OpenedDataset, RowError, open_dataset, parse_mapping


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read(path: Path | str, **options: Any) -> tuple[OpenedDataset, list[Sample], list[RowError]]:
    """Open and read everything; samples and row errors in file order."""
    opened = open_dataset(DatasetRequest(source=str(path), **options))
    items = [item for batch in opened.batches(3) for item in batch]
    samples = [i for i in items if isinstance(i, Sample)]
    errors = [i for i in items if isinstance(i, RowError)]
    assert len(samples) + len(errors) == len(items)
    return opened, samples, errors


def read_one_error(tmp_path: Path, row: dict[str, Any], **options: Any) -> RowError:
    _, samples, errors = read(write_jsonl(tmp_path / "one.jsonl", [row]), **options)
    assert samples == [] and len(errors) == 1, (samples, errors)
    return errors[0]


# -- alpaca -------------------------------------------------------------------------------
def test_alpaca_jsonl_keeps_input_system_and_history(tmp_path):
    path = write_jsonl(tmp_path / "alpaca.jsonl", [
        {"instruction": "Translate", "input": "bonjour", "output": "hello", "system": "You translate.",
         "history": [["Hi", "Hello! How can I help?"], ["Can you translate?", "Yes."]]},
        {"instruction": "What is LoRA?", "output": "Low-rank adapters."},
    ])
    opened, samples, errors = read(path)
    assert errors == [] and opened.format == "alpaca"
    first, second = samples
    assert (first.instruction, first.input, first.output, first.system) == (
        "Translate", "bonjour", "hello", "You translate.")
    assert first.history == [("Hi", "Hello! How can I help?"), ("Can you translate?", "Yes.")]
    assert (second.input, second.system, second.history) == ("", None, [])
    assert [s.source.locator["row"] for s in samples] == [0, 1]
    assert all(s.source.kind == "dataset" and s.source.uri == str(path) for s in samples)
    assert "alpaca" in first.source.extractor_version and first.source.content_hash
    assert first.source.content_hash != second.source.content_hash


def test_numbers_in_output_become_text(tmp_path):
    _, samples, errors = read(write_jsonl(tmp_path / "n.jsonl", [{"instruction": "6 * 7?", "output": 42},
                                                                 {"instruction": "Half?", "output": 0.5}]))
    assert errors == []
    assert [s.output for s in samples] == ["42", "0.5"]


def test_null_instruction_is_a_row_error_naming_the_field(tmp_path):
    error = read_one_error(tmp_path, {"instruction": None, "output": "x"}, format="alpaca")
    assert error.field == "instruction" and "null" in error.message
    assert (error.row, error.line) == (0, 1)
    assert str(error).startswith("line 1, field 'instruction'")


def test_missing_output_column_is_a_row_error_naming_it(tmp_path):
    error = read_one_error(tmp_path, {"instruction": "q", "answer": "a"}, format="alpaca")
    assert error.field == "output" and "missing" in error.message


def test_non_text_history_is_a_row_error(tmp_path):
    error = read_one_error(tmp_path, {"instruction": "q", "output": "a", "history": ["just one string"]})
    assert error.field == "history"


# -- sharegpt -----------------------------------------------------------------------------
def conversation(*turns: tuple[str, str]) -> dict[str, Any]:
    return {"conversations": [{"from": who, "value": text} for who, text in turns]}


def test_sharegpt_multi_turn_keeps_earlier_turns_as_history_and_the_system_prompt(tmp_path):
    path = write_jsonl(tmp_path / "sg.jsonl", [conversation(
        ("system", "You are terse."), ("human", "Hi"), ("gpt", "Hello."),
        ("human", "What is QLoRA?"), ("gpt", "LoRA on a 4-bit base model."))])
    opened, (sample,), errors = read(path)
    assert errors == [] and opened.format == "sharegpt"
    assert sample.instruction == "What is QLoRA?" and sample.output == "LoRA on a 4-bit base model."
    assert sample.history == [("Hi", "Hello.")]
    assert sample.system == "You are terse." and sample.input == ""


def test_sharegpt_roles_user_and_assistant_and_a_system_column(tmp_path):
    row = {"conversations": [{"from": "user", "value": "q"}, {"from": "assistant", "value": "a"}], "system": "S"}
    _, (sample,), errors = read(write_jsonl(tmp_path / "sg.jsonl", [row]), format="sharegpt")
    assert errors == []
    assert (sample.instruction, sample.output, sample.system, sample.history) == ("q", "a", "S", [])


@pytest.mark.parametrize(("turns", "words"), [
    ((("human", "call it"), ("function_call", "{}"), ("gpt", "done")), "function_call"),
    ((("human", "one"), ("human", "two"), ("gpt", "answer")), "alternate"),
    ((("human", "q"), ("gpt", "a"), ("human", "and then?")), "last turn"),
], ids=["unknown-role", "not-alternating", "ends-with-human"])
def test_sharegpt_bad_conversations_are_row_errors_naming_the_field(tmp_path, turns, words):
    error = read_one_error(tmp_path, conversation(*turns), format="sharegpt")
    assert error.field == "conversations"
    assert words in error.message
    assert "conversations" in str(error) and "line 1" in str(error)


# -- openai messages ----------------------------------------------------------------------
def test_openai_messages_with_text_parts_joined(tmp_path):
    row = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": [{"type": "text", "text": "Explain "}, {"type": "text", "text": "NF4."}]},
        {"role": "assistant", "content": "A 4-bit data type."}]}
    opened, (sample,), errors = read(write_jsonl(tmp_path / "oa.jsonl", [row]))
    assert errors == [] and opened.format == "openai"
    assert sample.instruction == "Explain NF4."
    assert sample.output == "A 4-bit data type."
    assert sample.system == "Be brief." and sample.history == [("Hi", "Hello.")]


def test_openai_image_part_is_a_row_error(tmp_path):
    row = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]},
        {"role": "assistant", "content": "A cat."}]}
    error = read_one_error(tmp_path, row, format="openai")
    assert error.field == "messages[0].content"
    assert "image_url" in error.message


# -- --map --------------------------------------------------------------------------------
def test_parse_mapping():
    assert parse_mapping("output=answer,instruction=q") == {"output": "answer", "instruction": "q"}
    assert parse_mapping(" instruction = question , output = answer ,") == {"instruction": "question",
                                                                          "output": "answer"}
    assert parse_mapping("") == {}


@pytest.mark.parametrize("spec", ["output", "answer=output", "output=", "instruction=q,colour=c"])
def test_bad_mapping_is_bad_input(spec):
    with pytest.raises(BadInput, match="--map"):
        parse_mapping(spec)


def test_mapped_columns_are_read(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"q": "What is vLLM?", "answer": "An inference server.",
                                               "ctx": "serving"}])
    opened, (sample,), errors = read(path, mapping=parse_mapping("output=answer,instruction=q,input=ctx"))
    assert errors == [] and opened.format == "alpaca"
    assert (sample.instruction, sample.input, sample.output) == ("What is vLLM?", "serving", "An inference server.")


def test_missing_mapped_column_is_a_row_error_naming_the_column(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"q": "first", "answer": "one"}, {"question": "second", "answer": "two"}])
    _, samples, errors = read(path, mapping={"instruction": "q", "output": "answer"})
    assert [s.instruction for s in samples] == ["first"]
    (error,) = errors
    assert error.field == "q" and "instruction" in error.message and error.line == 2


# -- auto detection -----------------------------------------------------------------------
@pytest.mark.parametrize(("row", "expected"), [
    ({"instruction": "q", "input": "", "output": "a"}, "alpaca"),
    (conversation(("human", "q"), ("gpt", "a")), "sharegpt"),
    ({"messages": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, "sharegpt"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, "openai"),
])
def test_auto_detects_the_format_and_says_which(tmp_path, row, expected):
    opened, (sample,), errors = read(write_jsonl(tmp_path / "d.jsonl", [row]))
    assert errors == []
    assert opened.format == expected
    assert (sample.instruction, sample.output) == ("q", "a")
    assert sample.source.extractor_version.endswith(expected)


def test_undetectable_layout_is_bad_input_listing_the_columns(tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"question": "q", "reply": "a"}])
    opened = open_dataset(DatasetRequest(source=str(path)))
    with pytest.raises(BadInput) as caught:
        list(opened.batches())
    message = str(caught.value)
    assert "question" in message and "reply" in message and "--map" in message
    assert "\n" not in message


# -- JSON files -----------------------------------------------------------------------------
def test_json_array_file(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"instruction": "a", "output": "A"}, ["not", "an", "object"],
                                {"instruction": "b", "output": "B"}]), encoding="utf-8")
    opened, samples, errors = read(path)
    assert opened.total == 3 and not opened.line_numbers
    assert [(s.instruction, s.source.locator["row"]) for s in samples] == [("a", 0), ("b", 2)]
    (error,) = errors
    assert error.row == 1 and "not a JSON object" in error.message


@pytest.mark.parametrize("name, content, message", [
    ("broken.json", '[{"instruction": "a", "output": ', "broken.json"),
    ("cut.jsonl", '{\n  "instruction": "q",\n  "output": \n', "cut.jsonl: .*several lines.*not valid JSON"),
    ("deep.json", "[" * 100_000 + "]" * 100_000, "deep.json: .*nested too deep"),
], ids=["not-json", "pretty-printed-and-cut", "nested-too-deep"])
def test_a_file_that_does_not_parse_is_one_error_naming_it(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput, match=message):
        open_dataset(DatasetRequest(source=str(path)))


def test_jsonl_bad_lines_are_named_and_good_rows_still_convert(tmp_path):
    path = tmp_path / "dirty.jsonl"
    lines = [
        json.dumps({"instruction": "good one", "output": "1"}).encode(),        # line 1
        b'{"instruction": "broken", "output": ',                                # line 2: not JSON
        b'["a", "list"]',                                                       # line 3: not an object
        '{"instruction": "caf\u00e9", "output": "x"}'.encode("latin-1"),         # line 4: not UTF-8
        b"",                                                                    # line 5: blank, skipped
        json.dumps({"instruction": "no answer"}).encode(),                      # line 6: no output
        json.dumps({"instruction": "good two", "output": "2"}).encode(),        # line 7
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    opened, samples, errors = read(path)
    assert [(s.instruction, s.source.locator["row"]) for s in samples] == [("good one", 0), ("good two", 6)]
    assert [(e.line, e.row, e.field) for e in errors] == [(2, 1, None), (3, 2, None), (4, 3, None), (6, 5, "output")]
    assert "not valid JSON" in errors[0].message
    assert "not a JSON object" in errors[1].message
    assert "UTF-8" in errors[2].message
    assert str(errors[3]).startswith("line 6, field 'output'")
    assert opened.line_numbers


ROWS = [{"instruction": "What is NF4?", "output": "A 4-bit data type."}, {"instruction": "Rank?", "output": "16."}]


@pytest.mark.parametrize("content", [{"data": ROWS}, ROWS[0]], ids=["wrapped-rows", "one-row"])
def test_a_pretty_printed_object_in_a_jsonl_file_is_one_error_naming_the_file(tmp_path, content):
    path = tmp_path / "pretty.jsonl"
    path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    with pytest.raises(BadInput) as info:
        open_dataset(DatasetRequest(source=str(path)))
    message = str(info.value)
    assert message.startswith(f"{path}: one JSON object spread over several lines") and "\n" not in message


def test_a_json_file_of_one_object_holding_its_rows_in_a_list_reads_the_rows(tmp_path):
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"version": "1.0", "data": ROWS}, indent=2), encoding="utf-8")
    opened, samples, errors = read(path)
    assert errors == [] and opened.total == 2
    assert [(s.instruction, s.source.locator["row"]) for s in samples] == [("What is NF4?", 0), ("Rank?", 1)]


def test_a_json_file_of_one_pretty_printed_sample_is_one_row(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(ROWS[0], indent=2), encoding="utf-8")
    _, (sample,), errors = read(path)
    assert errors == [] and sample.instruction == "What is NF4?"


@pytest.mark.parametrize("content", ['{"a": 1,\n "b": {"c": 2}}', '{"a": [{"x": 1}],\n "b": [{"c": 2}]}'],
                         ids=["no-list", "two-lists"])
def test_a_json_object_without_one_list_of_rows_is_bad_input_naming_the_file(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput) as info:
        open_dataset(DatasetRequest(source=str(path)))
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


SHAREGPT_ROW = {"conversations": [{"from": "human", "value": "What is NF4?"}, {"from": "gpt", "value": "A type."}]}


@pytest.mark.parametrize(("line", "words"), [
    ('{"instruction": "q", "output": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deep"),
    ('{"instruction": "q \\ud800", "output": "a"}', "field 'instruction': holds a lone surrogate"),
    ('{"instruction": "q", "output": "a", "system": "\\udc00"}', "field 'system': holds a lone surrogate"),
    ('{"instruction": "q", "output": "a", "history": [["\\ud800", "x"]]}', "field 'history': holds a lone surrogate"),
    ('{"conversations": [{"from": "human", "value": "\\ud800"}, {"from": "gpt", "value": "a"}]}',
     "field 'conversations[0].value': holds a lone surrogate"),
    ('{"instruction": "q", "output": ' + "7" * 5000 + "}", "not readable JSON"),
], ids=["deep", "surrogate", "system", "history", "sharegpt", "huge-number"])
def test_hostile_json_lines_are_row_errors(tmp_path, line, words):
    good = SHAREGPT_ROW if "conversations" in line else ROWS[0]  # the first row decides the format
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(good) + "\n" + line + "\n", encoding="utf-8")
    _, samples, errors = read(path)
    assert [s.instruction for s in samples] == ["What is NF4?"]
    (error,) = errors
    assert str(error).startswith("line 2") and words in str(error) and "\n" not in str(error)


def test_a_surrogate_in_a_column_no_field_uses_is_no_error(tmp_path):
    path = tmp_path / "extra.jsonl"
    path.write_text('{"instruction": "q", "output": "a", "note": "\\ud800"}\n', encoding="utf-8")
    _, (sample,), errors = read(path)
    assert errors == [] and sample.source.content_hash


def test_jsonl_with_bom_reads_its_first_line(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"instruction": "q", "output": "a"}).encode() + b"\n")
    _, (sample,), errors = read(path)
    assert errors == [] and sample.instruction == "q"


# -- parquet and csv through datasets -----------------------------------------------------
def test_parquet_file(tmp_path):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table({
        "instruction": ["What is NF4?", "Default rank?"],
        "input": ["", "LoRA"],
        "output": ["A 4-bit data type.", "16"],
        "history": [[["Hi", "Hello."]], []],
    }), path)
    opened, samples, errors = read(path)
    assert errors == [] and opened.format == "alpaca" and opened.total == 2
    assert [(s.instruction, s.input, s.output) for s in samples] == [
        ("What is NF4?", "", "A 4-bit data type."), ("Default rank?", "LoRA", "16")]
    assert samples[0].history == [("Hi", "Hello.")]
    assert [s.source.locator["row"] for s in samples] == [0, 1]


def test_csv_file(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text("instruction,input,output\nWhat is 6 * 7?,,42\n\"Say \"\"hi\"\", please\",ctx,hi\n",
                    encoding="utf-8")
    opened, samples, errors = read(path)
    assert errors == [] and opened.format == "alpaca"
    assert [(s.instruction, s.input, s.output) for s in samples] == [
        ("What is 6 * 7?", "", "42"), ('Say "hi", please', "ctx", "hi")]


def test_csv_with_mapped_columns(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\nWhere are the logs?,In /var/log.\n", encoding="utf-8")
    _, (sample,), errors = read(path, mapping=parse_mapping("instruction=question,output=answer"))
    assert errors == [] and (sample.instruction, sample.output) == ("Where are the logs?", "In /var/log.")


# -- dataset folders, cards and licenses --------------------------------------------------
@pytest.fixture
def carded_folder(tmp_path) -> Path:
    folder = tmp_path / "my-dataset"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: cc-by-nc-4.0\nlanguage:\n- en\n---\n# My dataset\n",
                                      encoding="utf-8")
    write_jsonl(folder / "train.jsonl", [{"instruction": "q1", "output": "a1"}, {"instruction": "q2", "output": "a2"}])
    return folder


def test_dataset_folder_takes_the_license_from_its_card(carded_folder):
    opened, samples, errors = read(carded_folder)
    assert errors == []
    assert (opened.license, opened.license_from) == ("cc-by-nc-4.0", "the dataset card")
    assert [s.instruction for s in samples] == ["q1", "q2"]
    assert all(s.source.license == "cc-by-nc-4.0" for s in samples)
    assert opened.uri.endswith(":train")


def test_license_option_overrides_the_card(carded_folder):
    opened, samples, _ = read(carded_folder, license="mit")
    assert (opened.license, opened.license_from) == ("mit", "--license")
    assert samples and all(s.source.license == "mit" for s in samples)


def test_dataset_folder_with_an_unreadable_card_is_bad_input_naming_it(tmp_path):
    folder = tmp_path / "broken-card"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: [unclosed\n---\n# Broken\n", encoding="utf-8")
    write_jsonl(folder / "train.jsonl", [{"instruction": "q", "output": "a"}])
    with pytest.raises(BadInput) as caught:
        open_dataset(DatasetRequest(source=str(folder)))
    assert str(folder) in str(caught.value) and "\n" not in str(caught.value)


def test_local_file_license_is_unknown_unless_given(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}])
    opened, (sample,), _ = read(path)
    assert (opened.license, opened.license_from, sample.source.license) == ("", "unknown", "")
    opened, (sample,), _ = read(path, license="apache-2.0")
    assert (opened.license, opened.license_from, sample.source.license) == ("apache-2.0", "--license", "apache-2.0")


def test_file_hash_changes_with_content_only(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}])
    first = open_dataset(DatasetRequest(source=str(path))).content_hash
    assert open_dataset(DatasetRequest(source=str(path))).content_hash == first
    write_jsonl(path, [{"instruction": "q", "output": "b"}])
    assert open_dataset(DatasetRequest(source=str(path))).content_hash != first


# -- what cannot be opened ----------------------------------------------------------------
@pytest.mark.parametrize("make", [os.mkfifo, lambda path: path.symlink_to("/dev/zero")], ids=["fifo", "dev-zero"])
def test_a_file_that_is_not_a_regular_file_is_bad_input_naming_it(tmp_path, make):
    path = tmp_path / "data.jsonl"
    make(path)
    with pytest.raises(BadInput) as info:
        open_dataset(DatasetRequest(source=str(path)))
    assert str(info.value).startswith(f"{path}: not a regular file") and "\n" not in str(info.value)


def test_unsupported_suffix_is_bad_input_naming_the_path(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("instruction: q\n", encoding="utf-8")
    with pytest.raises(BadInput) as caught:
        open_dataset(DatasetRequest(source=str(path)))
    assert str(path) in str(caught.value) and "unsupported" in str(caught.value)


def test_missing_path_that_is_not_a_hub_id_is_bad_input_naming_it(tmp_path):
    path = tmp_path / "missing" / "data.jsonl"
    with pytest.raises(BadInput) as caught:
        open_dataset(DatasetRequest(source=str(path)))
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("source", ["data/missing.jsonl", "./relative/missing.jsonl"])
def test_a_missing_data_file_is_no_such_file_even_when_it_looks_like_a_hub_id(source, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match=r"^.*missing\.jsonl: no such file$"):
        open_dataset(DatasetRequest(source=source))


@pytest.mark.parametrize("source", ["not a valid id!", "a/b/c", "-flag"])
def test_invalid_hub_id_is_a_one_line_bad_input(source, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # nothing by that name exists here
    with pytest.raises(BadInput) as caught:
        open_dataset(DatasetRequest(source=source))
    message = str(caught.value)
    assert source in message and "Hugging Face" in message and "\n" not in message


@pytest.fixture
def hub_unreachable(monkeypatch):
    """Point the hub client at a closed local port: a connection attempt fails at once, no network."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_hub_id_in_offline_mode_is_a_one_line_bad_input(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(BadInput) as caught:
        open_dataset(DatasetRequest(source="someone/no-such-dataset"))
    assert "someone/no-such-dataset" in str(caught.value) and "\n" not in str(caught.value)


def test_hub_id_when_the_hub_cannot_be_reached_is_a_one_line_bad_input(hub_unreachable, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput) as caught:
        open_dataset(DatasetRequest(source="someone/no-such-dataset"))
    assert "someone/no-such-dataset" in str(caught.value) and "\n" not in str(caught.value)
