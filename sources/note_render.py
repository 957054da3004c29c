"""Markdown to the text of an answer: what a reader of the rendered note sees, written as text.

- math (`$…$`, `$$…$$`) is parsed as math and kept verbatim, delimiters included: LaTeX is its own
  plain text, and Markdown must not read its `_` as emphasis or its `\\{` as an escape;
- code blocks keep their fence and language; inline code loses its backticks;
- tables stay Markdown tables, rebuilt cell by cell, so a `|` inside a formula or code cannot
  split a cell;
- images (Markdown and `<img>`) and HTML comments are dropped; other HTML tags give their text;
  an angle token that is no HTML tag (`<begin>`, `<pid>`, `</s>`) is text and stays;
- links keep their text; a link whose text means nothing alone ("here", "1", "此链接") keeps its
  URL as "here (https://…)";
- emphasis markers go, also the `**` that CommonMark leaves unparsed next to Chinese punctuation.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

# allow_digits=False: "$5 and $10" is money, not a formula. A false match costs little anyway:
# math is written out verbatim, so the text reads as the author typed it.
MD = (MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(deflist_plugin)
      .use(dollarmath_plugin, allow_digits=False, double_inline=True))
# markdown-it caps block nesting (20), not inline: 2,000 `*` in a row make 1,000 nested emphasis
# nodes, deeper than Python's stack when the tree is built and walked. Emphasis deeper than this
# renders the same text, so the extra levels are dropped from the token stream first.
_MAX_INLINE_DEPTH = 20

_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
_SOFTBREAK = "\x00"  # a soft line break: a space in English, nothing between Chinese characters
_SOFT_BETWEEN_CJK = re.compile(rf"(?<={_CJK}){_SOFTBREAK}(?={_CJK})")
_KEEP = re.compile("\ue000(\\d+)\ue001")  # a placeholder for text kept verbatim (code, math, tokens)
_WIKI_LINK = re.compile(r"\[\[([^\]|#]+)(?:#[^\]|]*)?(?:\|([^\]]+))?\]\]")  # Obsidian [[page|alias]]
_CALLOUT = re.compile(r"^\[!\w+\][+-]?[ \t]*")  # Obsidian "> [!note] Title"
# Bold markers CommonMark did not pair ("是**“强调”**的"): every `**`, and `__x__` that is no __dunder__.
_STRAY_STARS = re.compile(r"\*\*")
_STRAY_UNDERSCORES = re.compile(r"(?<![A-Za-z0-9_])__(?=[^\s_])(.+?)(?<=[^\s_])__(?![A-Za-z0-9_])")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]{1,20}\]")  # "[^3]": the footnote itself is not kept
_ATTRIBUTES = re.compile(r"\{:\s*[^}\n]*\}")  # kramdown "{: .note}"
# Zero-width and direction marks: invisible in the note, rejected by the checks in an answer.
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# A closed list: `List<String>`, `<begin>`, `<pid>` and the `<s>` token are not HTML.
_HTML_TAGS = (
    "a|abbr|b|big|blockquote|body|br|caption|center|cite|code|col|colgroup|dd|del|details|div|dl|dt|em"
    "|figcaption|figure|font|h[1-6]|head|header|footer|hr|html|i|iframe|img|input|ins|kbd|li|mark|meta"
    "|nav|ol|p|picture|pre|q|section|small|source|span|strong|sub|summary|sup|svg|table|tbody|td|tfoot"
    "|th|thead|tr|tt|u|ul|video|audio|script|style|link|button|label|form"
)
_HTML_TAG = re.compile(rf"<(/?)({_HTML_TAGS})\b[^<>]*>", re.I)
# A numbered citation in running text: "BPE [10]算法", "…的生态[1][2]。"; not an index ("x[1]").
_CITATION_MARK = re.compile(r"(?<![A-Za-z0-9_\]\[`$])(?:\s?\[\d{1,3}(?:[,，\-–]\d{1,3})*\](?![(:]))+")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_HTML_DROPPED = re.compile(r"<(script|style|svg)\b.*?</\1\s*>", re.S | re.I)  # content that is no text
_HTML_BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "figure",
                "details", "summary", "blockquote", "pre", "section"}
# Link text that says nothing without its target.
_VAGUE_LINK_TEXT = re.compile(
    r"(?i)(?:here|click here|this|this link|link|links|source|src|ref|reference|paper|the paper|this paper|"
    r"(?:this|that|the|next|previous|above|below) (?:section|chapter|page|note|doc|guide|example|one)|"
    r"article|this article|post|this post|blog|blog post|page|this page|website|site|docs?|documentation|"
    r"repo|github|code|demo|video|slides|pdf|arxiv|more|read more|details|"
    r"\d{1,3}|原文|原文链接|链接|此链接|这个链接|该链接|这里|此处|这|这篇|这篇文章|论文|地址|官网|文档|源码|代码|本节|这一节|上一节|下一节|"
    r"项目|传送门|点击这里|点这里|点击|详情|博客|视频)")
_MARKUP_IN_CODE = re.compile(r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>|\*\*|\]\(|^#{1,6}\s|&\w+;")
_REPO_LABEL = re.compile(r"^[\w.-]+/[\w.-]+(?::|$)")  # "microsoft/torchscale: Foundation…": a repository
# "地址为：[jieba](…)", "the repo: [x](…)": the sentence is about where it lives, so the URL stays.
_ADDRESS_BEFORE = re.compile(r"(?:地址|网址|链接|官网|主页|仓库|项目地址|下载)\s*(?:为|是|在)?\s*[:：]?\s*$"
                             r"|(?i:\b(?:url|address|repo|repository|homepage|website|download(?:ed)? from)\s*(?:is|at)?\s*:?\s*$)")


@dataclass
class Rendered:
    """A block as text, with what a rule needs to know about how it came out."""

    text: str
    kind: str  # "prose", "list", "code", "math", "table", "quote", "html"
    images: int = 0  # images dropped from it


class _Inline:
    """Collects the pieces of inline text; code, math and kept tokens wait aside as placeholders
    so that the clean-up of emphasis residue never touches them."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.images = 0
        self.before = ""  # the text just before the piece being rendered

    def keep(self, text: str) -> str:
        self.kept.append(text)
        return f"\ue000{len(self.kept) - 1}\ue001"

    def restore(self, text: str) -> str:
        return _KEEP.sub(lambda m: self.kept[int(m[1])], text)


def has_cjk(text: str) -> bool:
    return bool(_IDEOGRAPH.search(text))


# ---------------------------------------------------------------------------- parsing


def parse(text: str, env: dict[str, Any] | None = None) -> SyntaxTreeNode:
    """The Markdown tree of `text`, inline nesting kept shallow enough to build and walk."""
    tokens = MD.parse(protect_table_cells(space_headings(text)), env)
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


_TABLE_ROW = re.compile(r"^[ \t]{0,3}\|")
_CELL_SPAN = re.compile(r"(?<!\\)(\$+)(.+?)(?<!\\)\1|(`+)(.+?)\3")


_UNSPACED_HEADING = re.compile(r"^(#{2,6})(?=[0-9\u4e00-\u9fff])", re.M)
_FENCE_LINE = re.compile(r"^[ \t]{0,3}(?:`{3,}|~{3,})")


def space_headings(text: str) -> str:
    """"##6.4 生态系统" as the heading its author meant: many editors take `##` without a space
    for a heading, CommonMark does not, and the line would stay in the answer as text. Only before
    a digit or a Han character, outside fenced code; lines keep their count."""
    if not _UNSPACED_HEADING.search(text):
        return text
    out, fenced = [], False
    for line in text.split("\n"):
        if _FENCE_LINE.match(line):
            fenced = not fenced
        out.append(line if fenced else _UNSPACED_HEADING.sub(r"\1 ", line))
    return "\n".join(out)


def protect_table_cells(text: str) -> str:
    """Escape the `|` inside `$…$` and `…` on table rows, as GFM asks authors to: an unescaped
    one ends the cell, and the formula or code in it breaks in two. Lines keep their count."""
    if "|" not in text or ("$" not in text and "`" not in text):
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _TABLE_ROW.match(line) and ("$" in line or "`" in line):
            lines[i] = _CELL_SPAN.sub(lambda m: re.sub(r"(?<!\\)\|", r"\\|", m[0]), line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------- blocks


def render(node: SyntaxTreeNode) -> Rendered:
    """One block node as text; an empty text when nothing of it is left (an image, a comment)."""
    kind = node.type
    if kind in ("paragraph", "heading", "dt", "th", "td"):
        return _rendered_inline(node.children[0] if node.children else None, "prose")
    if kind in ("fence", "code_block"):  # kept intact, fence and language included
        code = node.content if node.content.endswith("\n") else node.content + "\n"
        text = f"{node.markup}{node.info}\n{code}{node.markup}" if kind == "fence" else f"```\n{code}```"
        return Rendered(text, "code")
    if kind in ("math_block", "math_block_label"):
        return Rendered(f"$$\n{node.content.strip()}\n$$", "math")
    if kind in ("bullet_list", "ordered_list"):
        return _render_list(node)
    if kind == "table":
        return _render_table(node)
    if kind == "dl":  # inside an answer: "term: definition" lines
        parts = [render(c) for c in node.children]
        lines, term = [], ""
        for child, part in zip(node.children, parts):
            if child.type == "dt":
                term = part.text
            else:
                lines.append(f"{term}: " + " ".join(render_all(child.children)))
        return _combine("\n".join(lines), "list", parts)
    if kind == "html_block":
        text, images = html_text(node.content)
        return Rendered(text, "html", images=images)
    if kind == "hr":
        return Rendered("", "prose")
    parts = [render(c) for c in node.children]  # blockquote, dd: whatever blocks they hold
    text = "\n\n".join(p.text for p in parts if p.text)
    return _combine(_CALLOUT.sub("", text) if kind == "blockquote" else text,
                    "quote" if kind == "blockquote" else "prose", parts)


def render_all(nodes: list[SyntaxTreeNode]) -> list[str]:
    """One text per block node; blocks that render empty are dropped."""
    return [text for node in nodes if (text := render(node).text.strip())]


def _combine(text: str, kind: str, parts: list[Rendered]) -> Rendered:
    return Rendered(text, kind, images=sum(p.images for p in parts))


def _render_list(node: SyntaxTreeNode) -> Rendered:
    start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else None
    lines: list[str] = []
    parts: list[Rendered] = []
    number = 0
    for item in node.children:
        item_parts = [render(c) for c in item.children]
        parts += item_parts
        body = "\n".join(p.text.strip() for p in item_parts if p.text.strip())
        if not body:  # an item that held only an image
            continue
        marker = "-" if start is None else f"{start + number}."
        number += 1
        first, *rest = body.split("\n")
        lines.append(f"{marker} {first}".rstrip())
        lines += [f"  {line}" if line else "" for line in rest]  # nested blocks: two more spaces
    return _combine("\n".join(lines), "list", parts)


def _render_table(node: SyntaxTreeNode) -> Rendered:
    """The table as Markdown again: its rows and columns are the content."""
    rows: list[list[str]] = []
    aligns: list[str] = []
    parts: list[Rendered] = []
    for tr in (n for n in node.walk() if n.type == "tr"):
        cells = []
        for cell in tr.children:
            part = render(cell)
            parts.append(part)
            cells.append(" ".join(part.text.split()).replace("|", "\\|").replace("\\\\|", "\\|"))
            if cell.type == "th":
                style = str(cell.attrs.get("style", ""))
                aligns.append({"text-align:left": ":--", "text-align:right": "--:",
                               "text-align:center": ":-:"}.get(style, "---"))
        rows.append(cells)
    if not rows or not any(any(c for c in row) for row in rows[1:]):
        return Rendered("", "table")
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(aligns or ["---"] * len(rows[0])) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return Rendered("\n".join(lines), "table", images=sum(p.images for p in parts))


# ---------------------------------------------------------------------------- inline


def _rendered_inline(node: SyntaxTreeNode | None, kind: str) -> Rendered:
    if node is None:
        return Rendered("", kind)
    inline = _Inline()
    raw = "".join(_inline_parts(node, inline))
    text = _SOFT_BETWEEN_CJK.sub("", raw).replace(_SOFTBREAK, " ")
    text = _WIKI_LINK.sub(lambda m: m[2] or m[1], text)
    text = _ATTRIBUTES.sub("", _FOOTNOTE_REF.sub("", text))
    if "[" in text:
        text = _CITATION_MARK.sub("", text)
    text = _STRAY_STARS.sub("", text)
    text = _STRAY_UNDERSCORES.sub(lambda m: m[0] if re.fullmatch(r"[a-z][a-z0-9_]*", m[1]) else m[1], text)
    if _ELSEWHERE in text:
        text = _without_pointers_elsewhere(text)
    if _SITE_TAGGED in text:
        text = _EMPTY_SITE_TAG.sub("", text)
    if _LINKED in text:
        text = _without_pointers_to_links(text)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return Rendered(inline.restore(text), kind, images=inline.images)


_ELSEWHERE = "\ue002"  # marks a vague link to another page of the notes ("see [here](../x.md)")
_SEE = re.compile(r"(?i)^\W*(?:see|check|read|refer to|look at|more|details|for more|further|更多|详见|详情|参见|参考|具体见|见|可参考)")
_CLAUSE = re.compile(r"[^。！？!?；;\n]*?(?:[。！？!?；;]+|\.(?=\s|$)|\n|$)")


def _without_pointers_elsewhere(text: str) -> str:
    """"See the full launcher here." points at another note, which the answer does not hold:
    such a sentence goes; a vague link in a sentence that says more stays as its text."""
    out = []
    for sentence in _CLAUSE.findall(text):
        if _ELSEWHERE in sentence and (_SEE.match(sentence) or len(sentence) < 60 or sentence.rstrip(" .。").endswith(
                tuple(w for w in ("here", "this", "this section", "this link", "这里", "此处", "此链接")))):
            continue
        out.append(sentence.replace(_ELSEWHERE, ""))
    return "".join(out).replace(_ELSEWHERE, "").strip()


_LINKED = "\ue003"  # marks a link to a web page, whose address the answer does not keep
# "please see this PyTorch guide", "Here is a good comparison", "Pinecone 的这篇博客…": the sentence
# only sends the reader to the linked page, which the answer does not hold.
_POINTS_TO_LINK = re.compile(
    r"(?i:^\W*(?:(?:for (?:more |further |full )?(?:details|info\w*|nuances|example|instance)|also|please|you can|so)[, ]+)*"
    r"(?:see|check out|checkout|read|refer to|look at|here is|here's|here are|watch|follow)\b"
    r"|\b(?:this|that) (?:\w+ ){0,3}(?:guide|article|post|blog|paper|write-?up|comparison|thread|discussion|issue|video"
    r"|talk|tutorial|notebook|excerpt|series|screencast|cheat sheet|document)\b|\bfor (?:more|further|full) details\b"
    r"|\bmore details (?:are|on|in|about)\b"
    r"|\b(?:is|are|seems?|looks?|was|were)(?: like)?(?: an?| really| very| so| quite| also| pretty)*"
    r" (?:nice|great|good|useful|interesting|fascinating|amazing|awesome|excellent|neat|cool|lovely|wonderful|solid"
    r"|fun|helpful|nostalgic|insightful|beautiful|fantastic|phenomenal)\b"
    r"|^\W*(?:i )?(?:liked|loved|enjoyed|like|love|recommend|prefer)\b|\b(?:i )?share a list\b)"
    r"|详见|参见|请见|请看|可以看|可以参考|可参考|参考|点击|传送门|见(?=\s*\ue003)")
_ZH_POINTS_TO_LINK = re.compile(r"这篇|这个(?:链接|博客|文章|项目|仓库|教程)|该(?:文|博客|文章|教程)|此文"
                                r"|值得一(?:读|看)|(?:写|讲)得(?:很|非常|特别)?(?:好|不错|清楚|透彻)|推荐(?:阅读|一读|大家)?")
_MAX_LINK_POINTER_CHARS = 200


def _without_pointers_to_links(text: str) -> str:
    """Drop the sentences that only point at a linked page; other links stay as their text."""
    out = []
    for sentence in _CLAUSE.findall(text):
        stripped = sentence.strip()
        if _LINKED in sentence and not stripped.endswith((":", "：")) and (  # a lead-in to what follows stays
                len(stripped) <= _MAX_LINK_POINTER_CHARS and _POINTS_TO_LINK.search(stripped)
                or len(stripped) <= 60 and _ZH_POINTS_TO_LINK.search(stripped)):
            continue
        out.append(sentence.replace(_LINKED, ""))
    return "".join(out).replace(_LINKED, "").strip()


def inline_text(node: SyntaxTreeNode | None) -> str:
    """An inline node (a heading's, a cell's) as text."""
    return _rendered_inline(node, "prose").text


def _inline_parts(node: SyntaxTreeNode, inline: _Inline) -> Iterator[str]:
    for child in node.children:
        kind = child.type
        if kind == "text":
            inline.before = child.content
            yield child.content
        elif kind == "code_inline":  # backticks stay where the code would read as markup: `<img />`
            yield inline.keep(f"`{child.content}`" if _MARKUP_IN_CODE.search(child.content) else child.content)
        elif kind in ("math_inline", "math_inline_double"):
            yield inline.keep(f"{child.markup}{child.content}{child.markup}")
        elif kind in ("softbreak", "hardbreak"):
            yield _SOFTBREAK if kind == "softbreak" else "\n"
        elif kind == "html_inline":
            yield _inline_html(child.content, inline)
        elif kind == "image":
            inline.images += 1
        elif kind == "link":
            yield _link_text(child, inline)
        else:  # emphasis, strikethrough: their text
            yield from _inline_parts(child, inline)


def _inline_html(tag: str, inline: _Inline) -> str:
    if tag.startswith("<!--"):
        return ""
    m = _HTML_TAG.fullmatch(tag)
    if not m:  # not HTML: a token such as <begin> or </s>, which is text
        return inline.keep(tag)
    name = m[2].lower()
    inline.images += name == "img"
    if name == "sup" and not m[1]:
        return "^"  # "O(N<sup>2</sup>)" reads O(N^2), not O(N2)
    return "\n" if name == "br" else ""


# Labels that only say where a link goes, written in parentheses after the thing linked:
# "Inter - Typeface for screens. (Web) (HN)", "MessagePack (Code (…)) (Lobsters)".
_SITE_TAG = re.compile(r"(?i)HN|Lobsters|Reddit|Tweet|Twitter|Web|Code|Article|Video|Talk|Slides|Paper|Docs|Demo|Thread"
                       r"|Podcast|Review|Fork|Mastodon|Bluesky|YouTube|Discussion|Intro|Notes|Summary|Pictures")
_SITE_TAGGED = "\ue004"
_EMPTY_SITE_TAG = re.compile(r"\s*[(（]\s*\ue004[^()（）]*[)）]|\ue004")


def _link_text(link: SyntaxTreeNode, inline: _Inline) -> str:
    before = inline.before  # the text before the link; its own text becomes `inline.before` below
    text = "".join(_inline_parts(link, inline))
    label = " ".join(_KEEP.sub(lambda m: inline.kept[int(m[1])], text).split())
    href = str(link.attrs.get("href", ""))
    vague = bool(_VAGUE_LINK_TEXT.fullmatch(label.strip(" []()（）【】.,:;：；。")))
    if not label.strip():  # a link around an image, a badge
        return text
    if _SITE_TAG.fullmatch(label) and re.search(r"[(（]\s*$", before):
        return _SITE_TAGGED  # "(HN)", "(Code)": where a link was discussed, not what it says
    if not re.match(r"(?i)https?://", href):  # an anchor or another note, which the answer cannot carry
        return f"{_ELSEWHERE}{text}" if vague else f"{_LINKED}{text}"  # "see [Do more SMs …?](#…)" goes too
    if vague or _ADDRESS_BEFORE.search(before) or _REPO_LABEL.match(label):
        return f"{text} ({href})"
    return f"{_LINKED}{text}"



def html_text(content: str) -> tuple[str, int]:
    """The text of an HTML block and how many images it held. Known tags go, their text stays;
    comments, scripts and styles go whole; an unknown tag (<pid>) is text."""
    images = len(re.findall(r"(?i)<img\b", content))
    text = _HTML_DROPPED.sub("", _HTML_COMMENT.sub("", content))
    text = _HTML_TAG.sub(lambda m: "\n" if m[2].lower() in _HTML_BREAKS else "", text)
    text = html.unescape(text)
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip()), images


# ---------------------------------------------------------------------------- what a block is


def is_link_list(node: SyntaxTreeNode) -> bool:
    """A list (or a paragraph) of links and little else: names of pages, not content."""
    if node.type not in ("bullet_list", "ordered_list", "paragraph") or not _has_link(node):
        return False
    if node.type in ("bullet_list", "ordered_list"):
        items = node.children
        if not items:
            return False
        link_only = sum(1 for item in items if _links_only(item))
        if link_only >= max(1, 0.5 * len(items)):  # a reading list, with a note on one entry or two
            return True
        led = sum(1 for item in items if _led_by_link(item))
        return led == len(items) or len(items) >= 3 and led >= 0.6 * len(items)  # "- [Endly](…) - End to end tests."
    return node.type == "paragraph" and _links_only(node)


def _led_by_link(item: SyntaxTreeNode) -> bool:
    """A list item that starts with a link and says little after it: an entry of a resource list
    ("[Calva](…) - Integrated REPL for VS Code."), whose answer would be names without their pages."""
    inline = next((n for n in item.walk() if n.type == "inline"), None)
    if inline is None or not inline.children:
        return False
    first = next((c for c in inline.children if not (c.type == "text" and not c.content.strip())), None)
    if first is None or first.type != "link" or not re.match(r"(?i)https?://", str(first.attrs.get("href", ""))):
        return False
    rest = sum(len(n.content) for n in item.walk() if n.type in ("text", "code_inline")) - sum(
        len(n.content) for n in first.walk() if n.type in ("text", "code_inline"))
    return rest <= 160 and not any(n.type in ("bullet_list", "ordered_list") for n in item.children)


def _has_link(node: SyntaxTreeNode) -> bool:
    return any(t.type == "link_open" for token in _tokens(node) for t in (token.children or []))


def _tokens(node: SyntaxTreeNode) -> Iterator[Token]:
    """The inline tokens under a block node, without building tree nodes for them."""
    for child in node.walk():
        if child.type == "inline" and child.token is not None:
            yield child.token


def _links_only(node: SyntaxTreeNode) -> bool:
    inside = outside = 0
    links = 0
    for inline in (n for n in node.walk() if n.type == "inline"):
        for child, in_link in _walk_links(inline, False):
            if child.type == "link":
                links += 1
            elif child.type in ("text", "code_inline"):
                size = len(re.sub(r"[\s\-–—|,，、;；:：.。()（）\[\]*·•/]+", "", child.content))
                if in_link:
                    inside += size
                else:
                    outside += size
    return links > 0 and outside <= max(4, 0.3 * inside) and not has_cjk_outside(node)


def has_cjk_outside(node: SyntaxTreeNode) -> bool:
    """Chinese text beside the links ("[Danswer](…)：提供问答功能") is a description, not a bare link."""
    for inline in (n for n in node.walk() if n.type == "inline"):
        for child, in_link in _walk_links(inline, False):
            if child.type == "text" and not in_link and len(_IDEOGRAPH.findall(child.content)) >= 4:
                return True
    return False


def _walk_links(node: SyntaxTreeNode, in_link: bool) -> Iterator[tuple[SyntaxTreeNode, bool]]:
    for child in node.children:
        yield child, in_link
        if child.children:
            yield from _walk_links(child, in_link or child.type == "link")
