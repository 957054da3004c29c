"""A note's YAML front matter: its title and tags, read defensively.

Front matter is text anyone can paste into a note, so the loader refuses what front matter never
needs (aliases, deep nesting) before it costs time or memory, and tags are capped in number and size.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import yaml

from factory.errors import BadInput

log = logging.getLogger(__name__)

_MAX_FRONT_MATTER_DEPTH = 32  # lists and mappings within each other
MAX_TAGS = 32  # front matter tags kept per note; the rest are dropped with a warning
MAX_TAG_CHARS = 64  # a longer "tag" is text pasted into the wrong field, or an expanded YAML bomb
_SURROGATE = re.compile("[\ud800-\udfff]")


class _FrontMatterLoader(yaml.SafeLoader):
    """YAML without aliases and without deep nesting, which front matter (title, tags) never
    needs: nine nested aliases expand 600 bytes into gigabytes (a "billion laughs"), and PyYAML
    reads nesting in time quadratic in its depth (`[[[[...` 5,000 deep: 9 s), then overflows the
    stack. Composing is lazy, so the refusal comes before the rest is even scanned."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._refuse(f"an alias (*{self.peek_event().anchor}); front matter may not use YAML anchors and aliases")
        if self.depth >= _MAX_FRONT_MATTER_DEPTH:
            self._refuse(f"nested too deep (more than {_MAX_FRONT_MATTER_DEPTH} levels)")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _refuse(self, problem: str) -> None:
        raise yaml.composer.ComposerError(None, None, problem, self.peek_event().start_mark)


def split_front_matter(text: str, uri: str) -> tuple[dict[str, Any], str, int]:
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return {}, text, 0
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if close is None:
        raise BadInput(f"{uri}: broken front matter: no closing '---' line")
    try:
        meta = yaml.load("\n".join(lines[1:close]), Loader=_FrontMatterLoader)  # noqa: S506 - a SafeLoader
    except RecursionError:  # the depth limit above should come first; this is its backstop
        raise BadInput(f"{uri}: broken front matter: nested too deep to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 2}: " if mark else ""  # + the opening '---', 1-based
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]  # a ReaderError has no `problem`
        raise BadInput(f"{uri}: broken front matter: {where}{problem}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BadInput(f"{uri}: broken front matter: expected a YAML mapping, got a {type(meta).__name__}")
    return meta, "\n".join(lines[close + 1:]), close + 1


def front_matter_tags(value: Any, uri: str) -> list[str]:
    """The note's tags, at most MAX_TAGS of at most MAX_TAG_CHARS; one warning per kind of problem."""
    if isinstance(value, str):
        value = value.split(",")
    elif value is not None and not isinstance(value, list):
        log.warning("%s: front matter `tags` is neither a list nor a comma-separated string; ignored", uri)
        value = None
    tags: list[str] = []
    problems: set[str] = set()
    for item in value or []:
        text = yaml_text(item) if item is not None else ""
        if text is None:
            problems.add("a tag that is not text (a list, a mapping, a lone surrogate escape) was dropped")
            continue
        tag = text.strip().lstrip("#").strip()
        if len(tag) > MAX_TAG_CHARS:
            problems.add(f"a tag over {MAX_TAG_CHARS} characters was dropped")
        elif tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        problems.add(f"only the first {MAX_TAGS} of {len(tags)} tags are kept")
    for problem in sorted(problems):
        log.warning("%s: front matter tags: %s", uri, problem)
    return tags[:MAX_TAGS]


def yaml_text(value: Any) -> str | None:
    """A front matter scalar as text; None for a list or a mapping, and for text that YAML escapes
    made invalid (a lone "\\ud800", which SQLite and every export refuse). Escaped pairs are joined."""
    if not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    if text.isascii():
        return text
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")  # joins "\\ud83d\\ude00"
    return None if _SURROGATE.search(text) else text
