"""Sentences that lean on the rest of the note: what an answer cannot carry with it.

A pair is read without its note, so an answer must not send the reader elsewhere in it:

- a pointer to another part ("详见附录 B。", "see the following sections", "let's next discuss
  the watchdogs", "我们马上在后文细说") only points: the sentence goes, nothing is rewritten;
- a back-reference that opens the answer ("上面提到的基于 Faiss 的方案…", "As mentioned in the
  previous section, …", "到目前为止，我们已经讨论了…", "而任何一个 Agent…", "Then you need…")
  builds on text the answer does not hold: the section makes no pair;
- a back-reference to another section further in ("前文讨论总收益时…", "在 router 中提过") leans
  on it too; a short one goes, and an answer that keeps leaning after that makes no pair.

"上述" or "the table above" after the list or table they name, inside the same answer, refer to
the answer itself and stay.
"""

from __future__ import annotations

import re

# A sentence of rendered prose: up to its end mark, or a line.
_SENTENCE = re.compile(r"[^。！？!?；;\n]*?(?:[。！？!?；;]+[”’\"'）)]*|\.(?=\s|$)[”’\"')]*|\n|$)")

# Pointers forward or sideways: to later text, another section, an appendix.
_FORWARD = re.compile(
    r"详见|参见|请见|请参考|可参考|见附录|附录\s*[A-Z0-9]|后文|(?<!上)下文(?:会|将|中|再|详细)|下一(?:节|章|篇|部分)|下(?:节|章)(?:会|将|再|中)"
    r"|后面(?:会|再|将|的章节|章节)|稍后|后续(?:会|再|章节)|再看|以后再"
    r"|(?i:\b(?:see|read|check)\b[^.;:]{0,60}\b(?:section|chapter|appendix)s?\b"
    r"|\b(?:in|see|to) the (?:following|next|later|upcoming|subsequent) (?:section|chapter|part)s?\b"
    r"|\blet'?s next\b|\blet'?s (?:now )?(?:move on|turn to)\b"
    r"|\bwe(?:'ll| will| shall) (?:see|discuss|cover|look at|talk about|get to|come back to|explore)\b[^.;]{0,60}"
    r"\b(?:later|below|next|shortly|soon|in (?:the )?(?:next|following|later))\b"
    r"|\b(?:more|details) (?:on|about) (?:this|that|it) (?:later|below)\b|\bsee appendix\b|\bdiscussed (?:later|below)\b"
    r"|\bthe following (?:sections|chapters)\b)")
# The note speaking of itself as a document: "本章将学习…", "在本节中，我们…", "In this chapter we
# look at…". Not "本文" or "this paper": notes on a paper call the paper so, and say what it does.
_DOCUMENT = re.compile(
    r"本章|本节|本小节|本讲|本课|本部分|这一章|这一节|这节课|这门课|本教程"
    r"|(?i:\b(?:in )?this (?:chapter|section|lecture|lesson|tutorial|module|part of the (?:book|guide|course))\b"
    r"|\bthe (?:rest|remainder) of this (?:chapter|section|post|article)\b)")
# What a sentence about the document says it does: it narrates, it does not explain.
_NARRATES = re.compile(r"介绍|讨论|学习|讲|描述|探讨|关注|重点|回顾|总结|了解|涉及|包括|分为|内容|目标|提出一个问题|说明"
                       r"|(?i:\b(?:look|looks|looking|discuss|discusses|learn|introduce|introduces|cover|covers|describe"
                       r"|describes|explain|explains|focus|focuses|review|summari[sz]e|walk|go over|goes over|talk|is about"
                       r"|will)\b)")
# A numbered part of the note: "我们将在第6节对这一生态进行详细介绍", "see section 3.2".
_NUMBERED_PART = re.compile(r"第\s*[0-9一二三四五六七八九十]+\s*(?:节|章|部分|讲)")
# "…, see section 3.2." at the end of a clause: the pointer goes, the clause stays.
_SEE_SECTION = re.compile(r"(?i)[,，]?\s*\(?\b(?:see|cf\.?|refer to|as in)\s+(?:section|chapter|§|appendix)\s*"
                          r"[0-9A-Z]+(?:\.\d+)*\)?(?=\s*[.;:。；]|\s*$)")
# References back to what the note said before this section.
_BACK = re.compile(
    r"如前所述|前文|前面(?:提到|介绍|讲|说|讨论|所说|的(?:章节|部分|内容|例子))|之前(?:提到|介绍|讲|说|讨论|的(?:例子|章节))"
    r"|上文(?:提到|所述|介绍|讲|说|讨论)|上一(?:节|章|篇|部分)|上(?:节|章)(?:中|提到|介绍)|上次|提过|提到过|讲过"
    r"|回顾(?:一下|下)?(?:之前|前面|上)"
    r"|(?i:\bas (?:mentioned|discussed|explained|noted|described|shown|seen|stated|we saw)"
    r"(?: (?:earlier|before|above|previously|in (?:the|an?) (?:previous|earlier|last) (?:section|chapter))|(?=,))"
    r"|\b(?:discussed|seen|covered|looked at) so far\b"
    r"|\b(?:mentioned|discussed|explained|described|covered|introduced) (?:earlier|before|previously|above)\b"
    r"|\b(?:the|a|our) (?:previous|preceding|last|earlier) (?:section|chapter|step|example|part)\b"
    r"|\bearlier in (?:this|the) (?:chapter|section|document|article)\b)")
# What may only open an answer that continues the note's text: "上面提到的…", "到目前为止", "Then you…".
_BACK_OPENING = re.compile(
    r"上面(?:提到|讨论|介绍|讲|说|的)|上述|以上(?:的|所述|提到|介绍|讨论|问题|方法|内容|这些|就是|几|两|三)|针对以上|还是(?:使用|用)上面"
    r"|(?:到目前为止|目前为止|迄今为止)[，,]?我们|总结一下|最后[，,]?我们|首先[，,]?回顾|这些还不够"
    r"|(?i:^(?:the other(?! day)|another)\b|\b(?:above|the same (?:way|idea|approach)|this (?:approach|method|technique|idea|trick)"
    r"|these (?:approaches|methods|techniques|ideas)|now that)\b)")
# A conjunction that carries on from the sentence before: "而任何一个 Agent…", "However, …".
_CONTINUING = re.compile(
    r"^(?:而|但|但是|所以|因此|于是|然后|那么|另外|此外|同样|接着|其次|再者|并且|不过|因而|可见)"
    r"|^(?i:(?:then|so|but|however|additionally|moreover|furthermore|therefore|thus|hence|similarly|likewise"
    r"|finally|next|now|and|instead|otherwise|in addition|in contrast|as a result|that said)\b(?![.\w-]))")
# What an answer's first words may not be once a leaning sentence before them is gone: "这一挑战…".
_DEMONSTRATIVE = re.compile(r"^[^。！？!?，,]{0,12}?(?:这一|这个|这些|这种|这样|该|此|其|它|他们)"
                            r"|^(?i:(?:this|these|that|those|such|it|its|they|their)\b|the \w+ (?:one|ones)\b)"
                            r"|^[a-z]|^[-*+] |^\d+[.)] |^```|^\$\$|^\|")  # mid-sentence, or a list the sentence led in
_MAX_POINTER_CHARS = 160  # a pointer sentence longer than this says something besides pointing


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.findall(text) if s]


def points_elsewhere(sentence: str) -> bool:
    """A short sentence that sends the reader to another part of the note or a later chapter."""
    return len(sentence.strip()) <= _MAX_POINTER_CHARS and bool(
        _FORWARD.search(sentence) or _BACK.search(sentence) or _DOCUMENT.search(sentence) and _NARRATES.search(sentence)
        or _NUMBERED_PART.search(sentence))


_PARENTHESIS = re.compile(r"\s*[(（][^()（）\n]{1,40}[)）]")


def drop_pointers_elsewhere(text: str) -> str:
    """`text` without the sentences that only point at other parts of the note, and without the
    pointers in parentheses ("有害信息（下一节）", "(see below)"), which leave their sentence whole."""
    text = _SEE_SECTION.sub("", text)
    if not (_FORWARD.search(text) or _BACK.search(text) or _DOCUMENT.search(text) or _NUMBERED_PART.search(text)):
        return text
    text = _PARENTHESIS.sub(lambda m: "" if _FORWARD.search(m[0]) or _BACK.search(m[0]) else m[0], text)
    kept = "".join(s for s in sentences(text) if not points_elsewhere(s))
    return re.sub(r"[ \t]+\n", "\n", re.sub(r"\n{3,}", "\n\n", kept)).strip()


def promises_other_sections(text: str) -> bool:
    """Own text that announces what other sections hold ("in the following sections I will share…")."""
    return bool(_FORWARD.search(text))


def opens_on_the_note(text: str) -> bool:
    """An answer whose first sentence builds on text before it: a back-reference or a continuing
    conjunction. Such an answer means little without the note."""
    first = next((s.strip() for s in sentences(text.lstrip()) if s.strip()), "")
    first = re.sub(r"^[-*>\d.)\s]+", "", first)  # a list item's marker
    return bool(_CONTINUING.match(first) or _BACK_OPENING.search(first) or _BACK.search(first))


def standing_answer(text: str) -> str | None:
    """The answer as it can stand without the note: unchanged when it does not open on the note;
    without its first sentence when only that one leans and what follows starts afresh (most of
    the answer, no "这一挑战", no "However"); None when it cannot stand, or when it leans on other
    sections more than once further in."""
    if len(_BACK.findall(text)) >= 2:
        return None  # "as discussed in the previous section … from the previous section"
    if not opens_on_the_note(text):
        return text
    parts = sentences(text.lstrip())
    first = next(i for i, s in enumerate(parts) if s.strip())
    rest = "".join(parts[first + 1:]).strip()
    if parts[first].rstrip().endswith((":", "：")) or len(rest) < 0.7 * len(text.strip()) or \
            opens_on_the_note(rest) or _DEMONSTRATIVE.match(rest) or _BACK.search(rest):
        return None  # it led in to what follows, or what follows still leans on it
    return rest
