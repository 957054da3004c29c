"""`factory import`: open datasets into the store, in batches, safe to re-run, kill and change.

Real files in the workspace, the real SQLite store; the only stand-in is a wrapper around
`Store.sync_batch` that raises KeyboardInterrupt, to kill an import between two batches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from factory import importing
from factory.errors import BadInput
from factory.importing import import_dataset
from factory.store import SampleFilter, Store
from sources.open_datasets import DatasetRequest
from tests.conftest import run_cli


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def qa(i: int, answer: str | None = None) -> dict[str, str]:
    return {"instruction": f"What does option {i} do?", "output": answer or f"Option {i} sets knob {i}."}


def live(ws) -> dict[str, str]:
    """instruction -> status of every live sample."""
    with ws.open_store() as store:
        return {s.instruction: s.status for s in store.samples()}


def request(path: Path, **options: Any) -> DatasetRequest:
    return DatasetRequest(source=str(path), **options)


@pytest.fixture
def data(ws) -> Path:
    return write_jsonl(ws.root / "data.jsonl", [qa(0), qa(1), qa(2)])


# -- first import, re-import, licenses ----------------------------------------------------
def test_import_adds_every_row_with_provenance_and_license(ws, data):
    result = import_dataset(ws, request(data, license="mit"))
    assert (result.format, result.rows, result.bad_rows, result.unchanged_source) == ("alpaca", 3, 0, False)
    assert (result.uri, result.license, result.license_from, result.non_commercial) == (
        "data.jsonl", "mit", "--license", False)
    job = result.job
    assert (job.kind, job.state, job.added, job.updated, job.retired, job.errors) == ("import", "completed", 3, 0, 0, 0)
    with ws.open_store() as store:
        samples = store.samples()
        doc = store.document("dataset", "data.jsonl")
    assert sorted(s.source.locator["row"] for s in samples) == [0, 1, 2]
    assert all(s.source.kind == "dataset" and s.source.uri == "data.jsonl" for s in samples)
    assert all(s.source.license == "mit" and s.status == "pending" for s in samples)
    assert doc is not None and doc.meta["format"] == "alpaca" and doc.meta["rows"] == 3


def test_dataset_card_license_is_kept_on_every_sample(ws):
    folder = ws.root / "corpus"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# Corpus\n", encoding="utf-8")
    write_jsonl(folder / "train.jsonl", [qa(0), qa(1)])
    result = import_dataset(ws, request(folder))
    assert (result.license, result.license_from, result.non_commercial) == ("cc-by-nc-4.0", "the dataset card", True)
    with ws.open_store() as store:
        samples = store.samples()
        assert store.stats()["by_license"] == {"cc-by-nc-4.0": 2}
    assert len(samples) == 2 and {s.source.license for s in samples} == {"cc-by-nc-4.0"}


def test_reimporting_the_same_file_adds_nothing(ws, data):
    import_dataset(ws, request(data))
    again = import_dataset(ws, request(data))
    assert again.unchanged_source and again.job.state == "completed"
    assert (again.job.added, again.job.updated, again.job.retired) == (0, 0, 0)
    with ws.open_store() as store:
        assert store.count(SampleFilter(include_retired=True)) == 3
        assert [j.state for j in store.jobs()] == ["completed", "completed"]


def test_reimporting_with_other_options_reads_again_but_adds_nothing(ws, data):
    import_dataset(ws, request(data))
    again = import_dataset(ws, request(data, format="alpaca"))
    assert not again.unchanged_source
    assert (again.job.added, again.job.retired) == (0, 0)
    assert len(live(ws)) == 3


def test_reimporting_with_another_license_relicenses_the_samples(ws, data):
    import_dataset(ws, request(data, license="mit"))
    again = import_dataset(ws, request(data, license="cc-by-nc-4.0"))
    assert not again.unchanged_source and again.job.added == 0 and again.non_commercial
    with ws.open_store() as store:
        assert {s.source.license for s in store.samples()} == {"cc-by-nc-4.0"}
        assert store.stats()["by_license"] == {"cc-by-nc-4.0": 3}


def test_a_license_given_once_is_kept_when_a_changed_file_is_imported_without_it(ws, data):
    import_dataset(ws, request(data, license="cc-by-nc-4.0"))
    write_jsonl(data, [qa(0), qa(1), qa(2), qa(3)])
    again = import_dataset(ws, request(data))
    assert again.license == "cc-by-nc-4.0" and again.license_from == "the previous import"
    with ws.open_store() as store:
        assert {s.source.license for s in store.samples()} == {"cc-by-nc-4.0"}


def test_duplicate_rows_are_one_sample_counted_as_repeated(ws):
    path = write_jsonl(ws.root / "dups.jsonl", [qa(0), qa(1), qa(0)])
    result = import_dataset(ws, request(path))
    assert (result.rows, result.repeated, result.job.added) == (3, 1, 2)
    assert len(live(ws)) == 2


# -- changed files --------------------------------------------------------------------------
def test_changed_file_retires_gone_rows_and_keeps_unchanged_approvals(ws, data):
    import_dataset(ws, request(data))
    with ws.open_store() as store:
        store.set_status(store.ids(), "approved", actor="ana")
    # row 1 removed, row 2 answered differently, a new row first: row 0 moves to index 1
    write_jsonl(data, [qa(9), qa(0), qa(2, "Option 2 now sets nothing.")])
    result = import_dataset(ws, request(data))
    assert (result.job.added, result.job.retired) == (2, 2)
    assert live(ws) == {"What does option 9 do?": "pending", "What does option 0 do?": "approved",
                        "What does option 2 do?": "pending"}
    with ws.open_store() as store:
        (kept,) = store.samples(SampleFilter(text="option 0"))
        assert kept.source.locator["row"] == 1  # points at where the row is now
        assert store.count(SampleFilter(include_retired=True)) == 5  # retired, not deleted
        (changed,) = store.samples(SampleFilter(text="now sets nothing"))
        assert changed.output == "Option 2 now sets nothing."


# -- bad rows and failures ----------------------------------------------------------------
def test_bad_rows_are_named_and_good_rows_still_land(ws):
    path = write_jsonl(ws.root / "dirty.jsonl", [qa(0), {"instruction": "no answer"}, "{not json", qa(3)])
    result = import_dataset(ws, request(path))
    assert (result.rows, result.bad_rows, result.job.added, result.job.errors) == (4, 2, 2, 2)
    assert result.job.state == "completed"
    assert set(live(ws)) == {"What does option 0 do?", "What does option 3 do?"}
    errors = [e["error"] for e in result.job.error_log]
    assert errors[0].startswith("line 2, field 'output'") and "missing" in errors[0]
    assert errors[1].startswith("line 3") and "not valid JSON" in errors[1]
    assert all(e["file"] == "dirty.jsonl" for e in result.job.error_log)
    assert [e["row"] for e in result.job.error_log] == ["1", "2"]


def test_a_row_turning_bad_keeps_the_sample_it_yielded(ws, data):
    import_dataset(ws, request(data))
    with ws.open_store() as store:
        store.set_status(store.ids(), "approved", actor="ana")
    lines = data.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1][:-5]  # the same row, now cut off: not JSON
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_dataset(ws, request(data))
    assert result.bad_rows == 1 and result.job.errors == 1
    assert result.job.retired == 0
    assert live(ws) == {"What does option 0 do?": "approved", "What does option 1 do?": "approved",
                        "What does option 2 do?": "approved"}


def test_a_row_turning_bad_below_an_inserted_row_keeps_what_it_yielded(ws):
    data = write_jsonl(ws.root / "data.jsonl", [qa(i) for i in range(6)])
    import_dataset(ws, request(data))
    with ws.open_store() as store:
        store.set_status(store.ids(), "approved", actor="ana")
    rows = [json.dumps(qa(i)) for i in range(6)]
    rows[3] = rows[3][:-5]  # option 3 turns unreadable ...
    del rows[5]  # ... option 5 is really gone ...
    write_jsonl(data, [json.dumps(qa(9)), *rows])  # ... and a new row above shifts every row number by one
    result = import_dataset(ws, request(data))
    assert (result.bad_rows, result.job.added, result.job.retired) == (1, 1, 1)
    assert live(ws) == {**{f"What does option {i} do?": "approved" for i in range(5)},
                        "What does option 9 do?": "pending"}


def test_rows_turning_bad_at_the_ends_keep_what_they_yielded(ws):
    data = write_jsonl(ws.root / "data.jsonl", [qa(i) for i in range(4)])
    import_dataset(ws, request(data))
    rows = [json.dumps(qa(i)) for i in range(4)]
    write_jsonl(data, ["{not json", json.dumps(qa(7)), *rows[1:3], "[1, 2"])  # options 0 and 3 turn unreadable
    result = import_dataset(ws, request(data))
    assert (result.bad_rows, result.job.retired) == (2, 0)
    assert set(live(ws)) == {f"What does option {i} do?" for i in (0, 1, 2, 3, 7)}


def test_a_failed_import_keeps_everything_stored_before(ws, data):
    import_dataset(ws, request(data))
    with ws.open_store() as store:
        store.set_status(store.ids(), "approved", actor="ana")
    write_jsonl(data, [{"question": "q", "reply": "a"}])  # no format can be told from these columns
    with pytest.raises(BadInput, match="question"):
        import_dataset(ws, request(data))
    assert live(ws) == {f"What does option {i} do?": "approved" for i in range(3)}
    with ws.open_store() as store:
        assert [j.state for j in store.jobs()] == ["failed", "completed"]
        assert store.count(SampleFilter(include_retired=True)) == 3


def test_a_failed_import_records_its_error_for_factory_jobs(ws, data):
    write_jsonl(data, [{"question": "q", "reply": "a"}])
    with pytest.raises(BadInput):
        import_dataset(ws, request(data))
    (job, *_) = json.loads(run_cli("jobs", "--json", cwd=ws.root).stdout)
    assert (job["state"], job["errors"]) == ("failed", 0)  # no bad row; the log says why the import failed
    (error,) = job["error_log"]
    assert error["file"] == "data.jsonl" and "cannot tell the format" in error["error"] and "\n" not in error["error"]
    assert "cannot tell the format" in run_cli("jobs", cwd=ws.root).stdout


def test_a_missing_file_is_bad_input_and_no_job(ws):
    with pytest.raises(BadInput, match="nope.jsonl"):
        import_dataset(ws, request(ws.root / "nope.jsonl"))
    with ws.open_store() as store:
        assert store.jobs() == []


# -- batches and killed imports -----------------------------------------------------------
@pytest.fixture
def batch_calls(monkeypatch) -> dict[str, Any]:
    """Small batches, and every `Store.sync_batch` call recorded; set `fail_on` to kill one call."""
    monkeypatch.setattr(importing, "BATCH_ROWS", 4)
    state: dict[str, Any] = {"sizes": [], "fail_on": set()}
    original = Store.sync_batch

    def sync_batch(self, source_kind, uri, samples, **kwargs):
        state["sizes"].append(len(samples))
        if len(state["sizes"]) in state["fail_on"]:
            raise KeyboardInterrupt
        return original(self, source_kind, uri, samples, **kwargs)

    monkeypatch.setattr(Store, "sync_batch", sync_batch)
    return state


def test_large_inputs_are_stored_batch_by_batch(ws, batch_calls):
    path = write_jsonl(ws.root / "big.jsonl", [qa(i) for i in range(10)])
    seen = []
    result = import_dataset(ws, request(path), progress=lambda done, total: seen.append((done, total)))
    assert batch_calls["sizes"] == [4, 4, 2]
    assert [done for done, _ in seen] == [4, 8, 10]
    assert result.job.added == 10 and len(live(ws)) == 10


def test_killed_import_is_interrupted_and_the_next_run_finishes_it_exactly_once(ws, batch_calls):
    path = write_jsonl(ws.root / "big.jsonl", [qa(i) for i in range(10)])
    batch_calls["fail_on"] = {2}
    with pytest.raises(KeyboardInterrupt):
        import_dataset(ws, request(path))
    with ws.open_store() as store:
        (job,) = store.jobs()
        assert job.state == "interrupted" and job.finished_at
        assert store.count() == 4  # the first batch, whole
        assert store.document("dataset", "big.jsonl") is None  # not recorded as imported
        assert store.integrity_check() == "ok"
    batch_calls["fail_on"] = set()
    result = import_dataset(ws, request(path))
    assert not result.unchanged_source
    assert (result.job.state, result.job.added, result.job.updated, result.job.retired) == ("completed", 6, 0, 0)
    assert result.repeated == 0
    with ws.open_store() as store:
        samples = store.samples(SampleFilter(include_retired=True))
        assert [j.state for j in store.jobs()] == ["completed", "interrupted"]
    assert len(samples) == 10 and len({s.id for s in samples}) == 10
    assert sorted(s.instruction for s in samples) == sorted(qa(i)["instruction"] for i in range(10))
    assert sorted(s.source.locator["row"] for s in samples) == list(range(10))
    assert import_dataset(ws, request(path)).unchanged_source  # and now it is done


def test_killed_reimport_of_a_changed_file_loses_nothing(ws, batch_calls):
    path = write_jsonl(ws.root / "big.jsonl", [qa(i) for i in range(10)])
    import_dataset(ws, request(path))
    with ws.open_store() as store:
        store.set_status(store.ids(), "approved", actor="ana")
    write_jsonl(path, [qa(i) for i in range(10, 15)] + [qa(i) for i in range(5, 10)])  # 0-4 gone, 10-14 new
    batch_calls["sizes"].clear()
    batch_calls["fail_on"] = {2}
    with pytest.raises(KeyboardInterrupt):
        import_dataset(ws, request(path))
    assert len(live(ws)) == 10 + 4  # the 10 old ones, none retired, plus the 4 new ones of the first batch
    assert all(live(ws)[qa(i)["instruction"]] == "approved" for i in range(10))
    batch_calls["fail_on"] = set()
    result = import_dataset(ws, request(path))
    assert (result.job.state, result.job.retired) == ("completed", 5)
    assert live(ws) == {**{qa(i)["instruction"]: "approved" for i in range(5, 10)},
                        **{qa(i)["instruction"]: "pending" for i in range(10, 15)}}


# -- general pools --------------------------------------------------------------------------
def test_pool_import_makes_general_samples_named_by_the_pool(ws, data):
    result = import_dataset(ws, request(data, license="apache-2.0"), pool="gen")
    assert result.job.added == 3 and result.job.source == "general:gen"
    with ws.open_store() as store:
        samples = store.samples()
        assert store.document("general", "gen") is not None
        assert store.count(SampleFilter(include_general=False)) == 0
        assert store.stats()["by_source"] == {"general": 3}
    assert {(s.source.kind, s.source.uri, s.source.license) for s in samples} == {("general", "gen", "apache-2.0")}
    assert sorted((s.source.locator["dataset"], s.source.locator["row"]) for s in samples) == [
        ("data.jsonl", 0), ("data.jsonl", 1), ("data.jsonl", 2)]
    assert import_dataset(ws, request(data, license="apache-2.0"), pool="gen").unchanged_source


def test_bad_pool_name_is_bad_input(ws, data):
    with pytest.raises(BadInput, match="--pool"):
        import_dataset(ws, request(data), pool="no spaces/please")


def test_ls_hides_general_pool_samples_unless_asked(ws, data):
    import_dataset(ws, request(data), pool="gen")
    other = write_jsonl(ws.root / "mine.jsonl", [{"instruction": "Where is the VPN guide?", "output": "In the wiki."}])
    import_dataset(ws, request(other))

    def listed(*args: str) -> list[dict[str, Any]]:
        out = run_cli("ls", "--json", *args, cwd=ws.root).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    assert [s["instruction"] for s in listed()] == ["Where is the VPN guide?"]
    general = listed("--source", "general")
    assert sorted(s["instruction"] for s in general) == sorted(qa(i)["instruction"] for i in range(3))
    assert {s["source"]["kind"] for s in general} == {"general"}
    table = run_cli("ls", cwd=ws.root, env={"COLUMNS": "200"}).stdout  # wide: no instruction is folded
    assert "Where is the VPN guide?" in table
    assert "What does option" not in table
    assert "What does option 0 do?" in run_cli("ls", "--source", "general", cwd=ws.root, env={"COLUMNS": "200"}).stdout


# -- the CLI --------------------------------------------------------------------------------
@pytest.fixture
def mixed(ws) -> Path:
    """Two ShareGPT conversations and one with no answer (line 3)."""
    def conv(*turns):
        return {"conversations": [{"from": w, "value": t} for w, t in turns]}

    return write_jsonl(ws.root / "data.jsonl", [
        conv(("human", "What is NF4?"), ("gpt", "A 4-bit data type.")),
        conv(("system", "Be brief."), ("human", "Hi"), ("gpt", "Hello."), ("human", "Rank?"), ("gpt", "16.")),
        conv(("human", "Anyone?")),
    ])


def test_cli_import_says_the_format_and_the_counts(ws, mixed):
    result = run_cli("import", "data.jsonl", cwd=ws.root)
    assert "data.jsonl: 3 rows read as sharegpt" in result.stdout
    assert "2 added" in result.stdout and "1 bad rows skipped" in result.stdout
    assert "license: unknown" in result.stdout
    assert "line 3" in result.stderr and "conversations" in result.stderr  # the bad row is logged
    again = run_cli("import", "data.jsonl", cwd=ws.root)
    assert "unchanged" in again.stdout and "nothing to do" in again.stdout
    assert len(live(ws)) == 2


def test_cli_import_json(ws, mixed):
    result = json.loads(run_cli("import", "data.jsonl", "--license", "cc-by-4.0", "--json", cwd=ws.root).stdout)
    assert (result["uri"], result["format"], result["rows"], result["bad_rows"]) == ("data.jsonl", "sharegpt", 3, 1)
    assert (result["license"], result["license_from"], result["non_commercial"]) == ("cc-by-4.0", "--license", False)
    assert result["job"]["added"] == 2 and result["job"]["state"] == "completed"
    assert result["unchanged_source"] is False


def test_cli_non_commercial_license_warns(ws, mixed):
    result = run_cli("import", "data.jsonl", "--license", "cc-by-nc-sa-4.0", cwd=ws.root)
    assert "license: cc-by-nc-sa-4.0 (from --license)" in result.stdout
    assert "warning" in result.stderr and "commercial" in result.stderr


def test_cli_map_and_format_options(ws):
    write_jsonl(ws.root / "faq.jsonl", [{"q": "Where are the logs?", "answer": "In /var/log."}])
    result = run_cli("import", "faq.jsonl", "--map", "instruction=q,output=answer", "--json", cwd=ws.root)
    assert json.loads(result.stdout)["job"]["added"] == 1
    assert live(ws) == {"Where are the logs?": "pending"}


@pytest.mark.parametrize(("args", "words"), [
    (("--format", "xml"), "--format"),
    (("--map", "answer"), "--map"),
    (("--pool", "bad name!"), "--pool"),
], ids=["format", "map", "pool"])
def test_cli_bad_options_exit_1_with_one_line(ws, mixed, args, words):
    result = run_cli("import", "data.jsonl", *args, cwd=ws.root, check=False)
    assert result.returncode == 1
    assert words in result.stderr and "error" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert live(ws) == {}


def test_cli_missing_file_exits_1_with_one_line(ws):
    result = run_cli("import", "./missing.jsonl", cwd=ws.root, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "missing.jsonl" in result.stderr


def test_cli_unreachable_hub_exits_1_with_one_line(ws):
    # a closed local port: the hub client fails to connect at once, nothing leaves this machine
    result = run_cli("import", "someone/no-such-dataset", cwd=ws.root, check=False,
                     env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "someone/no-such-dataset" in result.stderr


def test_cli_pretty_printed_jsonl_exits_1_with_one_line_naming_the_file(ws):
    (ws.root / "pretty.jsonl").write_text(json.dumps({"data": [qa(0), qa(1)]}, indent=2), encoding="utf-8")
    result = run_cli("import", "pretty.jsonl", cwd=ws.root, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "pretty.jsonl" in line and "several lines" in line


@pytest.mark.parametrize(("name", "content"), [("bad.parquet", b"PAR1 not really parquet"),
                                               ("bad.csv", b'instruction,output\n"open quote,x\n')])
def test_cli_unreadable_parquet_or_csv_is_one_line(ws, name, content):
    (ws.root / name).write_bytes(content)
    result = run_cli("import", name, cwd=ws.root, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {name}: ")


def test_cli_jobs_lists_the_import_with_its_bad_rows(ws):
    write_jsonl(ws.root / "dirty.jsonl", [qa(0), {"instruction": None, "output": "x"}, {"instruction": "q"}])
    run_cli("import", "dirty.jsonl", cwd=ws.root)
    (job, *_) = json.loads(run_cli("jobs", "--json", cwd=ws.root).stdout)
    assert (job["kind"], job["source"], job["state"], job["errors"]) == ("import", "dataset:dirty.jsonl",
                                                                         "completed", 2)
    errors = [e["error"] for e in job["error_log"]]
    assert errors[0].startswith("line 2, field 'instruction'")
    assert errors[1].startswith("line 3, field 'output'")
    table = run_cli("jobs", cwd=ws.root).stdout
    assert "line 2, field 'instruction'" in table


def test_cli_status_counts_by_license(ws, mixed):
    run_cli("import", "data.jsonl", "--license", "mit", cwd=ws.root)
    write_jsonl(ws.root / "more.jsonl", [qa(0)])
    run_cli("import", "more.jsonl", cwd=ws.root)
    stats = json.loads(run_cli("status", "--json", cwd=ws.root).stdout)
    assert stats["by_license"] == {"mit": 2, "unknown": 1}
    assert stats["by_source"] == {"dataset": 3}
