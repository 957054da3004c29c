"""Chunking notes along headings within a token budget, and keeping only grounded pairs."""

from __future__ import annotations

import json

from sources.markdown_notes import note_outline
from sources.note_chunks import (
    Chunk,
    chunk_note,
    estimate_tokens,
    grounded_pairs,
    is_grounded,
)

NOTE = """---
title: Serving
tags: [vllm]
---
# Serving with vLLM

Intro line about serving models behind an OpenAI-compatible API.

## Install

Install vLLM with pip into a fresh environment and check the CUDA version first.

### GPU drivers

Use driver 550 or newer; older drivers fail at start with a clear error.

## Tuning

{tuning}

## Glossary
"""

PARAGRAPH = "The gpu memory utilization flag sets how much of the card the KV cache may take, default 0.9. "


def file_lines(text: str, lines: list[int]) -> str:
    return "\n".join(text.split("\n")[lines[0] - 1:lines[1]])


def words(count_text: list[str]) -> list[int]:
    return [len(t.split()) for t in count_text]


def test_small_subtrees_become_one_chunk_and_lines_point_at_the_file():
    text = NOTE.format(tuning="Raise max-num-seqs for throughput.")
    chunks = chunk_note(note_outline(text, uri="n.md").sections, budget=1000)
    assert len(chunks) == 1  # the whole note is one subtree under its title and fits
    (chunk,) = chunks
    assert chunk.path == ["Serving with vLLM"] and chunk.text == file_lines(text, chunk.lines).strip()
    assert chunk.lines[0] == 5 and "## Glossary" in chunk.text


def test_chunks_keep_to_the_budget_and_split_big_sections_between_paragraphs():
    fence = "```bash\nvllm serve model \\\n  --max-model-len 8192\n\n  --port 8000\n```"
    tuning = "\n\n".join([PARAGRAPH * 3] * 6 + [fence] + [PARAGRAPH * 3] * 2)
    text = NOTE.format(tuning=tuning)
    chunks = chunk_note(note_outline(text, uri="n.md").sections, budget=120, count_tokens=words)
    assert all(words([c.text])[0] <= 120 for c in chunks)
    # the small sections share the first chunk; the big one starts its own
    assert chunks[0].path == ["Serving with vLLM"] and "### GPU drivers" in chunks[0].text
    assert "## Tuning" not in chunks[0].text and chunks[1].text.startswith("## Tuning")
    tuning_chunks = [c for c in chunks if c.path[-1] == "Tuning"]
    assert len(tuning_chunks) > 2
    assert any(fence in c.text for c in tuning_chunks)  # the code block is never cut at its blank line
    for chunk in chunks:
        assert chunk.text.strip() == file_lines(text, chunk.lines).strip()
    # together they hold every line of the note's body once, in order
    covered = [n for c in chunks for n in range(c.lines[0], c.lines[1] + 1)]
    assert covered == sorted(set(covered))


def test_chunks_with_too_little_text_are_left_out():
    text = "# Title\n\n## Empty section\n\n## Real\n\n" + PARAGRAPH + "\n"
    chunks = chunk_note(note_outline(text, uri="n.md").sections, budget=10, count_tokens=words, min_chars=40)
    assert [c.path[-1] for c in chunks] == ["Real"]


def test_the_token_estimate_counts_chinese_by_character():
    assert estimate_tokens(["abcdefgh", "量化配置", ""]) == [2, 4, 0]


CHUNK = Chunk(["Serving"], [1, 3], "Use **driver 550** or newer;\nolder drivers fail at start.\n量化需要 NF4 格式。")


def test_evidence_must_be_in_the_chunk():
    assert is_grounded("use driver 550 or newer; older drivers", CHUNK.text)  # case, emphasis, line break
    assert is_grounded("量化需要 NF4", CHUNK.text)
    assert not is_grounded("driver 470 is fine", CHUNK.text)
    assert not is_grounded("Use", CHUNK.text)  # too short to prove anything
    assert not is_grounded("", CHUNK.text)


def test_ungrounded_pairs_are_dropped_and_counted():
    reply = json.dumps({"pairs": [
        {"question": "Which driver?", "answer": "550 or newer.", "evidence": "Use driver 550 or newer"},
        {"question": "Which GPU?", "answer": "An H100.", "evidence": "We use H100 cards"},
    ]})
    read = grounded_pairs(reply, CHUNK)
    assert [p["question"] for p in read.pairs] == ["Which driver?"] and read.ungrounded == 1 and read.error is None
    assert read.pairs[0]["evidence"] == "Use driver 550 or newer"


def test_an_empty_answer_is_no_error_and_garbage_is():
    assert grounded_pairs('{"pairs": []}', CHUNK).error is None
    assert grounded_pairs("[]", CHUNK).pairs == []
    assert grounded_pairs("I cannot help with that.", CHUNK).error
