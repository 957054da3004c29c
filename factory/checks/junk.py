"""Junk checks: samples that teach the wrong thing although every field is filled in.

The rest of the Alpaca failure list, in Chinese and English:

- `input_only_url` (reject): the input is nothing but one or more URLs (with at most a label
  such as "URL:" / "链接：", bullets and separators). The model cannot open a link, so the
  answer was written from content it never sees. Not flagged when the instruction treats the
  URL as a string (domain, protocol, query parameters, parse, validate, regex, shorten,
  encode/decode; 域名, 协议, 参数, 解析, 合法/有效, 正则, 缩短, 编码/解码).
- `input_only_attachment` (reject): the input is nothing but media placeholders: "<image>",
  "[image 1]", "<|image|>", "[图片]", "【附件】", "<video>", "[audio]", "(photo)", "<img src=…>",
  a bracketed phrase about an attachment ("<Picture Attached>", "<Insert image here>", "(see
  attached photo)", "[Attached image]", "<Image of a cat>", "[插入图片]", "（见附图）"), or a sentence
  that only points at one ("See attached file.", "Attached is a picture.", "附图如下", "见附件").
- `unseen_media` (warn): the instruction points at a specific image, photo, screenshot, chart,
  diagram, table, video, recording or attachment ("describe the image", "the chart below",
  "watch the video", "描述这张图片", "根据下图", "如图所示", "见附件") and the sample does not
  carry it as text. It counts as carried when the input is non-empty (a placeholder, URL or
  attachment input has its own code), when the instruction holds a code block, a table, an
  `<svg>` or a `data:` URI, or when at least 40 characters follow a colon or line break after
  the reference. "An image of a cat", "the image of America" and "image compression" are not
  references.
- `merged_instructions` (reject): outside code, the output holds another task block, the
  Alpaca generation artefact: a numbered "2. Instruction:" / "3. 指令：" line, an "Instruction 2:"
  line, a "### Instruction" or "### Response:" template heading, or an "Instruction:" header line
  together with an "Input:", "Output:" or "Response:" header line (指令 with 输入/输出/回答/回复).
  "Input:"/"Output:" alone describe a function and the word "instruction" in prose is fine.
- `truncated_output` (warn): an output of at least `checks.truncated_min_chars` characters
  that ends inside an unclosed code fence, on a dangling connective ("and", "the", "of",
  "because", "和", "以及", "因为", "然后", "并且", "或者", "例如", …), on a "的" whose noun is
  missing ("我们使用的"; not "这是无法事先知晓的"), on dangling punctuation ("," "，" "、" ":" "-"
  "("), or without closing punctuation. Closing punctuation is . ! ? ; … 。！？；, a closing quote
  or bracket (" ' ” ’ ) ] } ） 」 』 》 】 > `), or an emoji. Also complete without it: a closed
  code fence, a formula ($$…$$, $…$, \\[…\\]), a URL, a number or formula on a short last line, a
  calculation line ("… = $308 total"), a citation line, a letter's closing ("Yours sincerely,
  Jane"), an indented (code) line, a list item or table row, a last block of short lines (verse,
  a list without markers) or of "Key: value; Key: value" record lines (a flattened table). A last
  line that is only a link text or credit ("source", "h/t Jake Worth") is left out first
  (`dangling_link_text` reports it). With the note's text at hand, an output whose last words
  also end a line of the note is not reported for a missing full stop: the note's paragraph ends
  there, nothing was cut.
- `control_characters` (reject): C0/C1 control characters other than tab, newline and carriage
  return, a byte order mark, zero-width space, word joiner, and in odd places: U+FFFD next to a
  letter, digit or another U+FFFD (mojibake; a lone "�" between spaces or punctuation is a
  mention), a zero-width joiner/non-joiner not between two emoji or two letters of a joining
  script, or a bidi mark/override/isolate in text without right-to-left letters. Positions are
  1-based. System and history turns are checked too.
- `escaped_characters` (warn): literal escapes left by double encoding, outside code blocks and
  inline code, in instruction, input and output: two or more "\\uXXXX" in a row or one glued
  to a word ("\\u4e2d\\u6587", "\\u4e2d文"), two or more "\\xXX" in a row (bytes repr),
  \\" or \\' glued to a word, HTML entities (&amp; &lt; &#39; …), and, in a field without a
  real line break (a double-encoded field is one line), "\\n"/"\\r"/"\\t" where a line
  break belongs: two or more between words, after sentence punctuation before a word, or
  before a capital or a list marker. Mentions are not flagged: "the newline character \\n",
  "replace \\r\\n with \\n", "换行符是\\n。", "\\x00-\\x08", Windows paths ("C:\\new").
- `refusal` (reject): the output refuses or disclaims as an AI, in the first person. At the
  start: "I'm sorry, but I cannot…", "I cannot provide/access/…", "I don't have access/personal
  opinions…", "As an AI, I…", "I am an AI language model", "很抱歉，我无法…", "我无法提供/访问/…",
  "我是一个人工智能…"; anywhere: "as an AI language model, I…", "as a large language model, my…",
  "作为一个AI，我…", "作为人工智能语言模型，我…". "You cannot…", "I'm sorry to hear…", "I cannot
  stress enough…", "As an AI researcher, you…", "It was trained as a language model", "它只是作为
  一个语言模型…", "可以作为语言模型训练的数据集" are answers, and so is speaking as an AI when the
  instruction asks for that persona ("Pretend to be an AI language model in 2100").

Every check is a precompiled regex pass over one sample at a time (and its note text, when the
context has it): no I/O, no state.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.checks.answers import dangling_link_text
from factory.checks.fields import is_placeholder_input
from factory.checks.markdown import without_code
from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "junk"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "input_only_url": ("reject", "the input is only a URL, whose content the model cannot see"),
    "input_only_attachment": ("reject", "the input is only an attachment placeholder such as <image>, [图片] or [附件]"),
    "unseen_media": ("warn", "the instruction refers to an image, chart, table, video, audio or attachment the sample does not contain"),
    "merged_instructions": ("reject", "the output contains another Instruction:/Input:/Output: (指令/输入/输出) task block"),
    "truncated_output": ("warn", "a long output stops mid-sentence, inside a code block or on a dangling word"),
    "control_characters": ("reject", "control characters, U+FFFD, or zero-width/bidi characters in odd places"),
    "escaped_characters": ("warn", "literal escape sequences (\\n, \\u4e2d, &amp;, &#39;) outside code"),
    "refusal": ("reject", "the output refuses or disclaims as an AI, in the first person (As an AI language model, I…; 作为一个AI，我…)"),
}


def _finding(code: str, message: str) -> Finding:
    return Finding(check=NAME, code=code, severity=REASON_CODES[code][0], message=message)


def _clip(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --- input_only_url -------------------------------------------------------------------------

_URL = r"(?:(?:https?|ftp)://|www\.)[^\s<>\"'“”]+"
_URL_ITEMS = re.compile(rf"\[[^\]\n]{{0,80}}\]\(\s*{_URL}\s*\)|<{_URL}>|{_URL}", re.I)
_URL_LABEL = re.compile(r"\b(?:urls?|links?|sources?|websites?|web\s?pages?|pages?|articles?)\b|网址|链接|地址|来源|网页|原文|文章", re.I)
_URL_AS_DATA = re.compile(
    r"\b(?:domains?|host\s?names?|protocols?|schemes?|query\s+(?:strings?|param(?:eter)?s?)|pars(?:e|ing)|"
    r"validat\w*|valid|regex\w*|regular\s+expressions?|shorten\w*|url[-\s]?encod\w*|encod\w*|decod\w*|"
    r"components?|slugs?|tlds?|top[-\s]level)\b|域名|协议|参数|解析|合法|有效|正则|缩短|编码|解码|组成部分",
    re.I,
)


def input_only_url(text: str) -> bool:
    """The text is one or more URLs and nothing else but labels, bullets and punctuation."""
    if "://" not in text and "www." not in text.lower():
        return False
    rest, n = _URL_ITEMS.subn(" ", text)
    if not n:
        return False
    rest = _URL_LABEL.sub(" ", rest)
    return all(c.isspace() or c.isdigit() or unicodedata.category(c)[0] == "P" for c in rest)


# --- input_only_attachment ------------------------------------------------------------------

_MEDIA_EN = (
    r"image|img|picture|pic|photo|photograph|screenshot|screen\s?shot|chart|graph|diagram|figure|fig|"
    r"video|audio|sound|voice(?:\s+message)?|recording|attachment|attached\s+file|file|document|doc|pdf|"
    r"media|gif|sticker|emoji|table|map|drawing"
)
_MEDIA_ZH = r"图片|图像|照片|相片|截图|图表|图|视频|音频|语音|录音|附件|文件|文档|表情包|表情|动画表情|表格|地图"
_ATTACHMENT_TOKEN = (
    rf"(?:<\|?|\[|【|\{{|\(|（)\s*(?:{_MEDIA_EN}|{_MEDIA_ZH})s?"
    r"(?:[\s_:#-]*\d{1,3}|[\s_-](?:placeholder|pad|here|token|omitted))?\s*(?:\|?>|\]|】|\}|\)|）)"
)
# A bracketed phrase about an attachment: "<Picture Attached>", "<Insert image here>", "(see
# attached photo)", "[Attached image]", "<Image of a cat>" (angle brackets: any phrase naming a
# medium), "[插入图片]", "（见附图）", "(图片已附上)".
_ATTACH_WORDS_EN = r"attached|attachment|attach|insert(?:ed)?|upload(?:ed)?|enclosed|included|see|here|below|above|placeholder|missing|omitted|not\s+shown"
_ATTACHMENT_PHRASE = (
    rf"<\s*(?:[\w'-]+\s+){{0,5}}?(?:{_MEDIA_EN})s?(?:\s+[\w'-]+){{0,5}}\s*>"
    rf"|[\[(（【]\s*(?:[\w'-]+\s+){{0,3}}?(?:(?:{_ATTACH_WORDS_EN})\s+(?:[\w'-]+\s+){{0,2}}?(?:{_MEDIA_EN})s?"
    rf"|(?:{_MEDIA_EN})s?\s+(?:[\w'-]+\s+){{0,2}}?(?:{_ATTACH_WORDS_EN}))(?:\s+[\w'-]+){{0,2}}\s*[\])）】]"
    rf"|[\[(（【<]\s*(?:插入|见|详见|附|附上|上传)?(?:一张|一幅|的)?(?:{_MEDIA_ZH}|附图)(?:已附上|已上传|见附件|如下|附后|略)?\s*[\])）】>]"
)
_ATTACHMENT = rf"(?:{_ATTACHMENT_TOKEN}|{_ATTACHMENT_PHRASE}|<img\b[^<>]*>)"  # an HTML <img> points at a file too
# A sentence that only points at an attachment: "See attached file.", "Attached is a picture.", "附图如下", "见附件".
_ATTACHMENT_SENTENCE = re.compile(
    rf"\s*(?:(?:please\s+)?(?:see|refer\s+to|find|check)\s+(?:the\s+)?(?:attached|enclosed|uploaded)\s+(?:{_MEDIA_EN})s?"
    rf"|(?:attached|enclosed)\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?:{_MEDIA_EN})s?"
    rf"|(?:the\s+)?(?:{_MEDIA_EN})s?\s+(?:is|are)\s+(?:attached|enclosed|uploaded|below)"
    rf"|(?:见|详见|参见|请看)(?:附件|附图|图片|下图)|(?:附图|附件|图片)如下)\s*[.!。！:：]?\s*",
    re.I,
)
_ONLY_ATTACHMENTS = re.compile(rf"\s*{_ATTACHMENT}(?:[\s,;，；、]*{_ATTACHMENT})*[\s.。]*", re.I)


def input_only_attachment(text: str) -> bool:
    if not text.strip():
        return False
    return _ONLY_ATTACHMENTS.fullmatch(text) is not None or _ATTACHMENT_SENTENCE.fullmatch(text) is not None


# --- unseen_media ---------------------------------------------------------------------------

_NOUN_EN = (
    r"(?:images?|pictures?|pics?|photos?|photographs?|screenshots?|charts?|graphs?|diagrams?|figures?|"
    r"infographics?|illustrations?|videos?|clips?|audio|recordings?|sound\s+clips?|voice\s+messages?|"
    r"attachments?|attached\s+files?|tables?|maps?|drawings?|sketch(?:es)?|scans?)"
)
# Nouns that "this"/"that" can point at without a place word ("this table" is often SQL).
_VISUAL_EN = (
    r"(?:images?|pictures?|photos?|photographs?|screenshots?|charts?|diagrams?|infographics?|"
    r"videos?|video\s+clips?|audio\s+clips?|recordings?|attachments?)"
)
# The noun phrase ends here: "the image." / "the image and…", not "the image compression…".
_END_EN = (
    r"(?=\s*(?:[.,;:!?)\"'”’，。；：！？]|$)|\s+(?:and|or|to|below|above|here|that|which|in|on|at|shows?|"
    r"depicts?|displays?|i|you|we|provided|attached|please|for|carefully|again|first|then|with|is|are)\b)"
)
_ZH_NOUN = r"(?:图片|图像|照片|相片|截图|图表|视频|音频|语音|录音|附件|表格|地图|画面|影片|图(?![书纸层案标灵腾形片像表]))"
_ZH_CLASSIFIER = r"(?:一)?(?:张|幅|个|段|份|组|条|些)?(?:的)?"
_UNSEEN_EN = re.compile(
    "|".join((
        rf"\b(?:following|below|above|attached|given|provided|accompanying|enclosed|included|uploaded)\s+(?:\w+\s+)?{_NOUN_EN}{_END_EN}",
        rf"\b(?:this|these|that|those)\s+{_VISUAL_EN}{_END_EN}",
        rf"\b{_NOUN_EN}\s+(?:below|above|attached|provided|shown\s+(?:below|above|here))\b",
        rf"\b(?:look\s+at|watch|listen\s+to|based\s+on|according\s+to|refer\s+to|shown\s+in|depicted\s+in|"
        rf"describe|caption|analy[sz]e|interpret|transcribe|summari[sz]e|explain|identify\b[^.?!\n]{{0,40}}?\bin)"
        rf"\s+the\s+(?:\w+\s+)?{_NOUN_EN}{_END_EN}",
        r"\bsee\s+(?:the\s+)?attach(?:ed|ment)\b",
    )),
    re.I | re.M,
)
_UNSEEN_ZH = re.compile(
    "|".join((
        rf"(?:这|那|该|此){_ZH_CLASSIFIER}{_ZH_NOUN}",
        rf"(?:以下|下面|上面|如下|下方|上方|下列|前面){_ZH_CLASSIFIER}{_ZH_NOUN}",
        rf"(?:给定|给出|提供|附带|所附|附上|上传)的{_ZH_CLASSIFIER}{_ZH_NOUN}",
        r"(?<![一以之网线马])[下上](?:图(?![书纸层案标灵腾形片像表])|表(?![明示达现面演情扬格式彰态率]))",
        r"(?:根据|按照|参考|结合|观察)(?:一下)?(?:图片|图像|照片|截图|图表|视频|音频|录音|附件|附图)",
        r"看图(?:说话|写话|作文|回答)",
        r"(?:见|详见|参见|如)(?:附件|附图)",
        r"(?<![比例假譬诸])如(?:下|上)?图(?:\d+)?(?![书纸层案标灵腾形片像表])",
        r"(?:^|(?<=[^\u4e00-\u9fff])|(?<=[在从据]))图中",
    )),
    re.M,
)
# A cheap test that every match above needs, so most instructions skip the big regexes.
_EN_HINT = re.compile(
    "imag|pic|photo|screen|chart|graph|diagram|figure|video|clip|audio|record|sound|voice|attach|table|map|"
    "drawing|sketch|scan")  # searched in casefolded text: re.I would make it ten times slower
_ZH_HINT = re.compile("图|表|照片|相片|视频|音频|语音|录音|附件|画面|影片")


def _media_reference(text: str) -> re.Match[str] | None:
    m = _UNSEEN_EN.search(text) if _EN_HINT.search(text.casefold()) else None
    if m is None and _ZH_HINT.search(text):
        m = _UNSEEN_ZH.search(text)
    return m


_CARRIED = re.compile(r"```|~~~|<svg|data:(?:image|audio|video)/|^[ \t]*\|[^\n]*\|[ \t]*$", re.I | re.M)
_COLON_OR_BREAK = re.compile(r"[:：\n]")


def unseen_media(sample: Sample) -> str | None:
    """The media reference in the instruction when the sample does not carry it, else None."""
    m = _media_reference(sample.instruction)
    if m is None or sample.input.strip() and not is_placeholder_input(sample.input):
        return None
    if _CARRIED.search(sample.instruction):
        return None
    rest = sample.instruction[m.end():]
    colon = _COLON_OR_BREAK.search(rest)
    if colon and len(rest[colon.end():].strip()) >= 40:
        return None
    return m.group(0)


# --- merged_instructions --------------------------------------------------------------------

_MERGED = re.compile(
    "|".join((
        # "2. Instruction:", "3) 指令：", inline after a sentence end too.
        r"(?:^|(?<=[.!?。！？])\s*)[ \t>*_#]*\d{1,3}\s*[.)、:：]?\s*[*_]*\s*(?:instruction|指令)\s*[*_]*\s*[:：]",
        r"^[ \t>*_#]*(?:instruction|指令)\s*#?\d{1,3}\s*[*_]*\s*[:：]",
        r"^[ \t>]*#{1,6}[ \t]*(?:instruction|指令)\b",
        r"^[ \t>]*#{1,6}[ \t]*(?:response|回复|回答)[ \t]*[:：]",
    )),
    re.I | re.M,
)
_MERGED_WORDS = ("instruction", "指令", "response", "回复", "回答")
_HEADER_LINE = re.compile(
    r"^[ \t>]*[*_]*\s*(instruction|指令|input|输入|output|输出|response|回答|回复)\s*[*_]*\s*[:：]", re.I | re.M
)


def merged_instructions(text: str) -> str | None:
    """The header that starts a second task block in `text` (outside code), else None."""
    lower = text.casefold()
    if not any(w in lower for w in _MERGED_WORDS):  # fast path
        return None
    prose = without_code(text)
    m = _MERGED.search(prose)
    if m:
        return m.group(0).strip()
    headers = [(h.group(1).casefold(), h.group(0).strip()) for h in _HEADER_LINE.finditer(prose)]
    kinds = {k for k, _ in headers}
    if kinds & {"instruction", "指令"} and kinds - {"instruction", "指令"}:
        return next(h for k, h in headers if k in ("instruction", "指令"))
    return None


# --- truncated_output -----------------------------------------------------------------------

_FENCE_LINE = re.compile(r"^[ \t]{0,3}(?:`{3,}|~{3,})", re.M)
_CLOSING = set(".!?;…‥。！？；\"'”’)]}）」』》】〉>`»")
_DANGLING_PUNCT = set(",，、:：-–—(（[【{/\\&+=<")
# Words a sentence cannot end on. Not the prepositions that end phrasal verbs ("what's going
# on", "log in", "a lock-in"), nor adverbs that can close a clause ("then", "also", "however").
_DANGLING_EN = frozenset((
    "a an the and or but nor so because since although though while whereas if unless when whenever where "
    "whether than that which who whom whose of to for from with without by as such including e.g i.e "
    "is are was were be been being has have had will would can could should must may might "
    "therefore moreover furthermore versus vs"
).split())
_DANGLING_ZH = re.compile(
    r"(?:和|与|及|以及|或|或者|但|但是|而|而且|并且|并|因为|由于|所以|因此|然后|接着|其次|首先|另外|此外|同时|"
    r"如果|假如|例如|比如|包括|其中|即|就是|以便|为了|把|被|将|从|通过|对于|关于|根据|使得|导致|的话|以及其)$"
)
# "…的" closes a 是…的 sentence ("这是无法事先知晓的", "BART是…训练得到的") or an adjective ("好的");
# without 是 or a degree word in its sentence it leaves the noun out ("我们使用的").
_DE_END = re.compile(r"(?:^|[。；;！？!?\n])([^。；;！？!?\n]*?)([^，,。；;！？!?\n]*)的$")
_DE_COMPLETE = re.compile(r"都|会|能|要|很|挺|最|更|太|真|好|对|行|可以|应该|已经|需要|不")
_LAST_WORD = re.compile(r"(?<![\w-])([A-Za-z]+)$")
_URL_END = re.compile(rf"{_URL}$", re.I)
_LIST_OR_ROW = re.compile(r"^\s*(?:[-*+•·]\s+|\d{1,3}[.)、]\s*|[（(]\d{1,3}[)）]\s*|[a-zA-Z][.)]\s+|\|.*\|\s*$)")
_NUMBER_END = re.compile(r"[\d%°]$")
_RECORD_LINE = re.compile(r"\s*[^\s:：.。!?！？][^:：.。!?！？\n]{0,23}[:：]\s*\S")
# Display or inline math closing the text: "$$ … $$", "$x^2$", "\[ … \]", "\( … \)".
_MATH_END = re.compile(r"(?:\$\$|(?<![\\$])\$|\\\]|\\\))$")
_CITATION_LINE = re.compile(
    r"\bet\s+al\b|\b(?:ICLR|NeurIPS|NIPS|ICML|ACL|EMNLP|NAACL|CVPR|AAAI|JMLR|TACL|arXiv)\b[^\n]*\b(?:19|20)\d{2}\b"
    r"|\b(?:19|20)\d{2}\b[^\n]*\b(?:ICLR|NeurIPS|NIPS|ICML|ACL|EMNLP|NAACL|CVPR|AAAI|JMLR|TACL|arXiv)\b"
)


def _without_trailing_link_text(text: str) -> str:
    """`text` without a last line that is only a link text or credit ("source", "h/t …"): what is
    before it decides whether the answer is complete (dangling_link_text reports the line)."""
    while (last := dangling_link_text(text)) is not None:
        text = text.rstrip()[: -len(last)].rstrip()
    return text


def truncation(text: str) -> str | None:
    """Why `text` looks cut off, or None when it ends like a finished answer."""
    t = _without_trailing_link_text(text.rstrip())
    last_line = t.rsplit("\n", 1)[-1]
    if "```" in t or "~~~" in t:
        fences = len(_FENCE_LINE.findall(t))
        if fences % 2:
            return "it ends inside an unclosed code block"
        if fences and _FENCE_LINE.match(last_line):
            return None  # a closed code block
    core = t.rstrip("*_~ \t")
    if not core:
        return None
    if _MATH_END.search(core) and core.count("$") % 2 == 0:
        return None  # a formula
    end = core[-1]
    if end in _CLOSING:
        return None
    if end in _DANGLING_PUNCT:
        return f"it ends on {end!r}"
    tail = core[-40:]  # the `$` patterns below would otherwise be tried at every position
    sentence = core[-200:]
    word = _LAST_WORD.search(tail)
    if word and word.group(1).casefold() in _DANGLING_EN:
        return f"it ends on the dangling word {word.group(1)!r}"
    zh = _DANGLING_ZH.search(tail)
    if zh:
        return f"it ends on the dangling word {zh.group(0)!r}"
    lead_in = _LEAD_IN_LINE.search(core[-60:])
    if lead_in:
        return f"it ends on a lead-in to something that is not there ({lead_in.group(0).strip()!r})"
    de = _DE_END.search(sentence) if core.endswith("的") else None
    if de and "是" not in de.group(0) and not _DE_COMPLETE.search(de.group(2)):
        return f"it ends on '的' with its noun missing ({_clip(tail[-12:], 12)!r})"
    if unicodedata.category(end) == "So" or _URL_END.search(core[-300:]):
        return None
    stripped_last = last_line.strip()
    if _NUMBER_END.search(core) and (len(stripped_last) <= 60 or "=" in stripped_last):
        return None
    if "=" in stripped_last or _CITATION_LINE.search(stripped_last):
        return None  # a calculation ("… = $308 total") or a citation line
    if _SIGN_OFF.search(core[-80:]):
        return None  # a letter's closing: "Yours sincerely, Jane", "Best regards,\n\nAmelia", "此致\n敬礼"
    if last_line[:1] == "\t" or last_line.startswith("  "):
        return None  # indented code without a fence
    if _LIST_OR_ROW.match(last_line):
        return None
    block = [line for line in t.rsplit("\n\n", 1)[-1].split("\n") if line.strip()]
    if len(block) >= 2 and all(len(line.strip()) <= 50 for line in block):
        return None  # verse, or a list without markers
    if len(block) >= 2 and all(_RECORD_LINE.match(line) for line in block):
        return None  # records: "Partition: a100; GPUs: 8" lines, a flattened table
    return f"{_NO_CLOSING} ({_clip(t[-30:], 30)!r})"


_NO_CLOSING = "it ends without closing punctuation"
# A last line that announces code, an example or a figure that does not follow.
_LEAD_IN_LINE = re.compile(
    r"(?:^|\n)[ \t]*(?:[^\n]{0,20}(?:代码实现|代码如下|代码示例|示例如下|如下所示|如下)|代码|示例|例如|比如|"
    r"(?:here\s+is|here's|below\s+is)\s+(?:the\s+|a\s+|an\s+)?(?:full\s+|complete\s+|working\s+)?(?:example|code|snippet|output|diagram)"
    r"|for\s+example|as\s+follows)[ \t]*$",
    re.I,
)
_SIGN_OFF = re.compile(
    r"(?:\b(?:yours(?:\s+\w+)?|sincerely|(?:best|kind|warm)(?:est)?\s+(?:regards|wishes)|best\s+of\s+luck|regards|cheers|"
    r"with\s+(?:love|respect|gratitude|thanks)[\w\s]{0,30})[,!]?\s*(?:\n\s*)*[-–—]?\s*[\w\s.,\[\]'-]{1,40}"
    r"|(?:此致|敬礼|祝好|顺祝商祺)[\s\S]{0,20})$",
    re.I,
)
_MARKUP_AFTER = re.compile(r"\]\([^)\n]*\)|[*_`~\])>|\s]")


def ends_like_source(output: str, source: str) -> bool:
    """The output's last words end a line of its note too (a paragraph the author left without a
    full stop), rather than stopping inside one of the note's sentences."""
    tail = _without_trailing_link_text(output.rstrip()).rstrip("*_~ \t")[-12:].strip()
    if len(tail) < 4:
        return False
    source = source.replace("`", "").replace("**", "")  # the answer lost the note's inline markup
    at = source.find(tail)
    while at >= 0:
        rest = source[at + len(tail): source.find("\n", at + len(tail)) if "\n" in source[at + len(tail):] else None]
        if not _MARKUP_AFTER.sub("", rest):
            return True
        at = source.find(tail, at + 1)
    return False


# --- control_characters ---------------------------------------------------------------------

_ALWAYS_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufeff\u200b\u2060\u180e]")
_JOINERS = "\u200c\u200d"
_BIDI = "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"
_CONTEXTUAL = f"[{_JOINERS}{_BIDI}]"
_ANY_CONTROL = re.compile(_ALWAYS_BAD.pattern[:-1] + _CONTEXTUAL[1:])  # one character class: one fast scan
_BIDI_CHARS = frozenset("\u200e\u200f\u061c" + "".join(map(chr, range(0x202A, 0x202F))) + "".join(map(chr, range(0x2066, 0x206A))))
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_CHAR_NAMES = {
    "\x00": "NUL", "\x07": "BEL", "\x08": "backspace", "\x0b": "vertical tab", "\x0c": "form feed", "\x1b": "ESC",
    "\x7f": "DEL", "\ufffd": "replacement character", "\ufeff": "byte order mark", "\u200b": "zero-width space",
    "\u200c": "zero-width non-joiner", "\u200d": "zero-width joiner", "\u2060": "word joiner",
    "\u200e": "left-to-right mark", "\u200f": "right-to-left mark", "\u202e": "right-to-left override",
}


def _joins(c: str) -> bool:
    """A neighbour a zero-width (non-)joiner legitimately sits next to: an emoji or a letter of a
    script that joins (Arabic, Indic, …), not ASCII and not CJK."""
    if not c:
        return False
    cat = unicodedata.category(c)
    if cat in ("So", "Sk") or "\ufe00" <= c <= "\ufe0f":
        return True
    return cat[0] in "LM" and c > "\u036f" and not ("\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af")


def _in_word(c: str) -> bool:
    return bool(c) and (c.isalnum() or c == "\ufffd")


def control_characters(text: str) -> list[tuple[int, str]]:
    """(0-based index, character) of each bad control character in `text`."""
    if _ANY_CONTROL.search(text) is None:
        return []
    found = []
    rtl = None
    for m in _ANY_CONTROL.finditer(text):
        i, c = m.start(), m.group()
        if c in _JOINERS:
            if _joins(text[i - 1] if i else "") and _joins(text[i + 1:i + 2]):
                continue
        elif c == "\ufffd":
            if not (_in_word(text[i - 1] if i else "") or _in_word(text[i + 1:i + 2])):
                continue  # a lone "�" between spaces or punctuation is a mention, not mojibake
        elif c in _BIDI_CHARS:
            if rtl is None:
                rtl = _RTL.search(text) is not None
            if rtl:
                continue
        found.append((i, c))
    return found


def _describe(c: str) -> str:
    name = _CHAR_NAMES.get(c) or unicodedata.name(c, "").lower()
    return f"U+{ord(c):04X}" + (f" ({name})" if name else "")


# --- escaped_characters ---------------------------------------------------------------------

_HEX4 = r"\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}"
_ESCAPES = re.compile(
    "|".join((
        rf"(?:{_HEX4}){{2,}}",  # "\u4e2d\u6587": JSON written with ensure_ascii, then escaped again
        rf"(?<=[^\W\d_])(?:{_HEX4})|(?:{_HEX4})(?=[^\W\d_])",  # one glued to a word: "\u4e2d文"
        r"(?:\\x[0-9a-fA-F]{2}){2,}",  # "\xe4\xb8\xad": the repr of UTF-8 bytes
        r"(?<=\w)\\[\"']|\\[\"'](?=\w)",  # He said \"hi\", it\'s
        r"&(?:amp|lt|gt|quot|apos|nbsp|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});",
    )),
)
# Literal \n, \r, \t where a line break or tab belongs; only looked for in a field without a real
# line break, since a double-encoded field is one long line. Not after a drive letter ("C:\new").
_WHITESPACE_ESCAPES = re.compile(
    "|".join((
        r"(?<=\S)(?:\\[nrt]){2,}(?=\S)",  # "one\n\ntwo"
        r"(?<![A-Za-z]:)(?<=[.!?;:。！？；：，,)）])\\[nrt](?=[^\W_]|[-*•#]\s)",  # "First.\nThen", "安装。\n第二步"
        r"(?<=\S)\\[nrt](?=[A-Z]|[-*•]\s|\d{1,3}[.)、])",  # "one\nTwo", "list:\n- item"
    )),
)


def escaped_characters(text: str) -> Counter[str] | None:
    """Literal escapes outside code in `text`, counted by their spelling; None when there are none."""
    if "\\" not in text and "&" not in text:
        return None
    prose = without_code(text)
    found = Counter(m.group() for m in _ESCAPES.finditer(prose))
    if "\n" not in text and "\\" in prose:
        found.update(m.group() for m in _WHITESPACE_ESCAPES.finditer(prose))
    return found or None


# --- refusal --------------------------------------------------------------------------------

_REFUSAL_VERBS_EN = (
    r"(?:provide|access|browse|view|see|open|display|show|generate|create|produce|write|draw|fulfil|fulfill|"
    r"complete|assist|help(?!\s+but)|answer|respond|comply|perform|process|play|listen|watch|read|give|offer|"
    r"share|express|predict|verify|confirm|engage|support|look\s+at|analy[sz]e|interpret|do\s+(?:that|this|so))\b"
)
_CANNOT = r"(?:can(?:no|')?t|can\s+not|(?:am|'m)\s+(?:not\s+able|unable|not\s+capable)|won'?t|will\s+not|must\s+decline)"
_REFUSAL_START_EN = re.compile(
    r"\W{0,3}(?:"
    rf"(?:(?:i'?m|i\s+am)\s+(?:very\s+|so\s+|truly\s+)?(?:sorry|afraid)|sorry|unfortunately|apologies)[,.!]?\s*(?:but\s+)?"
    rf"(?:as\s+an?\s+|i\s+{_CANNOT}|i\s+(?:do\s+not|don'?t)\s+have|i'?m\s+not\s+able|this\s+(?:request|task|question)\s+(?:is|cannot))"
    rf"|i\s+{_CANNOT}\s+(?:to\s+)?{_REFUSAL_VERBS_EN}"
    r"|i\s+(?:do\s+not|don'?t)\s+have\s+(?:access|the\s+ability|the\s+capability|personal|real[-\s]time|feelings|"
    r"emotions|opinions|a\s+physical|the\s+means|eyes|any\s+(?:personal|way|information\s+about))"
    r"|(?:i'?m|i\s+am)\s+(?:just\s+|only\s+|merely\s+)?(?:an?\s+)?(?:ai|artificial\s+intelligence|(?:large\s+)?language\s+model|text-based|virtual\s+assistant|chatbot)\b"
    r"|as\s+an?\s+(?:ai|artificial\s+intelligence)(?:\s+(?:language\s+)?(?:model|assistant|chatbot|system))?\s*,?\s*(?:i|i'm|my|it)\b"
    r")",
    re.I,
)
# Anywhere, only in the first person: "It was trained as a language model on …" describes a model.
_REFUSAL_ANYWHERE_EN = re.compile(
    r"(?<![\"“'‘])\b(?:as\s+an?\s+(?:ai|artificial\s+intelligence)(?:\s+(?:language\s+model|assistant|chatbot))?"
    r"|as\s+an?\s+(?:large\s+)?language\s+model)\s*,?\s*(?:i|i'm|i\s+am|my|me)\b"
    r"|(?<![\"“'‘])\bi\s+am\s+(?:just\s+|only\s+)?an?\s+ai\s+(?:language\s+model|assistant)\b",
    re.I,
)
_REFUSAL_VERBS_ZH = (
    r"(?:提供|访问|浏览|查看|看到|看见|打开|回答|完成|生成|创建|满足|协助|帮助|处理|执行|播放|收听|听到|观看|"
    r"阅读|读取|给出|表达|预测|获取|联网|上网|识别|回应|绘制|画)"
)
_REFUSAL_START_ZH = re.compile(
    r"\W{0,3}(?:"
    r"(?:很|非常|十分|真的)?(?:抱歉|对不起|不好意思)[，,。！!\s]*(?:但(?:是)?[，,]?\s*)?(?:作为|我(?:目前|暂时)?(?:无法|不能|没有办法|没办法|做不到|不可以|不会|不便))"
    rf"|我(?:目前|暂时)?(?:无法|不能|没有办法|没办法|不能够|不可以)(?:为你|为您|帮你|帮您|替你|替您|直接)?{_REFUSAL_VERBS_ZH}"
    r"|我(?:只)?是(?:一个|一名|一款)?\s*(?:AI|人工智能|(?:大型)?语言模型)"
    r")",
    re.I,
)
# Anywhere, only in the first person ("作为一个AI，我…"): "它只是作为一个语言模型…" and "可以作为语言模型
#训练的数据集" speak about a model, not as one.
_REFUSAL_ANYWHERE_ZH = re.compile(
    r"(?<![\"“'‘「『《它他她其])作为(?:一个|一名|一款|一种)?\s*(?:AI|人工智能)?\s*(?:大型)?(?:AI|人工智能|语言模型)"
    r"\s*(?:语言模型|助手|助理|模型|程序|聊天机器人|机器人)?\s*[，,、]?\s*我(?!们)",
    re.I,
)
# The instruction asks for an AI persona ("Pretend to be an AI language model in 2100"): speaking
# as an AI is the task, not a disclaimer.
_AI_PERSONA = re.compile(
    r"\b(?:pretend|role[-\s]?play|act|imagine|you\s+are|write\s+as|speak\s+as)\b[^.?!\n]{0,40}?\b(?:ai|artificial\s+intelligence|"
    r"language\s+model|chatbot|robot)\b|(?:扮演|假装|假设你是|想象你是)[^。？！\n]{0,20}?(?:AI|人工智能|语言模型|机器人)",
    re.I,
)


def refusal(text: str, instruction: str = "") -> str | None:
    """The refusing or AI-disclaiming phrase in `text` (the answer to `instruction`), else None."""
    t = text.strip().replace("’", "'")
    head = t[:300]
    m = _REFUSAL_START_EN.match(head) or _REFUSAL_START_ZH.match(head)
    if instruction and _AI_PERSONA.search(instruction) and not _REFUSAL_START_ZH.match(head) \
            and not re.match(r"\W{0,3}(?:i'?m\s+sorry|sorry|i\s+can(?:no|')?t|unfortunately)", head, re.I):
        return None
    if m is None:
        lower = t.casefold()
        if "as a" in lower or "i am an ai" in lower:
            m = _REFUSAL_ANYWHERE_EN.search(t)
        if m is None and "作为" in t:
            m = _REFUSAL_ANYWHERE_ZH.search(t)
    return m.group(0).strip(" \t\n\"'“‘") if m else None


# --- the check ------------------------------------------------------------------------------


def _text_fields(s: Sample) -> list[tuple[str, str]]:
    fields = [("instruction", s.instruction), ("input", s.input), ("output", s.output)]
    if s.system:
        fields.append(("system", s.system))
    for i, (user, assistant) in enumerate(s.history):
        fields += [(f"history[{i}] user", user), (f"history[{i}] assistant", assistant)]
    return fields


def sample_findings(s: Sample, truncated_min_chars: int, source: str | None = None) -> list[Finding]:
    """The junk findings of one sample, in REASON_CODES order; `source` is the note text the
    sample was made from, when known (see `CheckContext.source_texts`)."""
    found: list[Finding] = []
    if s.input.strip():
        if input_only_url(s.input):
            if not _URL_AS_DATA.search(s.instruction):
                found.append(_finding("input_only_url", f"input is only a URL ({_clip(s.input)!r}) the model cannot "
                                      "open; paste the relevant text into the input or reject the sample"))
        elif input_only_attachment(s.input):
            found.append(_finding("input_only_attachment", f"input is only an attachment placeholder "
                                  f"({_clip(s.input)!r}) the model cannot see; describe the content as text in the "
                                  "input or reject the sample"))
    media = unseen_media(s)
    if media:
        found.append(_finding("unseen_media", f"instruction refers to {media!r} but the sample does not contain it; "
                              "put its content into the input as text or reject the sample"))
    header = merged_instructions(s.output)
    if header:
        found.append(_finding("merged_instructions", f"output contains another task block starting at "
                              f"{_clip(header)!r}; cut the output before it (and make the extra task its own sample)"))
    output = s.output.strip()
    if output and len(output) >= truncated_min_chars:
        why = truncation(output)
        if why and why.startswith(_NO_CLOSING) and source and ends_like_source(output, source):
            why = None  # the note's own paragraph ends there, without a full stop: nothing was cut
        if why:
            found.append(_finding("truncated_output", f"output ({len(output)} characters) looks cut off: {why}; "
                                  "finish the last sentence or cut it at the last complete one"))
    bad, mojibake = [], False
    for field, text in _text_fields(s):
        chars = control_characters(text)
        bad += [f"{_describe(c)} at character {i + 1} of {field}" for i, c in chars[:3]]
        if len(chars) > 3:
            bad.append(f"{len(chars) - 3} more in {field}")
        mojibake = mojibake or any(c == "\ufffd" for _, c in chars)
    if bad:
        fix = "re-decode the source with the right encoding, or delete them" if mojibake else "delete them"
        found.append(_finding("control_characters", f"control characters: {', '.join(bad)}; {fix}"))
    escapes = []
    for field, text in (("instruction", s.instruction), ("input", s.input), ("output", s.output)):
        counts = escaped_characters(text)
        if counts:
            escapes.append(f"{field}: " + ", ".join(f"{e!r} ×{n}" for e, n in counts.most_common(4)))
    if escapes:
        found.append(_finding("escaped_characters", f"literal escape sequences outside code ({'; '.join(escapes)}); "
                              "decode them into the characters they stand for"))
    phrase = refusal(s.output, s.instruction)
    if phrase:
        found.append(_finding("refusal", f"output refuses or disclaims as an AI ({_clip(phrase)!r}); "
                              "write a real answer or reject the sample"))
    return found


def check_junk(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    min_chars = ctx.config.truncated_min_chars
    sources = ctx.source_texts
    return [(s.id, finding) for s in batch for finding in sample_findings(s, min_chars, sources.get(s.id))]
