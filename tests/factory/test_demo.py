import json

from factory.demo import bundled_notes, run_demo
from factory.versions import verify_version
from tests.conftest import run_cli


def test_demo_builds_a_verified_version_with_findings_to_review(tmp_path):
    result = run_demo(tmp_path / "demo")
    assert result.new_version and result.version.ref == "demo@v1"
    assert verify_version(result.version) == []
    counts = result.version.manifest["counts"]
    assert counts["train"] >= 40 and counts["eval"] >= 3
    assert set(counts["by_lang"]) == {"en", "zh"}
    # the deliberate problems in the bundled notes are caught
    bad = {e["file"].split("/")[-1] for e in result.job.error_log}
    assert {"legacy-gbk-notes.md", "broken-front-matter.md", "empty-draft.md"} <= bad
    for code in ("exact_duplicate", "near_duplicate", "markdown_residue", "output_equals_instruction",
                 "placeholder_output"):
        assert result.stats["by_reason"].get(code, 0) >= 1, code
    assert result.stats["by_status"]["pending"] >= 1  # warnings are left for a person


def test_demo_twice_changes_nothing(tmp_path):
    first = run_demo(tmp_path / "demo")
    second = run_demo(tmp_path / "demo")
    assert not second.new_version and second.version.path == first.version.path
    assert (second.job.added, second.job.updated, second.job.retired) == (0, 0, 0)
    assert second.job.skipped >= 17  # every good note is unchanged and skipped


def test_demo_command_prints_next_steps(tmp_path):
    out = run_cli("demo", "d", cwd=tmp_path, timeout=300).stdout
    assert "demo@v1" in out and "factory review" in out and "factory status" in out
    stats = json.loads(run_cli("status", "--json", cwd=tmp_path / "d").stdout)
    assert stats["by_status"]["approved"] >= 40


def test_bundled_notes_ship_with_the_package():
    names = {p.name for p in bundled_notes().iterdir()}
    assert len([n for n in names if n.endswith(".md")]) >= 20
