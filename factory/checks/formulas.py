"""Formulas that differ from the note they were taken from.

A pair made from a note must keep its math exactly: a formula that lost an underscore, a
backslash or a brace teaches a wrong formula, and nothing else in the answer shows it (the
Markdown renderer reads `_…_` inside `$…$` as emphasis, and `\\{` as an escaped brace).

- `formula_differs_from_source` (warn): for a sample with its note's text in
  `ctx.source_texts` (pairs from notes, see `factory.checking.source_texts`), a math span of the
  output (`$$…$$`, `$…$`, `\\(…\\)`, `\\[…\\]`) does not occur in the note's lines, compared
  without whitespace (a display formula joined onto one line is the same formula). A sample
  without its note's text is not compared.

A `$` in prose is not math: "costs $5 and $10" (a dollar amount), a span with no letter, digit or
backslash, and an inline span that reads as prose (Chinese sentence punctuation, or four words in
a row outside `\text{…}`: the text between the `$` of two formulas, or of a regex) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.checks.markdown import without_code
from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "formulas"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "formula_differs_from_source": ("warn", "a formula in the output is not in the note it was made from, character for character"),
}

_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s*\d+(?:[.,]\d+)?\s)([^$\n]+?)(?<![\\\s])\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_SPACE = re.compile(r"\s+")
_PROSE = re.compile(r"[，。？！；、]|(?:\b[A-Za-z]{2,}\b[ ,]+){3}\b[A-Za-z]{2,}\b")
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|textit|mathrm|operatorname|mbox)\s*\{[^{}]*\}")


def math_spans(text: str) -> list[str]:
    """The math in `text` outside code, in order, each as written between its delimiters."""
    prose = without_code(text)
    spans = []
    for m in _MATH.finditer(prose):
        body = next(g for g in m.groups() if g is not None)
        if not re.search(r"[A-Za-z\\\d]", body):
            continue
        if m.group(2) is not None and _PROSE.search(_TEXT_COMMAND.sub(" ", body)):
            continue  # inline "$…$" around prose: not a formula
        spans.append(body)
    return spans


def differing_formulas(output: str, source: str) -> list[str]:
    """The output's math spans that are not in `source`, whitespace ignored, without repeats."""
    if "$" not in output and "\\(" not in output and "\\[" not in output:
        return []
    flat = _SPACE.sub("", source)
    missing = []
    for span in math_spans(output):
        if _SPACE.sub("", span) not in flat and span not in missing:
            missing.append(span)
    return missing


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def check_formulas(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    flags = []
    for s in batch:
        source = ctx.source_texts.get(s.id)
        if source is None:
            continue
        missing = differing_formulas(s.output, source)
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            message = (f"formula '{_clip(missing[0])}'{more} is not in the note ({s.source.uri}); copy the "
                       "formula from the note exactly (underscores, backslashes and braces are often lost)")
            flags.append((s.id, Finding(check=NAME, code="formula_differs_from_source", severity="warn", message=message)))
    return flags
