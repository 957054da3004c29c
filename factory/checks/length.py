"""Length bounds in characters, from the workspace config (`[checks]` min/max_*_chars).

Characters, not tokens: a bound a reviewer can check by eye, the same for Chinese and English
text. Outside the bounds is worth a look, not an automatic reject, so these warn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.sample import Finding, Sample, Severity, normalise_text

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "length"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "instruction_too_short": ("warn", "instruction shorter than checks.min_instruction_chars"),
    "instruction_too_long": ("warn", "instruction longer than checks.max_instruction_chars"),
    "output_too_short": ("warn", "output shorter than checks.min_output_chars"),
    "output_too_long": ("warn", "output longer than checks.max_output_chars"),
}


def check_length(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    cfg = ctx.config
    bounds = {
        "instruction": (cfg.min_instruction_chars, cfg.max_instruction_chars),
        "output": (cfg.min_output_chars, cfg.max_output_chars),
    }
    flags = []
    for s in batch:
        for field, (low, high) in bounds.items():
            n = len(normalise_text(getattr(s, field)).strip())
            # An empty field is the fields check's empty_*; "too short" would say it twice.
            if 0 < n < low:
                code, message = f"{field}_too_short", f"{field} has {n} characters; min_{field}_chars is {low}"
            elif n > high:
                code, message = f"{field}_too_long", f"{field} has {n} characters; max_{field}_chars is {high}"
            else:
                continue
            flags.append((s.id, Finding(check=NAME, code=code, severity="warn", message=message)))
    return flags
