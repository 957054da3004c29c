"""Field checks: an empty instruction or output, a placeholder output, or an output that only
repeats the instruction.

These are the cheapest junk detectors from the Alpaca failure list; each makes a sample
useless for training, so they reject.
"""

from __future__ import annotations

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
    "placeholder_output": ("reject", "the output is a placeholder such as TODO, N/A, 暂无 or 待补充"),
}

# Outputs people leave as a marker instead of an answer, compared after `fold` (so "N/A",
# "n/a." and "<no output>" all match); an output of only punctuation folds to "".
PLACEHOLDERS = frozenset(fold(p) for p in (
    "", "todo", "tbd", "tba", "fixme", "n/a", "na", "none", "null", "nil", "<noinput>", "<no input>",
    "<nooutput>", "<no output>", "no output", "placeholder", "lorem ipsum",
    "无", "暂无", "待补充", "待定", "待完善", "待填写", "略", "同上",
))


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
        if empty_instruction or empty_output:
            continue
        if fold(s.output) in PLACEHOLDERS:
            flags.append((s.id, _finding("placeholder_output", f"output {s.output.strip()[:20]!r} is a placeholder, "
                                         "not an answer; write it or reject the sample")))
        elif fold(s.instruction) == fold(s.output):
            flags.append((s.id, _finding("output_equals_instruction", "output only repeats the instruction")))
    return flags
