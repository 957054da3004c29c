"""Near duplicates: MinHash LSH proposes candidate pairs, rapidfuzz `fuzz.ratio` confirms them.

Comparing every pair is quadratic; LSH makes candidate generation roughly linear, and the
exact score on the few candidates keeps the answer as precise as the all-pairs comparison.

Shingles are character n-grams, so no word segmentation is needed: 5-grams where the n-gram
starts on a non-CJK character, 2- and 3-grams where it starts on a CJK character (a Chinese
edit of one character would destroy five 5-grams out of a short text; 2-3-grams are about
word-sized there). Shingles are hashed with a polynomial hash over code points and a
splitmix64 finaliser, never Python's `hash()`, which is salted per process.

Banding: a pair becomes a candidate with probability 1-(1-J^r)^b for b bands of r rows. The
common 32 x 4 (128 permutations) is at 0.74 for J=0.45 and 0.87 for J=0.5, but word edits
that take a text to ratio 85-90 leave a 5-gram Jaccard of 0.45-0.65 (5th percentile ~0.53,
measured on planted edits), and scattered typos at ratio 90 as little as ~0.3. So the default
is 40 x 3 (120 permutations): 0.93 at J=0.4, 0.98 at 0.45, 0.995 at 0.5, 0.67 at 0.3,
while pairs on the same topic (J ~0.05-0.1) collide with probability 0.005-0.04. A false
candidate costs one rapidfuzz call in C; a missed pair is a duplicate in the training set.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from factory.checks.duplicates import duplicate_key, exclude_batch_ids
from factory.sample import Finding, Sample, Severity

if TYPE_CHECKING:
    from factory.checks import CheckContext, Flag

NAME = "near_duplicates"
REASON_CODES: dict[str, tuple[Severity, str]] = {
    "near_duplicate": ("warn", "instruction, input and output nearly equal an earlier or kept sample's"),
}

NUM_PERM = 120
BANDS = 40
SEED = 0  # fixed: signatures, and so candidates, are the same in every process and run

_U64 = np.uint64
_POLY = _U64(0x100000001B3)  # FNV-64 prime, a good multiplier for the polynomial n-gram hash
_SPACE = re.compile(r"\s+")
# Han (incl. extensions and compatibility), kana, Hangul: scripts written without spaces.
_CJK_RANGES = np.array(
    [(0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3FFFF)],
    dtype=np.uint64,
)


def near_duplicate_text(sample: Sample) -> str:
    """The text two samples are compared on: NFKC, casefolded, whitespace collapsed."""
    fields = (sample.instruction, sample.input, sample.output)
    return "\n".join(_SPACE.sub(" ", unicodedata.normalize("NFKC", f).casefold()).strip() for f in fields)


def _mix64(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: the polynomial hash of similar n-grams differs in few bits.
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _ngram_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """Hash of the n-gram starting at every position; the last n-1 positions get 0 (unused)."""
    count = max(len(codes) - n + 1, 0)
    h = np.full(count, n, dtype=_U64)  # n is hashed too: a 2-gram never equals a 3-gram's hash
    for k in range(n):
        h = h * _POLY + codes[k : k + count]  # uint64 arithmetic wraps, on purpose
    return np.concatenate([_mix64(h), np.zeros(len(codes) - count, dtype=_U64)])


def _shingles(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of all `texts`, text after text, and the offset where each text's begin.

    All texts are concatenated and hashed in one pass; n-grams that would cross into the next
    text are masked out. Repeated shingles are kept: the minimum does not care.
    """
    padded = [t.ljust(5, "\0") for t in texts]  # so even "" or "ok" has one shingle
    lengths = np.array([len(t) for t in padded])
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(_U64)
    owner = np.repeat(np.arange(len(texts)), lengths)
    room = np.repeat(np.cumsum(lengths), lengths) - np.arange(len(codes))  # characters left in the text
    cjk = ((codes[:, None] >= _CJK_RANGES[:, 0]) & (codes[:, None] <= _CJK_RANGES[:, 1])).any(axis=1)
    hashes = np.stack([_ngram_hashes(codes, n) for n in (5, 2, 3)], axis=1)
    valid = np.stack([~cjk & (room >= 5), cjk & (room >= 2), cjk & (room >= 3)], axis=1)
    # Row-major masking keeps positions in order, so each text's shingles stay contiguous.
    return hashes[valid], np.searchsorted(np.broadcast_to(owner[:, None], valid.shape)[valid], np.arange(len(texts)))


def shingle_hashes(text: str) -> np.ndarray:
    """The set of shingle hashes of one text, sorted (for inspecting Jaccard similarity)."""
    return np.unique(_shingles([text])[0])


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * _U64(2) + _U64(1)  # odd
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


def minhash_signatures(texts: Sequence[str], num_perm: int = NUM_PERM, seed: int = SEED) -> np.ndarray:
    """(len(texts), num_perm) uint32 MinHash signatures.

    A permutation is a multiply-add-shift hash of the (already mixed) shingle hash: the high
    32 bits of a*x+b mod 2^64 with a odd. All permutations of a chunk of texts are one array
    operation, and `reduceat` takes each text's minimum.
    """
    a, b = _permutations(num_perm, seed)
    out = np.empty((len(texts), num_perm), dtype=np.uint32)
    budget = max(1, 2_000_000 // num_perm)  # characters per chunk: <= 2 shingles each, <= 32 MB
    start = 0
    while start < len(texts):
        stop, size = start, 0
        while stop < len(texts) and (size < budget or stop == start):
            size += len(texts[stop])
            stop += 1
        x, offsets = _shingles(texts[start:stop])
        permuted = (a[:, None] * x[None, :] + b[:, None]) >> _U64(32)
        out[start:stop] = np.minimum.reduceat(permuted, offsets, axis=1).T
        start = stop
    return out


def _band_pairs(signatures: np.ndarray, bands: int, new_from: int = 0) -> np.ndarray:
    """Unique (i, j), i < j, j >= new_from, that share all rows of at least one band; shape (k, 2)."""
    n, num_perm = signatures.shape
    rows = num_perm // bands
    found = []
    for band in range(bands):
        cols = signatures[:, band * rows : (band + 1) * rows].astype(_U64)
        key = np.zeros(n, dtype=_U64)
        for c in range(rows):
            key = _mix64(key * _POLY + cols[:, c])
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        # Pair each text with the next d-th text in key order while the keys agree; the loop
        # runs as long as the largest bucket, each step is one vectorised comparison.
        d = 1
        while d < n:
            same = sorted_key[d:] == sorted_key[:-d]
            if not same.any():
                break
            i, j = order[:-d][same], order[d:][same]
            pairs = np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1)
            found.append(pairs[pairs[:, 1] >= new_from])
            d += 1
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found).astype(np.int64), axis=0)


def near_duplicate_pairs(
    texts: Sequence[str],
    threshold: float,
    *,
    new_from: int = 0,
    num_perm: int = NUM_PERM,
    bands: int = BANDS,
    seed: int = SEED,
    workers: int = 1,
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, ratio), i < j, with `fuzz.ratio(texts[i], texts[j]) >= threshold`.

    Only pairs whose later member has index >= `new_from` are returned: texts before it are
    an already-checked reference, compared against but not among themselves. Identical texts
    pair with ratio 100; callers that handle exact duplicates elsewhere should pass one copy.
    Found with high probability for ratio >= ~85 (see the module docstring), not all-pairs.
    `workers` is rapidfuzz's thread count for scoring candidates (-1: all cores).
    """
    if num_perm % bands:
        raise ValueError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
    if len(texts) < 2 or new_from >= len(texts):
        return []
    candidates = _band_pairs(minhash_signatures(texts, num_perm, seed), bands, new_from)
    pairs = []
    for chunk in np.array_split(candidates, len(candidates) // 100_000 + 1):  # bounds memory
        # cpdist scores corresponding pairs in C; below score_cutoff it returns 0.
        scores = process.cpdist(
            [texts[i] for i in chunk[:, 0]],
            [texts[j] for j in chunk[:, 1]],
            scorer=fuzz.ratio,
            score_cutoff=threshold,
            dtype=np.float64,
            workers=workers,
        )
        keep = (scores >= threshold) & (scores > 0)
        pairs += [(int(i), int(j), float(r)) for (i, j), r in zip(chunk[keep], scores[keep])]
    return pairs


def _first_per_key(samples: Sequence[Sample], seen: set[str]) -> list[Sample]:
    unique = []
    for sample in samples:
        key = duplicate_key(sample)
        if key not in seen:
            seen.add(key)
            unique.append(sample)
    return unique


def check_near_duplicates(batch: Sequence[Sample], ctx: CheckContext) -> list[Flag]:
    # One sample per exact-duplicate key, reference first: the other copies are
    # exact_duplicate's to report, and many copies would make quadratically many candidates.
    seen: set[str] = set()
    reference = _first_per_key(exclude_batch_ids(ctx.reference, batch), seen)
    samples = reference + _first_per_key(batch, seen)
    new_from = len(reference)
    texts = [near_duplicate_text(s) for s in samples]
    threshold = ctx.config.near_duplicate_threshold
    best: dict[int, tuple[float, int]] = {}
    for i, j, score in near_duplicate_pairs(texts, threshold, new_from=new_from):
        if j not in best or score > best[j][0]:  # ties keep the earlier (kept) sample: i ascends
            best[j] = (score, i)
    flags = []
    for j in sorted(best):
        score, i = best[j]
        kept = samples[i]
        where = "a reference sample" if i < new_from else "an earlier sample in this batch"
        message = f"{score:.0f}% similar to {kept.id} ({where}); near_duplicate_threshold is {threshold:g}"
        flags.append((samples[j].id, Finding(check=NAME, code="near_duplicate", severity="warn", message=message, related_id=kept.id)))
    return flags
