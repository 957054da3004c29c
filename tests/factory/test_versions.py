import json
import os
import stat

import pytest

from factory.errors import VersionError
from factory.sample import Sample, Source
from factory.mixing import split_eval
from factory.versions import list_versions, freeze_version, resolve_version, verify_version
from tests.conftest import varied_text


def make_samples(n: int, start: int = 0, uri: str = "notes/a.md") -> list[Sample]:
    return [Sample(instruction=f"Question {i}: {varied_text(i)}", output=varied_text(10_000 + i, words=20),
                   source=Source(kind="notes", uri=uri), lang="en") for i in range(start, start + n)]


def approved(ws, n: int, start: int = 0, uri: str = "notes/a.md") -> list[str]:
    samples = make_samples(n, start, uri)
    with ws.open_store() as store:
        store.sync_document("notes", f"{uri}#{start}", "h", "v1", samples, actor="job")
        store.set_status([s.id for s in samples], "approved", actor="ana")
    return [s.id for s in samples]


def test_freeze_refuses_an_empty_set(ws):
    with pytest.raises(VersionError, match="no approved samples"):
        freeze_version(ws, "kb")
    assert list_versions(ws) == []


def test_freeze_writes_an_immutable_verified_version(ws):
    ids = approved(ws, 40)
    version, new = freeze_version(ws, "kb", eval_ratio=0.25, seed=3)
    assert new and version.ref == "kb@v1" and version.path == ws.versions_dir / "kb" / "v1"
    assert sorted(p.name for p in version.path.iterdir()) == ["README.md", "eval.jsonl", "manifest.json", "train.jsonl"]
    train, evals = version.records("train"), version.records("eval")
    assert sorted(r["id"] for r in train + evals) == sorted(ids)
    m = json.loads((version.path / "manifest.json").read_text())
    expected_eval = split_eval(make_samples(40), 0.25, 3, ws.config.checks.near_duplicate_threshold).eval_ids
    assert m["counts"]["train"] == len(train) and {r["id"] for r in evals} == expected_eval
    assert m["eval_ratio"]["asked"] == 0.25 and m["seed"] == 3 and m["parent"] is None
    assert m["sources"] == [{"kind": "notes", "uri": "notes/a.md#0", "license": "", "samples": 40}]
    assert m["general"] is None and m["licenses"] == {"by_license": {"unknown": 40}, "non_commercial": []}
    assert m["check_config"]["near_duplicate_threshold"] == ws.config.checks.near_duplicate_threshold
    assert set(m["files"]) == {"train.jsonl", "eval.jsonl", "README.md"}
    assert all(not (p.stat().st_mode & stat.S_IWUSR) for p in version.path.iterdir())
    assert "kb@v1" in (version.path / "README.md").read_text()
    assert verify_version(version) == []
    # review state does not leak into the data files
    assert "status" not in train[0] and "findings" not in train[0]


def test_eval_split_is_deterministic_and_stable_as_data_grows(ws):
    ids = approved(ws, 60)
    v1, _ = freeze_version(ws, "kb", eval_ratio=0.2, seed=0)
    approved(ws, 60, start=60)
    v2, _ = freeze_version(ws, "kb", eval_ratio=0.2, seed=0)
    eval1 = {r["id"] for r in v1.records("eval")}
    eval2 = {r["id"] for r in v2.records("eval")}
    assert eval1 and eval1 <= eval2  # an eval question never moves into a later train split
    assert not eval2 & {r["id"] for r in v2.records("train")}
    assert v2.manifest["parent"] == {"ref": "kb@v1", "dataset_hash": v1.dataset_hash}
    samples = make_samples(60)
    assert split_eval(samples, 0.2, 0, 90).eval_ids == split_eval(samples[::-1], 0.2, 0, 90).eval_ids
    assert split_eval(samples, 0.2, 0, 90).eval_ids != split_eval(samples, 0.2, 1, 90).eval_ids
    assert {s.id for s in samples} >= eval1 and len(ids) == 60


def test_small_sets_still_get_an_eval_sample(ws):
    approved(ws, 3)
    version, _ = freeze_version(ws, "kb", eval_ratio=0.1)
    assert version.manifest["counts"]["eval"] == 1


def test_references(ws):
    approved(ws, 5)
    v1, _ = freeze_version(ws, "kb")
    approved(ws, 5, start=5)
    v2, _ = freeze_version(ws, "kb")
    assert resolve_version(ws, "kb@v1").path == v1.path
    assert resolve_version(ws, "kb@latest").path == v2.path
    assert resolve_version(ws, "kb").path == v2.path
    assert resolve_version(ws, f"kb@{v1.dataset_hash[:8]}").path == v1.path
    with pytest.raises(VersionError, match="no such version"):
        resolve_version(ws, "kb@v9")
    with pytest.raises(VersionError, match="no versions named"):
        resolve_version(ws, "other@v1")
    with pytest.raises(VersionError, match="not a version reference"):
        resolve_version(ws, "kb@zzzz")


def test_identical_refreeze_can_reuse_the_latest(ws):
    approved(ws, 5)
    v1, _ = freeze_version(ws, "kb")
    same, new = freeze_version(ws, "kb", reuse_identical=True)
    assert not new and same.path == v1.path
    v2, new = freeze_version(ws, "kb")
    assert new and v2.version == 2 and v2.manifest["files"]["train.jsonl"] == v1.manifest["files"]["train.jsonl"]
    assert v2.dataset_hash != v1.dataset_hash  # it covers the manifest too: number, parent, time


@pytest.mark.parametrize("tamper", ["edit_line", "drop_line", "delete_file", "extra_file", "edit_manifest_hash"])
def test_tampered_version_fails_verify(ws, tamper):
    approved(ws, 20)
    version, _ = freeze_version(ws, "kb", eval_ratio=0.2)
    train = version.path / "train.jsonl"
    for p in version.path.iterdir():
        p.chmod(0o644)
    lines = train.read_text().splitlines(keepends=True)
    if tamper == "edit_line":
        train.write_text("".join(lines).replace('"output":"', '"output":"X', 1))
    elif tamper == "drop_line":
        train.write_text("".join(lines[1:]))
    elif tamper == "delete_file":
        (version.path / "eval.jsonl").unlink()
    elif tamper == "extra_file":
        (version.path / "sneaky.jsonl").write_text("{}\n")
    else:
        manifest = json.loads((version.path / "manifest.json").read_text())
        manifest["dataset_hash"] = "0" * 64
        (version.path / "manifest.json").write_text(json.dumps(manifest))
    version = resolve_version(ws, "kb@v1")
    assert verify_version(version) != []


def test_crash_during_freeze_leaves_no_half_version(ws, monkeypatch):
    approved(ws, 5)

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(VersionError, match="kb@v1: could not move it into place \\(power cut\\)"):
        freeze_version(ws, "kb")
    monkeypatch.undo()
    assert list_versions(ws) == []
    # v1 was recorded before the rename, so its number is never used for other data
    version, _ = freeze_version(ws, "kb")  # the next freeze cleans up and writes v2 whole
    assert version.version == 2 and verify_version(version) == []
    assert [p.name for p in (ws.versions_dir / "kb").iterdir()] == ["v2"]
    with pytest.raises(VersionError, match="no such version"):
        resolve_version(ws, "kb@v1")


def test_bad_names_and_ratios_are_refused(ws):
    approved(ws, 2)
    with pytest.raises(VersionError, match="version name"):
        freeze_version(ws, "../escape")
    with pytest.raises(VersionError, match="eval-ratio"):
        freeze_version(ws, "kb", eval_ratio=1.5)



def card_tokens(text: str) -> list:
    from markdown_it import MarkdownIt  # what rich renders Markdown with; GFM tables enabled like the app's

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    return tokens + [child for t in tokens for child in t.children or []]


HOSTILE = {
    "license": "[free](https://evil.example/l) ![x](https://evil.example/p.png) | gpl",
    "uri": "notes/`a`](https://evil.example/u) ``![y](https://evil.example/q.png)``.md",
    "nc": "cc-by-nc-4.0 <img src=x> [nc](https://evil.example/n)\n\n![z](https://evil.example/z.png)",
}


def test_the_card_quotes_licenses_and_uris_so_they_cannot_inject_markdown(ws):
    samples = [Sample(instruction=f"Question {i}: {varied_text(i)}", output=varied_text(10_000 + i, words=20),
                      source=Source(kind="notes", uri=HOSTILE["uri"], license=license), lang="en")
               for i, license in enumerate([HOSTILE["license"]] * 3 + [HOSTILE["nc"]] * 3)]
    with ws.open_store() as store:
        store.sync_document("notes", HOSTILE["uri"], "h", "v1", samples, actor="job")  # the uri samples carry
        store.set_status([s.id for s in samples], "approved", actor="ana")
    version, _ = freeze_version(ws, "kb")
    card = (version.path / "README.md").read_text()
    tokens = card_tokens(card)
    assert not [t for t in tokens if t.type in ("link_open", "image", "html_inline", "html_block")], card
    quoted = " ".join(t.content for t in tokens if t.type == "code_inline")
    assert HOSTILE["license"] in quoted and HOSTILE["uri"] in quoted  # still shown, as text
    assert "cc-by-nc-4.0 <img src=x> [nc](https://evil.example/n)" in quoted
    assert "Non-commercial" in card
    tables, rows = [sum(t.type == kind for t in tokens) for kind in ("table_open", "tr_open")]
    cells = sum(t.type == "td_open" for t in tokens)
    assert cells == 2 * (rows - tables)  # every body row keeps its two cells: no pipe split one
