"""General data mixed into a version against catastrophic forgetting, and a leak-free eval split.

General pool samples are ranked by a seeded hash of their id. The first `held_out` of the
ranking are the pool's eval slice (`general_eval.jsonl`, never trained on: the forgetting check
in training); the next ones fill the train mix. Both are deterministic for a seed and stable as
the domain data grows: only the count of mixed samples changes with the domain's size.

Neither may repeat domain data: a pool sample that is an exact or near duplicate of a domain
sample, or of a pool sample ranked before it, is skipped, so the share of general data is what
it says and no general sample leaks a domain eval answer.

The domain split keeps near duplicates together: samples joined by an exact or near duplicate
relation form a group, and the whole group falls on the side its first member's hash picks, so
no eval sample has a near twin in train.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from factory.checks.duplicates import duplicate_key
from factory.checks.near_duplicates import near_duplicate_pairs, near_duplicate_text
from factory.sample import Sample


def rank_position(sample_id: str, seed: int, salt: str = "") -> float:
    """Where a sample falls in [0, 1) for this seed: a hash, so the same on every machine."""
    digest = hashlib.sha256(f"{seed}:{salt}{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def general_count(domain_train: int, ratio: float) -> int:
    """General samples that make up `ratio` of a train split with `domain_train` domain samples."""
    if ratio <= 0 or domain_train <= 0:
        return 0
    return round(ratio * domain_train / (1 - ratio))


# -- the domain split -----------------------------------------------------------------------
class _Groups:
    """Union-find over indices."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


@dataclass
class EvalSplit:
    eval_ids: set[str]
    grouped_pairs: int  # duplicate pairs kept on one side of the split


def split_eval(samples: Sequence[Sample], ratio: float, seed: int, threshold: float) -> EvalSplit:
    """Eval ids: the groups whose first member's seeded hash falls under `ratio` (at least one
    group when any eval is asked for). Exact and near duplicates (at `threshold`) are grouped."""
    if ratio <= 0 or len(samples) < 2:
        return EvalSplit(set(), 0)
    groups = _Groups(len(samples))
    pairs = 0
    first_with_key: dict[str, int] = {}
    for i, sample in enumerate(samples):
        key = duplicate_key(sample)
        if key in first_with_key:
            groups.join(i, first_with_key[key])
            pairs += 1
        else:
            first_with_key[key] = i
    unique = sorted(first_with_key.values())
    texts = [near_duplicate_text(samples[i]) for i in unique]
    for a, b, _ in near_duplicate_pairs(texts, threshold):
        groups.join(unique[a], unique[b])
        pairs += 1
    position = [rank_position(s.id, seed) for s in samples]
    members: dict[int, list[int]] = {}
    for i in range(len(samples)):
        members.setdefault(groups.find(i), []).append(i)
    ranked = sorted(members.values(), key=lambda m: min(position[i] for i in m))
    if len(ranked) < 2:
        return EvalSplit(set(), pairs)
    chosen = [m for m in ranked if min(position[i] for i in m) < ratio] or ranked[:1]
    return EvalSplit({samples[i].id for m in chosen for i in m}, pairs)


# -- the general mix ------------------------------------------------------------------------
@dataclass
class GeneralMix:
    train: list[Sample] = field(default_factory=list)
    held_out: list[Sample] = field(default_factory=list)
    wanted: int = 0
    available: int = 0
    skipped_duplicates: int = 0


def choose_general(pool: Sequence[Sample], domain: Sequence[Sample], *, wanted: int, held_out: int, seed: int,
                   threshold: float) -> GeneralMix:
    """`held_out` then `wanted` pool samples, by seeded rank, none a duplicate of the domain data
    or of a pool sample chosen before it."""
    mix = GeneralMix(wanted=wanted, available=len(pool))
    domain_keys = {duplicate_key(s) for s in domain}
    ranked = sorted(pool, key=lambda s: rank_position(s.id, seed, salt="general:"))
    domain_texts = [near_duplicate_text(s) for s in domain]
    accepted: list[Sample] = []
    need = held_out + wanted
    start = 0
    while len(accepted) < need and start < len(ranked):
        # A window a little larger than what is missing; duplicates are rare, so usually one pass.
        window_size = max(64, int((need - len(accepted)) * 1.25))
        window = []
        for sample in ranked[start : start + window_size]:
            key = duplicate_key(sample)
            if key in domain_keys:
                mix.skipped_duplicates += 1
                continue
            domain_keys.add(key)  # a later pool copy of the same text is a duplicate too
            window.append(sample)
        start += window_size
        base = domain_texts + [near_duplicate_text(s) for s in accepted]
        texts = base + [near_duplicate_text(s) for s in window]
        dropped = {j - len(base) for _, j, _ in near_duplicate_pairs(texts, threshold, new_from=len(base))}
        mix.skipped_duplicates += len(dropped)
        accepted += [s for k, s in enumerate(window) if k not in dropped]
    mix.held_out = accepted[:held_out]
    mix.train = accepted[held_out:need]
    return mix
