"""Language: which language a text is in, and whether a sample's languages are the expected ones.

langdetect alone is unreliable on what QA data is made of: seeded, it calls "Explain QLoRA."
French, "什么是 NF4？" Vietnamese and "不行。" Korean. So the script decides first: CJK text is told apart by its characters (kana means
Japanese, Hangul Korean, Han alone Chinese), weighing each Han character against one Latin
word so that Chinese with English terms stays Chinese; Latin text that is mostly English
function words is English however short. langdetect, seeded so every run agrees, decides
the rest, and text too short for its n-gram statistics is "unknown".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from factory.checks.markdown import without_code
from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "language"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "unexpected_language": ("warn", "the sample's language is not one of checks.languages"),
    "language_mismatch": ("warn", "instruction and output are in different languages"),
}

UNKNOWN = "unknown"
_MIN_LETTERS = 12  # below this langdetect's character statistics are noise

_URL = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?")
# Frequent English words, left out where they are also frequent German, Spanish or French
# words ("was", "will", "also", "so", "an", "no", "me", "die", "on").
_ENGLISH = frozenset(
    """a about above after again all am and any are as ask at be because been before being best
    better between both but by can could define describe did difference do does doing down each
    example explain false few first for from get give given good had has have he hello her here
    hi him his how i if in into is it its just know let like list make many may mean means more
    most much must my need new not now of off one only or other our out over please same say
    second set she should show some step steps such summarize tell than thank thanks that the
    their them then there these they this those through to too true two under up use used uses
    using very way we well were what when where which while who whom why with without work
    works would write yes you your""".split()
)


@functools.cache
def _detector_factory() -> DetectorFactory:
    # A private, seeded factory: langdetect samples n-grams at random, so an unseeded detector
    # can answer differently on each call. Profiles load in sorted order so the language
    # index (which breaks ties) does not depend on the file system's listing order.
    factory = DetectorFactory()
    factory.set_seed(0)
    profiles = sorted(Path(PROFILES_DIRECTORY).iterdir())
    factory.load_json_profile([p.read_text(encoding="utf-8") for p in profiles if not p.name.startswith(".")])
    return factory


def _langdetect(text: str) -> str:
    detector = _detector_factory().create()
    detector.append(text)
    try:
        code = detector.detect()
    except LangDetectException:  # no letters it knows
        return UNKNOWN
    return code.split("-")[0]  # zh-cn, zh-tw -> zh


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` ("en", "zh", ...), or "unknown"; code and URLs are ignored."""
    text = _URL.sub(" ", without_code(text))
    han, kana, hangul = (len(p.findall(text)) for p in (_HAN, _KANA, _HANGUL))
    words = _LATIN_WORD.findall(text)
    cjk = han + kana + hangul
    if cjk and cjk >= len(words):
        if hangul >= han + kana:
            return "ko"
        return "ja" if kana * 10 >= han + kana else "zh"
    hits = sum(w.lower() in _ENGLISH for w in words)
    if hits and hits >= 0.3 * len(words) and (hits >= 2 or len(words) <= 3):
        return "en"
    rest = _HAN.sub(" ", _KANA.sub(" ", _HANGUL.sub(" ", text)))  # a few CJK terms in Latin text
    if sum(c.isalpha() for c in rest) < _MIN_LETTERS:
        return UNKNOWN
    return _langdetect(rest)


def _sample_language(instruction_lang: str, output_lang: str, instruction: str, output: str) -> str:
    """The language of instruction and output together, reusing the two parts' answers.

    langdetect costs milliseconds a call, so the combined text is only detected when the parts
    disagree or neither is known.
    """
    if instruction_lang == output_lang or UNKNOWN in (instruction_lang, output_lang):
        known = output_lang if instruction_lang == UNKNOWN else instruction_lang
        if known != UNKNOWN:
            return known
    return detect_language(f"{instruction}\n{output}")


def check_language(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    allowed = set(ctx.config.languages)  # empty: any language is expected
    flags = []
    for s in batch:
        asked, answered = detect_language(s.instruction), detect_language(s.output)
        lang = _sample_language(asked, answered, s.instruction, s.output)
        if allowed and lang != UNKNOWN and lang not in allowed:
            message = f"detected {lang!r}; checks.languages is {sorted(allowed)}"
            flags.append((s.id, Finding(check=NAME, code="unexpected_language", severity="warn", message=message)))
        if UNKNOWN not in (asked, answered) and asked != answered:
            message = f"instruction is {asked!r} but output is {answered!r}"
            flags.append((s.id, Finding(check=NAME, code="language_mismatch", severity="warn", message=message)))
    return flags
