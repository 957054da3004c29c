"""Rule-based, offline extraction of question-answer pairs from Markdown notes.

The notes sync walks a folder with `iter_note_files`, reads each file with `read_note` and
calls `extract_pairs`; this module never touches the store. Each pair records its rule:

- qa          explicit lists: `Q:`/`A:`, `**Q:**`, `Question:`/`Answer:`, `问：`/`答：`
- faq         a heading that is itself a question; the answer is the section's own text
- definition  definition lists (a term line, then `: definition`)
- docstring   `def`/`class` docstrings inside ```python blocks
- section     any other heading with enough own text, asked through the templates below

Explicit pairs (qa, definition) consume their lines; what is left of the section's own text
answers the heading. Line numbers are 1-based, inclusive and count the front matter, so an
editor can jump there.
"""

from __future__ import annotations

import ast
import bisect
import codecs
import html
import logging
import os
import re
import stat
from collections import ChainMap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.deflist import deflist_plugin

from factory.config import NotesConfig
from factory.errors import BadInput
from factory.sample import Sample, Source

log = logging.getLogger(__name__)

EXTRACTOR_VERSION: str = "notes-rules/1"
NOTE_SUFFIXES = (".md", ".markdown")
_MD = MarkdownIt("commonmark").enable("table").use(deflist_plugin)
# markdown-it caps block nesting (20), not inline: 2,000 `*` in a row make 1,000 nested emphasis
# nodes, deeper than Python's stack when the tree is built and walked. Emphasis deeper than this
# renders the same text, so the extra levels are dropped from the token stream first.
_MAX_INLINE_DEPTH = 20
# Docstrings are looked for only in Python blocks of a sane size that define something: parsing
# is the one step whose cost and stack depth the note's author controls (`x=1+1+...` overflows it).
_MAX_PARSED_CODE_CHARS = 50_000
_DEFINES = re.compile(r"^[ \t]*(?:async[ \t]+def|def|class)[ \t]", re.M)
_MAX_FRONT_MATTER_DEPTH = 32  # lists and mappings within each other
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_TAGS = 32  # front matter tags kept per note; the rest are dropped with a warning
MAX_TAG_CHARS = 64  # a longer "tag" is text pasted into the wrong field, or an expanded YAML bomb

# ---------------------------------------------------------------------------- question templates
# Generic headings name a facet of a topic: the nearest ancestor heading that is not generic
# itself, else the front matter title ("Installation" under "Ollama" -> "How do I install
# Ollama?"). Without a topic they make no pair; None marks headings never worth a pair.
_GENERIC_HEADINGS: list[tuple[str, str | None, str | None]] = [
    # heading (EN|ZH, lower case)                  English question                 Chinese question
    ("overview|introduction|intro|about|概述|简介|介绍|概览|概要",
     "Can you give an overview of {t}?", "请概述一下{t}。"),
    ("background|motivation|背景|动机", "What is the background of {t}?", "{t}的背景是什么？"),
    ("installation|install|安装|安装方法|安装步骤", "How do I install {t}?", "如何安装{t}？"),
    ("setup|getting started|quick start|quickstart|快速开始|快速上手|入门|环境搭建",
     "How do I get started with {t}?", "如何快速上手{t}？"),
    ("usage|basic usage|how to use|使用|用法|使用方法|基本用法", "How do I use {t}?", "如何使用{t}？"),
    ("configuration|config|settings|options|配置|配置项|设置", "How do I configure {t}?", "如何配置{t}？"),
    ("example|examples|示例|例子|实例", "Can you show an example of {t}?", "能举一个{t}的例子吗？"),
    ("code|snippets|example code|代码|示例代码", "Can you show example code for {t}?", "能给出{t}的示例代码吗？"),
    ("notes|remarks|tips|tips and tricks|注意|提示|小技巧",
     "What should I keep in mind when working with {t}?", "{t}有哪些需要注意的地方？"),
    ("pitfalls|common pitfalls|gotchas|caveats|common mistakes|known issues|坑|踩坑|常见错误|已知问题",
     "What are the common pitfalls of {t}?", "{t}有哪些常见的坑？"),
    ("best practices|最佳实践", "What are the best practices for {t}?", "{t}有哪些最佳实践？"),
    ("troubleshooting|debugging|故障排查|排错|问题排查", "How do I troubleshoot {t}?", "如何排查{t}的问题？"),
    ("requirements|prerequisites|dependencies|前置条件|依赖|环境要求|准备工作",
     "What are the prerequisites for {t}?", "{t}需要哪些前置条件？"),
    ("advantages|pros|benefits|优点|优势|好处", "What are the advantages of {t}?", "{t}有哪些优点？"),
    ("disadvantages|cons|drawbacks|limitations|缺点|不足|局限|局限性",
     "What are the limitations of {t}?", "{t}有哪些局限？"),
    ("pros and cons|trade-offs|tradeoffs|优缺点|权衡", "What are the trade-offs of {t}?", "{t}有哪些优缺点？"),
    ("how it works|internals|原理|工作原理|实现原理", "How does {t} work?", "{t}的原理是什么？"),
    ("why|rationale|为什么", "Why use {t}?", "为什么要用{t}？"),
    ("summary|conclusion|takeaways|key takeaways|tl;dr|总结|小结", "What are the key takeaways about {t}?",
     "{t}的要点有哪些？"),
    ("lessons learned|reflection|reflections|retrospective|postmortem|反思|复盘|心得|经验|经验教训",
     "What lessons were learned from {t}?", "{t}有哪些经验教训？"),
    ("references|see also|links|further reading|resources|todo|changelog|contents|table of contents"
     "|参考|参考资料|参考链接|相关链接|延伸阅读|目录|待办", None, None),
    ("glossary|terms|terminology|术语|术语表", None, None),  # the definitions inside are the pairs
]
_GENERIC = {key: (en, zh) for keys, en, zh in _GENERIC_HEADINGS for key in keys.split("|")}
_CONTAINERS = ("faq", "questions", "q&a", "常见问题", "问答")  # such a heading's pairs are inside it

# English headings that name a task: "Installing Ollama" -> "How do I install Ollama?". Words in
# _TASK_VERBS always do; _MAYBE_VERBS only before an article or a preposition ("Training the
# model" is a task, "Training data" is a thing).
_TASK_VERBS = dict(p.split(":") for p in (
    "install:install installing:install configure:configure configuring:configure deploy:deploy "
    "deploying:deploy using:use setting:set running:run choose:choose choosing:choose debug:debug "
    "debugging:debug fix:fix fixing:fix avoid:avoid avoiding:avoid migrating:migrate upgrading:upgrade "
    "convert:convert converting:convert enable:enable enabling:enable create:create creating:create "
    "check:check checking:check submitting:submit keeping:keep finding:find getting:get remove:remove "
    "removing:remove reducing:reduce evaluating:evaluate deduplicating:deduplicate validating:validate").split())
_MAYBE_VERBS = dict(p.split(":") for p in (
    "train:train training:train run:run use:use build:build building:build test:test testing:test "
    "load:load loading:load save:save saving:save export:export exporting:export merge:merge "
    "merging:merge serving:serve write:write writing:write tuning:tune fine-tuning:fine-tune add:add "
    "adding:add set:set monitoring:monitor handling:handle").split())
_OBJECT_STARTS = set("the a an your our my this that these those it them with on in for from to into "
                     "via up out over across without".split())
_LINK_WORDS = set("of for in on with to from per by about against and or over under via we you they that which".split())
_FUNCTION_WORDS = set("the a an our my your this these after before during while".split())
_SITUATION = re.compile(r"(?i)\s(?:is|are|was|were|does not|doesn't|don't|won't|can't|cannot|fails?|keeps?)\s")
_EN_QUESTION_START = re.compile(r"(?i)^(how|what|what's|why|when|where|which|who|can|should|is|does)\b")
_ZH_QUESTION_WORDS = re.compile(r"^(?:如何|怎么|怎样|为什么|为何|什么|是否|能否|哪些|哪个)|怎么|怎样|如何|为什么|是什么|多少|[吗呢]$")
_ZH_LIST_SUFFIXES = ("步骤", "方法", "注意事项", "原则", "技巧", "要点", "建议", "原因", "优点", "缺点",
                     "特点", "场景", "因素", "方案", "问题", "误区", "类型", "命令", "参数", "工具", "坑")
_ZH_VERBS = ("使用", "用", "安装", "配置", "部署", "训练", "搭建", "构建", "运行", "创建", "编写", "启动", "加载",
             "保存", "导出", "合并", "微调", "评估", "测试", "调试", "优化", "实现", "升级", "迁移", "清洗",
             "转换", "选择", "量化", "下载", "监控", "排查", "管理", "处理", "准备")
_ZH_NOT_VERBS = ("用户", "用法", "用途", "用量", "数据", "数据集", "文件", "日志", "指标", "脚本", "结果", "集",
                 "格式", "框架", "模型", "函数", "代码", "规范", "流程", "策略", "记录")  # first or last word
_VERSUS = re.compile(r"^(.+?)\s+(?:vs\.?|versus)\s+(.+)$", re.I)
_ZH_VERSUS = re.compile(r"^(.+?)\s*(?:和|与|跟|vs\.?|VS)\s*(.+?)的?(?:区别|异同|对比|比较)$")
_NUMBERING = re.compile(
    r"^(?:(?:step|part|chapter)\s*\d+\s*[:.：\-–—]?\s*|第[0-9一二三四五六七八九十百]+(?:[步章节篇部][:：、.\s]*|[:：、.]\s*)"
    r"|[一二三四五六七八九十]+\s*[、.．]\s*|\d{1,2}(?:\.\d{1,2})*[.)、．]\s*|\d{1,2}(?:\.\d{1,2})+\s+)", re.I)
_TITLE_NOISE = re.compile(r"(?i)^(?:notes?\s+(?:on|about)\s+|my\s+)|\s*[-–—:：]?\s*(?:notes?|cheat\s*sheet"
                          r"|学习笔记|笔记|备忘|速查表?)$")

# ---------------------------------------------------------------------------- markers and text
_QA_LABELS = r"(?:Q\d*|A\d*|(?i:question|answer)|问题?|答案?|回答)"
_QA_MARKER = re.compile(rf"^(?P<indent>[ \t]*)(?P<bullet>(?:[-*+]|\d{{1,3}}[.)])[ \t]+)?(?:\*\*|__)?"
                        rf"(?P<label>{_QA_LABELS})(?:\*\*|__)?[ \t]*[:：]")
_QA_LABEL = re.compile(rf"^\s*{_QA_LABELS}\s*[:：]\s*")
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
_SOFTBREAK = "\x00"  # a soft line break: a space in English, nothing between Chinese characters
_SOFT_BETWEEN_CJK = re.compile(rf"(?<={_CJK}){_SOFTBREAK}(?={_CJK})")
_FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_HTML_TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
_BR = re.compile(r"<br\s*/?>\n?", re.I)
_WIKI_LINK = re.compile(r"\[\[([^\]|#]+)(?:#[^\]|]*)?(?:\|([^\]]+))?\]\]")  # Obsidian [[page|alias]]
_CALLOUT = re.compile(r"^\[!\w+\][+-]?[ \t]*")  # Obsidian "> [!note] Title"
_LOWER_WORD = re.compile(r"(?<![\w./-])[a-z][a-z'-]*(?![\w./-])")
_MID_SENTENCE_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z'-]+")


# ---------------------------------------------------------------------------- files


def iter_note_files(root: Path) -> list[Path]:
    """Every `*.md` / `*.markdown` file under `root`, recursively and sorted; hidden folders
    (`.git`, `.factory`, `.obsidian`) and hidden files are skipped."""
    root = Path(root)
    if not root.is_dir():
        raise BadInput(f"{root}: not a folder; point the notes source at the folder holding your notes")
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(folder, f) for f in files if not f.startswith(".") and f.lower().endswith(NOTE_SUFFIXES)]
    return sorted(found)


def resolve_note(path: Path, *, root: Path | None, name: str) -> Path:
    """The file a note path stands for, symbolic links followed. Raises BadInput naming the note
    for a link loop, a dangling link and, with `root`, a link that leads outside `root`."""
    try:
        real = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a link loop this way
        raise BadInput(f"{name}: cannot read: a symbolic link loop") from None
    except OSError as exc:
        raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None
    if root is not None and not real.is_relative_to(root.resolve()):
        raise BadInput(f"{name}: a link to {real}, outside the notes folder; not followed")
    return real


def read_note(path: Path, *, max_bytes: int, name: str | None = None) -> str:
    """The note's text: UTF-8 without BOM, unix newlines. Raises BadInput naming the file
    (as `name` when given, e.g. its workspace-relative uri, else its path)."""
    name = name or str(path)
    data = _read_regular_file(path, max_bytes, name)
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        raise BadInput(f"{name}: looks binary (NUL byte at offset {nul}), not a Markdown note")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = bom + exc.start
        raise BadInput(f"{name}: not UTF-8 (byte 0x{data[at]:02x} at offset {at}); re-save it as UTF-8") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise BadInput(f"{name}: {'empty file' if not text else 'only whitespace'}, nothing to extract")
    return text


def _read_regular_file(path: Path, max_bytes: int, name: str) -> bytes:
    """At most `max_bytes` of a regular file. Anything else is refused from its stat, before it is
    opened: reading a FIFO waits for a writer forever, a device like /dev/zero never ends."""
    try:
        kind = _file_kind(os.stat(path).st_mode)
        if kind:
            raise BadInput(f"{name}: not a regular file ({kind}); only regular files are read")
        # O_NONBLOCK and the second check: a file swapped for a FIFO after the stat cannot block us.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if kind := _file_kind(info.st_mode):
                raise BadInput(f"{name}: not a regular file ({kind}); only regular files are read")
            if info.st_size > max_bytes:
                raise BadInput(f"{name}: {info.st_size} bytes is over the {max_bytes}-byte limit (notes.max_file_bytes)")
            data = handle.read(max_bytes + 1)  # a file still growing stops at the limit too
    except OSError as exc:
        raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise BadInput(f"{name}: over the {max_bytes}-byte limit (notes.max_file_bytes)")
    return data


def _file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is, for the message; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((kind for test, kind in kinds if test(mode)), "a special file")


# ---------------------------------------------------------------------------- the note


@dataclass
class _Note:
    uri: str
    lines: list[str]  # the body, after the front matter
    offset: int  # front matter lines before the body
    title: str | None
    chinese: bool
    words: set[str]  # lower-case words of the prose: "gradient" is evidence that "Gradient" is no name
    names: set[str]  # capitalised words in mid-sentence: "with Ollama" says that "Ollama" is one
    references: dict[str, Any]  # link reference definitions, for re-parsing Q/A snippets
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


@dataclass
class _Pair:
    question: str
    answer: str
    rule: str
    path: list[str]
    lines: list[int]


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


def _split_front_matter(text: str, uri: str) -> tuple[dict[str, Any], str, int]:
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


def _front_matter_tags(value: Any, uri: str) -> list[str]:
    """The note's tags, at most MAX_TAGS of at most MAX_TAG_CHARS; one warning per kind of problem."""
    if isinstance(value, str):
        value = value.split(",")
    elif value is not None and not isinstance(value, list):
        log.warning("%s: front matter `tags` is neither a list nor a comma-separated string; ignored", uri)
        value = None
    tags: list[str] = []
    problems: set[str] = set()
    for item in value or []:
        text = _yaml_text(item) if item is not None else ""
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


def _yaml_text(value: Any) -> str | None:
    """A front matter scalar as text; None for a list or a mapping, and for text that YAML escapes
    made invalid (a lone "\\ud800", which SQLite and every export refuse). Escaped pairs are joined."""
    if not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    if text.isascii():
        return text
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")  # joins "\\ud83d\\ude00"
    return None if _SURROGATE.search(text) else text


# ---------------------------------------------------------------------------- language


def _has_cjk(text: str) -> bool:
    return bool(_IDEOGRAPH.search(text))


def _is_chinese(text: str) -> bool:
    """Chinese when Han characters outnumber Latin words in the prose (code blocks left out)."""
    prose = _FENCED.sub("", text)
    han = len(_IDEOGRAPH.findall(prose))
    return han > 0 and han >= len(re.findall(r"[A-Za-z]+", prose))


# ---------------------------------------------------------------------------- plain-text rendering


def _render_blocks(nodes: list[SyntaxTreeNode]) -> list[str]:
    """One plain-text string per block node; blocks that render empty are dropped."""
    return [text for node in nodes if (text := _render_block(node).strip())]


def _render_block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("paragraph", "heading", "dt", "th", "td"):
        return _render_inline(node.children[0]) if node.children else ""
    if kind in ("fence", "code_block"):  # kept intact, fence and language included
        code = node.content if node.content.endswith("\n") else node.content + "\n"
        return f"{node.markup}{node.info}\n{code}{node.markup}" if kind == "fence" else f"```\n{code}```"
    if kind in ("bullet_list", "ordered_list"):
        return _render_list(node)
    if kind == "table":  # one line per row: "Col A: x; Col B: y"
        trs = [tr for tr in node.walk() if tr.type == "tr"]
        header, *rows = [[" ".join(_render_block(cell).split()) for cell in tr.children] for tr in trs]
        return "\n".join("; ".join(f"{h}: {v}" if h else v for h, v in zip(header, row) if v) for row in rows)
    if kind == "dl":  # inside an answer: "term: definition" lines
        terms = [_render_block(c) if c.type == "dt" else None for c in node.children]
        return "\n".join(f"{next(t for t in reversed(terms[:i]) if t)}: " + " ".join(_render_blocks(c.children))
                         for i, c in enumerate(node.children) if c.type == "dd")
    if kind == "html_block":  # tags dropped, their text kept: "<div>Note<br>\n</div>" -> "Note"
        text = html.unescape(_HTML_TAG.sub("", _BR.sub("\n", node.content)))
        return "\n".join(line.strip() for line in text.split("\n") if line.strip())
    if kind == "hr":
        return ""
    text = "\n\n".join(_render_blocks(node.children))  # blockquote, dd: whatever blocks they hold
    return _CALLOUT.sub("", text) if kind == "blockquote" else text


def _render_list(node: SyntaxTreeNode) -> str:
    start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else None
    lines: list[str] = []
    for n, item in enumerate(node.children):
        marker = "-" if start is None else f"{start + n}."
        first, *rest = "\n".join(_render_blocks(item.children)).split("\n")
        lines.append(f"{marker} {first}".rstrip())
        lines += [f"  {line}" if line else "" for line in rest]  # nested blocks: two more spaces
    return "\n".join(lines)


def _render_inline(node: SyntaxTreeNode) -> str:
    text = _SOFT_BETWEEN_CJK.sub("", "".join(_inline_parts(node))).replace(_SOFTBREAK, " ")
    return re.sub(r"[ \t]*\n[ \t]*", "\n", _WIKI_LINK.sub(lambda m: m[2] or m[1], text)).strip()


def _inline_parts(node: SyntaxTreeNode) -> Iterator[str]:
    for child in node.children:
        if child.type in ("text", "code_inline"):
            yield child.content
        elif child.type in ("softbreak", "hardbreak"):
            yield _SOFTBREAK if child.type == "softbreak" else "\n"
        elif child.type == "html_inline":
            yield "\n" if _BR.fullmatch(child.content) else ""
        else:  # emphasis, links (their text), images (their alt text)
            yield from _inline_parts(child)


def _parse(text: str, env: dict[str, Any] | None = None) -> SyntaxTreeNode:
    """The Markdown tree of `text`, inline nesting kept shallow enough to build and walk."""
    tokens = _MD.parse(text, env)
    pending = [token for token in tokens if token.children]
    while pending:  # images hold their alt text as children of their own: flattened the same way
        token = pending.pop()
        token.children = _shallow(token.children or [])
        pending += [child for child in token.children if child.children]
    return SyntaxTreeNode(tokens)


def _shallow(tokens: list[Token]) -> list[Token]:
    """Inline tokens without the open/close pairs nested deeper than _MAX_INLINE_DEPTH."""
    kept, depth = [], 0
    for token in tokens:
        depth += token.nesting == 1
        if token.nesting == 0 or depth <= _MAX_INLINE_DEPTH:
            kept.append(token)
        depth -= token.nesting == -1
    return kept


def _render_markdown(lines: list[str], note: _Note) -> list[str]:
    # A view of the note's link references, not a copy: copying them for each of 20,000 Q/A
    # snippets made a note full of references quadratic. New ones land in the snippet's own map.
    env: dict[str, Any] = {"references": ChainMap({}, note.references)}
    return _render_blocks(_parse("\n".join(lines), env).children)


def _cut(blocks: list[str], limit: int) -> str:
    """Join blocks with blank lines, stopping at the last whole block that fits in `limit`."""
    kept: list[str] = []
    size = -2  # the length of the kept blocks joined; the first block adds no separator
    for block in blocks:
        size += 2 + len(block)
        if size > limit:
            if not kept:  # even the first block is too long: cut inside it, at a line or sentence end
                fence = re.match(r"`{3,}|~{3,}", block)
                head = block[: limit - (len(fence[0]) + 1 if fence else 0)]
                ends = [head.rfind("\n")] + ([] if fence else [m.end() for m in re.finditer(r"[.!?。！？](?=\s|$)", head)])
                head = head[: max(ends)].rstrip() if max(ends) > 0 else head
                kept.append(f"{head}\n{fence[0]}" if fence else head)
            break
        kept.append(block)
    return "\n\n".join(kept)


# ---------------------------------------------------------------------------- questions


def _fill(template: str, **values: str) -> str:
    """Format a template, putting a space where Chinese meets Latin text ("安装 Ollama")."""
    out = ""
    for literal, name, _, _ in Formatter().parse(template):
        for piece in (literal, values[name] if name else ""):
            if out and piece and _has_cjk(out[-1]) != _has_cjk(piece[0]) and (
                    out[-1].isascii() and out[-1].isalnum() or piece[0].isascii() and piece[0].isalnum()):
                out += " "
            out += piece
    return out


def _clean_heading(text: str, level: int) -> str:
    """Drop numbering ("2.1", "第一步：") and, on titles, "notes" or a subtitle after a colon."""
    text = _NUMBERING.sub("", text).strip().rstrip(":：").strip()
    if level <= 1:
        text = _TITLE_NOISE.sub("", text).strip()
        head, colon, _ = text.partition(": ")
        text = head if colon and len(head.split()) >= 2 else text
    return text


def _phrase(text: str, note: _Note) -> str:
    """A heading fit for mid-sentence: 'Gradient checkpointing' -> 'gradient checkpointing' when
    the note writes the word in lower case elsewhere; names like 'Ollama' or 'LoRA' stay."""
    first = text.split()[0]
    lower = first.lower()
    common = lower in _TASK_VERBS or lower in _MAYBE_VERBS or lower in _FUNCTION_WORDS or lower.endswith("ing")
    if first[:1].isupper() and (first[1:].islower() or len(first) == 1) and first not in note.names and (
            common or lower in note.words):
        return first.lower() + text[len(first):]
    return text


def _is_task(topic: str) -> bool:
    """'Serving models with vLLM', '用 Ollama 部署模型': a topic that is an activity, not a thing."""
    return topic.split()[0].lower().endswith("ing") if not _has_cjk(topic) else topic.startswith(_ZH_VERBS)


def _is_question(heading: str) -> bool:
    if heading.endswith(("?", "？")):
        return True
    if re.search(r"。|\.(\s|$)", heading):
        return False
    return bool(_EN_QUESTION_START.match(heading) or _has_cjk(heading) and _ZH_QUESTION_WORDS.search(heading))


def _as_question(heading: str) -> str:
    if heading.endswith(("?", "？")):
        return heading
    if m := re.match(r"(?i)^(how|when|where|what|which|why) to (.+)$", heading):  # "How to X" -> "How do I X?"
        word = m[1].capitalize()
        heading = f"{word} {'do' if word == 'How' else 'should'} I {m[2]}"
    return heading + ("？" if _has_cjk(heading) else "?")


def _generic_question(key: str, topic: str | None, chinese: bool, note: _Note) -> str | None:
    en, zh = _GENERIC[key]
    template = zh if chinese else en
    if not template or not topic:
        return None
    if _is_task(topic) and chinese and template.startswith("如何") and template.endswith("{t}？"):
        template = "{t}时" + template[: -len("{t}？")] + "？"  # "如何安装{t}？" -> "{t}时如何安装？"
    elif _is_task(topic) and not chinese and template.startswith("How do I"):
        return f"What should I know about {key} when {_phrase(topic, note)}?"
    return _fill(template, t=topic if chinese else _phrase(topic, note))


def _en_question(heading: str, topic: str | None, note: _Note) -> str:
    if m := _VERSUS.match(heading):
        return f"What is the difference between {_phrase(m[1], note)} and {m[2]}?"
    words = heading.split()
    first = words[0].lower()
    verb = _TASK_VERBS.get(first) or _MAYBE_VERBS.get(first)
    if verb and len(words) > 1 and (first in _TASK_VERBS or words[1].lower() in _OBJECT_STARTS):
        return f"How do I {verb} {' '.join(words[1:])}?"
    if verb and len(words) == 1 and topic:
        return f"How do I {verb} {topic}?"
    phrase = _phrase(heading, note)
    if first in ("after", "before", "during", "while"):
        return f"What should I do {phrase}?"
    if _SITUATION.search(heading):  # "Latency is high but there are no errors"
        return f"What should I do when {phrase}?"
    if len(words) == 1 and topic and heading[0].isupper() and heading[1:].islower():  # a common noun: say where
        return f"What should I know about {phrase} when {_phrase(topic, note)}?" if _is_task(topic) else \
            f"What is {phrase} in {topic}?"
    if verb and (not first.endswith("ing") or len(words) > 2) or len(words) > 4:  # "Use cases", "Serving models with X"
        return f"What should I know about {phrase}?"
    head = next((words[i - 1] for i in range(1, len(words)) if words[i].lower() in _LINK_WORDS), words[-1])
    plural = head.endswith("s") and not head.endswith(("ss", "us", "is")) and not head.isupper() and len(head) > 3
    return f"What {'are' if plural else 'is'} {phrase}?"


def _zh_question(heading: str, topic: str | None) -> str | None:
    if m := _ZH_VERSUS.match(heading) or _VERSUS.match(heading):
        return _fill("{a}和{b}有什么区别？", a=m[1], b=m[2])
    if heading.endswith("的问题"):
        return _fill("{h}会有什么问题？", h=heading[: -len("的问题")])
    if heading.endswith(_ZH_LIST_SUFFIXES):
        if heading not in _ZH_LIST_SUFFIXES:
            return _fill("{h}有哪些？", h=heading.replace("的那些", "的"))
        return _fill("{t}的{h}有哪些？", t=topic, h=heading) if topic else None
    if heading.startswith(_ZH_VERBS) and not heading.startswith(_ZH_NOT_VERBS) and not (
            len(heading) <= 5 and heading.endswith(_ZH_NOT_VERBS)):  # "训练数据" is data, "训练 LoRA" a task
        return _fill("如何{h}？", h=heading)
    han, latin = len(_IDEOGRAPH.findall(heading)), len(re.findall(r"[A-Za-z0-9]+", heading))
    if topic and (han == 0 and latin == 1 or latin == 0 and han <= 3):  # a bare term: say where
        return _fill("{t}中的{h}是什么？", t=topic, h=heading)
    return _fill("什么是{h}？" if han + latin <= 10 else "请介绍一下{h}。", h=heading)


def _topic(section: _Section, note: _Note) -> str | None:
    """What a generic or one-word heading is about: its nearest real ancestor, else the note title."""
    for depth, title in reversed(list(enumerate(section.path[:-1]))):
        text = _clean_heading(title, depth + 1)
        if text and text.lower() not in _GENERIC and not _is_question(text):
            return text
    return note.title


def _heading_question(section: _Section, note: _Note, answer: str) -> tuple[str | None, str]:
    heading = _clean_heading(section.title, section.level)
    key = heading.lower()
    if not heading or key.endswith(_CONTAINERS):
        return None, "section"
    chinese = _has_cjk(heading) or _is_chinese(answer)
    topic = _topic(section, note)
    topic = None if topic and topic.lower() == key else topic
    if key in _GENERIC:
        return _generic_question(key, topic, chinese, note), "section"
    if _is_question(heading):
        return _as_question(heading), "faq"
    return (_zh_question(heading, topic) if chinese else _en_question(heading, topic, note)), "section"


# ---------------------------------------------------------------------------- rules


def _qa_pairs(section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    """Q/A markers in the section's own text; an answer runs until the next question."""
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
        if n + 1 == len(markers) or markers[n + 1][1] != "a":
            log.debug("%s:%d: a question without an answer", note.uri, note.offset + q_line + 1)
            continue
        a_line, _, a_col = markers[n + 1]
        stop = next_question[n + 1]
        question = _QA_LABEL.sub("", "\n\n".join(_render_markdown(_unindent(note.lines[q_line:a_line], q_col), note)))
        answer_blocks = _render_markdown(_unindent(note.lines[a_line:stop], a_col), note)
        answer_blocks[:1] = [b for b in (_QA_LABEL.sub("", b) for b in answer_blocks[:1]) if b]
        answer = _cut(answer_blocks, config.answer_max_chars)
        if question and answer:
            pairs.append(_Pair(question, answer, "qa", section.path, note.span(q_line, stop)))
    return pairs


def _unindent(lines: list[str], column: int) -> list[str]:
    """Drop the marker's bullet from the first line and the item's indentation from the rest."""
    return [lines[0][column:], *(line[min(column, len(line) - len(line.lstrip(" "))):] for line in lines[1:])]


def _definition_pairs(dl: SyntaxTreeNode, section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    pairs: list[_Pair] = []
    terms: list[SyntaxTreeNode] = []
    definitions: list[SyntaxTreeNode] = []
    for child in [*dl.children, None]:
        if child is None or child.type == "dt" and definitions:
            answer = _cut([b for dd in definitions for b in _render_blocks(dd.children)], config.answer_max_chars)
            for dt in terms:
                term = _render_block(dt)
                if term and answer:
                    question = _fill("什么是{x}？", x=term) if _has_cjk(term) or _is_chinese(answer) else f"What is {term}?"
                    lines = note.span(dt.map[0], definitions[-1].map[1])
                    pairs.append(_Pair(question, answer, "definition", section.path, lines))
            terms, definitions = [], []
        if child is not None:
            (terms if child.type == "dt" else definitions).append(child)
    return pairs


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
            if isinstance(node, ast.ClassDef):
                question = f"`{name}` 类的作用是什么？" if note.chinese else f"What does the `{name}` class do?"
            else:
                call = f"{name}({_parameters(node.args)})"
                question = f"`{call}` 的作用是什么？" if note.chinese else f"What does `{call}` do?"
            base = note.offset + fence.map[0] + 1  # file line of the opening fence; code line k is base + k
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = [base + first, base + (node.end_lineno or node.lineno)]
            answer = _cut(doc.split("\n\n"), config.answer_max_chars)
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


def _section_pairs(section: _Section, note: _Note, config: NotesConfig) -> list[_Pair]:
    pairs = _qa_pairs(section, note, config)
    for block in _free_blocks([b for b in section.blocks if b.type == "dl"], pairs, note):
        pairs += _definition_pairs(block, section, note, config)
    rest = _free_blocks(section.blocks, pairs, note)  # what the explicit pairs left over
    pairs += _docstring_pairs(section, note, config)
    if section.title and rest:
        answer = _cut(_render_blocks(rest), config.answer_max_chars)
        if len(answer) >= config.min_answer_chars:
            question, rule = _heading_question(section, note, answer)
            if question:
                pairs.append(_Pair(question, answer, rule, section.path, note.span(section.start, rest[-1].map[1])))
            else:
                log.debug("%s: heading %r makes no question", note.uri, section.title)
    return pairs


def _sections(root: SyntaxTreeNode, line_count: int) -> list[_Section]:
    sections = [_Section("", 0, [], 0, 0, line_count)]
    stack: list[tuple[int, str]] = []
    for node in root.children:
        if node.type != "heading":
            sections[-1].blocks.append(node)
            continue
        level = int(node.tag[1:])
        while stack and stack[-1][0] >= level:
            stack.pop()
        title = _render_block(node)
        stack.append((level, title))
        sections[-1].end = node.map[0]
        sections.append(_Section(title, level, [t for _, t in stack], node.map[0], node.map[1], line_count))
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
    meta, body, offset = _split_front_matter(text, uri)
    lines = body.split("\n")
    sections = []
    for section in _sections(_parse(body), len(lines)):
        own = "\n".join(lines[section.start:section.end]).strip("\n")
        if own.strip():
            first = section.start + next(i for i, line in enumerate(lines[section.start:]) if line.strip())
            sections.append(NoteSection(list(section.path), [offset + first + 1, offset + first + own.count("\n") + 1],
                                        own))
    return NoteOutline(tags=_front_matter_tags(meta.get("tags"), uri), sections=sections)


def extract_pairs(text: str, *, uri: str, config: NotesConfig, content_hash: str) -> list[Sample]:
    """Every question-answer pair in one note, in document order, each id at most once."""
    with _parsing(uri):
        return _extract_pairs(text, uri, config, content_hash)


def _extract_pairs(text: str, uri: str, config: NotesConfig, content_hash: str) -> list[Sample]:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    meta, body, offset = _split_front_matter(text, uri)
    title = _yaml_text(meta.get("title")) if meta.get("title") is not None else None
    if meta.get("title") is not None and title is None:
        log.warning("%s: front matter title is not text; ignored", uri)
    env: dict[str, Any] = {}
    root = _parse(body, env)
    paragraphs = [n for n in root.walk() if n.type == "inline" and n.parent and n.parent.type != "heading"]
    prose = "\n".join(" ".join(" ".join(t.content for t in p.walk() if t.type == "text").split()) for p in paragraphs)
    note = _Note(uri=uri, lines=body.split("\n"), offset=offset, chinese=_is_chinese(prose),
                 title=_clean_heading(title, 1) or None if title is not None else None,
                 words=set(_LOWER_WORD.findall(prose)), names=set(_MID_SENTENCE_NAME.findall(prose)),
                 references=env.get("references", {}))
    for node in root.walk():
        if node.type in ("fence", "code_block", "html_block") and node.map:
            note.protected.update(range(*node.map))
    pairs = [p for section in _sections(root, len(note.lines)) for p in _section_pairs(section, note, config)]
    pairs.sort(key=lambda p: p.lines[0])  # stable: pairs starting on one line keep their order
    tags = _front_matter_tags(meta.get("tags"), uri)
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
