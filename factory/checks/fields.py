"""Field checks: an empty instruction or output, a placeholder output or input, or an output
that only repeats the instruction.

These are the cheapest junk detectors from the Alpaca failure list. An empty or placeholder
output, or one that only echoes the instruction, makes a sample useless for training, so those
reject. A placeholder input ("<noinput>", "N/A", "无") is a cleanable defect: the sample is
fine once the input is emptied, so it only warns.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.checks.duplicates import fold
from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "fields"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "empty_instruction": ("reject", "the instruction is empty or only whitespace"),
    "empty_output": ("reject", "the output is empty or only whitespace"),
    "output_equals_instruction": ("reject", "the output repeats the instruction (ignoring case, spacing and punctuation)"),
    "placeholder_output": ("reject", "the output is a placeholder such as TODO, N/A, <no output>, 无, 暂无 or 待补充"),
    "placeholder_input": ("warn", "the input is a placeholder such as <noinput>, N/A, none or 无 instead of being empty"),
}

# Outputs people leave as a marker instead of an answer, compared after `fold` (so "N/A",
# "n/a." and "<no output>" all match); an output of only punctuation ("…", "-") folds to "".
# Only whole outputs match: "None of them: …" and "没有。" are answers.
PLACEHOLDERS = frozenset(fold(p) for p in (
    "", "todo", "tbd", "tba", "fixme", "xxx", "n/a", "na", "nan", "none", "null", "nil",
    "<noinput>", "<no input>", "<nooutput>", "<no output>", "no output", "no answer", "no response",
    "not applicable", "placeholder", "lorem ipsum", "answer here", "your answer here", "insert answer here",
    "无", "暂无", "无输出", "无答案", "暂无答案", "暂无回答", "暂无内容", "无内容", "没有输出",
    "待补充", "待定", "待完善", "待填写", "待更新", "此处填写答案", "略", "同上", "见上", "空白",
))

# Inputs that stand for "no input". An input is compared whole, after NFKC, casefolding and
# stripping one trailing "." or "。", with or without surrounding <>, (), [] or 【】. Stricter
# than `fold` on purpose: in a bracket-matching task the input "(()" is data, and "Na" is sodium.
_INPUT_WORDS = (
    "noinput", "no input", "no-input", "no_input", "n/a", "none", "nothing", "empty", "blank",
    "not applicable", "no input required", "no input needed", "null input",
    "无", "暂无", "无输入", "没有输入", "输入为空", "空", "空白", "不适用", "无需输入", "略",
)
INPUT_PLACEHOLDERS = frozenset(
    [f"{o}{w}{c}" for w in _INPUT_WORDS for o, c in (("", ""), ("<", ">"), ("(", ")"), ("[", "]"), ("【", "】"))]
    + ["-", "--", "—", "——", "...", "…", "……", "/", "<>"]
)


def _input_key(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).casefold().strip()
    return key[:-1].rstrip() if key.endswith((".", "。")) and key not in ("...", "…") else key


def is_placeholder_input(text: str) -> bool:
    """A non-empty input that only says there is no input."""
    return bool(text.strip()) and _input_key(text) in INPUT_PLACEHOLDERS


def _finding(code: str, message: str) -> Finding:
    return Finding(check=NAME, code=code, severity=REASON_CODES[code][0], message=message)


def check_fields(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    flags = []
    for s in batch:
        empty_instruction, empty_output = not s.instruction.strip(), not s.output.strip()
        if empty_instruction:
            flags.append((s.id, _finding("empty_instruction", "instruction is empty; write the question or task")))
        if empty_output:
            flags.append((s.id, _finding("empty_output", "output is empty; write the answer or reject the sample")))
        if is_placeholder_input(s.input):
            flags.append((s.id, _finding("placeholder_input", f"input {s.input.strip()[:20]!r} is a placeholder "
                                         "for no input; clear the input field (the sample is otherwise usable)")))
        if empty_instruction or empty_output:
            continue
        if fold(s.output) in PLACEHOLDERS:
            flags.append((s.id, _finding("placeholder_output", f"output {s.output.strip()[:20]!r} is a placeholder, "
                                         "not an answer; write it or reject the sample")))
        elif fold(s.instruction) == fold(s.output):
            flags.append((s.id, _finding("output_equals_instruction", "output only repeats the instruction")))
    return flags
