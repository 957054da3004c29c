"""Exact duplicates: the same instruction, input and output up to case, width, spacing and punctuation.

The sample id already merges byte-identical pairs; this key also catches "What is LoRA?" vs
"what is LoRA" and full-width vs ASCII punctuation, which come from copying between sources.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "exact_duplicates"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "exact_duplicate": ("reject", "same instruction, input and output as a kept sample, ignoring case, spacing and punctuation"),
}


def fold(text: str) -> str:
    """NFKC (full-width "？" becomes "?"), casefolded, without whitespace or punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in text if not c.isspace() and not unicodedata.category(c).startswith("P"))


def duplicate_key(sample: Sample) -> str:
    """sha256 of the folded instruction, input and output.

    The fields are joined with NUL (neither space nor punctuation, so never folded away) so
    that text moved from instruction to input is still a different sample.
    """
    folded = "\0".join(fold(f) for f in (sample.instruction, sample.input, sample.output))
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def exclude_batch_ids(reference: Sequence[Sample], batch: Sequence[Sample]) -> list[Sample]:
    """The reference without the batch's own samples: a sample re-checked while it is also
    live must not be reported as a duplicate of itself."""
    ids = {s.id for s in batch}
    return [s for s in reference if s.id not in ids]


def check_exact_duplicates(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    kept: dict[str, tuple[Sample, str]] = {}  # key -> (kept sample, where it is)
    for sample in exclude_batch_ids(ctx.reference, batch):
        kept.setdefault(duplicate_key(sample), (sample, "a reference sample"))
    flags = []
    for sample in batch:
        key = duplicate_key(sample)
        if key not in kept:
            kept[key] = (sample, "an earlier sample in this batch")
            continue
        first, where = kept[key]
        if first.id == sample.id:  # the same sample listed twice, not a second copy
            continue
        message = f"duplicate of {first.id} ({where}), which is kept"
        flags.append((sample.id, Finding(check=NAME, code="exact_duplicate", severity="reject", message=message, related_id=first.id)))
    return flags
