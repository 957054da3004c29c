"""Question checks: an instruction a person would not have asked.

Pairs made from notes put a heading into a question frame ("什么是 {heading}？", "What is
{heading}?"), so what goes wrong is the heading: its section number stays ("什么是 3 分布式哈希
表？"), or it was a label that only meant something under its parent ("什么是实验？", "What is
Usage?"). Open datasets add instructions that ask nothing at all: a noun phrase, a file name, a
link. All three are read off the instruction alone.

- `numbered_question` (warn): a section or list number starts the question or its subject:
  "3 分布式哈希表", "（6）Actor loss", "4.2 Overview", "3）变换三", "一、概述", "第三章". Not a
  number that is part of the subject: "3D 打印", "5G", "4-bit", "8 位量化", "3 个原因", "2 的补码",
  "1 + 1", "Tier 1", "3 ways to …" (a lowercase count), "Python 3".
- `question_without_subject` (warn): what is asked about is a generic label or a pronoun:
  "什么是实验？", "请介绍一下总结。", "缺点有哪些？", "What is Usage?", "What are the results?",
  "How does it work?", "Are they all true?". A label with a subject ("LoRA 的优缺点", "Usage of
  vLLM", "实验设置中的 batch size") is a real question.
- `not_a_question` (warn): the instruction is only a link, only a file name or path, or a short
  bare noun phrase (at most `checks.noun_phrase_max_words` words, every content word
  capitalised as in a title; Chinese: at most twice as many Han characters plus two; no question
  mark, no question word, no task verb: "Transformer Architecture", "分布式训练框架"). A greeting
  ("Hello"), a one-word task ("Summarize") or a sentence ending in a full stop is not flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "questions"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "numbered_question": ("warn", "a section or list number left in the question (什么是 3 分布式哈希表？, What is 4.2 Overview?)"),
    "question_without_subject": ("warn", "the question asks about a generic label or a pronoun alone (什么是实验？, What is Usage?)"),
    "not_a_question": ("warn", "the instruction is no question or task: only a noun phrase, a file name or a link"),
}


def _finding(code: str, message: str) -> Finding:
    return Finding(check=NAME, code=code, severity=REASON_CODES[code][0], message=message)


# --- the question frame -----------------------------------------------------------------------
# What the extractor and people wrap a topic in; the subject is what is left.

_ZH_PREFIX = re.compile(
    r"^(?:请|麻烦)?(?:你)?(?:简单|详细|简要)?(?:地)?(?:介绍|解释|说明|概述|概括|讲解|讲讲|说说|谈谈|聊聊|描述|阐述|总结)"
    r"(?:一下|下)?(?:什么是)?|^(?:什么是|何为|何谓)"
)
_ZH_SUFFIX = re.compile(
    r"(?:是什么意思|指的是什么|是指什么|是什么|是啥|有哪些|有什么|都有哪些|包括哪些|包含哪些|有何|是怎样的|是如何的|怎么样|如何)"
    r"(?:作用|用|用处|意义|特点|区别|好处|影响)?[吗呢]?$"
)
_EN_PREFIX = re.compile(
    r"^(?:what\s+(?:is|are|was|were)|what's|what\s+should\s+i\s+know\s+about|what\s+do\s+(?:i|you)\s+(?:need\s+to\s+)?know\s+about|"
    r"tell\s+me\s+(?:more\s+)?about|(?:please\s+)?(?:explain|describe|summari[sz]e|introduce|define)|"
    r"give\s+(?:me\s+)?an?\s+(?:overview|summary|introduction)\s+of|how\s+do\s+i\s+use|what\s+should\s+i\s+do\s+(?:when|about))\s+",
    re.I,
)
_END_PUNCT = " \t?？。.!！:："


def split_question(instruction: str) -> tuple[str, str]:
    """(frame, subject): "什么是 3 分布式哈希表？" -> ("什么是", "3 分布式哈希表"); a question
    without a known frame is all subject."""
    q = " ".join(instruction.split()).strip(_END_PUNCT)
    m = _EN_PREFIX.match(q) or _ZH_PREFIX.match(q)
    if m:
        return m.group(0).strip(), q[m.end():].strip(_END_PUNCT)
    m = _ZH_SUFFIX.search(q)
    if m and m.start() > 0:
        return m.group(0), q[: m.start()].strip(_END_PUNCT)
    return "", q


# --- numbered_question ------------------------------------------------------------------------

_CN_NUM = "一二三四五六七八九十百零"
# What may follow a number that is part of the subject: a classifier or unit (3 个, 8 位, 2 倍),
# a particle or an operator (2 的补码, 1 + 1), a suffix glued on (3D, 5G, 4-bit, 2x).
_ZH_AFTER_COUNT = (
    "个种倍次年月日天步张名元岁秒页行列位卡台轮届代层维"
    "的和与或及乘加减除等到至万千百十亿"
)  # not 分 点 度 类 …: "3 分布式哈希表", "2 点积注意力", "4 类别" start a heading
_ZH_AFTER_COUNT_WORDS = re.compile(r"\s*(?:比特|字节|分钟|小时|分之|点[0-9])")
_NUMBERING = re.compile(
    "|".join((
        r"[（(]\s*(?:\d{1,3}|[" + _CN_NUM + r"]{1,3}|[a-zA-Z])\s*[)）]",  # （6）, (2), （三）, (a)
        r"[1-9]\d{0,2}(?:\.\d{1,3})+\.?(?=\s*\S)",  # 4.2, 2.3.1, 1.2.
        r"\d{1,3}\s*[)）、](?=\s*\S)",  # 3）, 2)
        r"\d{1,3}\.(?=\s+\S)",  # "1. Introduction"
        r"[" + _CN_NUM + r"]{1,3}\s*[、.．](?=\s*\S)",  # 一、
        r"第\s*(?:\d{1,3}|[" + _CN_NUM + r"]{1,3})\s*(?:章|节|部分|篇|讲|课|单元)",  # 第三章
        r"\d{1,3}(?=\s*[\u4e00-\u9fff])",  # 3 分布式, 2总结 (a count such as "3 个" is let through below)
        r"\d{1,3}\s+(?=[A-Za-z\u4e00-\u9fff])",  # "1 Prefix LM" (a count before a lowercase noun is let through below)
    ))
)
_LOWER_WORD = re.compile(r"\s*[a-z]")
_EN_UNIT = re.compile(r"\s*(?:gb|mb|kb|tb|gpus?|cpus?|bits?|bytes?|x|k|m|b|times|percent|%|days?|hours?|minutes?|secs?|seconds?)\b", re.I)


def numbering(instruction: str) -> str | None:
    """The section or list number that starts the question or its subject, else None."""
    q = " ".join(instruction.split())
    _, subject = split_question(q)
    for text in (q, subject):
        m = _NUMBERING.match(text)
        if m is None:
            continue
        rest = text[m.end():]
        bare = re.fullmatch(r"[\d.]+\s*", m.group(0)) is not None
        # "3 ways to …", "8 GPUs", "4.5 gallons", "1.5倍": a count; "1 Prefix LM", "4.2 Overview",
        # "3 分布式": a number left in.
        if bare and (_LOWER_WORD.match(rest) or _EN_UNIT.match(rest) or re.match(rf"\s*[{_ZH_AFTER_COUNT}]", rest)
                     or _ZH_AFTER_COUNT_WORDS.match(rest)):
            continue
        return m.group(0).strip()
    return None


# --- question_without_subject -----------------------------------------------------------------

_ZH_LABELS = (
    "总结|小结|总体总结|阶段性总结|阶段性结论|结论|结语|概述|概要|概览|总览|总述|简介|介绍|简单介绍|引言|前言|序言|导言|"
    "背景|动机|意义|目的|目标|实验|实验设置|实验设计|实验结果|实验分析|论文实验|结果|结果分析|讨论|分析|方法|原理|基本原理|"
    "理论|实现|代码|代码实现|源码|源码解读|源码分析|示例|例子|举例|案例|案例研究|用法|使用|使用方法|使用说明|功能|主要功能|"
    "特性|主要特性|特点|主要特点|优点|缺点|优缺点|优势|劣势|不足|局限|局限性|挑战|问题|常见问题|风险|能力|应用|应用场景|"
    "展望|展望未来|未来工作|相关工作|架构|项目架构|整体架构|模块|关键模块|核心模块|安装|安装说明|配置|部署|说明|补充说明|"
    "注意|注意事项|参考|参考文献|参考资料|参考文章|参考链接|延伸阅读|扩展阅读|推荐阅读|附录|目录|题目|一些题目|练习|习题|"
    "思考题|规格|许可|意图|反馈|其他|其它|概念|基本概念|基础|基础知识|步骤|流程|细节|要点|重点|难点|技巧|小技巧|心得|改进|"
    "改进亮点|亮点|前沿热点|热点|定义|符号定义|结构|整体结构|内容|主要内容|快速开始|入门|更新日志|致谢|备注|实践|实战|"
    "动手实践|解决方案|解决方法|方案|思路|总体思路|核心思想|主要思想|基本思想|思想|贡献|主要贡献|创新点|评价|效果|性能|"
    "这门课的意义|课程架构|本章内容|本节内容|本文|本章|本节"
)
_EN_LABEL_HEADS = (
    r"usage|overview|introduction|intro|summary|summaries|conclusions?|background|motivation|examples?|setup|set\s?up|"
    r"installation|install|notes?|misc|miscellaneous|results?|discussion|references?|appendix|methods?|methodology|"
    r"implementation|details|other|others|tips(?:\s+and\s+tricks)?|tricks|faqs?|problems?|solutions?|experiments?|"
    r"experimental\s+setup|resources|links|todo|contents|table\s+of\s+contents|toc|getting\s+started|quick\s?start|"
    r"configuration|config|options|requirements|prerequisites|caveats|limitations|pros\s+and\s+cons|advantages|"
    r"disadvantages|troubleshooting|(?:further|additional|recommended)\s+reading|reading\s+list|credits|"
    r"acknowledge?ments|changelog|(?:key\s+)?takeaways|code|demo|testing|tests|features|debug|debugging|theory|"
    r"architecture|specs|specifications?|license|goals|future\s+work|related\s+work|case\s+study|glossary|terminology|"
    r"definitions|concepts|key\s+concepts|preface|outline|agenda|recap|tl;?dr|see\s+also|sources|bibliography|index|abstract|evaluation|"
    r"analysis|updates?|next\s+steps|final\s+thoughts|closing\s+thoughts|wrap[-\s]?up|what's\s+next|api|main\s+idea"
)
_EN_ONE_LABEL = (
    rf"(?:the\s+|some\s+|a\s+few\s+|an?\s+)?(?:(?:basic|advanced|general|final|key|main|quick|more|further|additional|"
    rf"other|important|related|brief|short|detailed|common|known|usage|code|simple)\s+)?(?:{_EN_LABEL_HEADS})"
)
# One label, or two joined ("Glossary and concepts", "Setup & usage").
_EN_LABEL = re.compile(rf"{_EN_ONE_LABEL}(?:\s*(?:,|and|&|/)\s*{_EN_ONE_LABEL})?", re.I)
_ZH_LABEL = re.compile(rf"(?:这个|这些|该|本)?(?:{_ZH_LABELS})(?:(?:和|与|及|、)(?:{_ZH_LABELS}))?(?:有哪些|是什么|有什么)?")
_PRONOUN_EN = r"(?:it|they|them|he|she)"  # not "this"/"that": "What does this SQL query return?"
_PRONOUN_ONLY_EN = re.compile(r"it|this|that|they|them|these|those|he|she", re.I)
# A yes/no or wh- question whose subject is a pronoun and that has at most three more words.
_PRONOUN_QUESTION_EN = re.compile(
    rf"^(?:(?:how|why|when|where|what)\s+)?(?:is|are|was|were|does|do|did|can|could|should|will|would|has|have)\s+"
    rf"{_PRONOUN_EN}(?:\s+[\w'-]+){{0,2}}\s*[?？]?$",
    re.I,
)
_PRONOUN_ZH = r"(?:它|它们|这个|那个|这些|那些|这|那|此|其)"
_PRONOUN_QUESTION_ZH = re.compile(rf"^{_PRONOUN_ZH}(?:是什么|是啥|有什么用|有什么作用|怎么用|怎么工作|如何工作|是怎么工作的|有哪些)[？?]?$")


def missing_subject(instruction: str) -> str | None:
    """The label or pronoun the question is about when that is all it is about, else None."""
    q = " ".join(instruction.split()).strip()
    if _PRONOUN_QUESTION_EN.match(q) or _PRONOUN_QUESTION_ZH.match(q):
        return q.strip(_END_PUNCT)
    frame, subject = split_question(q)
    subject = _NUMBERING.sub("", subject, count=1).strip(_END_PUNCT) if numbering(q) else subject
    if not frame and not re.search(r"(?:有哪些|是什么|有什么)$", subject):
        return None
    subject = re.sub(r"(?:有哪些|是什么|有什么)$", "", subject).strip(_END_PUNCT)
    if not subject:
        return None
    if _EN_LABEL.fullmatch(subject) or _ZH_LABEL.fullmatch(subject) or _PRONOUN_ONLY_EN.fullmatch(subject) \
            or re.fullmatch(_PRONOUN_ZH, subject):
        return subject
    return None


# --- not_a_question ---------------------------------------------------------------------------

_URL = r"(?:(?:https?|ftp)://|www\.)\S+"
_LINK_ONLY = re.compile(rf"\s*(?:\[[^\]\n]*\]\(\s*\S+\s*\)|<{_URL}>|{_URL})\s*")
_FILE_ONLY = re.compile(r"\s*[`\"']?(?:[\w.~-]+/)*[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,5}[`\"']?\s*")
_QUESTION_EN = re.compile(
    r"\b(?:what|how|why|when|where|which|who|whom|whose|is|are|was|were|do|does|did|can|could|should|would|will|"
    r"shall|may|might|must|has|have|please)\b",
    re.I,
)
_QUESTION_ZH = re.compile(
    r"什么|怎么|怎样|如何|为什么|为何|哪|几|多少|是否|能否|可否|是不是|有没有|吗|呢|吧|请|写|介绍|解释|说明|描述|列出|列举|"
    r"总结|概括|翻译|比较|对比|分析|给出|计算|判断|找出|生成|改写|重写|用|把|将|帮|告诉|讲|谈|说|举|设计|创建|制定|推荐|"
    r"提供|回答|简述|概述|阐述|论述|评价|评估|修改|纠正|检查|识别|分类|提取|补全|续写|扩写|缩写|排序|转换|估算|预测|编写|"
    r"实现|定义|归纳|整理|区分|输出|选择|确定|证明|求|算|画|做|读|看|听"
)
# Words a task starts with although they are no verbs, and greetings (a chat turn, not junk).
_NOT_NOUN_PHRASE_EN = re.compile(r"^(?:hello|hi|hey|thanks|thank\s+you|good\s+(?:morning|evening|night)|yes|no|ok|okay)\b", re.I)
_EN_WORD = re.compile(r"[A-Za-z][\w'’-]*")
# The verbs tasks start with (Alpaca, Self-Instruct, people): an instruction starting with one is
# a task even when it is short and capitalised like a title ("Explain LoRA", "Translate To French").
_TASK_VERBS = frozenset((
    "add analyze analyse answer apply arrange assess brainstorm build calculate categorize change check choose "
    "classify clarify combine compare compile complete compose compute condense construct continue convert "
    "correct count create debug decide define delete demonstrate derive describe design detect determine "
    "develop devise diagnose discuss distinguish divide draft draw edit elaborate estimate evaluate explain "
    "explore express extract fill find fix format formulate generate give group guess identify illustrate "
    "imagine implement improve infer insert interpret introduce invent label list locate make map match "
    "measure mention modify name note optimize order organize outline paraphrase pick plan play predict "
    "prepare present produce propose prove provide rank rate read recommend refactor reformat remove "
    "rename reorder repeat rephrase replace reply report respond restate restructure return reverse review "
    "revise rewrite say search select separate share shorten show simplify sort spell split state suggest "
    "summarize summarise tell test think transform translate turn use validate verify visualize write"
).split())
_FUNCTION_WORDS = frozenset("a an the of for and or in on to with by at from vs via as".split())


def _bare_noun_phrase(text: str, max_words: int) -> bool:
    """A short heading-like phrase: no question mark, no question or task word, and (English)
    every content word capitalised, as in a title ("Transformer Architecture")."""
    t = text.strip()
    if not t or re.search(r"[?？]", t) or "\n" in t:
        return False
    if re.search(r"[\u4e00-\u9fff]", t):
        han = len(re.findall(r"[\u4e00-\u9fff]", t))
        return han <= 2 * max_words + 2 and len(t) <= 4 * max_words + 4 and _QUESTION_ZH.search(t) is None \
            and not re.search(r"[。！!]$", t)
    words = _EN_WORD.findall(t)
    if not words or len(words) > max_words or _QUESTION_EN.search(t) or _NOT_NOUN_PHRASE_EN.match(t):
        return False
    if re.search(r"[.!;:]$", t):
        return False
    if words[0].casefold() in _TASK_VERBS:
        return False
    content = [w for w in words if w.casefold() not in _FUNCTION_WORDS]
    # A single capitalised word is an imperative as often as a noun ("Summarize", "Translate").
    return len(content) >= 2 and all(w[0].isupper() or w[0].isdigit() for w in content)


def not_a_question(instruction: str, max_words: int = 5) -> str | None:
    """What the instruction is instead of a question or task (a link, a file name, a noun phrase), else None."""
    if _LINK_ONLY.fullmatch(instruction):
        return "only a link"
    if _FILE_ONLY.fullmatch(instruction) and not re.fullmatch(r"\s*[\d.]+\s*", instruction):
        return "only a file name"
    if _bare_noun_phrase(instruction, max_words):
        return "a bare noun phrase"
    return None


# --- the check --------------------------------------------------------------------------------


def _clip(text: str, n: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def question_findings(instruction: str, noun_phrase_max_words: int = 5) -> list[Finding]:
    found = []
    if not instruction.strip():
        return found  # empty_instruction's
    number = numbering(instruction)
    if number:
        found.append(_finding("numbered_question", f"the question keeps the section or list number {number!r} "
                              f"({_clip(instruction)!r}); delete the number"))
    label = missing_subject(instruction)
    if label:
        found.append(_finding("question_without_subject", f"the question asks about {label!r} without saying of "
                              "what; name the subject (the topic of the parent section or note) in the question"))
    what = not_a_question(instruction, noun_phrase_max_words)
    if what:
        found.append(_finding("not_a_question", f"the instruction is {what} ({_clip(instruction)!r}), not a question "
                              "or task; write the question the output answers"))
    return found


def check_questions(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    max_words = ctx.config.noun_phrase_max_words
    return [(s.id, f) for s in batch for f in question_findings(s.instruction, max_words)]
