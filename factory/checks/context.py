"""Context: answers that lean on the note they were cut from.

A pair is read without its note, so an answer must not point at the rest of it. Notes are written
to be read top to bottom: a section opens on "上面提到的…" or "Then you need…", promises "in the
following sections", thanks "the author", or sends the reader to a link whose URL extraction
dropped. Every check reads the output outside code blocks and inline code.

- `context_dependent` (warn): the output refers to another part of the note or to the note as a
  document: back ("如前所述", "上文", "上面提到", "上次，我们看到", "在 router 中提过", "As mentioned
  earlier", "in the previous section", "so far we have discussed", "到目前为止，我们已经…"), forward
  ("后文", "下一节", "我们马上在后文细说", "in the following sections", "later in this chapter", "let's
  next discuss"), to itself as a document ("本节", "本文", "这门课", "this section", "this paper"; not
  when the instruction or input asks for that document: "Write a blog post…"), to a part by number
  ("part 1 then part 2", "(see … above)"), or to an author it does not name ("作者提出", "the
  authors show"; not "LoRA 的作者", "the authors of LoRA"). A weak back reference ("上述", "以上",
  "the above", "the other") counts only in the first sentence, before anything of the answer it
  could refer to.
- `missing_link` (warn): the output points at a link, page or file it does not carry. With the
  note's text: a link's text kept without its URL where the sentence points at it ("please see this
  very interesting PyTorch guide", "Here is a good comparison between SLURM and K8s", "as explained
  in key inference performance metrics", "Here is an example slurm-status.py", "Pinecone 的这篇博客
  What is a Vector Database", "详细的结果可以看原始论文"). Without it: a pointer that can only mean a
  link ("你可以在这里尝试它", "this very interesting guide", "see this thread").
- `opens_with_connective` (warn): the output starts with a connective that continues a sentence
  before it: "而…", "但是…", "因此…", "此外…", "Then you need…", "However, …", "Also, …". Not "首先"
  or "First" (they start something), nor a connective the instruction itself leads into.
- `unfulfilled_lead_in` (warn): the output announces what it then does not hold: code ("代码如下",
  "here is the script", "the following command", "like so") with no code block after it, or a
  last paragraph that only promises more ("in the following sections I will share…", "接下来我们将
  介绍…", "本小节介绍…", "let's look at…") with nothing after it. (`lead_in_only` is the case of a
  whole output that is one such sentence ending on a colon.)

All four warn: the answer around the reference is usually worth a reviewer's edit. Evidence:
bench/RESULTS.md, "checks, second pass".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.checks.markdown import without_code
from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "context"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "context_dependent": ("warn", "the output refers to the rest of its note (如前所述, 上面提到, 本节, as mentioned earlier, "
                                  "in the next section)"),
    "missing_link": ("warn", "the output points at a link, page or file it does not carry (see this guide, 这篇博客)"),
    "opens_with_connective": ("warn", "the output opens with a connective that continues text it does not hold "
                                      "(而…, 但是…, Then you need…, However…)"),
    "unfulfilled_lead_in": ("warn", "the output announces code or more text that is not there (代码如下 without code, "
                                    "in the following sections I will…)"),
}


def _finding(code: str, message: str) -> Finding:
    return Finding(check=NAME, code=code, severity=REASON_CODES[code][0], message=message)


def _clip(text: str, n: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# Quoted speech says what someone said, not what the answer points at.
_QUOTE = re.compile(r"“[^”\n]{0,300}”|\"[^\"\n]{0,300}\"|「[^」\n]{0,300}」|^[ \t]*>.*$", re.M)
# The end of a sentence or a line: what counts as "the first sentence".
_SENTENCE_END = re.compile(r"[。！？；!?;]|\.(?=\s|$)|\n")


def prose_of(output: str) -> str:
    """The output without code and quotations: where references are looked for."""
    text = without_code(output) if "`" in output or "~~~" in output else output
    return _QUOTE.sub(" ", text) if ('"' in text or "“" in text or "「" in text or ">" in text) else text


def first_sentence(prose: str) -> str:
    text = prose.lstrip(" \t\n-*>#")
    m = _SENTENCE_END.search(text)
    return text[: m.end()] if m else text


# --- context_dependent ------------------------------------------------------------------------

_BACK_ZH = (
    r"如前所述|如前文所述|如上所述|如上文所述|前文|上文(?!本)|上一(?:节|章|篇|讲|部分|小节|课)|上(?:节|章|篇|讲)(?:中|提到|介绍|讲|所述|课)"
    r"|前一(?:节|章|篇)|前面(?:提到|介绍|讲|说|讨论|所述|所说|几节|几章|章节|的章节|的部分|的内容|已经|也说过|说过)"
    r"|之前(?:提到|介绍过|讲过|讲到|讨论过|说过|的(?:例子|章节|文章|内容))|上次|上节课|(?<![未没])提过|(?<![未没])提到过|讲过"
    r"|上面(?:提到|介绍|讲|说|讨论|所述|所说|的例子|这个例子|的方案)|还是(?:使用|用)上面|针对(?:以上|上面|上述)"
    r"|(?:到|截至)?目前为止[，,]?\s*我们|迄今为止[，,]?\s*我们|回顾(?:一下|下)?(?:之前|前面|上面|上文)"
)
_FORWARD_ZH = (
    r"后文|(?<!上)下文(?!中文)|下一(?:节|章|篇|讲|部分|小节|课)|下(?:节|章|篇)(?:中|会|将|再|介绍|讲|课)"
    r"|后面(?:会|再|将)(?:详细|具体)?(?:讲|介绍|讨论|说|提到|展开|分析)|后面的(?:章节|部分|小节)|稍后(?:会|再|将)?(?:详细)?(?:介绍|讨论|讲|分析)"
    r"|后续(?:章节|小节|会(?:详细)?介绍|再介绍)|以后再(?:讲|说|介绍)|接下来的(?:章节|几节|小节|部分)"
)
_DOCUMENT_ZH = r"本节|本小节|本章|本篇|本文(?!本)|本讲|本课程|本教程|本次课程|这门课|这节课|这一节|这一章|这篇文章|本部分"
_AUTHOR_ZH = r"(?<![的之原])(?:作者|笔者)(?!们?(?:是|为|名))"
_BACK_EN = (
    r"\bas\s+(?:I\s+|we\s+|was\s+|has\s+been\s+|it\s+was\s+)?(?:mentioned|discussed|explained|noted|described|covered|said|saw|"
    r"seen|stated|outlined|shown|established)\s+(?:earlier|before|above|previously|in\s+(?:the|an?|my|our)\s+(?:previous|earlier|"
    r"last|prior|preceding)\s+(?:section|chapter|part|post|article))"
    r"|\b(?:mentioned|discussed|explained|described|covered|introduced|defined|listed|noted)\s+(?:earlier|previously|above)\b"
    r"|\b(?:in|from)\s+(?:the|a|my|our)\s+(?:previous|preceding|prior|earlier)\s+(?:section|chapter|part|article|post|lecture|lesson|"
    r"note|paragraph)s?\b|\bthe\s+(?:previous|preceding)\s+(?:section|chapter|lecture|lesson)\b"
    r"|\bearlier\s+in\s+(?:this|the)\s+(?:chapter|section|document|article|book|guide|post|note)\b"
    r"|\b(?:so\s+far|up\s+to\s+now|until\s+now),?\s+(?:we|I)(?:'ve|\s+have)\s+(?:already\s+)?(?:seen|discussed|covered|looked|talked|"
    r"learned|introduced|described|explained)\b|\blast\s+time,?\s+we\b"
    r"|\(see\s[^()\n]{1,80}\b(?:above|below)\)|\bsee\s+(?:the\s+)?(?:section|chapter|part|discussion)\s+(?:above|below)\b"
    r"|\bin\s+(?:the\s+)?[\w-]+\s+(?:section|chapter)\s+(?:above|below)\b"
    r"|\bpart\s+[1-9]\s+(?:then|and|before|after|vs\.?|or)\s+part\s+[1-9]\b|\b(?:see|in)\s+part\s+[1-9]\b"
)
_FORWARD_EN = (
    r"\b(?:in|see|to|into|over)\s+the\s+(?:following|next|later|upcoming|subsequent|coming)\s+(?:sections?|chapters?|parts?|lessons?|"
    r"lectures?|posts?|articles?)\b|\bin\s+the\s+sections?\s+below\b|\bthe\s+following\s+(?:sections|chapters)\b"
    r"|\blater\s+in\s+(?:this|the)\s+(?:chapter|section|book|guide|document|article|post|course)\b"
    r"|\bmore\s+(?:on|about)\s+(?:this|that|it)\s+later\b|\b(?:discussed|covered|explained|described)\s+later\b"
    r"|\blet'?s\s+next\s+(?:discuss|look|talk|turn|move|see)\b"
    r"|\b(?:we|I)(?:'ll|\s+will|\s+shall)\s+(?:see|discuss|cover|look\s+at|talk\s+about|get\s+to|come\s+back\s+to|explore|return\s+to)"
    r"\b[^.;:\n]{0,50}\b(?:later|shortly|in\s+(?:the\s+)?(?:next|following|later|upcoming)\s+(?:sections?|chapters?|parts?))\b"
)
# "this section", "this paper": the note as a document. Not when the task asks for that document.
_DOCUMENT_EN = (
    r"\b(?:this|the\s+current|the\s+present)\s+(?:section|chapter|article|post|lecture|lesson|tutorial|write-?up|book|paper|"
    r"document|blog(?:\s+post)?|course|notes?)\b(?!['’]s\s+(?:title|name))"
)
_AUTHOR_EN = r"\bthe\s+authors?\b(?!\s+(?:of|who|whose|named|called|name)\b)(?!['’]s\s+name)"
# Only in the first sentence: "上述方法…", "the above", "the other most popular orchestrator".
_WEAK_BACK = re.compile(
    r"上述|以上(?:的|几|两|三|这|提到|介绍)|上面|前述|上一步|这些还不够|另一(?:个|种|方面)(?!.{0,6}是)"
    r"|(?i:\b(?:the\s+above|above[-\s]mentioned|aforementioned|mentioned\s+above|the\s+other\s+(?:most|main|common|popular|"
    r"option|approach|way|one|method|thing)|the\s+same\s+(?:way|idea|approach|trick|method)|as\s+before|now\s+that)\b)"
)
_CONTEXT_ZH = re.compile(f"(?P<back>{_BACK_ZH})|(?P<fwd>{_FORWARD_ZH})|(?P<doc>{_DOCUMENT_ZH})|(?P<author>{_AUTHOR_ZH})")
_CONTEXT_EN = re.compile(f"(?P<back>{_BACK_EN})|(?P<fwd>{_FORWARD_EN})|(?P<doc>{_DOCUMENT_EN})|(?P<author>{_AUTHOR_EN})", re.I)
# A cheap test every English match needs, in casefolded text.
_CONTEXT_EN_HINT = re.compile(
    r"earlier|before|above|below|previous|preceding|prior|so far|until now|up to now|last time|part \d|following|next|"
    r"later|this |current|present|author"
)
# A task about a text ("Write a blog post…", "总结这篇文章"): the answer may call it "this post", "本文".
_ASKS_FOR_DOCUMENT = re.compile(
    r"\b(?:write|draft|compose|summari[sz]e|read|review|translate|rewrite|edit|proofread|analy[sz]e|critique|based\s+on|"
    r"given|provided|following|attached|this|these|above)\b[^.?!\n]{0,60}\b(?:sections?|chapters?|articles?|posts?|lectures?|"
    r"lessons?|tutorials?|write-?ups?|books?|papers?|documents?|blogs?|courses?|notes?|essays?|stor(?:y|ies)|letters?|speech|"
    r"reviews?|passages?|texts?|paragraphs?|poems?)\b"
    r"|(?:写|撰写|起草|编写|总结|概括|阅读|根据|翻译|改写|润色|分析|评价|以下|下面的?|给定的?|这篇|这段)[^。？！\n]{0,30}?"
    r"(?:文章|论文|文本|短文|作文|博客|帖子|课程|教程|章节|小说|故事|信|演讲|书|段落|诗)",
    re.I,
)


def context_reference(output: str, instruction: str = "", input_text: str = "") -> str | None:
    """The words by which the output leans on the rest of its note, else None."""
    prose = prose_of(output)
    asked = instruction
    for pattern, hint in ((_CONTEXT_ZH, None), (_CONTEXT_EN, _CONTEXT_EN_HINT)):
        if hint is not None and not hint.search(prose.casefold()):
            continue
        for m in pattern.finditer(prose):
            kind = m.lastgroup
            if kind in ("doc", "author") and (input_text.strip() or _ASKS_FOR_DOCUMENT.search(asked)):
                continue
            return m.group(0)
    m = _WEAK_BACK.search(first_sentence(prose))
    if m and not _WEAK_BACK.search(instruction):
        return m.group(0)
    return None


# --- missing_link -----------------------------------------------------------------------------

_SOURCE_LINK = re.compile(r"(?<!!)\[((?:[^\[\]\n]|\n(?!\n)){2,150})\]\((?:[^()\s]|\([^()\s]*\))+(?:\s+\"[^\"\n]*\")?\)")
# Words right before a link's text that make the sentence point at the link.
_POINTS_BEFORE = re.compile(
    r"(?:\b(?:see|seeing|check(?:\s+out)?|read|visit|refer\s+to|look\s+at|follow|go\s+to|consult|try|watch|"
    r"explained\s+in|described\s+in|discussed\s+in|covered\s+in|documented\s+in|listed\s+in|shown\s+in|found\s+in|"
    r"here\s+is|here's|here\s+are|this\s+is|there\s+is)"
    r"(?:\s+(?:the|this|that|these|a|an|our|my|his|her|their|some|very|good|great|nice|excellent|detailed|"
    r"interesting|useful|helpful|awesome|following|example|brief|short|in-depth|thorough))*"
    r"|\bsee\s+(?:how|what|why|where|when)\b(?:\s+[\w'-]+){0,4}"
    r"|详见|参见|请见|请看|请参考|可参考|可以参考|参考|可以看|可以看看|可看|见|这篇(?:博客|文章|论文|教程|帖子|综述)?|这个(?:链接|项目|仓库|页面|网站)?"
    r"|(?:博客|文章|论文|教程|帖子|综述|项目|仓库|网站|文档)|在这里|此处)[\s:：]*$",
    re.I,
)
_FURTHER_READING = re.compile(
    r"\bfor\s+(?:more|further|additional|full|all\s+the)\s+(?:details|info|information|examples|options)\b"
    r"|\bfor\s+details\b|了解更多|更多(?:细节|信息|内容|详情)|详细信息",
    re.I,
)
_FILE_NAME = re.compile(r"^[\w.-]+\.(?:py|sh|bash|slurm|ipynb|yaml|yml|json|toml|cfg|conf|js|ts|rs|go|c|cpp|cu|txt)$")
# Pointers that mean a link even without the note's text.
_POINTER_ONLY_LINK = re.compile(
    r"你可以在这里|可以在这里(?:尝试|试用|找到|下载|查看|看到)|(?:点击|戳)(?:这里|此处)|详见原文|(?:可以)?看原(?:始)?论文|见原文"
    r"|(?i:\bplease\s+see\s+this\b|\bsee\s+this\s+(?:\w+\s+){0,3}(?:guide|article|post|thread|discussion|issue|comment|page|"
    r"tutorial|paper|doc|write-?up|video|talk|repo|benchmark)\b|\bspecifically\s+this\s+line\b|\bcan\s+be\s+found\s+here\b"
    r"|\b(?:read|see|check|find)\s+(?:it|them|more)\s+here\b)"
)


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[`*_]", "", text).split())


def missing_link(output: str, source: str | None = None) -> str | None:
    """The pointer at a link, page or file the output does not carry, else None."""
    prose = prose_of(output)
    if "://" in prose or "www." in prose:
        prose = re.sub(r"(?:https?|ftp)://\S+|www\.\S+", " ", prose)
    if source and "](" in source:
        flat = " ".join(prose.split())
        has_code = "```" in output or "~~~" in output
        for m in _SOURCE_LINK.finditer(source):
            text = _plain(m.group(1))
            if len(text) < 2 or text.startswith("!") or re.fullmatch(r"[\d\s.,\[\]-]*", text):
                continue
            found = re.search(rf"(?<![\w]){re.escape(text)}(?![\w])" if text.isascii() else re.escape(text), flat)
            if found is None:
                continue
            at = found.start()
            before = flat[max(0, at - 60):at]
            before = re.split(r"[。！？；!?;]|\.\s", before)[-1]
            if _FILE_NAME.match(text):
                if not has_code:
                    return text
                continue
            sentence_end = re.search(r"[。！？；!?;]|\.(?:\s|$)", flat[at + len(text):])
            after = flat[at + len(text): at + len(text) + (sentence_end.start() if sentence_end else 80)]
            if _FURTHER_READING.search(before + " " + after):
                continue  # "See the MDN docs for more details": a pointer beside an answer, not instead of one
            if _POINTS_BEFORE.search(before):
                return (before[-30:].lstrip() + text).strip()
    m = _POINTER_ONLY_LINK.search(prose)
    return m.group(0) if m else None


# --- opens_with_connective --------------------------------------------------------------------

_CONNECTIVE_ZH = re.compile(
    r"(?:而(?![且已言后])|但是|但(?![凡愿])|不过|然而|所以|因此|因而|于是|那么|另外|此外|并且|而且|再者|接着|然后|同样(?:地)?|"
    r"反之|否则|总之|综上(?:所述)?|也就是说|换句话说|换言之|这样一来|除此之外|与此同时)(?=[，,、\s]|[\u4e00-\u9fff])"
)
_CONNECTIVE_EN = re.compile(
    r"(?:then|but|however|also|so|therefore|thus|hence|moreover|furthermore|additionally|besides|otherwise|instead|"
    r"similarly|likewise|consequently|nevertheless|nonetheless|meanwhile|in\s+addition|as\s+a\s+result|in\s+contrast|"
    r"on\s+the\s+other\s+hand|that\s+said|having\s+said\s+that|with\s+that|and|or|yet|still)\b(?![-'’])",
    re.I,
)


def opening_connective(output: str, instruction: str = "") -> str | None:
    """The connective the output starts with when it continues text before it, else None."""
    prose = prose_of(output).lstrip(" \t\n-*>#•")
    m = _CONNECTIVE_ZH.match(prose)
    if m is None:
        m = _CONNECTIVE_EN.match(prose)
        if m is None:
            return None
        word = m.group(0).casefold()
        rest = prose[m.end():]
        # "So you want…" and "Still image…" are no connectives; "Then," and "Also, " are.
        if word in ("so", "still", "yet", "or", "and", "with that") and not rest.startswith(","):
            return None
        if word == "then" and re.match(r"\s*(?:the\s+)?(?:answer|result|value|output)\b", rest, re.I):
            return None
    # A task that asks to go on ("Continue the story", "续写") expects a continuation.
    if re.search(r"\b(?:continue|continuation|next\s+(?:sentence|line|paragraph))\b|续写|接着写|继续", instruction, re.I):
        return None
    return m.group(0)


# --- unfulfilled_lead_in ----------------------------------------------------------------------

_ANNOUNCES_CODE = re.compile(
    r"(?:代码|源码|脚本|命令|配置|伪代码|实现|示例代码|核心代码|关键代码)(?:如下|见下|如下所示)|如下(?:代码|命令|脚本|配置)"
    r"|(?i:\bhere(?:'s|\s+is|\s+are)\s+(?:the|a|an|some|my|our)?\s*(?:\w+\s+){0,2}(?:code|script|snippet|command|commands|"
    r"config(?:uration)?|implementation|program|function)s?\b|\bthe\s+following\s+(?:code|script|snippet|command|commands|"
    r"config(?:uration)?|program|function)\b|\blike\s+so\s*:|\bas\s+follows\s*:)"
)
_CODE_AFTER = re.compile(r"^[ \t]{0,3}(?:`{3}|~{3})|^(?: {4}|\t)\S|^[ \t]*[$>#] \S|`[^`\n]+`", re.M)
_PROMISE = re.compile(
    r"(?:接下来|下面|随后|后面)[，,]?(?:我们|我)?(?:将|会|就|再|来)?(?:详细|具体|简要|简单)?(?:地)?"
    r"(?:介绍|讨论|讲|讲解|看看|看一下|分析|说明|展开|探讨|聊聊|谈谈|学习|了解)"
    r"|我们(?:将|会)(?:在下面|在接下来)?(?:简要|详细|进一步|具体)?(?:地)?(?:介绍|讨论|讲解|探讨|分析|学习|了解)"
    r"|本(?:小)?节(?:将|会|主要)?(?:介绍|讨论|讲|讲解|探讨)|现在[，,]?我们(?:转向|来看|来讨论|来介绍|开始)"
    r"|(?i:\bin\s+the\s+following\s+(?:sections?|paragraphs?|chapters?)\b|\b(?:I|we)(?:'ll|\s+will|\s+am\s+going\s+to|\s+are\s+going\s+to)"
    r"\s+(?:now\s+|next\s+|then\s+)?(?:share|show|discuss|cover|describe|explain|look\s+at|go\s+(?:over|through)|walk\s+(?:you\s+)?"
    r"through|present|list|introduce|explore|dive\s+into|talk\s+about)\b|\blet'?s\s+(?:now\s+|next\s+|first\s+)?(?:discuss|look\s+at|"
    r"talk\s+about|turn\s+to|move\s+on|dive\s+into|explore|see\s+(?:how|what|an?\s+example))\b|\bnow\s+(?:let's|we'll|we\s+will)\b"
    r"|\bhere\s+are\s+(?:some|a\s+few|the)\b[^.!?\n]*$)"
)


def unfulfilled_lead_in(output: str) -> str | None:
    """The announcement the output does not follow up, else None."""
    text = output.strip()
    prose = prose_of(text)
    for m in _ANNOUNCES_CODE.finditer(prose):
        at = text.find(m.group(0))
        after = text[at + len(m.group(0)):] if at >= 0 else ""
        if not _CODE_AFTER.search(after):
            return m.group(0)
    # The last paragraph, when it is prose: a promise there is followed by nothing.
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paragraphs:
        return None
    last = paragraphs[-1].strip()
    if _CODE_AFTER.match(last) or last.startswith(("|", "-", "*", "+")) or re.match(r"\d{1,3}[.)、]\s", last):
        return None
    m = _PROMISE.search(prose_of(last))
    return m.group(0) if m else None


# --- the check --------------------------------------------------------------------------------


def context_findings(s: Sample, source: str | None = None) -> list[Finding]:
    output = s.output
    if not output.strip():
        return []
    found = []
    ref = context_reference(output, s.instruction, s.input)
    if ref:
        found.append(_finding("context_dependent", f"output leans on the rest of its note ({_clip(ref)!r}); rewrite "
                              "it to stand alone, or cut the reference"))
    link = missing_link(output, source)
    if link:
        found.append(_finding("missing_link", f"output points at a link or file it does not carry ({_clip(link)!r}); "
                              "say what it shows, or cut the pointer"))
    connective = opening_connective(output, s.instruction)
    if connective:
        found.append(_finding("opens_with_connective", f"output opens with {connective!r}, continuing text it does not "
                              "hold; rewrite the first sentence to stand alone"))
    promise = unfulfilled_lead_in(output)
    if promise:
        found.append(_finding("unfulfilled_lead_in", f"output announces what it does not hold ({_clip(promise)!r}); add "
                              "it from the note, or cut the announcement"))
    return found


def check_context(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    sources = ctx.source_texts
    return [(s.id, f) for s in batch for f in context_findings(s, sources.get(s.id))]
