import pytest

from factory.checks.length import check_length
from tests.factory.checks.sample_builders import codes, make_context, make_sample

# Small bounds so the examples stay readable: instruction 4..40, output 2..60 characters.
CTX = make_context(min_instruction_chars=4, max_instruction_chars=40, min_output_chars=2, max_output_chars=60)
CLEAN = {"instruction": "Pick a LoRA rank.", "output": "Start at 8."}
LONG_EN = "Explain how the rank, alpha and dropout of a LoRA adapter interact during training."
LONG_ZH = "请详细解释 LoRA 适配器的秩、alpha 和 dropout 在训练过程中是如何相互影响的，并给出在七十亿参数模型上选择它们的经验法则。"


@pytest.mark.parametrize(
    "code, fields",
    [
        ("instruction_too_short", {"instruction": "LoR"}),
        ("instruction_too_short", {"instruction": "秩？"}),
        ("instruction_too_long", {"instruction": LONG_EN}),
        ("instruction_too_long", {"instruction": LONG_ZH}),
        ("output_too_short", {"output": "8"}),
        ("output_too_short", {"instruction": "LoRA 的秩常用多少？", "output": "八"}),
        ("output_too_long", {"output": LONG_EN}),
        ("output_too_long", {"instruction": "LoRA 的秩怎么选？", "output": LONG_ZH}),
    ],
)
def test_flags(code, fields):
    flags = check_length([make_sample(**(CLEAN | fields))], CTX)
    assert codes(flags) == [code]
    finding = flags[0][1]
    assert finding.severity == "warn" and finding.check == "length"


@pytest.mark.parametrize(
    "fields",
    [
        {"instruction": "Pick a LoRA rank.", "output": "Start at 8."},
        {"instruction": "LoRA 的秩怎么选？", "output": "先用 8，不够再加到 16。"},
        {"instruction": "Why?", "output": "OK"},  # exactly at the lower bounds
        {"instruction": "秩怎么选", "output": "八。"},
        {"instruction": "x" * 40, "output": "y" * 60},  # exactly at the upper bounds
        {"instruction": "秩" * 40, "output": "八" * 60},
    ],
)
def test_clean(fields):
    assert check_length([make_sample(**fields)], CTX) == []


def test_empty_fields_are_left_to_the_fields_check():
    assert check_length([make_sample(instruction="  ", output="")], CTX) == []


def test_message_names_the_bound_to_change():
    (_, finding), = check_length([make_sample(instruction="LoR", output="Start at 8.")], CTX)
    assert "3 characters" in finding.message and "min_instruction_chars is 4" in finding.message
