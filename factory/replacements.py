"""Which new pair of a changed note replaces which pair that went away.

Ids are content hashes, so editing one sentence of a note gives the pair a new id. When a sync
retires pairs and adds others, this decides which new pair stands where an old one stood, so the
store can link them and a reviewer sees the difference from the text they approved.

Two pairs are candidates when they come from the same kind of rule (a `qa` pair never replaces a
`section` one) and from the same place: the same heading path, or overlapping line ranges (a
renamed heading keeps the lines; the old lines are those of the note as it was). Then:

1. under one heading path, one pair went away and one came: that one replaces it, however much
   its text changed (a section rewritten from scratch is still the same section);
2. otherwise (a Q/A list with several pairs changed, a renamed heading) candidates are paired by
   text similarity, best first, each pair used once, and only at `MIN_SIMILARITY` or above, so a
   pair deleted and an unrelated one added beside it are not taken for an edit. Equal scores go
   to the nearer pair. A long list compares each pair with its `WINDOW` neighbours either side
   only, so a new extractor version that changes every pair of a huge note costs linear time.

This module is pure: the store gives it what a sync saw and writes the links.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

MIN_SIMILARITY = 60.0  # rapidfuzz ratio (0-100) of the two pairs' text
SMALL_CHANGE = 0.9  # similarity (0-1), in every changed field, for `factory approve --replacements`


@dataclass(frozen=True)
class PlacedPair:
    """A pair's id, text and place in its note."""

    id: str
    text: str  # instruction, input and output, one after another
    rule: str | None
    heading_path: tuple[str, ...] | None
    lines: tuple[int, int] | None

    @classmethod
    def of(cls, sample_id: str, instruction: str, input: str, output: str, locator: dict[str, Any]) -> "PlacedPair":
        path, lines = locator.get("heading_path"), locator.get("lines")
        return cls(id=sample_id, text="\n".join(t for t in (instruction, input, output) if t),
                   rule=locator.get("rule"), heading_path=tuple(path) if isinstance(path, list) else None,
                   lines=(lines[0], lines[1]) if isinstance(lines, list) and len(lines) == 2 else None)

    @property
    def placed(self) -> bool:
        return self.heading_path is not None or self.lines is not None


def similarity(a: str, b: str) -> float:
    """How alike two texts are, 0 to 100."""
    return fuzz.ratio(a, b)


def match_replacements(gone: Sequence[PlacedPair], added: Sequence[PlacedPair],
                       min_similarity: float = MIN_SIMILARITY) -> list[tuple[str, str]]:
    """(old id, new id) for every new pair that stands where an old one stood."""
    gone, added = [p for p in gone if p.placed], [p for p in added if p.placed]
    if not gone or not added:
        return []
    old_groups, new_groups = _by_heading(gone), _by_heading(added)
    matched: list[tuple[str, str]] = []
    used: set[str] = set()
    # 1. One pair out and one in under a heading path: the same place, whatever the text.
    for (rule, path), olds in old_groups.items():
        news = new_groups.get((rule, path), []) if path is not None else []
        if len(olds) == 1 and len(news) == 1:
            matched.append((olds[0].id, news[0].id))
            used |= {olds[0].id, news[0].id}
    # 2. The rest by similarity, best first (the nearer first among equals), each pair used once.
    scored = []
    for old, new, distance in _candidates(old_groups, new_groups, added):
        if old.id not in used and new.id not in used:
            score = fuzz.ratio(old.text, new.text, score_cutoff=min_similarity)  # 0 below the cutoff
            if score:
                scored.append((-score, distance, old.id, new.id))
    for _, _, old_id, new_id in sorted(scored):
        if old_id not in used and new_id not in used:
            matched.append((old_id, new_id))
            used |= {old_id, new_id}
    return matched


# Neighbours compared on each side of a pair's place: a note of 20,000 pairs whose every text
# changed (a new extractor version) costs 20,000 x 75 comparisons, not 20,000 squared.
WINDOW = 25

Groups = dict[tuple[Any, ...], list[PlacedPair]]


def _by_heading(pairs: Sequence[PlacedPair]) -> Groups:
    """Pairs by (rule, heading path), each group in line order."""
    groups: Groups = defaultdict(list)
    for p in pairs:
        groups[p.rule, p.heading_path].append(p)
    for group in groups.values():
        group.sort(key=lambda p: p.lines or (0, 0))
    return groups


def _candidates(old_groups: Groups, new_groups: Groups, added: Sequence[PlacedPair]
                ) -> Iterator[tuple[PlacedPair, PlacedPair, int]]:
    """(old, new, how far apart) for pairs of the same rule from the same place, each once: under
    the same heading path, the new pairs near the old one's position in its list (scaled to the new
    list's length, so pairs deleted above shift nothing out of reach); under another heading path,
    the new pairs whose lines overlap the old one's."""
    for (rule, path), olds in old_groups.items():
        news = new_groups.get((rule, path), []) if path is not None else []
        for i, old in enumerate(olds):
            centre = round(i * len(news) / len(olds))
            for j in range(max(0, centre - WINDOW), min(len(news), centre + WINDOW + 1)):
                yield old, news[j], abs(i - j)
    by_rule: dict[str | None, list[PlacedPair]] = defaultdict(list)
    for p in added:
        if p.lines is not None:
            by_rule[p.rule].append(p)
    starts: dict[str | None, list[int]] = {}
    for rule, news in by_rule.items():
        news.sort(key=lambda p: p.lines)
        starts[rule] = [p.lines[0] for p in news]  # type: ignore[index]
    for olds in old_groups.values():
        for old in olds:
            if old.lines is None or old.rule not in by_rule:
                continue
            news = by_rule[old.rule]
            end = bisect_right(starts[old.rule], old.lines[1])  # news[:end] begin at or before the old end
            for new in news[max(0, end - WINDOW):end]:
                if new.lines[1] >= old.lines[0] and (old.heading_path is None  # type: ignore[index]
                                                     or new.heading_path != old.heading_path):
                    yield old, new, abs(new.lines[0] - old.lines[0])  # type: ignore[index]
