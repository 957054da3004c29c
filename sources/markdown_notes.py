"""Rule-based, offline extraction of question-answer pairs from Markdown notes.

The notes sync walks a folder with `iter_note_files`, reads each file with `read_note` and
calls `extract_pairs`; this module never touches the store. Each pair records its rule:

- qa          explicit lists: `Q:`/`A:`, `**Q:**`, `Question:`/`Answer:`, `问：`/`答：`; a question
              without an `A:` is answered by the text after it (or, last in its section, by the
              sub-sections under it)
- faq         a heading that is itself a question; the answer is the section's own text
- definition  definition lists (a term line, then `: definition`), and `- TERM: definition`
              bullets under a glossary heading
- docstring   `def`/`class` docstrings inside ```python blocks
- section     any other heading with enough own text, asked through note_questions' templates

Explicit pairs (qa, definition) consume their lines; what is left of the section's own text
answers the heading. How blocks become text is note_render's; how headings become questions,
note_questions'. Line numbers are 1-based, inclusive and count the front matter, so an editor can
jump there.

An answer is made to stand without the note: a sentence that only points at a figure goes with
the figure, reference and navigation sections give nothing, a section whose text is only a lead-in
("训练目标如下：") is answered with its sub-sections or not at all, and an answer over the length
cap ends at a whole block or sentence, never at a colon.
"""

from __future__ import annotations

import ast
import bisect
import logging
import re
from collections import ChainMap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from markdown_it.tree import SyntaxTreeNode

from factory.config import NotesConfig
from factory.errors import BadInput
from factory.sample import Sample, Source
from sources.note_context import drop_pointers_elsewhere, promises_other_sections, sentences, standing_answer
from sources.note_files import NOTE_SUFFIXES, iter_note_files, read_note, resolve_note
from sources.note_front_matter import MAX_TAG_CHARS, MAX_TAGS, front_matter_tags, split_front_matter, yaml_text
from sources.note_questions import (
    HeadingContext,
    clean_heading,
    fill,
    heading_question,
    is_container_heading,
    is_facet,
    is_glossary_heading,
    is_question,
    is_reference_heading,
    topic_form,
)
from sources.note_render import MD, ZERO_WIDTH, Rendered, has_cjk, inline_text, is_link_list, parse, render
from sources.note_text import (
    drop_figure_pointers,
    ends_as_label,
    ends_as_lead_in,
    is_intro,
    is_trailer,
    trailer_label_only,
)
from sources.note_tools import tool_of_note, with_tool

__all__ = ["EXTRACTOR_VERSION", "MAX_TAGS", "MAX_TAG_CHARS", "NOTE_SUFFIXES", "NoteOutline", "NoteSection",
           "extract_pairs", "iter_note_files", "note_outline", "read_note", "resolve_note"]

log = logging.getLogger(__name__)

EXTRACTOR_VERSION: str = "notes-rules/3"
_MD = MD  # the parser (note_render's), named here for tests that make it fail
_parse = parse
# Docstrings are looked for only in Python blocks of a sane size that define something: parsing
# is the one step whose cost and stack depth the note's author controls (`x=1+1+...` overflows it).
_MAX_PARSED_CODE_CHARS = 50_000
_DEFINES = re.compile(r"^[ \t]*(?:async[ \t]+def|def|class)[ \t]", re.M)
# An answer that pointing at a dropped figure leaves shorter than this said little without it.
_MIN_CHARS_AFTER_FIGURE = 60

_QA_LABELS = r"(?:Q\d*|A\d*|(?i:question|answer)|问题?|答案?|回答)"
_QA_MARKER = re.compile(rf"^(?P<indent>[ \t]*)(?P<bullet>(?:[-*+]|\d{{1,3}}[.)])[ \t]+)?(?:\*\*|__)?"
                        rf"(?P<label>{_QA_LABELS})(?:\*\*|__)?[ \t]*[:：]")
_QA_LABEL = re.compile(rf"^\s*{_QA_LABELS}\s*[:：]\s*")
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_LOWER_WORD = re.compile(r"(?<![\w./-])[a-z][a-z'-]*(?![\w./-])")
_MID_SENTENCE_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z'-]+")
_CAPITALIZED = re.compile(r"(?<![\w./-])[A-Z][a-z]+(?![\w/-])")
# "- DBE: Double Bit ECC Error", "- **适配器**：插入模型的小模块": a glossary entry.
_TERM_ENTRY = re.compile(r"^(?P<term>[^:：\n]{1,60}?)\s*(?:[:：]|\s[-–—]\s)\s*(?P<definition>\S.*)$", re.S)
_ACRONYM = re.compile(r"^[A-Z][A-Za-z0-9&/+-]*[A-Z0-9]s?$")


# ---------------------------------------------------------------------------- the note


@dataclass
class _Note:
    uri: str
    lines: list[str]  # the body, after the front matter
    offset: int  # front matter lines before the body
    title: str | None
    chinese: bool
    ctx: HeadingContext
    references: dict[str, Any]  # link reference definitions, for re-parsing Q/A snippets
    tool: str | None = None  # the tool a note in a `vim/` folder is about, for its questions
    protected: set[int] = field(default_factory=set)  # body lines inside code or HTML blocks

    def span(self, start: int, end: int) -> list[int]:
        """Body lines [start, end) as 1-based inclusive file lines, trailing blank lines dropped."""
        while end > start + 1 and not self.lines[end - 1].strip():
            end -= 1
        return [self.offset + start + 1, self.offset + max(end, start + 1)]


@dataclass
class _Section:
    title: str  # heading text; "" for the text before the first heading
    level: int
    path: list[str]
    start: int  # body line of the heading
    body_start: int  # first body line after the heading
    end: int  # body line of the next heading (exclusive)
    blocks: list[SyntaxTreeNode] = field(default_factory=list)
    children: list[_Section] = field(default_factory=list)
    parent: _Section | None = None

    @property
    def subtree_end(self) -> int:
        """The body line where this heading's sub-sections end."""
        return self.children[-1].subtree_end if self.children else self.end


@dataclass
class _Pair:
    question: str
    answer: str
    rule: str
    path: list[str]
    lines: list[int]


@dataclass
class _Part:
    """One block of an answer, rendered."""

    text: str
    kind: str
    last_line: int  # body line after the block
    images: int = 0
    pointed: bool = False  # a sentence pointing at a figure was dropped from it
    promises: bool = False  # it announced what other sections hold ("in the following sections…")


# ---------------------------------------------------------------------------- language


_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)


def _is_chinese(text: str) -> bool:
    """Chinese when Han characters outnumber Latin words in the prose (code and math left out)."""
    prose = _MATH.sub("", _FENCED.sub("", text))
    han = len(_IDEOGRAPH.findall(prose))
    return han > 0 and han >= len(re.findall(r"[A-Za-z]+", prose))


# ---------------------------------------------------------------------------- answers


def _answer_parts(blocks: list[SyntaxTreeNode]) -> list[_Part]:
    """The blocks as answer text: links-only lists, trailers ("原文链接：…", "h/t …") and the list
    after a "参考资料：" label left out, sentences that point at a figure dropped with it."""
    parts: list[_Part] = []
    after_label = False
    figures = any(block_images(b) for b in blocks)  # "图中…" points at a figure only where there was one
    for n, block in enumerate(blocks):
        if block.type == "hr":
            continue
        if is_link_list(block) or block.type == "paragraph" and _mostly_urls(block):
            _drop_label(parts)  # "Here is the full example" before a link that goes
            continue  # links and "repos to explore: https://… https://…": addresses, not content
        if after_label and block.type in ("bullet_list", "ordered_list", "paragraph"):
            continue  # the references under a "参考资料：" label
        after_label = False
        rendered: Rendered = render(block)
        text = rendered.text.strip()
        if rendered.kind in ("prose", "quote", "html", "list"):
            if rendered.kind != "list" and is_trailer(text):
                after_label = trailer_label_only(text)
                continue
            shown = n + 1 < len(blocks) and blocks[n + 1].type in ("fence", "code_block", "table", "math_block")
            kept = drop_figure_pointers(text, keep_last=shown, figures=figures)  # a diagram drawn in code stays
            pointed, text = kept != text, kept
            promises = rendered.kind != "list" and promises_other_sections(text)
            text = drop_pointers_elsewhere(text)  # "详见附录 B。", "see the following sections"
        else:
            pointed = promises = False
        if text:
            parts.append(_Part(text, rendered.kind, block.map[1] if block.map else 0, rendered.images, pointed,
                               promises))
        elif promises and parts:
            parts[-1].promises = True
        elif (pointed or rendered.images) and parts:
            pointed = _drop_label(parts) or pointed  # "结构如下：" and then only the figure
            if parts and pointed:
                parts[-1].pointed = True
    return parts


_URL = re.compile(r"https?://\S+")
_HOW_TO = re.compile(r"(?i)^(?:how|can you show)\b|^(?:如何|怎么|怎样|能举|能给出)|.*(?:怎么用|如何使用|如何实现|是如何实现的)")


def _mostly_urls(paragraph: SyntaxTreeNode) -> bool:
    """A paragraph whose text is mostly bare URLs."""
    text = "".join(t.content for t in paragraph.walk() if t.type == "text")
    urls = sum(len(m) for m in _URL.findall(text))
    return urls > 0 and urls >= 0.5 * len(text)


def _drop_label(parts: list[_Part]) -> bool:
    """Drop what only announced the block that is being left out: the last part when it is that
    announcement alone, else its last sentence ("…, it will format it in a table like so:")."""
    if parts and parts[-1].kind in ("prose", "html") and (ends_as_lead_in(parts[-1].text) or ends_as_label(parts[-1].text)):
        said = sentences(parts[-1].text)
        head = "".join(said[:-1]).strip()
        if len(said) > 1 and len(head) >= 40 and not ends_as_lead_in(head):
            parts[-1].text = head
        else:
            parts.pop()
        return True
    return False


def _subtree_parts(section: _Section) -> list[_Part]:
    """The sub-sections of a lead-in, each under its heading as a line of its own."""
    parts: list[_Part] = []
    for child in section.children:
        if is_reference_heading(clean_heading(child.title, child.level)):
            continue
        own = _answer_parts(child.blocks)
        heading = clean_heading(child.title, child.level)
        if own or child.children:
            parts.append(_Part(heading, "heading", child.body_start))
        parts += own + _subtree_parts(child)
    return parts


def _cut(parts: list[_Part], limit: int) -> list[_Part]:
    """The parts that fit in `limit` characters joined, whole. A first part that alone is too
    long is cut at a sentence end when it is prose, else nothing is kept: code and tables are
    never cut. A cut answer never ends on its lead-in."""
    kept: list[_Part] = []
    size = -2  # the length of the kept parts joined; the first adds no separator
    for part in parts:
        size += 2 + len(part.text)
        if size > limit:
            if not kept and part.kind in ("prose", "quote", "list"):
                head = _sentences_within(part.text, limit)
                if head:
                    kept.append(_Part(head, part.kind, part.last_line, part.images))
            while kept and (ends_as_lead_in(kept[-1].text) or kept[-1].kind == "heading" or
                            kept[-1].kind == "prose" and ends_as_label(kept[-1].text)):
                kept.pop()  # what announced the part that did not fit goes with it: "代码实现"
            return kept
        kept.append(part)
    return kept


def _sentences_within(text: str, limit: int) -> str:
    """The longest run of whole sentences (or list items) from the start of `text` within `limit`."""
    head = text[:limit]
    ends = [m.end() for m in re.finditer(r"[.!?。！？](?=[\s\"'”’)）]|$)|[。！？]", head)]
    ends += [m.start() for m in re.finditer(r"\n(?=[-*] |\d+\. )", head)]  # before a list item
    end = max(ends, default=0)
    return head[:end].rstrip() if end > limit // 4 else ""


def _join(parts: list[_Part]) -> str:
    return "\n\n".join(p.text for p in parts)


# ---------------------------------------------------------------------------- rules


def _qa_pairs(section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    """Q/A markers in the section's own text; an answer runs until the next question. A question
    without an `A:` is answered by the blocks after it, or, when it is the section's last and
    nothing follows, by the sub-sections under it."""
    markers = []
    for i in range(section.body_start, section.end):
        if i not in note.protected and (m := _QA_MARKER.match(note.lines[i])):
            kind = "a" if m["label"][0] in "Aa答回" else "q"
            markers.append((i, kind, m.end("indent") + len(m["bullet"] or "")))
    next_question = [section.end] * len(markers)  # the line of the first question after marker n
    for n in range(len(markers) - 2, -1, -1):
        after = markers[n + 1]
        next_question[n] = after[0] if after[1] == "q" else next_question[n + 1]
    pairs = []
    for n, (q_line, kind, q_col) in enumerate(markers):
        if kind != "q":
            continue
        if n + 1 < len(markers) and markers[n + 1][1] == "a":
            a_line, _, a_col = markers[n + 1]
            stop = next_question[n + 1]
            question = _QA_LABEL.sub("", "\n\n".join(_render_markdown(_unindent(note.lines[q_line:a_line], q_col), note)))
            answer_blocks = _render_markdown(_unindent(note.lines[a_line:stop], a_col), note)
            answer_blocks[:1] = [b for b in (_QA_LABEL.sub("", b) for b in answer_blocks[:1]) if b]
            parts = [_Part(b, "prose", stop) for b in answer_blocks]
        else:
            stop = next_question[n] if n + 1 < len(markers) else section.end
            q_end = next((i for i in range(q_line + 1, stop) if not note.lines[i].strip()), stop)
            question = _QA_LABEL.sub("", "\n\n".join(_render_markdown(_unindent(note.lines[q_line:q_end], q_col), note)))
            parts = [_Part(b, "prose", stop) for b in _render_markdown(note.lines[q_end:stop], note)]
            if not parts and stop == section.end and section.children:
                parts = _subtree_parts(section)
                stop = section.subtree_end
        answer = _join(_cut(parts, config.answer_max_chars))
        if question and answer and not ends_as_lead_in(answer):
            pairs.append(_Pair(question, answer, "qa", section.path, note.span(q_line, stop)))
        elif question:
            log.debug("%s:%d: a question without an answer", note.uri, note.offset + q_line + 1)
    return pairs


def _unindent(lines: list[str], column: int) -> list[str]:
    """Drop the marker's bullet from the first line and the item's indentation from the rest."""
    return [lines[0][column:], *(line[min(column, len(line) - len(line.lstrip(" "))):] for line in lines[1:])]


def _render_markdown(lines: list[str], note: _Note) -> list[str]:
    # A view of the note's link references, not a copy: copying them for each of 20,000 Q/A
    # snippets made a note full of references quadratic. New ones land in the snippet's own map.
    env: dict[str, Any] = {"references": ChainMap({}, note.references)}
    return [p.text for p in _answer_parts(parse("\n".join(lines), env).children)]


def _definition_question(term: str, chinese: bool) -> str:
    return fill("什么是{x}？", x=term) if chinese else f"What is {term}?"


def _definition_pairs(dl: SyntaxTreeNode, section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    pairs: list[_Pair] = []
    terms: list[SyntaxTreeNode] = []
    definitions: list[SyntaxTreeNode] = []
    for child in [*dl.children, None]:
        if child is None or child.type == "dt" and definitions:
            parts = _answer_parts([b for dd in definitions for b in dd.children])
            answer = _join(_cut(parts, config.answer_max_chars))
            for dt in terms:
                term = render(dt).text
                if term and answer:
                    question = _definition_question(term, has_cjk(term) or _is_chinese(answer))
                    lines = note.span(dt.map[0], definitions[-1].map[1])
                    pairs.append(_Pair(question, answer, "definition", section.path, lines))
            terms, definitions = [], []
        if child is not None:
            (terms if child.type == "dt" else definitions).append(child)
    return pairs


def _glossary_pairs(section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    """`- TERM: definition` bullets under a glossary heading, one definition pair per term. An
    acronym with its expansion asks what it stands for."""
    pairs: list[_Pair] = []
    for block in (b for b in section.blocks if b.type in ("bullet_list", "ordered_list")):
        for item in block.children:
            first = item.children[0] if item.children else None
            if first is None or first.type != "paragraph" or not item.map:
                continue
            m = _TERM_ENTRY.match(render(first).text)
            if not m:
                continue
            term, definition = m["term"].strip(), m["definition"].strip()
            rest = _join(_answer_parts(item.children[1:]))
            definition = f"{definition}\n\n{rest}" if rest else definition
            chinese = note.chinese or has_cjk(term + definition)
            if _is_expansion(term, definition):
                expansion = definition.rstrip(".。")
                question = fill("{t} 是什么的缩写？", t=term) if chinese else f"What does {term} stand for?"
                answer = fill("{t} 是 {e} 的缩写。", t=term, e=expansion) if chinese else f"{term} stands for {expansion}."
            else:
                question, answer = _definition_question(term, chinese), definition
            answer = _join(_cut([_Part(answer, "prose", item.map[1])], config.answer_max_chars))
            if answer:  # a definition is short by nature: min_answer_chars is for sections
                pairs.append(_Pair(question, answer, "definition", section.path, note.span(*item.map)))
    return pairs


def _is_expansion(term: str, definition: str) -> bool:
    """'DBE' and 'Double Bit ECC Error': an acronym and the words it stands for."""
    words = definition.rstrip(".").split()
    capitals = [w for w in words if w[:1].isupper() or w[:1] == "("]
    return bool(_ACRONYM.match(term)) and not has_cjk(definition) and 1 < len(words) <= 8 and \
        len(capitals) >= max(2, len(words) - 2) and not re.search(r"[.;]\s", definition)


def _docstring_pairs(section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    pairs = []
    for fence in (n for block in section.blocks for n in block.walk() if n.type == "fence"):
        if (fence.info.split() or [""])[0].lower() not in ("python", "py", "python3"):
            continue
        if len(fence.content) > _MAX_PARSED_CODE_CHARS or not _DEFINES.search(fence.content):
            continue
        try:
            tree = ast.parse(fence.content)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # the last two: nested too deep
            log.debug("%s:%d: python block does not parse", note.uri, note.offset + fence.map[0] + 1)
            continue
        for name, node in _documented_definitions(tree):
            doc = ast.get_docstring(node, clean=True)  # dedented like inspect.cleandoc
            if not doc:
                continue
            chinese = note.chinese
            if isinstance(node, ast.ClassDef):
                question = f"`{name}` 类的作用是什么？" if chinese else f"What does the `{name}` class do?"
            else:
                call = f"{name}({_parameters(node.args)})"
                question = f"`{call}` 的作用是什么？" if chinese else f"What does `{call}` do?"
            base = note.offset + fence.map[0] + 1  # file line of the opening fence; code line k is base + k
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = [base + first, base + (node.end_lineno or node.lineno)]
            answer = _join(_cut([_Part(p, "prose", 0) for p in doc.split("\n\n")], config.answer_max_chars))
            if answer:
                pairs.append(_Pair(question, answer, "docstring", section.path, lines))
    return pairs


def _documented_definitions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Functions and classes in source order, methods named `Class.method`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield prefix + node.name, node
            if isinstance(node, ast.ClassDef):
                yield from _documented_definitions(node, f"{prefix}{node.name}.")


def _parameters(args: ast.arguments) -> str:
    names = [a.arg for a in args.posonlyargs + args.args]
    names = names[1:] if names[:1] in (["self"], ["cls"]) else names
    if args.vararg or args.kwonlyargs:
        names.append(f"*{args.vararg.arg}" if args.vararg else "*")
    names += [a.arg for a in args.kwonlyargs] + ([f"**{args.kwarg.arg}"] if args.kwarg else [])
    return ", ".join(names)


def _free_blocks(blocks: list[SyntaxTreeNode], pairs: list[_Pair], note: _Note) -> list[SyntaxTreeNode]:
    """The blocks that share no line with any pair (a bisect per block: a note may hold 20,000 pairs)."""
    spans: list[list[int]] = []  # the pairs' line ranges, sorted and merged
    for a, b in sorted(p.lines for p in pairs):
        if spans and a <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    starts = [a for a, _ in spans]

    def free(block: SyntaxTreeNode) -> bool:
        first, last = note.offset + block.map[0] + 1, note.offset + block.map[1]
        i = bisect.bisect_right(starts, last) - 1  # the last span starting at or before the block's end
        return i < 0 or spans[i][1] < first

    return [block for block in blocks if free(block)]


def _topic(section: _Section, note: _Note) -> str | None:
    """What a facet or a bare term is about: its nearest meaningful ancestor, else the note title."""
    parent = section.parent
    while parent is not None and parent.title:
        text = clean_heading(parent.title, parent.level)
        if text and not is_facet(text) and not is_question(text) and not is_container_heading(text) \
                and not is_reference_heading(text):
            return topic_form(text)
        parent = parent.parent
    return topic_form(note.title) if note.title and not is_facet(note.title) else None


def _section_question(section: _Section, note: _Note, answer: str) -> tuple[str | None, str]:
    heading = clean_heading(section.title, section.level)
    # A Latin heading in a Chinese note ("vLLM") is asked in Chinese when its answer has Chinese prose.
    chinese = has_cjk(heading) or _is_chinese(answer) or note.chinese and len(_IDEOGRAPH.findall(answer)) >= 8
    topic = _topic(section, note)
    if topic and heading and heading.lower() in topic.lower() and not is_facet(heading):
        topic = None  # "FSDP" under "完全分片数据并行 (FSDP)": the heading says enough
    return heading_question(heading, topic, chinese, note.ctx)


def _section_pairs(section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    heading = clean_heading(section.title, section.level) if section.title else ""
    if _under_reference(section):
        return []  # references, a table of contents, a changelog: no pair, whatever they hold
    pairs = _qa_pairs(section, note, config)
    for block in _free_blocks([b for b in section.blocks if b.type == "dl"], pairs, note):
        pairs += _definition_pairs(block, section, note, config)
    if heading and is_glossary_heading(heading):
        pairs += _glossary_pairs(section, note, config)
    rest = _free_blocks(section.blocks, pairs, note)  # what the explicit pairs left over
    pairs += _docstring_pairs(section, note, config)
    if section.title and rest and not (heading and is_glossary_heading(heading)):
        pair = _heading_pair(section, rest, note, config)
        if pair:
            pairs.append(pair)
    return pairs


def _under_reference(section: _Section) -> bool:
    """In a reference or navigation section, or under one ("延伸阅读 > 基于检索的模型")."""
    node: _Section | None = section
    while node is not None and node.title:
        if is_reference_heading(clean_heading(node.title, node.level)):
            return True
        node = node.parent
    return False


def _heading_pair(section: _Section, blocks: list[SyntaxTreeNode], note: _Note, config: NotesConfig) -> _Pair | None:
    """The heading's question and its own text as the answer. Own text that only leads in to the
    sub-sections is answered with them when they fit; else the lead-in goes."""
    parts = _answer_parts(blocks)
    pointed = any(p.pointed for p in parts)
    last_line = blocks[-1].map[1]
    if parts and section.children and (ends_as_lead_in(parts[-1].text) or is_intro(_join(parts))
                                       or any(p.promises for p in parts)):
        below = _subtree_parts(section)
        with_children = parts + below
        if len(_join(with_children)) <= config.answer_max_chars and sum(p.kind == "heading" for p in below) >= 2:
            parts, last_line = with_children, section.subtree_end
        elif not ends_as_lead_in(parts[-1].text):
            return None  # an introduction to sub-sections that make their own pairs
    kept = _cut(parts, config.answer_max_chars)
    while kept and ends_as_lead_in(kept[-1].text):
        kept.pop()
    answer = _join(kept)
    if len(answer) < config.min_answer_chars or pointed and len(answer) < _MIN_CHARS_AFTER_FIGURE:
        return None
    standing = standing_answer(answer)
    if standing is None or len(standing) < config.min_answer_chars:
        log.debug("%s: section %r builds on other parts of the note", note.uri, section.title)
        return None  # "上面提到的方案…", "As mentioned in the previous section": no answer without them
    answer = standing
    question, rule = _section_question(section, note, answer)
    if not question:
        log.debug("%s: heading %r makes no question", note.uri, section.title)
        return None
    if all(p.kind in ("code", "heading") for p in kept) and not _HOW_TO.match(question):
        return None  # bare code answers "How do I…?", not "What is…?" without the note's words
    if note.tool:
        question = with_tool(question, note.tool)  # "In Vim, how do I …?"
    if len(kept) < len(parts) and kept[-1].last_line:  # cut: the range ends with what the answer holds
        last_line = kept[-1].last_line
    return _Pair(question, answer, rule, section.path, note.span(section.start, last_line))


def block_images(node: SyntaxTreeNode) -> int:
    """Images in a block: Markdown images and <img> tags."""
    count = 0
    for n in node.walk():
        if n.type == "image":
            count += 1
        elif n.type in ("html_inline", "html_block") and "<img" in n.content.lower():
            count += n.content.lower().count("<img")
    return count


def _sections(root: SyntaxTreeNode, line_count: int) -> list[_Section]:
    sections = [_Section("", 0, [], 0, 0, line_count)]
    stack: list[_Section] = []
    for node in root.children:
        if node.type != "heading":
            sections[-1].blocks.append(node)
            continue
        level = int(node.tag[1:])
        while stack and stack[-1].level >= level:
            stack.pop()
        title = render(node).text
        sections[-1].end = node.map[0]
        section = _Section(title, level, [s.title for s in stack] + [title], node.map[0], node.map[1], line_count)
        if stack:
            section.parent = stack[-1]
            stack[-1].children.append(section)
        stack.append(section)
        sections.append(section)
    return sections


@dataclass
class NoteSection:
    """One heading's own text (up to the next heading), as written."""

    path: list[str]  # heading path; [] for the text before the first heading
    lines: list[int]  # 1-based inclusive file lines, front matter counted
    text: str


@dataclass
class NoteOutline:
    tags: list[str]
    sections: list[NoteSection]


@contextmanager
def _parsing(uri: str) -> Iterator[None]:
    """A note the parsers cannot take (a stack or memory limit hit deep in a library, a value no
    rule expected) is BadInput naming it, so the run skips it and goes on with the other notes."""
    try:
        yield
    except (RecursionError, MemoryError, ValueError) as exc:
        detail = next((line for line in str(exc).splitlines() if line.strip()), "no detail")
        raise BadInput(f"{uri}: cannot extract pairs from it ({type(exc).__name__}: {detail}); skipped") from None


def note_outline(text: str, *, uri: str) -> NoteOutline:
    """The note's sections in order, for extraction that reads whole sections (`--llm`)."""
    with _parsing(uri):
        return _note_outline(text, uri)


def _note_outline(text: str, uri: str) -> NoteOutline:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    meta, body, offset = split_front_matter(text, uri)
    lines = body.split("\n")
    sections = []
    for section in _sections(_parse(body), len(lines)):
        own = "\n".join(lines[section.start:section.end]).strip("\n")
        if own.strip():
            first = section.start + next(i for i, line in enumerate(lines[section.start:]) if line.strip())
            sections.append(NoteSection(list(section.path), [offset + first + 1, offset + first + own.count("\n") + 1],
                                        own))
    return NoteOutline(tags=front_matter_tags(meta.get("tags"), uri), sections=sections)


def extract_pairs(text: str, *, uri: str, config: NotesConfig, content_hash: str) -> list[Sample]:
    """Every question-answer pair in one note, in document order, each id at most once."""
    with _parsing(uri):
        return _extract_pairs(text, uri, config, content_hash)


def _note_title(meta: dict[str, Any], root: SyntaxTreeNode, uri: str) -> str | None:
    """What the note is about, for headings that need a topic: the front matter title, else its
    one top-level heading, else a first heading with no text of its own (a title line), else the
    file's name when it is more than "README"."""
    if meta.get("title") is not None:
        title = yaml_text(meta.get("title"))
        if title is None:
            log.warning("%s: front matter title is not text; ignored", uri)
            return None
        return clean_heading(title, 1) or None
    headings = [n for n in root.children if n.type == "heading"]
    h1 = [n for n in headings if n.tag == "h1"]
    if len(h1) == 1 and h1[0].children:
        return clean_heading(inline_text(h1[0].children[0]), 1) or None
    first = root.children[0] if root.children else None
    if first is not None and first.type == "heading" and len(root.children) > 1 and root.children[1].type == "heading":
        return clean_heading(inline_text(first.children[0]), 1) or None
    stem = uri.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if stem.lower() in ("readme", "index", "notes", "note", "untitled", "todo", "_index", "summary") or len(stem) < 4:
        return None
    stem = stem.replace("_", " ") if "-" not in stem else stem.replace("-", " ")
    return clean_heading(stem, 1) or None


def _extract_pairs(text: str, uri: str, config: NotesConfig, content_hash: str) -> list[Sample]:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    meta, body, offset = split_front_matter(text, uri)
    body = ZERO_WIDTH.sub("", body)  # invisible in the note, rejected in a sample; no line moves
    env: dict[str, Any] = {}
    root = _parse(body, env)
    paragraphs = [n for n in root.walk() if n.type == "inline" and n.parent and n.parent.type != "heading"]
    prose = "\n".join(" ".join(" ".join(t.content for t in p.walk() if t.type == "text").split()) for p in paragraphs)
    ctx = HeadingContext(words=set(_LOWER_WORD.findall(prose)), names=set(_MID_SENTENCE_NAME.findall(prose)),
                         capitalized=set(_CAPITALIZED.findall(prose)))
    title = _note_title(meta, root, uri)
    note = _Note(uri=uri, lines=body.split("\n"), offset=offset, chinese=_is_chinese(prose), title=title, ctx=ctx,
                 references=env.get("references", {}), tool=tool_of_note(uri, title))
    for node in root.walk():
        if node.type in ("fence", "code_block", "html_block", "math_block") and node.map:
            note.protected.update(range(*node.map))
    pairs = [p for section in _sections(root, len(note.lines)) for p in _section_pairs(section, note, config)]
    pairs.sort(key=lambda p: p.lines[0])  # stable: pairs starting on one line keep their order
    tags = front_matter_tags(meta.get("tags"), uri)
    samples: list[Sample] = []
    seen: set[str] = set()
    for pair in pairs:
        locator = {"heading_path": list(pair.path), "lines": pair.lines, "rule": pair.rule}
        source = Source(kind="notes", uri=uri, locator=locator, extractor_version=EXTRACTOR_VERSION,
                        content_hash=content_hash)
        sample = Sample(instruction=pair.question, input="", output=pair.answer, tags=list(tags), source=source)
        if sample.id not in seen:
            seen.add(sample.id)
            samples.append(sample)
    return samples
