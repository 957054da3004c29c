"""Sentences of rendered prose that mean nothing without the note around them.

- a pointer at a figure ("如下图所示：", "as shown in the figure below"): the figure is not in the
  answer, so the sentence goes; a clause with content before or after it stays;
- a trailer ("原文链接：…", "参考资料：", "归档时间: …", "h/t Jake"): provenance, not content;
- a lead-in ("训练目标如下：", "There are three ways:"): text that promises what follows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_FIGURE_WORDS_EN = r"(?:figure|fig\.?|diagram|image|picture|chart|plot|screenshot|illustration|visuali[sz]ation|graphic)"
_POINTER = re.compile(
    r"如下图|如上图|(?<![a-zA-Z])(?:下|上|左|右)(?:面|方|边)?(?:的|这|那)?(?:一)?(?:张|幅|个)?(?:示意)?图(?!书|表|灵|谱|像素)"
    r"|图(?:中|里|上)?(?:我们)?(?:可以|可|能够|能|不难)?(?:清楚地|明显地)?(?:看出|看到|发现|可知|可见|得知)"
    r"|如图(?:\s*\d+(?:[-.]\d+)*[a-z]?)?\s*(?:所示|中|，|,)|见图|参见图|图\s*\d+(?:[-.]\d+)*[a-z]?\s*(?:所示|中|展示|显示|给出|是|说明|描述|表示|演示|为|里)"
    r"|(?:这|那|该|此)(?:一)?(?:张|幅)?图(?:中|里|展示|显示|所示|说明|是|可以)|(?:一|这|那)(?:张|幅)[^，。,.]{0,12}?图|示意图|截图"
    rf"|(?i:(?:as\s+)?(?:shown|illustrated|depicted|seen|visuali[sz]ed|plotted|pictured)\s+(?:in|on|by)\s+(?:the|this)\s+"
    rf"(?:following\s+|above\s+|below\s+|next\s+)?{_FIGURE_WORDS_EN})"
    rf"|(?i:(?:the|this)\s+(?:\w+\s+)?(?:{_FIGURE_WORDS_EN}|graph)\s+(?:below|above))"
    rf"|(?i:(?:the\s+)?(?:following|below|above|next)\s+(?:{_FIGURE_WORDS_EN}|graph))"
    rf"|(?i:see\s+(?:the\s+)?{_FIGURE_WORDS_EN})"
    r"|(?i:as\s+(?:shown|seen|illustrated|pictured)\s+(?:below|above|here))"
    rf"|(?i:(?:here(?:'s|\s+is|\s+are)|below\s+is|above\s+is)\s+(?:a|an|the|some)\s+(?:[\w-]+\s+){{0,3}}{_FIGURE_WORDS_EN}s?)"
    r"|(?i:\bfig(?:ure)?\.?\s*\d+)"
    r"|^图\s*\d+(?:[-.]\d+)*\s*[，,.:：\s]")  # a caption: "图10，以压缩格式表示的稀疏矩阵"
# "从图中可以看出，…", "As shown in the figure below, …": a pointer clause before what it shows.
_LEADING_POINTER = re.compile(
    r"^(?:如|从|由|根据|在|通过|结合)?(?:上|下)?(?:面)?(?:的)?(?:这张|这幅|该)?图(?:\s*\d+)?(?:中|里)?(?:我们)?"
    r"(?:可以|可|能够|能|不难)?(?:清楚地|明显地)?(?:看出|看到|知道|发现|可知|可见|所示|得知)[，,:：]\s*"
    rf"|^(?i:(?:as\s+)?(?:shown|illustrated|seen|depicted)\s+(?:in|by)\s+(?:the|this)\s+(?:\w+\s+)?"
    rf"(?:{_FIGURE_WORDS_EN}|graph)(?:\s+(?:below|above))?\s*,\s*)")
_PARENTHETICAL_POINTER = re.compile(
    rf"\s*[(（](?:(?:see|cf\.?)\s+)?(?:{_FIGURE_WORDS_EN}\s*\d*[a-z]?|见(?:下|上)?图\s*\d*|如(?:下|上)?图(?:所示)?|图\s*\d+[a-z]?)[)）]"
    r"|\s*[(（][^()（）\n]{0,20}图中[^()（）\n]{0,20}[)）]", re.I)
# Where the section had an image, these point at it too; elsewhere "图" may be a graph ("无向图中").
_WEAK_POINTER = re.compile(r"图中|图里|该图|此图|(?<![有无])向?图上|[(（](?:左|右|上|下)(?:图|边)?[)）]|(?i:\bin the (?:figure|image|picture|diagram)\b)")
# A cheap test first: most paragraphs mention no figure at all.
_MAY_POINT = re.compile(r"图|(?i:fig|diagram|image|picture|chart|plot|screenshot|illustration|visuali|graph|shown|below|above)")
_SENTENCE = re.compile(r".*?(?:[。！？!?；;]+[”’\"'）)]*|[:：](?=\s|$)|\.(?=\s)|\.$|\n|$)", re.S)

_TRAILER = re.compile(
    r"^(?:>\s*)?(?:归档时间|归档日期|原文链接|原文地址|原文|文章来源|文章链接|来源|出处|转载(?:自|于)?|本文(?:参考|转载|来源|整理)(?:自|于)?"
    r"|参考资料|参考文献|参考链接|参考来源|参考|相关链接|相关阅读|延伸阅读|推荐阅读|扩展阅读|拓展阅读|作者|发布时间|更新时间|最后更新"
    r"|(?i:source|sources|reference|references|further reading|read more|originally (?:published|posted)(?: at| on| in)?"
    r"|last (?:updated|modified)|credits?|via|adapted from|archived|archive date))\s*[:：]"
    r"|^(?i:h/t|hat tip|ht:|credits? to|thanks to|shout ?out to)\s"
    r"|^(?i:see also)\b"
    r"|^(?i:see the pen)\b")  # a CodePen embed's caption
_LEAD_IN_WORDS = re.compile(
    r"如下|以下(?:几|是|为|内容|步骤|方法|方面|代码|示例|问题|两|三|四|五)|下面(?:是|为|将|我们|介绍|给出|列出|就|来|看|几|的)|下列|接下来|(?<!上)下文(?:将|会|中|介绍)"
    r"|(?i:\bthe following\b|\bas follows\b|\b(?:shown|listed|described|explained|given|see)\s+below\b|\bbelow\s*\.?$)")


def drop_figure_pointers(text: str, keep_last: bool = False, figures: bool = False) -> str:
    """`text` without the sentences that only point at a figure. With `keep_last`, the last
    sentence stays: what it points at (a diagram drawn in a code block) follows it. With
    `figures` (the section had images), "图中…" and "in the figure" count as pointers too."""
    if not _MAY_POINT.search(text):
        return text

    def points(sentence: str) -> bool:
        return bool(_POINTER.search(sentence) or figures and _WEAK_POINTER.search(sentence))

    if not points(text) and not _PARENTHETICAL_POINTER.search(text):
        return text
    text = _PARENTHETICAL_POINTER.sub("", text)
    sentences = [s for s in _SENTENCE.findall(text) if s]
    out: list[str] = []
    for i, sentence in enumerate(sentences):
        if not points(sentence) or keep_last and i == len(sentences) - 1:
            out.append(sentence)
            continue
        out.append(_without_pointer(sentence, points))
    result = "".join(out)
    result = re.sub(r"[ \t]+\n", "\n", re.sub(r"\n{3,}", "\n\n", result))
    return result.strip()


def _without_pointer(sentence: str, points: Callable[[str], bool]) -> str:
    """What is left of a sentence with a figure pointer: the content around the pointer clause."""
    stripped = sentence.strip()
    ending = "\n" if sentence.endswith("\n") else (" " if sentence.endswith(" ") else "")
    if m := _LEADING_POINTER.match(stripped):
        rest = stripped[m.end():]
        if len(rest) >= 10 and not points(rest):
            return rest[0].upper() + rest[1:] + ending
    chinese = bool(re.search(r"[\u4e00-\u9fff]", stripped))
    clauses = re.split(r"(?<=[，,])\s*", stripped)
    first = next((i for i, clause in enumerate(clauses) if points(clause)), 0)
    if first > 0:
        head = "".join(clauses[:first]).rstrip("，, ")
        if len(head) >= (12 if chinese else 25):
            return head + ("。" if chinese else ".") + ending
    return "\n" if ending == "\n" else ""


def is_trailer(text: str) -> bool:
    """A provenance line: "原文链接：…", "参考资料：", "归档时间: 2021-03-01", "h/t Jake Worth"."""
    return len(text) < 600 and bool(_TRAILER.match(text.strip()))


def trailer_label_only(text: str) -> bool:
    """"参考资料：" with nothing after it: the list under it is the references."""
    return bool(re.fullmatch(r"(?:>\s*)?[^:：\n]{1,30}[:：]\s*", text.strip()))


def ends_as_lead_in(text: str) -> bool:
    """Text that ends by promising what follows: "…的训练目标是：", "There are three ways:",
    "主要包括以下几个方面。"."""
    stripped = text.rstrip()
    if not stripped:
        return False
    if stripped.endswith((":", "：", "，", ",", "、")):
        return True
    last = [s for s in _SENTENCE.findall(stripped) if s.strip()]
    sentence = last[-1].strip() if last else stripped
    return len(sentence) <= 60 and bool(_LEAD_IN_WORDS.search(sentence)) and not sentence.startswith(("-", "|"))


_INTRO = re.compile(
    r"本节|本章|本文|这一节|这一章|这部分|下面|以下|接下来|将介绍|主要介绍|分为|包括|如下|下列"
    r"|(?i:\bthis (?:section|chapter|group|part|page|document)\b|\bwe(?: will|'ll)\b|\bhere are\b|\bfollowing\b"
    r"|\bbelow\b|\bcovers?\b|\bdiscuss)")


def is_intro(text: str) -> bool:
    """A few words that only introduce what the sub-sections say: "This group of questions is
    specific to accelerators.", "本节介绍三种并行方式。"."""
    return len(text) <= 160 and "\n" not in text.strip() and bool(_INTRO.search(text))


def ends_as_label(text: str) -> bool:
    """A last paragraph that names what came next and is gone: "代码实现", "Here is the full example"."""
    last = text.rstrip().rsplit("\n\n", 1)[-1].strip()
    return 0 < len(last) <= 40 and "\n" not in last and not re.search(r"[.!?。！？;；)）\]】”\"'`$|]$", last) \
        and not last.startswith(("-", "|", "`", "$")) and not re.match(r"\d+\.\s", last)
