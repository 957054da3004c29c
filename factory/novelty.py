"""ROUGE-L novelty filter for Self-Instruct generation: reject an instruction above 0.7 against the pool.

Self-Instruct keeps a generated instruction only if its ROUGE-L F-measure against every
instruction already in the pool is at most 0.7 (`rouge_score.RougeScorer(["rougeL"])`, reject if
the maximum is > 0.7). Done naively that is one LCS per pool entry per candidate, which grows
with the pool. `NoveltyPool` gives the same decisions while computing an LCS for only a few
entries.

Tokenisation (`tokens`): lowercase, then words `[a-z0-9]+` for Latin text and one token per CJK
ideograph; everything else (punctuation, spaces, other scripts) is dropped. rouge_score's default
tokenizer drops non-ASCII, so it would see a Chinese instruction as empty; pass
`RougeTokenizer()` as its `tokenizer=` to score the same tokens as here.

Score (`rouge_l`): for target tokens a and prediction tokens b, with L = LCS(a, b),
P = L / len(b), R = L / len(a), F = 2PR / (P + R), and 0 when either side is empty or L = 0:
the formula of rouge_score's `_score_lcs`, evaluated with the same floating point operations,
so the values are equal bit for bit. F is symmetric in a and b.

The prefilter bound. A common subsequence uses each token value at most as often as it occurs
in either sequence, so

    L <= ov(a, b) = sum over token values t of min(count_a(t), count_b(t))

and, since F = 2L / (len(a) + len(b)) (substitute P and R),

    F <= 2 * ov(a, b) / (len(a) + len(b)).

The pool keeps an inverted index (token id -> pool ids holding it, with counts). For a candidate,
ov against every pool entry at once is one numpy pass over the postings of the candidate's
distinct tokens (`np.minimum` of counts, `np.bincount` by pool id); entries that share no token
are never touched. An entry whose bound is <= threshold cannot score above it and is skipped
without an LCS. The survivors get the exact score (LCS with rapidfuzz's `LCSseq`, C, on token id
lists), in decreasing order of bound; `is_novel` stops at the first one above the threshold and
`max_similarity` stops when the next bound is below the best exact score found.

Why decisions equal the exhaustive loop: the bound is an upper bound on the exact F, so a
skipped entry has F <= bound <= threshold and cannot change "max > threshold"; every entry that
could is scored exactly with the exhaustive formula. To keep floating point rounding out of it
(the bound and F are computed with different operations, so when LCS = ov they may differ in the
last bit), an entry is skipped only when its bound is <= threshold - 1e-9; the margin only makes
skipping more conservative (a few more exact scores), it never skips an entry that could exceed
the threshold. Likewise `max_similarity` returns the exact maximum and the
lowest pool index reaching it, as a loop over the whole pool taking the first maximum would.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
from rapidfuzz.distance import LCSseq

__all__ = ["DEFAULT_THRESHOLD", "NoveltyPool", "RougeTokenizer", "rouge_l", "tokens"]

DEFAULT_THRESHOLD = 0.7
_EPS = 1e-9  # bound margin against floating point rounding, see the module docstring

# CJK unified ideographs (extension A, the main block, compatibility ideographs, extensions B-F).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_TOKEN = re.compile(f"[a-z0-9]+|[{_CJK}]")


def tokens(text: str) -> list[str]:
    """Lowercase words `[a-z0-9]+` and single CJK ideographs of `text`, in order."""
    return _TOKEN.findall(text.lower())


class RougeTokenizer:
    """`tokens` as a rouge_score tokenizer: `RougeScorer(["rougeL"], tokenizer=RougeTokenizer())`."""

    def tokenize(self, text: str) -> list[str]:
        return tokens(text)


def _f_from_lcs(lcs: int, len_target: int, len_prediction: int) -> float:
    # Same operations, in the same order, as rouge_score's _score_lcs + scoring.fmeasure.
    if not len_target or not len_prediction:
        return 0.0
    precision = lcs / len_prediction
    recall = lcs / len_target
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def rouge_l(a_tokens: list, b_tokens: list) -> float:
    """ROUGE-L F-measure of target `a_tokens` and prediction `b_tokens` (any hashable tokens).

    Equal to `RougeScorer(["rougeL"], tokenizer=...).score(a, b)["rougeL"].fmeasure` when the
    tokenizer yields these tokens.
    """
    if not a_tokens or not b_tokens:
        return 0.0
    return _f_from_lcs(
        int(LCSseq.similarity(a_tokens, b_tokens)), len(a_tokens), len(b_tokens)
    )


class _Postings:
    """Growable (pool id, count) arrays for one token."""

    __slots__ = ("counts", "ids", "n")

    def __init__(self) -> None:
        self.ids = np.empty(4, dtype=np.int32)
        self.counts = np.empty(4, dtype=np.int32)
        self.n = 0

    def append(self, pool_id: int, count: int) -> None:
        if self.n == len(self.ids):
            self.ids = np.resize(self.ids, 2 * self.n)
            self.counts = np.resize(self.counts, 2 * self.n)
        self.ids[self.n] = pool_id
        self.counts[self.n] = count
        self.n += 1


class NoveltyPool:
    """Instructions accepted so far, with a ROUGE-L novelty test against all of them.

    `is_novel(text)` is True when no pool entry has ROUGE-L F > threshold with `text`, the same
    decision as scoring `text` against every entry with rouge_score (tokenizer `RougeTokenizer`),
    but with an exact LCS only for entries that the token-overlap bound cannot rule out (see the
    module docstring). `add` does not test novelty; `add_if_novel` does both.
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._vocab: dict[str, int] = {}
        self._postings: list[_Postings] = []
        self._seqs: list[list[int]] = []  # token ids of each pool entry
        self._lengths = np.empty(1024, dtype=np.int32)
        self._texts: list[str] = []
        for text in texts:
            self.add(text)

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, index: int) -> str:
        return self._texts[index]

    def add(self, text: str) -> int:
        """Add `text` to the pool (whether novel or not); returns its index."""
        index = len(self._texts)
        ids = []
        for tok in tokens(text):
            tid = self._vocab.get(tok)
            if tid is None:
                tid = self._vocab[tok] = len(self._postings)
                self._postings.append(_Postings())
            ids.append(tid)
        for tid, count in Counter(ids).items():
            self._postings[tid].append(index, count)
        if index == len(self._lengths):
            self._lengths = np.resize(self._lengths, 2 * index)
        self._lengths[index] = len(ids)
        self._seqs.append(ids)
        self._texts.append(text)
        return index

    def _encode(self, text: str) -> list[int]:
        # Tokens unseen in the pool get fresh negative ids: they match nothing in the pool.
        vocab, out, unseen = self._vocab, [], {}
        for tok in tokens(text):
            tid = vocab.get(tok)
            if tid is None:
                tid = unseen.setdefault(tok, -1 - len(unseen))
            out.append(tid)
        return out

    def _bounds(self, ids: list[int]) -> np.ndarray | None:
        """Upper bound of ROUGE-L F against every pool entry (None: no entry shares a token)."""
        n = len(self._texts)
        id_parts, weight_parts = [], []
        for tid, count in Counter(ids).items():
            if tid < 0:
                continue
            p = self._postings[tid]
            id_parts.append(p.ids[: p.n])
            weight_parts.append(np.minimum(p.counts[: p.n], count))
        if not id_parts:
            return None
        overlap = np.bincount(
            np.concatenate(id_parts), weights=np.concatenate(weight_parts), minlength=n
        )
        return 2.0 * overlap / (self._lengths[:n] + len(ids))

    def _ranked(self, ids: list[int], floor: float) -> tuple[np.ndarray, np.ndarray]:
        """Pool ids whose bound is > floor - eps, by decreasing bound (ties: lower id first)."""
        bounds = self._bounds(ids)
        if bounds is None:
            empty = np.empty(0)
            return empty.astype(np.int64), empty
        cand = np.flatnonzero(bounds > floor - _EPS)
        order = np.lexsort((cand, -bounds[cand]))
        cand = cand[order]
        return cand, bounds[cand]

    def _score(self, ids: list[int], j: int) -> float:
        other = self._seqs[j]
        return _f_from_lcs(int(LCSseq.similarity(ids, other)), len(ids), len(other))

    def max_similarity(self, text: str) -> tuple[float, int]:
        """Highest ROUGE-L F of `text` against the pool and the lowest pool index reaching it.

        (0.0, -1) when no pool entry scores above 0 (empty pool, no shared token, no tokens).
        """
        ids = self._encode(text)
        if not ids or not self._texts:
            return 0.0, -1
        cand, bounds = self._ranked(ids, 0.0)
        best, best_j = 0.0, -1
        for j, bound in zip(cand.tolist(), bounds.tolist()):
            if bound + _EPS < best:
                break  # this and all later bounds are below the best exact score
            score = self._score(ids, j)
            if score > best or (score == best and score > 0 and j < best_j):
                best, best_j = score, j
        return best, best_j

    def is_novel(self, text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
        """True when ROUGE-L F of `text` against every pool entry is <= threshold."""
        ids = self._encode(text)
        if not ids or not self._texts:
            return True
        cand, _ = self._ranked(ids, threshold)
        for j in cand.tolist():
            if self._score(ids, j) > threshold:
                return False
        return True

    def add_if_novel(self, text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
        """Add `text` when it is novel; returns whether it was added."""
        if self.is_novel(text, threshold):
            self.add(text)
            return True
        return False
