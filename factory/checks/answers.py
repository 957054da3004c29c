"""Answer shape: outputs whose words are fine but which are not an answer on their own.

Notes lose what a text-only pair cannot carry (figures, links), and sections that only lead
into something else, point elsewhere or hold only code make pairs that read as fragments.

- `missing_figure` (warn): the output points at a figure, diagram or image ("如下图所示",
  "见下图", "如图 5 所示", "图3 …", "as shown in the figure below", "see Figure 2") and holds
  none: no Markdown or HTML image, `<svg>` or `data:` URI, and no code block after the reference
  (a diagram drawn as text). "比如图书馆", "地图", "a figure of speech" are not references.
- `lead_in_only` (reject): the whole output is one short paragraph (at most
  `checks.lead_in_max_chars` characters) that only announces what follows, and nothing follows:
  it ends on a colon, "如下" or "as follows" ("BERT的训练目标是：", "The steps are as follows:").
- `link_only_output` (reject): the output is only links, bare URLs, or link texts without their
  target ("here", "source", "1", "原文", "链接"), with at most labels and bullets around them, or
  a stub that only says where the text moved ("Moved to Debugging PyTorch Programs.", "已迁移至部署指南。"),
  unless the instruction asks for a link, URL, website or download.
- `dangling_link_text` (warn): the output ends on a line that is only a link's text or a credit
  whose target is gone: "source", "Sources: this and this", "here", "h/t Jake Worth", "来源",
  "原文链接".
- `code_only_output` (warn): the output is only fenced code, with no prose, although the
  instruction asks for an explanation (what, why, explain, describe, 什么, 为什么, 解释, 介绍, 区别,
  原理 …) and not for code (write, implement, command, script, 写, 代码, 命令 …); or, whatever was
  asked, the output is only a code block around a Markdown heading ("```\\n# Title\\n```").
- `reference_section` (warn): the output is a reference or navigation section, not an answer: it
  starts with a label line such as "参考资料：", "延伸阅读", "References:", "Further reading",
  "Table of contents", "目录"; or most of its lines are citations (et al., a venue and year,
  arXiv, doi); or it is a list of at least three short titles without a sentence among them (a
  table of contents whose links were dropped). An answer with a reference list at its end is
  flagged too, with the line to cut from.

The two that reject leave nothing to keep: no answer was written (tune notes: 8 of 8
`lead_in_only` findings and 11 of 11 `link_only_output` findings, all "Moved to …" stubs, were
such fragments, and neither fired on 19,042 clean open-dataset rows once numbers alone stopped
counting as link texts). The others are fixable in place, so they warn.

Every check reads one sample. With the note's text at hand (`CheckContext.source_texts`),
`missing_figure` also catches an image's alt text left alone on a line where the image was
dropped ("glam-results2").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.checks.markdown import without_code
from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "answers"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "missing_figure": ("warn", "the output refers to a figure or image it does not contain (如下图所示, as shown in the figure below)"),
    "lead_in_only": ("reject", "the output only announces an answer that is not there (BERT的训练目标是：, The steps are as follows:)"),
    "link_only_output": ("reject", "the output is only links or link texts (here, source, 1, 原文), or a \"Moved to …\" stub"),
    "dangling_link_text": ("warn", "the output ends on a link text or credit whose link is gone (source, h/t …, 来源)"),
    "code_only_output": ("warn", "the output is only a code block where an explanation was asked for, or a code block around a heading"),
    "reference_section": ("warn", "the output is or ends with a reference or navigation list (参考资料, References, 目录)"),
}


def _finding(code: str, message: str) -> Finding:
    return Finding(check=NAME, code=code, severity=REASON_CODES[code][0], message=message)


def _clip(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


_FENCE = re.compile(r"^[ \t]{0,3}(?:`{3,}|~{3,})", re.M)
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|<img\b|<svg\b|data:image/|<figure\b", re.I)

# --- missing_figure ---------------------------------------------------------------------------

_NOT_FIGURE = r"(?![书纸层案标灵腾形式谱钉章])"  # 图书, 图纸, 图层, 图案, 图标, 图灵, 图腾, 图形, 图式, 图谱
_FIGURE_ZH = re.compile(
    "|".join((
        rf"(?<![比例假譬诸])如(?:下|上|左|右|前|后)?(?:面的)?图{_NOT_FIGURE}",  # 如图所示, 如下图, 如上图
        rf"(?:见|参见|详见|参考|参看)(?:下|上|左|右)?(?:面的)?(?:图{_NOT_FIGURE}|附图)",
        rf"(?<![一以之网线马地这那])(?:下|上|左|右)(?:面的)?图{_NOT_FIGURE}",  # 下图, 上图中, 右图
        rf"(?:这|那|该|此)(?:一|两)?(?:张|幅|个)?图{_NOT_FIGURE}",
        rf"(?:^|(?<=[\s（(，。；：、]))图\s*\d{{1,2}}[a-z]?(?![\d.])",  # 图1, 图 2a, (图 6)
        r"(?:示意|架构|流程|框架|结构|原理|效果|对比|关系|框)图(?:如下|如上|所示|中)",
        r"(?:^|(?<=[^\u4e00-\u9fff]))图中",
    )),
    re.M,
)
_FIGURE_NOUN = r"(?:figures?|diagrams?|images?|pictures?|charts?|graphs?|plots?|screenshots?|illustrations?|visuali[sz]ations?)"
_FIGURE_EN = re.compile(
    "|".join((
        rf"\b(?:shown|illustrated|depicted|seen|displayed|visuali[sz]ed|pictured)\s+(?:in\s+|on\s+)?(?:the\s+)?(?:following\s+)?{_FIGURE_NOUN}",
        rf"\bthe\s+{_FIGURE_NOUN}\s+(?:below|above)\b",
        rf"\b(?:the|a)\s+(?:following|above|below|next|preceding)\s+{_FIGURE_NOUN}",
        r"\b(?:this|that)\s+(?:diagram|chart|screenshot|illustration)\b",  # not "this figure" (a number), "this plot" (land)
        r"\b(?:in|see|from|on)\s+(?:this|that|the)\s+(?:figure|diagram|chart|screenshot|illustration|image)\b(?!\s+(?:of|processing|size|file))",
        r"\b(?:see|in|from|cf\.?)\s+(?:the\s+)?fig(?:ure)?\.?\s*\d{1,2}[a-z]?\b",
        r"(?:^|(?<=[\s(]))(?:Figure|Fig\.)\s*\d{1,2}[a-z]?\b",
        rf"\bhere(?:'s|\s+is|\s+are)\s+(?:a|an|the|some)\s+(?:\w+\s+)?{_FIGURE_NOUN}\b",
    )),
    re.I | re.M,
)


_SOURCE_IMAGE = re.compile(r"!\[([^\]\n]{3,80})\]\([^)\n]*\)|<img\b[^>]*\balt=[\"']([^\"'\n]{3,80})[\"']", re.I)


def image_alt_left(output: str, source: str) -> str | None:
    """An image's alt text from the note standing alone on a line of the output, where the image
    was dropped ("glam-results2"), else None."""
    if _IMAGE.search(output) or ("![" not in source and "<img" not in source.lower()):
        return None
    lines = {line.strip() for line in output.split("\n")}
    for m in _SOURCE_IMAGE.finditer(source):
        alt = (m.group(1) or m.group(2)).strip()
        if alt in lines:
            return alt
    return None


# A cheap test that every English match needs, searched in casefolded text (re.I is slow).
_FIGURE_EN_HINT = re.compile("fig|diagram|image|picture|chart|graph|plot|screenshot|illustrat|visuali")


def figure_reference(output: str) -> str | None:
    """The words pointing at a figure the output does not contain, else None."""
    zh, en = "图" in output, _FIGURE_EN_HINT.search(output.casefold()) is not None
    if not (zh or en) or _IMAGE.search(output):
        return None
    prose = without_code(output)
    m = _FIGURE_ZH.search(prose) if zh else None
    if m is None and en:
        m = _FIGURE_EN.search(prose)
    if m is None:
        return None
    # A diagram drawn as text after the reference (ASCII art, mermaid) carries the figure.
    at = output.find(m.group(0))
    if at >= 0 and _FENCE.search(output, at):
        return None
    line = prose[prose.rfind("\n", 0, m.start()) + 1:]
    return _clip(line[: max(m.end() - m.start() + 20, 30)], 30)


# --- lead_in_only -----------------------------------------------------------------------------

_LEAD_IN_END = re.compile(r"(?:[:：]|如下|如下所示|以下几点|\bas\s+follows|\bthe\s+following|\bbelow)\s*[*_]*$", re.I)


def lead_in_only(output: str, max_chars: int) -> bool:
    t = output.strip()
    return 0 < len(t) <= max_chars and "\n\n" not in t and "\n" not in t.strip() and _LEAD_IN_END.search(t) is not None


# --- link_only_output, dangling_link_text -----------------------------------------------------

_URL = r"(?:(?:https?|ftp)://|www\.)[^\s<>\"'“”)]+"
_LINKS = re.compile(rf"!?\[[^\]\n]*\]\([^)\n]*\)|<{_URL}>|{_URL}", re.I)
_LINK_WORDS = (
    r"here|link|links|this\s+link|this|that|these|this\s+and\s+this|click\s+here|source|sources|ref|refs|reference|"
    r"references|docs?|documentation|website|site|page|article|post|read\s+more|more\s+details|more\s+info|details|"
    r"see|see\s+also|see\s+here|via|original|source\s+code|(?:live|full|working|an?)\s+example|demo|"
    r"\d{1,3}|\[\d{1,3}\]|这里|此处|这儿|链接|原文|原文链接|来源|出处|参考|参见|"
    r"详见|见|点击|点击这里|点此|地址|网址|官网|文档|传送门"
)
_LINK_TEXT_ONLY = re.compile(rf"(?:(?:{_LINK_WORDS})[\s,，、;；:：.。&+/|-]*|(?:and|or|和|与|及)\s+)+", re.I)
_BULLETS = re.compile(r"^[ \t>]*(?:[-*+•·]|\d{1,3}[.)、])[ \t]+", re.M)
_LABEL = re.compile(r"^\s*(?:urls?|links?|sources?|references?|see|more|链接|来源|出处|参考|原文|地址|网址)\s*[:：]\s*", re.I | re.M)
_ASKS_FOR_LINK = re.compile(
    r"\b(?:links?|urls?|websites?|web\s?sites?|sites?|homepage|web\s?page|address|download|where\s+(?:can|do|should)\b)"
    r"|网址|链接|地址|官网|网站|主页|下载|在哪",
    re.I,
)
_CREDIT_LINE = re.compile(
    rf"^[ \t]*(?:(?:(?:h/t|hat\s+tip|via|thanks\s+to|credits?(?:\s+to)?)\s|(?:sources?|来源|出处|原文)\s*[:：]).*"
    rf"|(?:{_LINK_WORDS})(?:\s*[,，、&]?\s*(?:and|和)?\s*(?:{_LINK_WORDS}))*|原文链接|相关链接|参考链接)[ \t.。]*$",
    re.I,
)


# A stub that only points elsewhere: "Moved to Debugging PyTorch Programs.", "已迁移至《部署指南》。"
_POINTER_ONLY = re.compile(
    r"\s*(?:(?:this\s+(?:page|section|note|doc(?:ument)?|content)\s+(?:has\s+)?)?(?:moved|been\s+moved|migrated)\s+to|"
    r"已(?:迁移|移动|移)(?:至|到)|(?:内容)?(?:已)?(?:迁移|移动)(?:至|到)|请移步(?:至|到)?)\s*[^\n.。]{1,80}[.。]?\s*",
    re.I,
)


def link_only(output: str) -> bool:
    """Nothing but links, URLs, link texts, labels, bullets and punctuation, with at least one
    link or one link text that is not a number ("3" alone is an answer)."""
    if len(output) > 300 and "://" not in output and "www." not in output:
        return False  # link texts without their links are a few words, not a long text
    if len(output) <= 100 and _POINTER_ONLY.fullmatch(output):
        return True
    rest, links = _LINKS.subn(" ", output)
    rest = _BULLETS.sub("", _LABEL.sub("", rest))
    rest = " ".join(rest.split())
    if not rest:
        return links > 0
    if _LINK_TEXT_ONLY.fullmatch(rest) is None:
        return False
    return links > 0 or re.search(r"[^\W\d_]", re.sub(r"\b(?:and|or)\b|和|与|及", "", rest)) is not None


def dangling_link_text(output: str) -> str | None:
    """The last line when it is only a link text or a credit line, else None."""
    lines = output.rstrip().split("\n")
    if len(lines) < 2 or _FENCE.match(lines[-1]):
        return None
    last = lines[-1].strip()
    if last and len(last) <= 80 and re.search(r"[^\W\d_]", last) and _CREDIT_LINE.fullmatch(last) \
            and not _LINKS.search(last):
        return last
    return None


# --- code_only_output -------------------------------------------------------------------------

_FENCED = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[^\n]*\n(.*?)(?:^[ \t]{0,3}\1[ \t]*$|\Z)", re.M | re.S)
_EXPLAIN_EN = re.compile(
    r"^\s*(?:what|why|explain|describe|tell\s+me|summari[sz]e|compare|define|introduce|give\s+an?\s+overview|"
    r"how\s+(?:does|do|did|is|are)\b[^?]*\b(?:work|differ|compare|mean)|what's)\b"
    r"|\b(?:difference|differences|meaning|purpose|concept|overview|advantages|disadvantages|pros\s+and\s+cons)\b",
    re.I,
)
_EXPLAIN_ZH = re.compile(r"什么|为什么|为何|解释|介绍|说明|区别|原理|作用|含义|意思|概述|总结|描述|讲讲|谈谈|如何工作|优缺点|优点|缺点|特点")
_ASKS_FOR_CODE = re.compile(
    r"\b(?:write|code|implement\w*|scripts?|functions?|commands?|snippets?|examples?|programs?|regex\w*|regular\s+expressions?|"
    r"queries|query|sql|syntax|cli|one-liner|alias|config(?:uration)?\s+file|citation|cite|bibtex|"
    r"how\s+(?:do|can|should|to)\s+(?:i|you|we)\b)"
    r"|写|代码|实现|脚本|函数|命令|示例|例子|程序|正则|语句|配置文件|怎么|如何|引用",
    re.I,
)
_HEADING_LINE = re.compile(r"^\s*#{1,6}\s+\S")


def code_only(output: str) -> str | None:
    """"code" when the output is only fenced code, "heading" when that code is only Markdown
    headings, else None."""
    t = output.strip()
    if not _FENCE.match(t):
        return None
    blocks = list(_FENCED.finditer(t))
    rest = _FENCED.sub(" ", t)
    if not blocks or rest.strip(" \n\t:：.。"):
        return None
    lines = [line for b in blocks for line in b.group(2).split("\n") if line.strip()]
    if lines and all(_HEADING_LINE.match(line) for line in lines):
        return "heading"
    return "code"


# --- reference_section ------------------------------------------------------------------------

_REFERENCE_LABEL = re.compile(
    r"^[ \t#*_]*(?:参考文献|参考资料|参考链接|参考文章|参考阅读|参考|延伸阅读|扩展阅读|推荐阅读|相关阅读|相关链接|相关文章|"
    r"references?|bibliography|further\s+reading|additional\s+reading|recommended\s+reading|reading\s+list|see\s+also|"
    r"sources|resources|useful\s+links|related\s+(?:links|reading|articles)|table\s+of\s+contents|contents|目录|本章目录)"
    r"[ \t*_]*[:：]?[ \t]*$",
    re.I | re.M,
)
_REFERENCE_HINT = re.compile(
    "参考|阅读|链接|文章|目录|referenc|bibliograph|reading|see also|sources|resources|links|contents"
)
_CITATION = re.compile(
    r"\bet\s+al\b|\((?:19|20)\d{2}[a-z]?\)|\barxiv\b|\bdoi\b|\bproceedings\b|\bpp\.\s*\d|"
    r"\b(?:ICLR|NeurIPS|NIPS|ICML|ACL|EMNLP|NAACL|CVPR|ICCV|ECCV|AAAI|IJCAI|JMLR|TACL|KDD|SIGIR|WWW)\s*'?\d{2,4}\b",
    re.I,
)
_CITATION_HINT = re.compile(
    r"et al|arxiv|doi|proceed|pp\.|\((?:19|20)\d\d|iclr|neurips|nips|icml|acl|emnlp|naacl|cvpr|iccv|eccv|aaai|ijcai|jmlr|tacl|kdd|sigir|www"
)
_SENTENCE_MARK = re.compile(r"[。！？；，,;!?]|\.\s|\.$|[:：]\s*\S")


def _toc(output: str, lines: list[str]) -> bool:
    """At least three short title lines, each its own paragraph, and not one sentence among them
    (a list of links whose targets were dropped)."""
    if len(lines) < 3 or output.strip().count("\n\n") < len(lines) - 1:
        return False
    return all(len(line) <= 30 and len(line.split()) <= 6 and not _SENTENCE_MARK.search(line)
               and not re.search(r"[=+*/]|\d\s*[-–]\s*\d", line) for line in lines)


def reference_section(output: str) -> tuple[str, str] | None:
    """(what it is, the label line it starts at) when the output is, or ends with, a reference or
    navigation list; None otherwise. The label is "" for the whole output."""
    prose = without_code(output) if "`" in output or "~~~" in output else output
    lines = [line.strip() for line in prose.split("\n") if line.strip()]
    if not lines:
        return None
    labelled = _REFERENCE_HINT.search(prose.casefold()) is not None
    if labelled and _REFERENCE_LABEL.fullmatch(lines[0]) or re.match(r"^[ \t]*(?:参考资料|参考文献|References?|Sources)\s*[:：]\s*\S", lines[0], re.I):
        return "a reference list", ""
    citations = 0 if len(lines) < 2 or not _CITATION_HINT.search(prose.casefold()) else sum(
        bool(_CITATION.search(line)) and len(line) <= 300 and "。" not in line for line in lines)
    if citations >= 2 and citations * 2 > len(lines):
        return "a list of citations", ""
    if "\n\n" in prose and not _BULLETS.match(lines[0]) and _toc(prose, lines):
        return "a table of contents (titles without text)", ""
    for m in _REFERENCE_LABEL.finditer(prose) if labelled else ():
        after = [line.strip() for line in prose[m.end():].split("\n") if line.strip()]
        if after and all(_BULLETS.match(line) or _LINKS.fullmatch(line) or _CITATION.search(line) for line in after):
            return "a reference list", m.group(0).strip()
    return None


# --- the check --------------------------------------------------------------------------------


def answer_findings(s: Sample, lead_in_max_chars: int, source: str | None = None) -> list[Finding]:
    """The answer-shape findings of one sample; `source` is its note's text when known."""
    output = s.output
    if not output.strip():
        return []  # empty_output's
    found = []
    figure = figure_reference(output)
    alt = image_alt_left(output, source) if source and not figure else None
    if figure:
        found.append(_finding("missing_figure", f"output refers to a figure it does not contain ({figure!r}); "
                              "describe what the figure shows in words, or cut the reference"))
    elif alt:
        found.append(_finding("missing_figure", f"output keeps the alt text {alt!r} of an image of the note, and "
                              "the image is gone; describe what it shows in words, or delete the line"))
    if lead_in_only(output, lead_in_max_chars):
        found.append(_finding("lead_in_only", f"output only announces an answer ({_clip(output)!r}) and nothing "
                              "follows; write the answer it leads into"))
    if link_only(output):
        if not _ASKS_FOR_LINK.search(s.instruction):
            found.append(_finding("link_only_output", f"output is only links or link texts ({_clip(output)!r}); "
                                  "write the answer itself, the model cannot follow a link"))
    else:
        dangling = dangling_link_text(output)
        if dangling:
            found.append(_finding("dangling_link_text", f"output ends on {dangling!r}, a link text or credit whose "
                                  "link is gone; delete that line"))
    kind = code_only(output)
    if kind == "heading":
        found.append(_finding("code_only_output", "output is only a code block around a Markdown heading, no answer; "
                              "write the answer or reject the sample"))
    elif kind == "code" and (_EXPLAIN_EN.search(s.instruction) or _EXPLAIN_ZH.search(s.instruction)) \
            and not _ASKS_FOR_CODE.search(s.instruction):
        found.append(_finding("code_only_output", "the question asks for an explanation and the output is only code; "
                              "add the explanation in prose"))
    reference = reference_section(output)
    if reference:
        what, label = reference
        if not label:
            message = f"output is {what}, not an answer; write the answer or reject the sample"
        else:
            message = f"output ends with {what} from {label!r}; cut it"
        found.append(_finding("reference_section", message))
    return found


def check_answers(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    max_chars, sources = ctx.config.lead_in_max_chars, ctx.source_texts
    return [(s.id, f) for s in batch for f in answer_findings(s, max_chars, sources.get(s.id))]
