import errno
import json
from pathlib import Path

import pytest

from factory.errors import VersionError
from factory.exports import export_version
from factory.sample import Sample, Source
from factory.versions import freeze_version
from tests.conftest import run_cli

SAMPLES = [
    Sample(instruction="Translate to English", input="你好", output="Hello", system="You translate.",
           source=Source(kind="notes", uri="a.md")),
    Sample(instruction="And this one?", output="Goodbye", history=[("Translate 再见", "Goodbye")],
           source=Source(kind="notes", uri="a.md")),
    Sample(instruction="LoRA 的秩怎么选？", output="从 16 开始。", source=Source(kind="notes", uri="a.md")),
]


@pytest.fixture
def version(ws):
    with ws.open_store() as store:
        store.sync_document("notes", "a.md", "h", "v1", SAMPLES, actor="job")
        store.set_status([s.id for s in SAMPLES], "approved", actor="ana")
    v, _ = freeze_version(ws, "kb", eval_ratio=0)
    return v


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def by_output(rows, key):
    return {key(r): r for r in rows}


def test_alpaca(version, tmp_path):
    export_version(version, "alpaca", tmp_path)
    rows = by_output(load(tmp_path / "train.json"), lambda r: r["output"])
    assert rows["Hello"] == {"instruction": "Translate to English", "input": "你好", "output": "Hello",
                             "system": "You translate."}
    assert rows["Goodbye"]["history"] == [["Translate 再见", "Goodbye"]]
    assert rows["从 16 开始。"]["instruction"] == "LoRA 的秩怎么选？"  # not \u-escaped on disk
    assert "LoRA 的秩怎么选" in (tmp_path / "train.json").read_text(encoding="utf-8")
    assert load(tmp_path / "eval.json") == []


def test_sharegpt(version, tmp_path):
    export_version(version, "sharegpt", tmp_path)
    rows = by_output(load(tmp_path / "train.json"), lambda r: r["conversations"][-1]["value"])
    assert rows["Hello"] == {"conversations": [{"from": "human", "value": "Translate to English\n\n你好"},
                                               {"from": "gpt", "value": "Hello"}], "system": "You translate."}
    assert [t["from"] for t in rows["Goodbye"]["conversations"]] == ["human", "gpt", "human", "gpt"]


def test_openai(version, tmp_path):
    export_version(version, "openai", tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    rows = by_output(rows, lambda r: r["messages"][-1]["content"])
    assert [m["role"] for m in rows["Hello"]["messages"]] == ["system", "user", "assistant"]
    assert rows["Goodbye"]["messages"][:2] == [{"role": "user", "content": "Translate 再见"},
                                               {"role": "assistant", "content": "Goodbye"}]


def test_llamafactory_rows_carry_every_declared_column(version, tmp_path):
    export_version(version, "llamafactory", tmp_path)
    info = load(tmp_path / "dataset_info.json")
    assert set(info) == {"kb_train", "kb_eval"}
    for entry in info.values():
        assert entry["formatting"] == "alpaca"
        rows = load(tmp_path / entry["file_name"])
        for row in rows:
            # LLaMA-Factory's alpaca converter indexes each declared column on every row
            for column in entry["columns"].values():
                assert column in row
            assert isinstance(row["history"], list) and all(len(turn) == 2 for turn in row["history"])
            assert isinstance(row["system"], str)
    assert len(load(tmp_path / "kb_train.json")) == 3


def test_export_refuses_a_tampered_version(version, tmp_path):
    train = version.path / "train.jsonl"
    train.chmod(0o644)
    train.write_text(train.read_text().replace("Hello", "Hullo"))
    with pytest.raises(VersionError, match="does not verify"):
        export_version(version, "alpaca", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def one_line_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_export_onto_an_existing_file_is_one_line(version, ws, tmp_path):
    taken = tmp_path / "taken.json"
    taken.write_text("mine\n")
    line = one_line_error(run_cli("export", "kb@v1", "--format", "alpaca", "--out", str(taken), cwd=ws.root,
                                  check=False))
    assert str(taken) in line and "not a folder" in line
    assert taken.read_text() == "mine\n"


@pytest.mark.parametrize("inside", [".factory/versions/kb/v1/out", ".factory/versions/kb/v1", ".factory/versions"])
def test_export_into_the_versions_folder_is_refused(version, ws, inside):
    line = one_line_error(run_cli("export", "kb@v1", "--format", "alpaca", "--out", inside, cwd=ws.root,
                                  check=False))
    assert ".factory/versions" in line
    assert sorted(p.name for p in version.path.iterdir()) == ["README.md", "eval.jsonl", "manifest.json",
                                                              "train.jsonl"]
    assert run_cli("verify", "kb@v1", cwd=ws.root).returncode == 0


def test_a_full_disk_leaves_no_partial_file(version, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export_version(version, "alpaca", out)  # an earlier, whole export
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_write_text = Path.write_text

    def disk_full(self, data, *args, **kwargs):
        if "eval" in self.name:  # the second file: the first one was written whole
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(VersionError) as failed:
        export_version(version, "alpaca", out)
    message = str(failed.value)
    assert "\n" not in message and str(out / "eval.json") in message and "No space left" in message
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier export, untouched
    fresh = tmp_path / "fresh"
    with pytest.raises(VersionError):
        export_version(version, "alpaca", fresh)
    assert list(fresh.iterdir()) == []  # no half-written file, no temporary left behind
