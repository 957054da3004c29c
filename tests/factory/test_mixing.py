"""General data mixed in at freeze, the held-out general slice, licenses, and a leak-free eval split."""

import json
import logging

import pytest
from rapidfuzz import fuzz

from factory.checking import check_pending
from factory.checks.near_duplicates import near_duplicate_text
from factory.errors import VersionError
from factory.importing import import_dataset
from factory.mixing import choose_general, general_count, rank_position
from factory.sample import Sample, Source
from factory.versions import freeze_version, verify_version
from sources.open_datasets import DatasetRequest
from tests.conftest import varied_text

THRESHOLD = 90.0


def sample(i: int, kind: str = "notes", output: str | None = None) -> Sample:
    return Sample(instruction=f"Task {i}: {varied_text(i)}", output=output or varied_text(50_000 + i, words=20),
                  source=Source(kind=kind, uri=f"{kind}/src"), lang="en")


def one_word_changed(text: str) -> str:
    words = text.split()
    words[3] = "zeppelin"
    return " ".join(words)


def approve_domain(ws, samples: list[Sample]) -> None:
    with ws.open_store() as store:
        store.sync_document("notes", "notes/a.md", "h", "v1", samples, actor="job")
        store.set_status([s.id for s in samples], "approved", actor="ana")


def write_pool(path, samples: list[Sample]) -> None:
    path.write_text("".join(json.dumps({"instruction": s.instruction, "input": s.input, "output": s.output}) + "\n"
                            for s in samples), encoding="utf-8")


def test_general_count_makes_the_share_of_the_final_train_split():
    assert general_count(90, 0.1) == 10  # 10 / (90 + 10) = 0.10
    assert general_count(214, 0.1) == 24  # 23.8 rounded
    assert general_count(50, 0.0) == 0 and general_count(0, 0.1) == 0


def test_choose_general_skips_copies_of_domain_data_and_of_earlier_pool_samples():
    domain = [sample(i) for i in range(50)]
    distinct = [sample(1000 + i, kind="general") for i in range(30)]
    twin = Sample(instruction=distinct[0].instruction, output=one_word_changed(distinct[0].output),
                  source=Source(kind="general", uri="pool"))
    exact = Sample(instruction=domain[0].instruction.upper(), output=domain[0].output,
                   source=Source(kind="general", uri="pool"))
    near = Sample(instruction=domain[1].instruction, output=one_word_changed(domain[1].output),
                  source=Source(kind="general", uri="pool"))
    pool = distinct + [twin, exact, near]
    mix = choose_general(pool, domain, wanted=100, held_out=5, seed=0, threshold=THRESHOLD)
    chosen = {s.id for s in mix.held_out + mix.train}
    assert exact.id not in chosen and near.id not in chosen
    assert len({distinct[0].id, twin.id} & chosen) == 1  # one of the two pool twins, not both
    assert len(chosen) == 30 and mix.skipped_duplicates == 3 and len(mix.held_out) == 5
    # deterministic for a seed, different for another
    again = choose_general(pool[::-1], domain, wanted=10, held_out=5, seed=0, threshold=THRESHOLD)
    assert [s.id for s in again.held_out] == [s.id for s in mix.held_out]
    other = choose_general(pool, domain, wanted=10, held_out=5, seed=1, threshold=THRESHOLD)
    assert {s.id for s in other.held_out} != {s.id for s in mix.held_out}


@pytest.fixture
def mixed_ws(ws, tmp_path):
    approve_domain(ws, [sample(i) for i in range(90)])
    write_pool(tmp_path / "pool.jsonl", [sample(2000 + i, kind="general") for i in range(150)])
    import_dataset(ws, DatasetRequest(source=str(tmp_path / "pool.jsonl"), license="cc-by-4.0"), pool="gen")
    check_pending(ws)
    return ws


def test_freeze_mixes_the_asked_share_and_records_it(mixed_ws, tmp_path):
    version, _ = freeze_version(mixed_ws, "kb", general_pool="gen", general_ratio=0.1, eval_ratio=0.1)
    m = version.manifest
    train, evals = version.records("train"), version.records("eval")
    general_eval = version.records("general_eval")
    general_train = [r for r in train if r["source"]["kind"] == "general"]
    domain_train = len(train) - len(general_train)
    assert len(general_train) == general_count(domain_train, 0.1) == m["general"]["train"]
    assert m["general"]["ratio"] == {"asked": 0.1, "achieved": round(len(general_train) / len(train), 4)}
    assert m["general"]["pool"] == "gen" and m["general"]["license"] == "cc-by-4.0"
    # the pool's revision is the hash of the imported file, so the mix can be traced to its bytes
    import hashlib
    assert m["general"]["revision"] == hashlib.sha256((tmp_path / "pool.jsonl").read_bytes()).hexdigest()
    assert len(general_eval) == 100 == m["counts"]["general_eval"]
    assert not {r["id"] for r in general_eval} & {r["id"] for r in train + evals}
    assert all(r["source"]["kind"] != "general" for r in evals)
    # every record the folder ships, the held-out slice included
    assert m["licenses"]["by_license"] == {"cc-by-4.0": len(general_train) + len(general_eval),
                                           "unknown": domain_train + len(evals)}
    assert "general_eval.jsonl" in m["files"] and verify_version(version) == []
    # the same inputs give the same version; another seed another sample of the pool
    same, new = freeze_version(mixed_ws, "kb", general_pool="gen", general_ratio=0.1, eval_ratio=0.1,
                               reuse_identical=True)
    assert not new and same.dataset_hash == version.dataset_hash
    other, _ = freeze_version(mixed_ws, "kb", general_pool="gen", general_ratio=0.1, eval_ratio=0.1, seed=7)
    assert {r["id"] for r in other.records("general_eval")} != {r["id"] for r in general_eval}


def test_a_pool_too_small_gives_what_it_has_and_says_so(mixed_ws, caplog):
    with caplog.at_level(logging.WARNING):
        version, _ = freeze_version(mixed_ws, "kb", general_pool="gen", general_ratio=0.5)
    general = version.manifest["general"]
    assert general["wanted"] > general["train"] == 150 - 100
    assert general["ratio"]["achieved"] < 0.5 and "only 50 usable samples" in caplog.text


def test_missing_or_unchecked_pools_are_refused(ws, tmp_path):
    approve_domain(ws, [sample(i) for i in range(10)])
    with pytest.raises(VersionError, match="no general pool named 'nope'"):
        freeze_version(ws, "kb", general_pool="nope")
    with pytest.raises(VersionError, match="factory import builtin:starter --pool starter"):
        freeze_version(ws, "kb", general_pool="starter")
    write_pool(tmp_path / "pool.jsonl", [sample(3000 + i, kind="general") for i in range(20)])
    import_dataset(ws, DatasetRequest(source=str(tmp_path / "pool.jsonl")), pool="gen")
    with pytest.raises(VersionError, match="20 unchecked samples; run `factory check`"):
        freeze_version(ws, "kb", general_pool="gen")


def test_rejected_pool_samples_are_never_mixed(ws, tmp_path):
    approve_domain(ws, [sample(i) for i in range(90)])
    junk = Sample(instruction="Summarize the report.", output="N/A", source=Source(kind="general", uri="x"))
    write_pool(tmp_path / "pool.jsonl", [sample(4000 + i, kind="general") for i in range(12)] + [junk])
    import_dataset(ws, DatasetRequest(source=str(tmp_path / "pool.jsonl")), pool="gen")
    check_pending(ws)
    ws.config.freeze.general_eval_size = 0
    version, _ = freeze_version(ws, "kb", general_pool="gen", general_ratio=0.5)
    ids = {r["id"] for r in version.records("train")}
    assert junk.id not in ids and version.manifest["general"]["train"] == 12


def test_non_commercial_licenses_are_listed_and_warned_about(ws, tmp_path, caplog):
    write_pool(tmp_path / "nc.jsonl", [sample(5000 + i, kind="dataset") for i in range(8)])
    import_dataset(ws, DatasetRequest(source=str(tmp_path / "nc.jsonl"), license="cc-by-nc-4.0"))
    with ws.open_store() as store:
        store.set_status(store.ids(), "approved", actor="ana")
    with caplog.at_level(logging.WARNING):
        version, _ = freeze_version(ws, "kb")
    assert version.manifest["licenses"]["non_commercial"] == ["cc-by-nc-4.0"]
    assert version.manifest["sources"][0]["license"] == "cc-by-nc-4.0"
    assert "kb@v1 includes samples under cc-by-nc-4.0, which forbids commercial use" in caplog.text
    assert "Non-commercial" in (version.path / "README.md").read_text()
    assert all(r["source"]["license"] == "cc-by-nc-4.0" for r in version.records("train"))


def test_no_eval_sample_has_a_near_twin_in_train(ws):
    originals = [sample(i) for i in range(60)]
    twins = [Sample(instruction=s.instruction, output=one_word_changed(s.output), source=s.source, lang="en")
             for s in originals[:30]]
    # Without grouping, a plain per-id hash split would put some twin pairs on both sides.
    straddling = [(a, b) for a, b in zip(originals, twins)
                  if (rank_position(a.id, 0) < 0.3) != (rank_position(b.id, 0) < 0.3)]
    assert straddling, "the data must be able to leak for this test to mean anything"
    approve_domain(ws, originals + twins)
    version, _ = freeze_version(ws, "kb", eval_ratio=0.3, seed=0)
    train = [near_duplicate_text(Sample(**{k: r[k] for k in ("instruction", "input", "output")},
                                        source=Source(kind="x", uri="y"))) for r in version.records("train")]
    evals = [near_duplicate_text(Sample(**{k: r[k] for k in ("instruction", "input", "output")},
                                        source=Source(kind="x", uri="y"))) for r in version.records("eval")]
    assert evals and train
    worst = max(fuzz.ratio(e, t) for e in evals for t in train)
    assert worst < THRESHOLD
    assert version.manifest["leakage"]["duplicate_pairs_kept_on_one_side"] >= 30


def test_an_unchecked_second_pool_does_not_block_a_checked_one(mixed_ws, tmp_path):
    write_pool(tmp_path / "other.jsonl", [sample(6000 + i, kind="general") for i in range(5)])
    import_dataset(mixed_ws, DatasetRequest(source=str(tmp_path / "other.jsonl")), pool="other")
    version, _ = freeze_version(mixed_ws, "kb", general_pool="gen")
    assert version.manifest["general"]["pool"] == "gen"
    assert all(r["source"]["uri"] == "gen" for r in version.records("general_eval"))
    with pytest.raises(VersionError, match="'other' has 5 unchecked"):
        freeze_version(mixed_ws, "kb", general_pool="other")
