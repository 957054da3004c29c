"""Near duplicates: MinHash LSH proposes candidate pairs, an order-robust rapidfuzz score confirms them.

Comparing every pair is quadratic; LSH makes candidate generation roughly linear, and the
exact score on the few candidates keeps the answer as precise as the all-pairs comparison.

The score (`near_duplicate_score`) is the best of three `fuzz.ratio`s: of the two texts as
they are, and of two canonical forms of each in which its sentences (split after . ! ? ; 。！？；
and at line breaks, stripped) are sorted, once by their beginning and once by their end
(reversed text). A copy whose sentences were reordered scores like the same copy unreordered:
its sentences line up again. Sorting by the beginning alone fails when an edit changes a
sentence's first word (the sentence moves and costs its whole length), sorting by the end alone
when it changes the last word; one edit rarely does both, so the maximum of the three misses a
reordered copy only when its edits change the first word of one sentence and the last word of
another (0.25% of the planted reordered English copies with edits in bench/dedupe.py, none in
Chinese). Each form is a function of one text, so the score is symmetric and an exhaustive
`process.cdist` over the three forms computes the same score for every pair (bench/dedupe.py
does, as the baseline); here only the candidates are scored, with `process.cpdist`.

Shingles are character n-grams, so no word segmentation is needed: 5-grams where the n-gram
starts on a non-CJK character, 2- and 3-grams where it starts on a CJK character (a Chinese
edit of one character would destroy five 5-grams out of a short text; 2-3-grams are about
word-sized there). Shingles are hashed with a polynomial hash over code points and a
splitmix64 finaliser, never Python's `hash()`, which is salted per process.

Common shingles: the n-grams of frequent words ("the m", "的时候") occur in most texts, so
unrelated texts on the same topic share many of them (5-gram Jaccard 0.064 median, 0.11 at the
99th percentile on Zipf-drawn English; more under a shared instruction template), and among the
5 billion pairs of 100,000 texts even a 1% candidate rate is 50 million candidates. A shingle
is common if it occurs more than once per 100 texts on average (counted on up to 20,000 texts
spread over the input, in 2^20 hash buckets; 63% of the shingles of Zipf-drawn English, 19% of
Chinese). Common shingles carry little evidence, so for candidate generation a text keeps
about 16 of its c common ones: those whose hash is below 2^32 * 16 / c (all when c <= 16).
The rule is nested, so two near duplicates, whose c are about equal, keep nearly the same
ones; rare shingles are all kept. This cuts the Jaccard of unrelated pairs 4- to 8-fold
(English median 0.064 -> 0.008, 99th percentile 0.11 -> 0.027; Chinese median 0.015 -> 0.003)
and that of planted edits a little (English 5th percentile 0.77 -> 0.71, lowest 0.59 -> 0.48).
The price: a pair alike mostly through common text (two short answers under one long template)
can score >= threshold and still not be proposed. Confirmation always compares the full texts.

Banding: a pair becomes a candidate with probability 1-(1-J^r)^b for b bands of r rows. The
common 32 x 4 (128 permutations) is at 0.74 for J=0.45 and 0.87 for J=0.5, but word edits
that take a text to ratio 85-90 leave a 5-gram Jaccard of 0.45-0.65 (5th percentile ~0.53,
measured on planted edits), and scattered typos at ratio 90 as little as ~0.3. So the default
is 40 x 3 (120 permutations): 0.93 at J=0.4, 0.98 at 0.45, 0.995 at 0.5, 0.67 at 0.3,
while pairs on the same topic (J ~0.05-0.1) collide with probability 0.005-0.04, and with the
common shingles thinned (J ~0.003-0.03) with 1e-6 to 1e-3. A false candidate costs three
rapidfuzz calls in C; a missed pair is a duplicate in the training set.

Cost: a permutation is one uint32 multiply-add of the shingle hash, computed for blocks of
~16,000 shingles at a time (the (permutations x shingles) block stays in cache) and reduced
per text with `minimum.reduceat`; blocks run on `workers` threads (numpy releases the GIL).
Bucketing sorts each band's keys once and pairs only the members of buckets with two or more.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
COMMON_SHARE = 0.01  # a shingle occurring more than once per 100 texts is common
COMMON_MIN = 20  # ... and more than this many times: in a handful of texts nothing is common
COMMON_SAMPLE = 20_000  # texts the shingle counts are taken on
COMMON_KEEP = 16  # common shingles a text keeps, about: those with the lowest hashes

_U64 = np.uint64
_POLY = _U64(0x100000001B3)  # FNV-64 prime, a good multiplier for the polynomial n-gram hash
_SPACE = re.compile(r"\s+")
# Han (incl. extensions and compatibility), kana, Hangul: scripts written without spaces.
# Half-open ranges [start, stop) flattened: a code point is CJK when it falls after an odd count.
_CJK_BOUNDS = np.array(
    [0x2E80, 0xA000, 0xAC00, 0xD7B0, 0xF900, 0xFB00, 0xFF66, 0xFFA0, 0x20000, 0x40000], dtype=np.uint32
)
_BUCKET_SHIFT = _U64(44)  # shingle hash -> one of 2^20 buckets for counting
_BLOCK_TEXTS = 2_000  # texts shingled at once (threads take blocks)
_CHUNK_SHINGLES = 16_384  # shingles permuted at once: num_perm x this x 4 bytes, about 8 MB
_SENTENCE = re.compile(r"[^.!?;。！？；\n]+[.!?;。！？；\n]*|[.!?;。！？；\n]+")


def near_duplicate_text(sample: Sample) -> str:
    """The text two samples are compared on: NFKC, casefolded, whitespace collapsed."""
    fields = (sample.instruction, sample.input, sample.output)
    return "\n".join(_SPACE.sub(" ", unicodedata.normalize("NFKC", f).casefold()).strip() for f in fields)


def sentence_orders(text: str) -> tuple[str, str]:
    """`text`'s sentences sorted by their beginning, and sorted by their end, joined by spaces."""
    sentences = [s for s in (m.strip() for m in _SENTENCE.findall(text)) if s]
    return " ".join(sorted(sentences)), " ".join(sorted(sentences, key=lambda s: s[::-1]))


def near_duplicate_score(a: str, b: str) -> float:
    """`fuzz.ratio` of the texts, or of their sentence-sorted forms where that is higher (0-100)."""
    (a1, a2), (b1, b2) = sentence_orders(a), sentence_orders(b)
    return max(fuzz.ratio(a, b), fuzz.ratio(a1, b1), fuzz.ratio(a2, b2))


def _mix64(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: the polynomial hash of similar n-grams differs in few bits.
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


def _shingles(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes (uint64) of all `texts`, text after text, and how many each text has.

    All texts are concatenated and hashed in one pass: the polynomial hash of the 2-, 3- and
    5-gram at every position shares its prefix, and n is mixed in so that a 2-gram never
    equals a 3-gram. N-grams that would cross into the next text are masked out. Repeated
    shingles are kept: the minimum does not care.
    """
    padded = [t.ljust(5, "\0") for t in texts]  # so even "" or "ok" has one shingle
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    total = int(lengths.sum())
    codes = np.zeros(total + 4, dtype=_U64)  # 4 zeros: n-grams past the end exist, masked below
    codes[:total] = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32)
    ends = np.cumsum(lengths)
    room = np.repeat(ends, lengths) - np.arange(total)  # characters left in the text
    cjk = (np.searchsorted(_CJK_BOUNDS, codes[:total].astype(np.uint32), side="right") & 1).astype(bool)
    h = codes[:-1] * _POLY + codes[1:]  # uint64 arithmetic wraps, on purpose
    h2 = h[:total] ^ _U64(2)
    h = h[:-1] * _POLY + codes[2:]
    h3 = h[:total] ^ _U64(3)
    h = h[:-1] * _POLY + codes[3:]
    h = h[:-1] * _POLY + codes[4:]
    h5 = h[:total] ^ _U64(5)
    if cjk.any():
        first, first_ok = np.where(cjk, h2, h5), room >= np.where(cjk, 2, 5)
        second_ok = cjk & (room >= 3)
        # Row-major masking keeps positions in order, so each text's shingles stay contiguous.
        hashes = np.stack([first, h3], axis=1)[np.stack([first_ok, second_ok], axis=1)]
        per_position = first_ok.astype(np.int64) + second_ok
    else:
        first_ok = room >= 5
        hashes = h5[first_ok]
        per_position = first_ok.astype(np.int64)
    return _mix64(hashes), np.add.reduceat(per_position, ends - lengths)


def shingle_hashes(text: str) -> np.ndarray:
    """The set of shingle hashes of one text, sorted (for inspecting Jaccard similarity)."""
    return np.unique(_shingles([text])[0])


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = (rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)).astype(np.uint32)
    b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def _threads(workers: int) -> int:
    return (os.cpu_count() or 1) if workers < 0 else max(1, workers)


def _common_buckets(sample_hashes: Iterable[np.ndarray], sample_size: int) -> np.ndarray:
    """Which of the 2^20 shingle-hash buckets are common (bool), from the shingles of a sample."""
    counts = np.zeros(1 << 20, dtype=np.int64)
    for hashes in sample_hashes:
        counts += np.bincount((hashes >> _BUCKET_SHIFT).astype(np.intp), minlength=1 << 20)
    return counts > max(COMMON_MIN, COMMON_SHARE * sample_size)


def _block_signatures(
    shingled: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray, common: np.ndarray | None
) -> np.ndarray:
    hashes, counts = shingled
    if common is not None:
        starts = np.cumsum(counts) - counts
        is_common = common[(hashes >> _BUCKET_SHIFT).astype(np.intp)]
        # A text with c common shingles keeps those whose low 32 hash bits are below
        # 2^32 * COMMON_KEEP / c: about COMMON_KEEP of them, and a subset of what a text with
        # fewer common shingles keeps, so near duplicates keep nearly the same ones.
        n_common = np.add.reduceat(is_common.astype(np.int64), starts)
        below = np.minimum(2.0**32, 2.0**32 * COMMON_KEEP / np.maximum(n_common, 1))
        keep = ~is_common | ((hashes & _U64(0xFFFFFFFF)) < np.repeat(below, counts))
        kept = np.add.reduceat(keep.astype(np.int64), starts)
        keep |= np.repeat(kept == 0, counts)  # a text that would keep nothing keeps everything
        hashes, counts = hashes[keep], np.where(kept == 0, counts, kept)
    x = (hashes >> _U64(32)).astype(np.uint32)
    ends = np.cumsum(counts)
    out = np.empty((len(counts), len(a)), dtype=np.uint32)
    buffer = np.empty((len(a), _CHUNK_SHINGLES), dtype=np.uint32)
    first = 0
    while first < len(counts):
        # Whole texts, up to _CHUNK_SHINGLES shingles (at least one text, however long).
        start = int(ends[first - 1]) if first else 0
        stop = max(first + 1, int(np.searchsorted(ends, start + _CHUNK_SHINGLES, side="right")))
        chunk = x[start : int(ends[stop - 1])]
        permuted = buffer[:, : len(chunk)] if len(chunk) <= _CHUNK_SHINGLES else np.empty((len(a), len(chunk)), np.uint32)
        np.multiply(a[:, None], chunk[None, :], out=permuted)  # uint32 arithmetic wraps, on purpose
        permuted += b[:, None]
        out[first:stop] = np.minimum.reduceat(permuted, ends[first:stop] - counts[first:stop] - start, axis=1).T
        first = stop
    return out


def minhash_signatures(
    texts: Sequence[str], num_perm: int = NUM_PERM, seed: int = SEED, *, skip_common: bool = False, workers: int = 1
) -> np.ndarray:
    """(len(texts), num_perm) uint32 MinHash signatures.

    A permutation is a multiply-add of the high 32 bits of the (already mixed) shingle hash
    modulo 2^32, with an odd multiplier: a bijection, different for each permutation. With
    `skip_common`, each text keeps only about `COMMON_KEEP` of the shingles that are common in
    `texts` (see the module docstring); the signatures then estimate the Jaccard similarity of
    what is kept.
    `workers`: threads (-1: all cores).
    """
    a, b = _permutations(num_perm, seed)
    blocks = [texts[s : s + _BLOCK_TEXTS] for s in range(0, len(texts), _BLOCK_TEXTS)]
    with ThreadPoolExecutor(min(_threads(workers), max(len(blocks), 1))) as pool:
        shingled = None
        common = None
        if skip_common and blocks:
            step = -(-len(texts) // COMMON_SAMPLE)  # every step-th text is in the sample
            if step == 1:  # the sample is everything: shingle once, keep them for the signatures
                shingled = list(pool.map(_shingles, blocks))
                common = _common_buckets([h for h, _ in shingled], len(texts))
            else:
                sample = [texts[k] for k in range(0, len(texts), step)]
                parts = pool.map(_shingles, [sample[s : s + _BLOCK_TEXTS] for s in range(0, len(sample), _BLOCK_TEXTS)])
                common = _common_buckets((h for h, _ in parts), len(sample))

        def signatures(k: int) -> np.ndarray:
            return _block_signatures(shingled[k] if shingled else _shingles(blocks[k]), a, b, common)

        parts = list(pool.map(signatures, range(len(blocks))))
    return np.concatenate(parts) if parts else np.empty((0, num_perm), dtype=np.uint32)


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
        order = np.argsort(key)
        sorted_key = key[order]
        # Buckets are runs of equal keys; only runs of two or more make pairs.
        starts = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]]))
        sizes = np.diff(np.append(starts, n))
        starts, sizes = starts[sizes > 1], sizes[sizes > 1]
        if not len(starts):
            continue
        # Every member of such a bucket, by position in key order, and where its bucket ends.
        position = np.repeat(starts, sizes) + np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        end = np.repeat(starts + sizes, sizes)
        for d in range(1, int(sizes.max())):  # each member with the member d places later
            alive = position + d < end
            position, end = position[alive], end[alive]
            i, j = order[position], order[position + d]
            lo, hi = np.minimum(i, j), np.maximum(i, j)
            new = hi >= new_from
            found.append(lo[new].astype(np.int64) * n + hi[new])
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(found))
    return np.stack([codes // n, codes % n], axis=1)


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
    """Pairs (i, j, score), i < j, with `near_duplicate_score(texts[i], texts[j]) >= threshold`.

    Only pairs whose later member has index >= `new_from` are returned: texts before it are
    an already-checked reference, compared against but not among themselves. Identical texts
    pair with score 100; callers that handle exact duplicates elsewhere should pass one copy.
    Found with high probability for scores >= ~85 (see the module docstring), not all-pairs.
    `workers` is the thread count for signatures and rapidfuzz scoring (-1: all cores).
    """
    if num_perm % bands:
        raise ValueError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
    if len(texts) < 2 or new_from >= len(texts):
        return []
    signatures = minhash_signatures(texts, num_perm, seed, skip_common=True, workers=workers)
    return _confirm(texts, _band_pairs(signatures, bands, new_from), threshold, workers)


def _confirm(texts: Sequence[str], candidates: np.ndarray, threshold: float, workers: int) -> list[tuple[int, int, float]]:
    """The candidate pairs whose `near_duplicate_score` is >= threshold, with it."""
    orders = {k: sentence_orders(texts[k]) for k in np.unique(candidates).tolist()}
    pairs = []
    for chunk in np.array_split(candidates, len(candidates) // 100_000 + 1):  # bounds memory
        left, right = chunk[:, 0].tolist(), chunk[:, 1].tolist()
        scores = np.zeros(len(chunk))
        for form in (None, 0, 1):  # as written, sentences sorted by beginning, by end
            if form is None:
                a, b = [texts[i] for i in left], [texts[j] for j in right]
            else:
                a, b = [orders[i][form] for i in left], [orders[j][form] for j in right]
            # cpdist scores corresponding pairs in C; below score_cutoff it returns 0. Its cutoff
            # test is less exact than the score it returns (a pair scoring exactly the threshold
            # came back as 0 with the threshold as cutoff), so the cutoff is a little lower.
            scored = process.cpdist(a, b, scorer=fuzz.ratio, score_cutoff=max(threshold - 0.01, 0),
                                    dtype=np.float64, workers=workers)
            np.maximum(scores, scored, out=scores)
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
