"""A frozen version is what the store recorded at freeze: edits to its manifest, swapped-in folders and
damaged manifests are caught by `verify` and refused by `train` and `export`, one line each."""

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from factory.errors import VersionError
from factory.sample import Sample, Source
from factory.versions import canonical_line, freeze_version, resolve_version, verify_version, version_record
from factory.workspace import Workspace, init_workspace
from tests.conftest import run_cli, varied_text
from train.trainer import frozen_version

NC = "cc-by-nc-4.0"


def make_samples(n: int, start: int = 0, license: str = NC) -> list[Sample]:
    return [Sample(instruction=f"Question {i}: {varied_text(i)}", output=varied_text(10_000 + i, words=20),
                   source=Source(kind="notes", uri="notes/a.md", license=license), lang="en")
            for i in range(start, start + n)]


def approve(ws: Workspace, samples: list[Sample], doc: str = "notes/a.md") -> None:
    with ws.open_store() as store:
        store.sync_document("notes", doc, "h", "v1", samples, actor="job")
        store.set_status([s.id for s in samples], "approved", actor="ana")


def writable(folder: Path) -> None:
    for path in folder.iterdir():
        path.chmod(0o644)


def edit_manifest(folder: Path, change: Callable[[dict], None]) -> None:
    writable(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def one_line_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def two_versions(ws):
    """kb@v1 and kb@v2 (its child), under a non-commercial license."""
    approve(ws, make_samples(20))
    freeze_version(ws, "kb", eval_ratio=0.2)
    approve(ws, make_samples(5, start=20), doc="notes/b.md")
    freeze_version(ws, "kb", eval_ratio=0.2)
    return ws


# -- 1. the manifest and the store's record -----------------------------------------------------
def test_new_versions_are_recorded_in_the_store_and_bump_the_format(ws):
    approve(ws, make_samples(10))
    version, _ = freeze_version(ws, "kb")
    assert version.manifest["format"] == "factory-version/2"
    with ws.open_store() as store:
        record = store.version_hashes("kb", 1)
    assert record is not None and record.dataset_hash == version.dataset_hash
    assert record.manifest_hash == hashlib.sha256((version.path / "manifest.json").read_bytes()).hexdigest()
    assert verify_version(version) == []


MANIFEST_EDITS: dict[str, Callable[[dict], None]] = {
    "licenses": lambda m: m["licenses"].update(non_commercial=[], by_license={"cc-by-4.0": 25}),
    "counts": lambda m: m["counts"].update(train=m["counts"]["train"] + 100),
    "sources": lambda m: [s.update(license="cc-by-4.0") for s in m["sources"]],
    "parent": lambda m: m.update(parent=None),
    "check_config": lambda m: m["check_config"].update(near_duplicate_threshold=10),
    "eval_ratio": lambda m: m["eval_ratio"].update(asked=0.5),
}


@pytest.mark.parametrize("edit", sorted(MANIFEST_EDITS))
def test_an_edited_manifest_fails_verify_and_training_refuses_it(two_versions, edit):
    ws = two_versions
    edit_manifest(ws.versions_dir / "kb" / "v2", MANIFEST_EDITS[edit])
    assert verify_version(resolve_version(ws, "kb@v2")) != []
    with pytest.raises(VersionError, match="kb@v2 does not verify"):
        frozen_version(ws, "kb@v2")
    assert verify_version(resolve_version(ws, "kb@v1")) == []  # its parent is untouched


def test_emptying_non_commercial_is_caught_from_the_command_line(two_versions):
    ws = two_versions
    edit_manifest(ws.versions_dir / "kb" / "v2", MANIFEST_EDITS["licenses"])
    result = run_cli("verify", "kb@v2", cwd=ws.root, check=False)
    assert result.returncode == 1 and "manifest" in result.stderr and "Traceback" not in result.stderr
    line = one_line_error(run_cli("train", "--dataset", "kb@v2", "--base-model", "./missing-model",
                                  cwd=ws.root, check=False))
    assert "kb@v2 does not verify" in line and "refusing to train" in line


def test_deleting_eval_with_its_manifest_entry_fails_verify_and_export(two_versions, tmp_path):
    ws = two_versions
    folder = ws.versions_dir / "kb" / "v2"
    edit_manifest(folder, lambda m: m["files"].pop("eval.jsonl"))
    (folder / "eval.jsonl").unlink()
    result = run_cli("verify", "kb@v2", cwd=ws.root, check=False)
    assert result.returncode == 1 and "eval.jsonl: missing" in result.stderr
    line = one_line_error(run_cli("export", "kb@v2", "--format", "alpaca", "--out", str(tmp_path / "out"),
                                  cwd=ws.root, check=False))
    assert "kb@v2 does not verify" in line
    assert not (tmp_path / "out").exists()


def test_a_self_consistent_folder_with_an_injected_record_fails(ws, tmp_path):
    """Every hash in the folder agrees with its manifest (it was frozen for real, elsewhere, with one
    record more); only the store's record shows it is not the kb@v1 this workspace froze."""
    approve(ws, make_samples(10))
    freeze_version(ws, "kb")
    elsewhere = init_workspace(tmp_path / "elsewhere")
    approve(elsewhere, make_samples(10) + make_samples(1, start=500))
    forged, _ = freeze_version(elsewhere, "kb")
    assert verify_version(forged) == []
    shutil.rmtree(ws.versions_dir / "kb" / "v1")
    shutil.copytree(forged.path, ws.versions_dir / "kb" / "v1")
    problems = verify_version(resolve_version(ws, "kb@v1"))
    assert problems and all("store" in p for p in problems), problems
    result = run_cli("verify", "kb@v1", cwd=ws.root, check=False)
    assert result.returncode == 1 and "store" in result.stderr


def test_a_new_format_folder_the_store_never_froze_fails(ws, tmp_path):
    approve(ws, make_samples(10))
    freeze_version(ws, "other")  # the store has records, none for kb
    elsewhere = init_workspace(tmp_path / "elsewhere")
    approve(elsewhere, make_samples(10))
    copied, _ = freeze_version(elsewhere, "kb")
    shutil.copytree(copied.path, ws.versions_dir / "kb" / "v1")
    line = one_line_error(run_cli("verify", "kb@v1", cwd=ws.root, check=False))
    assert "not recorded in this workspace's store" in line


def test_a_folder_whose_manifest_names_another_version_fails(ws):
    approve(ws, make_samples(10))
    v1, _ = freeze_version(ws, "kb")
    approve(ws, make_samples(3, start=10), doc="notes/b.md")
    freeze_version(ws, "kb")
    shutil.rmtree(ws.versions_dir / "kb" / "v2")
    shutil.copytree(v1.path, ws.versions_dir / "kb" / "v2")  # an old version passed off as the new one
    assert any("kb@v1" in p for p in verify_version(resolve_version(ws, "kb@v2")))


# -- versions frozen before the store kept records ----------------------------------------------
def write_legacy_version(ws: Workspace, name: str, number: int, samples: list[Sample]) -> Path:
    """A version as `factory-version/1` wrote it: a dataset hash over the data files only, no store record."""
    folder = ws.versions_dir / name / f"v{number}"
    folder.mkdir(parents=True)
    lines = {"train.jsonl": [canonical_line(version_record(s)) for s in samples[1:]],
             "eval.jsonl": [canonical_line(version_record(samples[0]))]}
    files = {}
    for filename, content in lines.items():
        (folder / filename).write_text("".join(content), encoding="utf-8")
        files[filename] = {"sha256": hashlib.sha256("".join(content).encode()).hexdigest(), "records": len(content)}
    (folder / "README.md").write_text(f"# {name}@v{number}\n", encoding="utf-8")
    files["README.md"] = {"sha256": hashlib.sha256((folder / "README.md").read_bytes()).hexdigest(),
                          "bytes": (folder / "README.md").stat().st_size}
    text = "".join(f"{f}:{files[f]['sha256']}\n" for f in ("train.jsonl", "eval.jsonl"))
    manifest = {"format": "factory-version/1", "name": name, "version": number, "ref": f"{name}@v{number}",
                "created_at": "2024-01-01T00:00:00Z", "factory_version": "0.1.0", "parent": None, "seed": 0,
                "eval_ratio": {"asked": 0.1, "achieved": 0.1}, "general": None,
                "counts": {"total": len(samples), "train": len(samples) - 1, "eval": 1, "general_eval": 0,
                           "by_source": {"notes": len(samples)}, "by_lang": {"en": len(samples)}},
                "licenses": {"by_license": {NC: len(samples)}, "non_commercial": [NC]}, "sources": [],
                "check_config": {}, "files": files, "dataset_hash": hashlib.sha256(text.encode()).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def test_a_legacy_version_verifies_by_its_own_rules_with_a_note(ws, tmp_path):
    write_legacy_version(ws, "kb", 1, make_samples(6))
    result = run_cli("verify", "kb@v1", cwd=ws.root)
    assert "kb@v1 verified" in result.stdout
    assert "not recorded in the store" in result.stdout + result.stderr
    assert "not recorded in the store" in run_cli("versions", cwd=ws.root).stdout
    run_cli("export", "kb@v1", "--format", "alpaca", "--out", str(tmp_path / "out"), cwd=ws.root)
    assert len(json.loads((tmp_path / "out" / "train.json").read_text())) == 5
    # training accepts it: the refusal is about the base model, not the version
    result = run_cli("train", "--dataset", "kb@v1", "--base-model", "./missing-model", cwd=ws.root, check=False)
    assert "--base-model ./missing-model: no such folder" in result.stderr
    # and its own hashes still catch an edit
    train = ws.versions_dir / "kb" / "v1" / "train.jsonl"
    train.write_text(train.read_text().replace('"output":"', '"output":"X', 1))
    assert verify_version(resolve_version(ws, "kb@v1")) != []


def test_a_legacy_folder_numbered_after_a_recorded_version_fails(ws):
    approve(ws, make_samples(6))
    freeze_version(ws, "kb")
    write_legacy_version(ws, "kb", 2, make_samples(7))
    line = one_line_error(run_cli("verify", "kb@v2", cwd=ws.root, check=False))
    assert "not recorded in the store" in line and "kb@v1" in line


def test_freezing_after_a_legacy_version_records_the_next_one(ws):
    write_legacy_version(ws, "kb", 1, make_samples(6))
    approve(ws, make_samples(8))
    v2, _ = freeze_version(ws, "kb")
    assert v2.version == 2 and v2.manifest["parent"]["ref"] == "kb@v1"
    assert verify_version(v2) == []


# -- 2. one damaged version breaks nothing else -------------------------------------------------
@pytest.fixture
def damaged(ws):
    approve(ws, make_samples(10))
    freeze_version(ws, "kb")
    approve(ws, make_samples(3, start=10), doc="notes/b.md")
    freeze_version(ws, "kb")
    freeze_version(ws, "other")
    manifest = ws.versions_dir / "kb" / "v2" / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text('{"format": "factory-version/2", "name": ', encoding="utf-8")
    return ws


def test_a_corrupt_manifest_marks_only_that_version_damaged(damaged):
    ws = damaged
    listed = run_cli("versions", cwd=ws.root).stdout
    lines = {line.split()[0]: line for line in listed.splitlines() if line.strip()}
    assert "damaged" in lines["kb@v2"] and "damaged" not in lines["kb@v1"] + lines["other@v1"]
    as_json = {v["ref"]: v for v in json.loads(run_cli("versions", "--json", cwd=ws.root).stdout)}
    assert as_json["kb@v2"]["damaged"] and as_json["kb@v1"]["damaged"] is None
    line = one_line_error(run_cli("verify", "kb@v2", cwd=ws.root, check=False))
    assert "kb@v2" in line and "damaged" in line and "manifest.json" in line
    for ref in ("kb@v1", "other@v1"):
        assert run_cli("verify", ref, cwd=ws.root).returncode == 0
    result = run_cli("check", cwd=ws.root)
    assert "kb@v2" in result.stderr  # a warning that it was skipped, no traceback
    frozen = json.loads(run_cli("freeze", "kb", "--json", cwd=ws.root).stdout)
    assert frozen["ref"] == "kb@v3" and frozen["parent"]["ref"] == "kb@v1"
    assert (ws.versions_dir / "kb" / "v2" / "manifest.json").read_text().endswith('"name": ')
    assert "kb@v3 verified" in run_cli("verify", "kb@latest", cwd=ws.root).stdout


def test_a_version_folder_without_a_manifest_keeps_its_number(ws):
    approve(ws, make_samples(10))
    freeze_version(ws, "kb")
    (ws.versions_dir / "kb" / "v2").mkdir()
    (ws.versions_dir / "kb" / "v2" / "train.jsonl").write_text("{}\n")
    approve(ws, make_samples(3, start=10), doc="notes/b.md")
    v3, _ = freeze_version(ws, "kb")
    assert v3.version == 3 and verify_version(v3) == []
    assert [p.name for p in (ws.versions_dir / "kb" / "v2").iterdir()] == ["train.jsonl"]
    assert resolve_version(ws, "kb@v2").damaged
    assert run_cli("verify", "kb@v3", cwd=ws.root).returncode == 0
