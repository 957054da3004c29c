import re

import pytest

from factory.checks import CheckContext, run_checks
from factory.checks.length import REASON_CODES, TURN_OVERHEAD_TOKENS, check_length, count_sample_tokens
from factory.config import ChecksConfig
from tests.factory.checks.sample_builders import codes, make_context, make_sample

# Small bounds so the examples stay readable: instruction 4..40, output 2..60 characters.
CTX = make_context(min_instruction_chars=4, max_instruction_chars=40, min_output_chars=2, max_output_chars=60)
CLEAN = {"instruction": "Pick a LoRA rank.", "output": "Start at 8."}
LONG_EN = "Explain how the rank, alpha and dropout of a LoRA adapter interact during training."
LONG_ZH = "请详细解释 LoRA 适配器的秩、alpha 和 dropout 在训练过程中是如何相互影响的，并给出在七十亿参数模型上选择它们的经验法则。"

_TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+")


def fake_count_tokens(texts):
    """One token per Han character and per run of other non-space characters."""
    return [len(_TOKEN.findall(t)) for t in texts]


def token_context(max_tokens):
    return CheckContext(ChecksConfig(max_tokens=max_tokens), count_tokens=fake_count_tokens)


# Two messages (user, assistant): the limit that exactly fits `text_tokens` of text.
def fits(text_tokens, messages=2):
    return text_tokens + TURN_OVERHEAD_TOKENS * messages


TOKENS_EN = {"instruction": "Pick a LoRA rank.", "input": "7B model", "output": "Start at 8 and double it."}  # 4 + 2 + 6
TOKENS_ZH = {"instruction": "秩怎么选？", "output": "先用八。"}  # 5 + 4


@pytest.mark.parametrize(
    "code, lang, fields",
    [
        ("instruction_too_short", "en", {"instruction": "LoR"}),
        ("instruction_too_short", "zh", {"instruction": "秩？"}),
        ("instruction_too_long", "en", {"instruction": LONG_EN}),
        ("instruction_too_long", "zh", {"instruction": LONG_ZH}),
        ("output_too_short", "en", {"output": "8"}),
        ("output_too_short", "zh", {"instruction": "LoRA 的秩常用多少？", "output": "八"}),
        ("output_too_long", "en", {"output": LONG_EN}),
        ("output_too_long", "zh", {"instruction": "LoRA 的秩怎么选？", "output": LONG_ZH}),
    ],
)
def test_flags(code, lang, fields):
    flags = check_length([make_sample(**(CLEAN | fields))], CTX)
    assert codes(flags) == [code]
    finding = flags[0][1]
    assert finding.severity == "warn" and finding.check == "length"


@pytest.mark.parametrize(
    "lang, fields",
    [
        ("en", {"instruction": "Pick a LoRA rank.", "output": "Start at 8."}),
        ("zh", {"instruction": "LoRA 的秩怎么选？", "output": "先用 8，不够再加到 16。"}),
        ("en", {"instruction": "Why?", "output": "OK"}),  # exactly at the lower bounds
        ("zh", {"instruction": "秩怎么选", "output": "八。"}),
        ("en", {"instruction": "x" * 40, "output": "y" * 60}),  # exactly at the upper bounds
        ("zh", {"instruction": "秩" * 40, "output": "八" * 60}),
    ],
)
def test_clean(lang, fields):
    assert check_length([make_sample(**fields)], CTX) == []


def test_empty_fields_are_left_to_the_fields_check():
    assert check_length([make_sample(instruction="  ", output="")], CTX) == []


def test_message_names_the_bound_to_change():
    (_, finding), = check_length([make_sample(instruction="LoR", output="Start at 8.")], CTX)
    assert "3 characters" in finding.message and "min_instruction_chars is 4" in finding.message


# --- too_many_tokens --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, fields, text_tokens",
    [("en", TOKENS_EN, 12), ("zh", TOKENS_ZH, 9)],
)
def test_too_many_tokens_one_over_the_limit(lang, fields, text_tokens):
    flags = check_length([make_sample(**fields)], token_context(fits(text_tokens) - 1))
    assert codes(flags) == ["too_many_tokens"]
    finding = flags[0][1]
    assert finding.severity == "warn" and finding.check == "length"


@pytest.mark.parametrize(
    "lang, fields, text_tokens",
    [("en", TOKENS_EN, 12), ("zh", TOKENS_ZH, 9)],
)
def test_too_many_tokens_exactly_at_the_limit_is_clean(lang, fields, text_tokens):
    assert check_length([make_sample(**fields)], token_context(fits(text_tokens))) == []


def test_every_code_is_covered():
    assert set(REASON_CODES) == {
        "instruction_too_short", "instruction_too_long", "output_too_short", "output_too_long", "too_many_tokens",
    }


def test_tokens_count_system_history_and_every_turn():
    sample = make_sample(
        system="Be brief.",  # 2
        history=[("What is LoRA?", "Low-rank adapters."), ("秩呢？", "先用八。")],  # 3 + 2, 3 + 4
        instruction="Pick a rank.", input="7B", output="Eight.",  # 3 + 1, 1
    )
    messages = 1 + 4 + 2
    assert count_sample_tokens([sample], fake_count_tokens) == [(19, messages)]
    assert check_length([sample], token_context(fits(19, messages))) == []
    assert codes(check_length([sample], token_context(fits(19, messages) - 1))) == ["too_many_tokens"]


def test_token_message_names_count_limit_and_max_length():
    (_, finding), = check_length([make_sample(**TOKENS_EN)], token_context(20))
    total = fits(12)
    assert f"about {total} tokens" in finding.message and "max_tokens is 20" in finding.message
    assert "max_length 20 would cut it" in finding.message and "\n" not in finding.message


def test_without_a_tokenizer_only_characters_count():
    # A sample far over any token limit gets nothing when no counter is configured.
    sample = make_sample(instruction="Pick a LoRA rank.", output="word " * 500)
    assert check_length([sample], CheckContext(ChecksConfig(max_tokens=1))) == []


def test_the_counter_is_called_once_per_batch_without_empty_texts():
    calls = []

    def counter(texts):
        calls.append(list(texts))
        return fake_count_tokens(texts)

    batch = [make_sample(**TOKENS_EN), make_sample(**TOKENS_ZH)]
    check_length(batch, CheckContext(ChecksConfig(), count_tokens=counter))
    assert len(calls) == 1 and "" not in calls[0] and len(calls[0]) == 5


def test_too_many_tokens_through_run_checks_keeps_the_severity_override():
    ctx = CheckContext(ChecksConfig(max_tokens=10, severity={"too_many_tokens": "reject"}), count_tokens=fake_count_tokens)
    sample = make_sample(**TOKENS_EN)
    result = run_checks([sample], ctx, names=["length"])
    assert [(f.code, f.severity) for f in result[sample.id]] == [("too_many_tokens", "reject")]
