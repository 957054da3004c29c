"""Language: which language a text is in, and whether a sample's languages are the expected ones.

langdetect alone is unreliable on what QA data is made of. Seeded, it is right on about 60% of
the hand-labelled short QA strings in tests/factory/checks/data/language_short_qa.tsv and on
about 15% of the Chinese ones that carry English terms: it calls "Explain QLoRA." French,
"什么是 NF4？" Vietnamese and "不行。" Korean, and a handful of letters ("Ja.", "Да.", "No.") is too
little for its n-gram statistics. So `detect_language` decides by script and word rules first
and asks langdetect's profiles only what the rules leave open (bench/language.py measures both):

1. Code spans, URLs, e-mail addresses and technical terms are dropped: a term is a token with a
   digit, "_", ".", "/", "+" or "=" in it or next to it, a capital after its first letter, or a
   leading "-" ("NF4", "LoRA", "vLLM", "GPU", "max_seq_length", "4-bit", "--load-in-4bit"). Terms
   name things, not a language, so a text of terms, numbers and punctuation alone ("LoRA",
   "NF4?", "42", "https://x.y", "???") is "unknown"; check_language then neither flags it as
   unexpected nor as a mismatch, and a sample takes the language of its other part.
2. The script with the most weight wins. A CJK character weighs as two words of an alphabetic
   script and CJK punctuation ("。", "？") one more, so Chinese carrying English terms or a quoted
   English phrase ("报错 CUDA out of memory。") stays Chinese while an English sentence that
   mentions a Chinese word ("What does 的 mean?") stays English.
3. CJK: Hangul is Korean. Kana, and kanji only Japanese writes (処, 変, 済, 読, ...), are Japanese
   evidence; simplified and traditional forms Japanese does not write (这, 们, 吗, 這, 說, 學, ...)
   are Chinese evidence. Japanese needs more evidence than Chinese, so kanji-heavy Japanese with
   one "の" is Japanese, and Han text with no evidence either way is Chinese. Scripts of one
   language (Greek, Hebrew, Thai, Georgian, ...) give that language; Cyrillic, Arabic and
   Devanagari go by distinctive letters ("і" Ukrainian, "ы" Russian, "پ" Persian) and otherwise
   by langdetect among that script's languages (Russian when too short for it).
4. Latin: each word votes for the languages whose list of frequent words holds it (function
   words and everyday answers such as "oui", "danke", "gracias", "obrigado"; en, fr, de, es, pt,
   it, nl, vi), and "¿", "¡" and letters only Vietnamese uses ("ơ", "ư", "ạ") vote too. At least
   two votes and twice the runner-up decide. A short text (under 8 words) without such a winner
   is English when it is plain ASCII and English is among the best voted or none got a vote:
   English needs no accents and is the Latin-script language of this data ("Done.", "Use bf16.",
   "No."), and below a dozen letters langdetect is noise ("Delete old checkpoints." comes out
   Dutch). Otherwise the best voted language decides, langdetect breaking ties among them. A
   longer text without a clear winner goes to langdetect among all Latin-script languages, which
   covers those without a word list (Swedish, Polish, Turkish, ...).

The known cost of rule 4: a short ASCII string in another language whose words are in no list
("Tente novamente.", "Stimmt.") is called English.

langdetect's `detect` estimates a naive-Bayes score by sampling n-grams at random (seeded or
not, milliseconds a call, tens of them on some short texts). `_langdetect` scores every n-gram
once against the same profiles instead: the same answer where sampling converges, a pure
function of the text, and well under a millisecond on short text. Only the first 2,000
characters of prose are read, so the cost per call stays bounded on long outputs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

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

_URL = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CJK = re.compile(_HAN.pattern[:-1] + _KANA.pattern[1:-1] + _HANGUL.pattern[1:])
_CJK_PUNCT = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff5b-\uff65]")  # 。、「」，？！：；（）
# Letters only, not touching a digit, "_", ".", "/", "+", "=" or a leading "-": so "4-bit",
# "r=16", "max_seq_length", "config.yaml", "Qwen2.5-7B" and "--load-in-4bit" are no words.
_WORD = re.compile(r"(?<![\w.+/=-])[^\W\d_]+(?:['’-][^\W\d_]+)*(?![\w+/=]|[.-]\w)")

# Kanji that modern Japanese writes and Chinese does not (shinjitai and kokuji).
_JA_KANJI = re.compile("[処図円気駅読売変続発歳様働込枠畑峠実転価権検険験駆剤済渋県覧関単対応広楽薬営労沢帰戦経総縦徴拡択訳隠悪亜両伝児歩毎黒専恵拠圧弾闘]")
# Chinese forms that Japanese does not write: simplified, traditional and sentence particles.
_ZH_HAN = re.compile(
    "[这们么吗呢吧啊嗯您她个说为时对请关开问题样还过进后让给从发现实东车长门间见页头买卖机动语试该设认识计记训练级约经结线红网显码软应怎"
    "這們麼嗎說對沒關樣讓從發實賣經據顯碼應裡體學會來當與點樂將數號畫舊萬禮變圖擇譯邊歸戰縣廣處區傳價權聲總轉讀續驗檢濟壓擴藥營勞屬寫聽夠]"
)
# Scripts that belong to one language (first code point, last code point, language).
_SCRIPT_LANGUAGE = (
    (0x0370, 0x03FF, "el"), (0x0530, 0x058F, "hy"), (0x0590, 0x05FF, "he"), (0x0980, 0x09FF, "bn"),
    (0x0A00, 0x0A7F, "pa"), (0x0A80, 0x0AFF, "gu"), (0x0B80, 0x0BFF, "ta"), (0x0C00, 0x0C7F, "te"),
    (0x0C80, 0x0CFF, "kn"), (0x0D00, 0x0D7F, "ml"), (0x0E00, 0x0E7F, "th"), (0x10A0, 0x10FF, "ka"),
)
# Scripts shared by several languages: distinctive letters first, then langdetect among them.
_CYRILLIC = ("ru", "uk", "bg", "mk")
_CYRILLIC_LETTERS = (("ґєіїҐЄІЇ", "uk"), ("ўЎ", "be"), ("ђћџјљњЂЋЏЈЉЊ", "sr"), ("ѓќѕЃЌЅ", "mk"), ("ыэёЫЭЁ", "ru"))
_ARABIC = ("ar", "fa", "ur")
_ARABIC_LETTERS = (("ٹڈڑںے", "ur"), ("پچژگ", "fa"))
_DEVANAGARI = ("hi", "mr", "ne")
_LATIN_LANGDETECT = ("af", "ca", "cs", "cy", "da", "de", "en", "es", "et", "fi", "fr", "hr", "hu", "id", "it", "lt",
                     "lv", "nl", "no", "pl", "pt", "ro", "sk", "sl", "so", "sq", "sv", "sw", "tl", "tr", "vi")

# Frequent words of the Latin-script languages this data is written in. A word in several
# lists votes for each; "¿", "¡" and Vietnamese-only letters vote too.
_WORDS = {
    "en": """a about above after again all almost also always am an and another any anything are around as ask at
        away back be because been before being below best better between both but by can cannot can't could couldn't
        describe did didn't do does doesn't doing don't done down during each either else enough even ever every
        example explain few first for from get gets give go goes going good got had has hasn't have haven't having he
        her here him his how however i i'd i'll i'm i've if in instead into is isn't it it's its just keep know last
        least less let let's like list made make many may maybe me might more most much must my need needs never new
        next no nor not nothing now of off often okay on once one only or other our out over per please probably rather
        really same say see should shouldn't show since so some something sometimes still such sure than thank thanks
        that that's the their them then there there's these they they're thing this those though through to too try
        two under until up us use used uses using very want was wasn't way we we're well were what what's when where
        whether which while who whom whose why will with without won't would wouldn't write yes yet you you're your""",
    "fr": """le la les un une des du de et est sont à au aux en dans pour par sur avec sans ne pas plus que qui quoi
        quel quelle quels quelles comment pourquoi où quand ce cette ces cet il ils elle elles je tu nous vous on mon ma
        mes ton ta tes son sa ses leur leurs se y a ai as avons avez ont été être fait faire faut peut peux très bien
        oui non merci si mais ou donc car aussi encore tout tous toute toutes rien même comme alors voici voilà
        bonjour déjà après avant chez d'accord""",
    "de": """der die das den dem des ein eine einen einem einer eines und ist sind war waren bin bist sein hat haben
        habe hast wird werden wurde kann können muss müssen soll sollte nicht kein keine auch noch nur schon sehr mit
        für von zu zum zur im in auf aus bei nach über unter vor durch ohne gegen um wie was wer wo warum wann welche
        welcher welches ich du er sie es wir ihr mein dein unser dass ob wenn aber oder denn doch ja nein danke bitte
        genau gut viel mehr man sich hier dort jetzt dann immer mal also gibt geht""",
    "es": """el la los las un una unos unas y o de del al a en con sin por para es son está están ser estar fue hay
        que qué quién cómo cuál cuánto cuánta dónde cuándo porque pero si sí no muy más menos también ya lo le les se
        me te nos mi tu su sus este esta estos estas ese esa eso esto yo tú él ella nosotros ustedes gracias claro hola
        bueno vale puedo puede tengo tiene hace necesito sé""",
    "pt": """o a os as um uma uns umas e ou de do da dos das no na nos nas em com sem por para pelo pela é são está
        estão ser estar foi há que quê quem como qual quanto quanta onde quando porque mas se sim não muito mais menos
        também já lhe eu você ele ela nós eles elas meu minha seu sua isso isto este esta esse essa obrigado obrigada
        olá tudo bem pode posso tenho tem faz preciso ao à""",
    "it": """il lo la i gli le un uno una e o di del della dei delle da dal in nel nella con su per tra fra è sono
        essere stato ha ho hanno che chi come quale quanto dove quando perché ma se sì no non molto più anche già ci
        mi ti si vi ne io tu lui lei noi voi loro mio tuo suo questo questa quello quella grazie ciao prego bene certo
        cosa posso puoi può""",
    "nl": """de het een en of van in op te met voor door naar bij uit aan is zijn was waren ben bent heb hebt heeft
        hebben wordt worden kan kunnen moet moeten niet geen ook nog wel al maar als dan dat die dit wat wie waar
        waarom hoe ik jij je u hij zij wij we jullie mijn jouw ja nee dank bedankt graag goed""",
    "vi": """là của và có không được này cho với những các một người tôi bạn anh em chị ông bà đã đang sẽ rất cũng
        thì mà như để từ trong khi vâng dạ cảm ơn làm sao gì nào bao nhiêu""",
}
_ORDER = tuple(_WORDS)  # ties between equally voted languages go to the earlier one
_VOTES: dict[str, tuple[str, ...]] = {}  # word -> the languages it votes for
for _lang in _ORDER:
    for _word in _WORDS[_lang].split():
        _VOTES[_word] = (*_VOTES.get(_word, ()), _lang)
_ELISION = {"l": ("fr", "it"), "d": ("fr",), "j": ("fr",), "c": ("fr",), "n": ("fr",), "s": ("fr",), "m": ("fr",),
            "t": ("fr",), "qu": ("fr",), "jusqu": ("fr",), "lorsqu": ("fr",), "puisqu": ("fr",),
            "dell": ("it",), "all": ("it",), "nell": ("it",), "sull": ("it",), "un": ("it",)}
_VIETNAMESE = re.compile(r"[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")
_SPANISH = re.compile(r"[¿¡ñÑ]")
_MAX_CHARS = 2000  # the prose read: the language of a long answer is that of its start, and the cost stays bounded
_SHORT_WORDS = 8  # fewer words than this leave the vote to the word lists
_MIN_LETTERS = 12  # below this langdetect's character statistics are noise
_SMOOTHING = Detector.ALPHA_DEFAULT / Detector.BASE_FREQ  # what langdetect adds to each n-gram probability


@functools.cache
def _detector_factory() -> DetectorFactory:
    # A private factory, so the global one (and its seed) stays the caller's. Profiles load in
    # sorted order so the language list does not depend on the file system's listing order.
    factory = DetectorFactory()
    profiles = sorted(Path(PROFILES_DIRECTORY).iterdir())
    factory.load_json_profile([p.read_text(encoding="utf-8") for p in profiles if not p.name.startswith(".")])
    return factory


def _langdetect(text: str, among: Sequence[str]) -> str:
    """The language of `among` whose langdetect profile gives `text` the highest likelihood.

    langdetect's `detect` estimates this naive-Bayes score by sampling n-grams at random until
    it converges (milliseconds, tens of them on short Portuguese or Russian, and random unless
    seeded). Here every n-gram of the text is scored once, with the smoothing langdetect uses:
    the answer is a pure function of the text and the profiles, and the call takes well under a
    millisecond on short text. The first of `among` wins ties and texts with no known n-gram.
    """
    factory = _detector_factory()
    detector = factory.create()
    detector.append(text)  # langdetect's own normalisation
    probabilities = factory.word_lang_prob_map
    grams = detector._extract_ngrams()  # the n-grams `detect` samples from (langdetect 1.0.9)
    if not grams:
        return among[0]
    columns = [factory.langlist.index(lang) for lang in among]
    table = np.array([probabilities[g] for g in grams])[:, columns]
    scores = np.log(table + _SMOOTHING).sum(axis=0)
    return among[int(np.argmax(scores))]


@functools.cache
def _letter_pattern(chars: str) -> re.Pattern[str]:
    return re.compile(f"[{chars}]")


def _words(text: str) -> list[str]:
    """The words of `text`, without technical terms, numbers and command-line flags."""
    words = []
    for token in _WORD.findall(text):
        for part in token.split("-"):  # fine-tuning, self-attention
            rest = part[1:]
            if rest == rest.lower():  # not GPU, LoRA, vLLM
                words.append(part)
    return words


def _script(word: str) -> str:
    """"latin", "cyrillic", ... or a language code for a single-language script, by the first letter."""
    c = ord(word[0])
    if c < 0x250 or 0x1E00 <= c <= 0x1EFF:
        return "latin"
    if 0x0400 <= c <= 0x052F:
        return "cyrillic"
    if 0x0600 <= c <= 0x06FF or 0x0750 <= c <= 0x077F:
        return "arabic"
    if 0x0900 <= c <= 0x097F:
        return "devanagari"
    for first, last, lang in _SCRIPT_LANGUAGE:
        if first <= c <= last:
            return lang
    return "other"


def _cjk_language(text: str, han: int, kana: int, hangul: int) -> str:
    if hangul >= han + kana:
        return "ko"
    japanese = kana + len(_JA_KANJI.findall(text))
    chinese = len(_ZH_HAN.findall(text))
    return "ja" if japanese > chinese else "zh"


def _latin_language(text: str, words: list[str]) -> str:
    votes = dict.fromkeys(_ORDER, 0)
    for word in words:
        w = word.lower().replace("’", "'")
        langs = _VOTES.get(w)
        if langs is None and "'" in w:  # l'adaptateur, d'apprentissage; the model's
            head, _, tail = w.partition("'")
            langs = _ELISION.get(head) or _VOTES.get(head)
            for lang in _VOTES.get(tail, ()):
                votes[lang] += 1
        for lang in langs or ():
            votes[lang] += 1
        if not w.isascii() and _VIETNAMESE.search(w):
            votes["vi"] += 1
    votes["es"] += len(_SPANISH.findall(text))
    ranked = sorted(_ORDER, key=lambda lang: -votes[lang])  # stable: ties keep _ORDER
    best, second = votes[ranked[0]], votes[ranked[1]]
    if best >= 2 and best >= 2 * second:
        return ranked[0]
    prose = " ".join(words)  # langdetect reads case, so the words keep theirs
    if len(words) >= _SHORT_WORDS:
        return _langdetect(prose, _LATIN_LANGDETECT)
    tied = [lang for lang in ranked if votes[lang] == best]
    if (not best or "en" in tied) and prose.isascii():
        return "en"
    if not best:
        return _langdetect(prose, _LATIN_LANGDETECT)
    if len(tied) == 1 or sum(c.isalpha() for c in prose) < _MIN_LETTERS:
        return tied[0]
    return _langdetect(prose, tied)


def _by_letters(text: str, letters: tuple[tuple[str, str], ...], among: tuple[str, ...], words: list[str]) -> str:
    for chars, lang in letters:
        if _letter_pattern(chars).search(text):
            return lang
    if len(words) < _SHORT_WORDS:
        return among[0]  # the most written language of the script
    return _langdetect(" ".join(words), among)


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` ("en", "zh", ...), or "unknown"; code, URLs and terms are ignored."""
    text = without_code(text)[:_MAX_CHARS]
    if "@" in text or "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    han, kana, hangul = (len(p.findall(text)) for p in (_HAN, _KANA, _HANGUL))
    cjk = han + kana + hangul
    words = _words(_CJK.sub(" ", text) if cjk else text)
    weight = {"cjk": 2 * cjk + len(_CJK_PUNCT.findall(text)) if cjk else 0}
    by_script: dict[str, list[str]] = {}
    for w in words:
        by_script.setdefault(_script(w), []).append(w)
    for script, ws in by_script.items():
        weight[script] = len(ws)
    script = max(weight, key=lambda s: (weight[s], s == "cjk"))  # CJK wins ties
    if not weight[script]:
        return UNKNOWN
    if script == "cjk":
        return _cjk_language(text, han, kana, hangul)
    ws = by_script[script]
    if script == "latin":
        if sum(len(w) for w in ws) < 2:  # "Y", "N", "a": a letter is no language
            return UNKNOWN
        return _latin_language(text, ws)
    if script == "cyrillic":
        return _by_letters(text, _CYRILLIC_LETTERS, _CYRILLIC, ws)
    if script == "arabic":
        return _by_letters(text, _ARABIC_LETTERS, _ARABIC, ws)
    if script == "devanagari":
        return _by_letters(text, (), _DEVANAGARI, ws)
    return UNKNOWN if script == "other" else script


def sample_languages(instruction: str, output: str) -> tuple[str, str, str]:
    """(instruction's, output's, the sample's) language. The sample's reuses the two parts'
    answers; only when they disagree is the combined text detected. The store's `lang` column
    and the checks both use this, so a filter by language agrees with the findings."""
    asked, answered = detect_language(instruction), detect_language(output)
    return asked, answered, _sample_language(asked, answered, instruction, output)


def _sample_language(instruction_lang: str, output_lang: str, instruction: str, output: str) -> str:
    if instruction_lang == output_lang or UNKNOWN in (instruction_lang, output_lang):
        known = output_lang if instruction_lang == UNKNOWN else instruction_lang
        if known != UNKNOWN:
            return known
    return detect_language(f"{instruction}\n{output}")


def check_language(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    allowed = set(ctx.config.languages)  # empty: any language is expected
    flags = []
    for s in batch:
        asked, answered, lang = sample_languages(s.instruction, s.output)
        if allowed and lang != UNKNOWN and lang not in allowed:
            message = f"detected {lang!r}; checks.languages is {sorted(allowed)}"
            flags.append((s.id, Finding(check=NAME, code="unexpected_language", severity="warn", message=message)))
        if UNKNOWN not in (asked, answered) and asked != answered:
            message = f"instruction is {asked!r} but output is {answered!r}"
            flags.append((s.id, Finding(check=NAME, code="language_mismatch", severity="warn", message=message)))
    return flags
