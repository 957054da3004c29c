"""The package API: CHECKS, REASON_CODES and run_checks (factory/checks/__init__.py)."""

import pytest

from factory.checks import CHECKS, REASON_CODES, CheckContext, run_checks
from factory.config import ChecksConfig
from factory.errors import BadInput
from tests.factory.checks.sample_builders import make_context, make_sample

CLEAN_EN = make_sample(instruction="How do I pick the LoRA rank?", output="Start with 8 and double it if the eval loss stalls.")
CLEAN_ZH = make_sample(instruction="LoRA 的秩怎么选？", output="先用 8，如果 eval loss 不再下降就翻倍。")
EMPTY = make_sample(instruction="What is NF4?", output="  ")
LONG = make_sample(instruction="Explain NF4.", output="NF4 is a 4-bit data type. " * 200)
COPY = make_sample(instruction="how do i pick the lora rank", output=CLEAN_EN.output)


def test_checks_in_run_order():
    assert list(CHECKS) == ["fields", "questions", "junk", "answers", "context", "formulas", "markdown", "length", "language",
                            "exact_duplicates", "near_duplicates"]


def test_reason_codes_are_documented():
    assert set(REASON_CODES) == {
        "empty_instruction", "empty_output", "output_equals_instruction", "placeholder_output", "markdown_residue",
        "instruction_too_short", "instruction_too_long", "output_too_short", "output_too_long",
        "unexpected_language", "language_mismatch", "exact_duplicate", "near_duplicate",
        "placeholder_input", "too_many_tokens", "input_only_url", "input_only_attachment", "unseen_media",
        "merged_instructions", "truncated_output", "control_characters", "escaped_characters", "refusal",
        "numbered_question", "question_without_subject", "not_a_question", "missing_figure", "lead_in_only",
        "link_only_output", "dangling_link_text", "code_only_output", "reference_section",
        "formula_differs_from_source", "context_dependent", "missing_link", "opens_with_connective",
        "unfulfilled_lead_in",
    }
    for code, (severity, description) in REASON_CODES.items():
        assert code.isidentifier() and code == code.lower()
        assert severity in ("reject", "warn")
        assert description and "\n" not in description


def test_every_batch_id_is_a_key():
    batch = [CLEAN_EN, CLEAN_ZH, EMPTY, LONG, COPY]
    result = run_checks(batch, make_context(reference=[make_sample(instruction="Other?", output="Yes.")]))
    assert list(result) == [s.id for s in batch]
    assert result[CLEAN_EN.id] == [] and result[CLEAN_ZH.id] == []
    assert [f.code for f in result[EMPTY.id]] == ["empty_output"]
    assert [f.code for f in result[LONG.id]] == ["output_too_long"]
    assert [f.code for f in result[COPY.id]] == ["exact_duplicate"]


def test_findings_carry_their_check_and_default_severity():
    result = run_checks([CLEAN_EN, EMPTY, LONG, COPY], make_context())
    for findings in result.values():
        for f in findings:
            assert f.check in CHECKS
            assert f.severity == REASON_CODES[f.code][0]


def test_severity_override_from_config():
    ctx = CheckContext(ChecksConfig(severity={"output_too_long": "reject", "empty_output": "warn"}))
    result = run_checks([EMPTY, LONG], ctx)
    assert [(f.code, f.severity) for f in result[EMPTY.id]] == [("empty_output", "warn")]
    assert [(f.code, f.severity) for f in result[LONG.id]] == [("output_too_long", "reject")]


def test_severity_override_in_chinese():
    empty = make_sample(instruction="NF4 是什么？", output="\u3000")
    result = run_checks([empty], make_context(severity={"empty_output": "warn"}))
    assert [(f.code, f.severity) for f in result[empty.id]] == [("empty_output", "warn")]


def test_names_select_checks():
    result = run_checks([EMPTY, LONG], make_context(), names=["length"])
    assert result == {EMPTY.id: [], LONG.id: [result[LONG.id][0]]}
    assert result[LONG.id][0].code == "output_too_long"


def test_unknown_check_name_says_which_exist():
    with pytest.raises(BadInput, match="unknown check.*lenght.*choose from fields"):
        run_checks([CLEAN_EN], make_context(), names=["lenght"])


def test_reference_samples_are_never_keys_or_flagged():
    ref = [CLEAN_EN, make_sample(instruction=" ", output="")]  # a duplicate source and a broken one
    result = run_checks([COPY], make_context(reference=ref))
    assert list(result) == [COPY.id]
    assert [f.related_id for f in result[COPY.id]] == [CLEAN_EN.id]


def test_empty_batch():
    assert run_checks([], make_context(reference=[CLEAN_EN])) == {}
