"""Markdown residue: markup that was meant to be rendered and survived into plain text.

Code is allowed to contain anything, so fenced blocks and inline code are cut out before
looking. Plain lists ("- item", "1. item") read fine unrendered and are not residue; nor is a
`#` that is not a heading mark at the start of a line ("C#", "issue #12"). Nor is a Markdown table:
an answer keeps the note's tables intact (docs DESIGN, "Quality of what comes out"), and chat
models answer in tables; on the tune notes 34 of the 39 residue findings were intact tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "markdown"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "markdown_residue": ("warn", "Markdown or HTML markup (bold, links, images, headings, tags, entities) outside code"),
}

_FENCED = re.compile(r"^[ \t]{0,3}(([`~])\2{2,})[^\n]*\n.*?(?:^[ \t]{0,3}\1\2*[ \t]*$|\Z)", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
# ASCII word characters only around it: "snake__case__name" is not bold, "这__很重要__。" is.
_UNDERSCORE_BOLD = re.compile(r"(?<![A-Za-z0-9_])__(?=[^\s_])(.+?)(?<=[^\s_])__(?![A-Za-z0-9_])")
_DUNDER = re.compile(r"[a-z][a-z0-9_]*")  # __init__, __main__: Python names written without backticks
_HTML_TAGS = (
    "a|b|i|u|em|strong|br|hr|p|div|span|img|table|thead|tbody|tr|td|th|ul|ol|li|h[1-6]"
    "|pre|code|blockquote|sup|sub|font|center|details|summary|small|del|mark|kbd"
)  # a closed list: `List<String>`, `<noinput>` and the `<s>` token are not HTML
_ENTITIES = "nbsp|amp|lt|gt|quot|apos|mdash|ndash|hellip|copy|reg|trade|laquo|raquo|ldquo|rdquo|lsquo|rsquo|times|middot"

_RESIDUE = {
    # A space before the closing ** stops it rendering, and then both pairs show ("**扩展 **：").
    "bold **…**": re.compile(r"\*\*(?=[^\s*])[^\n]*?(?<=[^\s*])\*\*|\*\*(?=[^\s*])[^\n*]*?[\u4e00-\u9fff][^\n*]*?\s\*\*"),
    "image ![alt](…)": re.compile(r"!\[[^\]\n]*\]\([^)\n]+\)"),
    "link [text](url)": re.compile(r"(?<!!)\[[^\]\n]+\]\([^)\s]+(?:[ \t]+\"[^\"\n]*\")?\)"),
    "heading #": re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.M),
    "HTML tag": re.compile(rf"</?(?:{_HTML_TAGS})\b[^<>\n]*>", re.I),
    "HTML entity &…;": re.compile(rf"&(?:{_ENTITIES}|#\d{{1,7}}|#[xX][0-9a-fA-F]{{1,6}});"),
}


def without_code(text: str) -> str:
    """`text` with fenced code blocks and inline code replaced by blanks."""
    return _INLINE_CODE.sub(" ", _FENCED.sub("\n", text))


def markdown_residue(text: str) -> list[str]:
    """Labels of the kinds of residue in `text`, in a fixed order; empty when clean."""
    prose = without_code(text)
    kinds = [label for label, pattern in _RESIDUE.items() if pattern.search(prose)]
    if any(not _DUNDER.fullmatch(m.group(1)) for m in _UNDERSCORE_BOLD.finditer(prose)):
        kinds.insert(1, "bold __…__")
    return kinds


def check_markdown(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    flags = []
    for s in batch:
        parts = []
        for field in ("instruction", "input", "output"):
            kinds = markdown_residue(getattr(s, field))
            if kinds:
                parts.append(f"{field}: {', '.join(kinds)}")
        if parts:
            message = "Markdown residue in " + "; ".join(parts) + "; write it as plain text"
            flags.append((s.id, Finding(check=NAME, code="markdown_residue", severity="warn", message=message)))
    return flags
