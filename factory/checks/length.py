"""Length bounds: characters per field from `[checks]` min/max_*_chars, and tokens per sample
against `checks.max_tokens` when the training tokenizer is configured.

Characters are a bound a reviewer can check by eye, the same for Chinese and English text.
Tokens are what training cuts at: a sample longer than `max_length` is truncated silently, so
`too_many_tokens` says so beforehand. It counts, with `ctx.count_tokens` (see
`factory.tokens.load_token_counter`), every text the model sees: system, each history turn,
instruction, input and output, each encoded on its own without special tokens, plus
`TURN_OVERHEAD_TOKENS` per message (system, each user and assistant turn) for what the chat
template adds (role markers, BOS/EOS, separators; ChatML and Llama 3 add about 5). That is an
approximation: exact to within a few tokens per turn, erring on the long side. When
`ctx.count_tokens` is None only the character bounds apply.

Outside the bounds is worth a look, not an automatic reject, so these warn.
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
    "too_many_tokens": ("warn", "the whole sample is longer than checks.max_tokens tokens of checks.tokenizer"),
}

# Tokens the chat template adds per message, on top of the message text.
TURN_OVERHEAD_TOKENS = 8


def _messages(s: Sample) -> list[list[str]]:
    """The texts of each chat message, in order; instruction and input are one user message."""
    messages = [[s.system]] if s.system else []
    for user, assistant in s.history:
        messages += [[user], [assistant]]
    return messages + [[s.instruction, s.input], [s.output]]


def count_sample_tokens(batch: Sequence[Sample], count_tokens) -> list[tuple[int, int]]:
    """(text tokens, messages) per sample, with one call of `count_tokens` for the whole batch."""
    texts: list[str] = []
    spans: list[tuple[int, int, int]] = []  # (first text, end, messages)
    for s in batch:
        messages = _messages(s)
        start = len(texts)
        texts += [t for m in messages for t in m if t]
        spans.append((start, len(texts), len(messages)))
    counts = count_tokens(texts) if texts else []
    return [(sum(counts[a:b]), n) for a, b, n in spans]


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
    if ctx.count_tokens is not None and batch:
        limit = cfg.max_tokens
        for s, (text_tokens, messages) in zip(batch, count_sample_tokens(batch, ctx.count_tokens)):
            total = text_tokens + TURN_OVERHEAD_TOKENS * messages
            if total > limit:
                message = (f"sample has about {total} tokens ({text_tokens} of text + {TURN_OVERHEAD_TOKENS} per "
                           f"message for the chat template × {messages}); max_tokens is {limit}, so training at "
                           f"max_length {limit} would cut it; shorten it or split it")
                flags.append((s.id, Finding(check=NAME, code="too_many_tokens", severity="warn", message=message)))
    return flags
