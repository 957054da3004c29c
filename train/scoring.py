"""Reference-based scores for generated answers: ROUGE-L F1 and exact match.

ROUGE-L counts the longest common subsequence of units: characters for Chinese, Japanese and
Korean (which have no spaces between words, so word-level ROUGE would score whole sentences as
one token), lowercased words elsewhere. Exact match applies only where it means something: a
reference answer of at most `EXACT_MATCH_MAX_UNITS` units (a name, a number, a short phrase);
longer answers are never reproduced verbatim and score as "not applicable".
"""

from __future__ import annotations

import re
import unicodedata

EXACT_MATCH_MAX_UNITS = 8
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD = re.compile(r"\w+", re.UNICODE)


def is_cjk(text: str, lang: str | None = None) -> bool:
    if lang:
        return lang.split("-")[0] in ("zh", "ja", "ko")
    letters = [c for c in text if not c.isspace()]
    return bool(letters) and sum(bool(_CJK.match(c)) for c in letters) / len(letters) > 0.3


def units(text: str, cjk: bool) -> list[str]:
    if cjk:  # characters, without spaces and punctuation
        return [c for c in text.lower() if not c.isspace() and not unicodedata.category(c).startswith("P")]
    return _WORD.findall(text.lower())


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str, lang: str | None = None) -> float:
    """ROUGE-L F1 in [0, 1]; the unit is chosen from the reference's language."""
    cjk = is_cjk(reference, lang)
    pred, ref = units(prediction, cjk), units(reference, cjk)
    common = _lcs(pred, ref)
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, reference: str, lang: str | None = None) -> bool | None:
    """Equal after normalising case, spaces and punctuation; None where the reference is too long to ask it."""
    cjk = is_cjk(reference, lang)
    ref = units(reference, cjk)
    if not ref or len(ref) > EXACT_MATCH_MAX_UNITS:
        return None
    return units(prediction, cjk) == ref
