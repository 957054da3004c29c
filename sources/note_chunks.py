"""Notes cut into chunks for a model to write question-answer pairs from (`extract notes --llm`).

A chunk is a run of consecutive sections of one heading subtree ("## Setup" with its "###"
children) that fits the token budget; a section larger than the budget alone is cut at blank
lines outside code fences. Each chunk keeps its heading path and 1-based file lines, so every
pair written from it can be traced to the exact place in the note.

The model is asked for pairs grounded in the chunk, each with a word-for-word quote of the
text that supports it; `grounded_pairs` keeps the pairs whose quote is found in the chunk
(after folding whitespace, case and Markdown emphasis) and drops the rest as ungrounded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from factory.json_repair import parse_pairs
from sources.markdown_notes import NoteSection

TokenCounter = Callable[[Sequence[str]], list[int]]

PROMPT_TEMPLATE = """Below is a part of a team's internal note ({where}). Write up to {n} question-answer
pairs that a colleague could ask and that this text answers. Use only what the text states; add
nothing from elsewhere. Write each answer so it stands on its own, in the language of the text.
For each pair, quote word for word the shortest passage of the text that supports the answer,
as "evidence". Answer with a JSON array of objects with the keys "question", "answer" and
"evidence", or an empty array when the text holds nothing worth asking.

Text:
<<<
{text}
>>>"""

MIN_EVIDENCE_CHARS = 6
FUZZY_EVIDENCE = 90  # rapidfuzz partial_ratio for a quote with small slips (a changed quote mark)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass
class Chunk:
    path: list[str]  # heading path of its first section
    lines: list[int]  # 1-based inclusive file lines
    text: str

    def prompt(self, pairs: int) -> str:
        where = " > ".join(self.path) if self.path else "the note's opening"
        return PROMPT_TEMPLATE.format(where=where, n=pairs, text=self.text)


def prompt_key(prompt: str) -> str:
    """The ledger key of a chunk's request: the same prompt is never paid for twice."""
    return "chunk " + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def estimate_tokens(texts: Sequence[str]) -> list[int]:
    """About 4 characters a token for Latin text, one a character for CJK: used when no tokenizer
    is configured."""
    counts = []
    for text in texts:
        cjk = len(_CJK.findall(text))
        counts.append(cjk + (len(text) - cjk + 3) // 4)
    return counts


def chunk_note(sections: list[NoteSection], *, budget: int, count_tokens: TokenCounter = estimate_tokens,
               min_chars: int = 0) -> list[Chunk]:
    """The note's chunks in order: whole sections merged within their subtree up to `budget`
    tokens, oversized sections cut at paragraph boundaries; chunks with fewer than `min_chars`
    characters besides their headings are left out."""
    pieces: list[Chunk] = []
    for section in sections:
        piece = Chunk(section.path, list(section.lines), section.text)
        pieces += [piece] if count_tokens([piece.text])[0] <= budget else _split(piece, budget, count_tokens)
    chunks: list[Chunk] = []
    for piece in pieces:
        last = chunks[-1] if chunks else None
        if last and piece.path[:len(last.path)] == last.path \
                and count_tokens([last.text + "\n\n" + piece.text])[0] <= budget:
            gap = piece.lines[0] - last.lines[1] - 1
            last.text += "\n" * (gap + 1) + piece.text
            last.lines[1] = piece.lines[1]
        else:
            chunks.append(piece)
    return [c for c in chunks if len(_without_headings(c.text)) >= min_chars]


def _without_headings(text: str) -> str:
    return "".join(line for line in text.split("\n") if not line.lstrip().startswith("#")).strip()


def _blocks(chunk: Chunk) -> list[tuple[int, list[str]]]:
    """(first file line, lines) of each blank-line separated block; code fences stay whole."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start, fenced = chunk.lines[0], False
    for number, line in enumerate(chunk.text.split("\n"), chunk.lines[0]):
        if _FENCE.match(line):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append((start, current))
            current, start = [], number + 1
            continue
        current.append(line)
    if current:
        blocks.append((start, current))
    return blocks


def _split(chunk: Chunk, budget: int, count_tokens: TokenCounter) -> list[Chunk]:
    """An oversized section as pieces of whole blocks (a single block over budget is cut by lines)."""
    lines: list[tuple[int, str]] = []
    for start, block in _blocks(chunk):
        if count_tokens(["\n".join(block)])[0] > budget:
            lines += [(start + i, line) for i, line in enumerate(block)]
        else:
            lines.append((start, "\n".join(block)))
    pieces: list[Chunk] = []
    for first, text in lines:
        last_line = first + text.count("\n")
        if pieces and count_tokens([pieces[-1].text + "\n\n" + text])[0] <= budget:
            pieces[-1].text += "\n" * (first - pieces[-1].lines[1]) + text
            pieces[-1].lines[1] = last_line
        else:
            pieces.append(Chunk(chunk.path, [first, last_line], text))
    return pieces


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[*_`>#]", " ", text).split()).casefold()


def is_grounded(evidence: str, chunk_text: str) -> bool:
    quote, text = _fold(evidence), _fold(chunk_text)
    if len(quote) < MIN_EVIDENCE_CHARS and not (_CJK.search(quote) and len(quote) >= 3):
        return False
    return quote in text or fuzz.partial_ratio(quote, text) >= FUZZY_EVIDENCE


@dataclass
class GroundedPairs:
    pairs: list[dict[str, str]]  # question, answer, evidence
    ungrounded: int
    error: str | None  # why nothing could be read from the reply


def _says_nothing(reply: str) -> bool:
    """An empty array, bare or wrapped ({"pairs": []}): the chunk holds nothing worth asking."""
    try:
        value = json.loads(reply)
    except json.JSONDecodeError:
        return False
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return value == []


def grounded_pairs(reply: str, chunk: Chunk) -> GroundedPairs:
    if _says_nothing(reply):
        return GroundedPairs([], 0, None)
    parsed = parse_pairs(reply, extra=("evidence",))
    kept = [{"question": p["instruction"].strip(), "answer": p["output"].strip(), "evidence": p["evidence"].strip()}
            for p in parsed.items if is_grounded(p["evidence"], chunk.text)]
    return GroundedPairs(kept, len(parsed.items) - len(kept), parsed.error)
