"""Fuzzing the two readers of outside data: generated Markdown notes through `extract_notes` and
generated JSON lines through `import_dataset`, on a real workspace and store.

Whatever the input, a call either finishes or raises a FactoryError whose message is one line;
notes never fail the job (a bad note is an error in its log). Each example has a deadline, so
work that grows out of hand with its input fails here instead of hanging a scheduled run.
Derandomized with no example database: the same examples on every machine and every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory.errors import FactoryError
from factory.importing import import_dataset
from factory.ingest import extract_notes
from sources.open_datasets import DatasetRequest

FUZZ = settings(derandomize=True, database=None, deadline=timedelta(seconds=5), max_examples=60,
                # one workspace for all examples of a test: each writes its own file into it
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
_files = count()


def survives(call: Callable[[], Any]) -> Any:
    """The call's result, or None after a FactoryError with a one-line message; anything else fails."""
    try:
        return call()
    except FactoryError as exc:
        assert str(exc).strip() and "\n" not in str(exc), repr(str(exc))
        return None


# -- Markdown -------------------------------------------------------------------------------------
# Text a note may hold: ASCII, Markdown punctuation, CJK, full-width colons, control characters.
# Surrogates cannot be written as UTF-8; random bytes come in whole files below.
_chars = st.one_of(st.characters(codec="utf-8", exclude_categories=("Cs",)),
                   st.sampled_from("*_`#>-+|:[]()!~<>\\&\n \t\x00\x0b\x1b\u200b\ufeff问答：中文"))
_text = st.text(_chars, max_size=40)
_words = st.text(st.sampled_from("abc xyz 模型 训练 LoRA 的 ?？"), min_size=1, max_size=30)


def _sizes(most: int) -> st.SearchStrategy[int]:
    """Counts small and large alike: Hypothesis alone favours small ones, and depth is what breaks parsers."""
    return st.one_of(st.integers(0, 50), st.sampled_from([most // 10, most // 2, most]), st.integers(0, most))


def _nest(open_: str, close: str) -> st.SearchStrategy[str]:
    return st.builds(lambda n, inner: open_ * n + inner + close * n, _sizes(3000), _words)


_front_matter = st.one_of(
    st.builds(lambda title, tags: f"---\ntitle: {json.dumps(title)}\ntags: {json.dumps(tags)}\n---\n",
              _text, st.lists(st.one_of(_text, st.integers(), st.lists(_text, max_size=3)), max_size=40)),
    st.just("---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\ntags: *b\n---\n"),  # aliases
    st.builds(lambda n: "---\ntags: " + "[" * n + "]" * n + "\n---\n", _sizes(5000)),
    st.builds(lambda body: f"---\n{body}\n---\n", _text),  # whatever YAML it makes, or not
    st.just("---\ntitle: unclosed\n"),
)
_block = st.one_of(
    st.builds(lambda level, title: "#" * level + " " + title, st.integers(1, 7), _text),
    st.builds(lambda q, a: f"Q: {q}\nA: {a}", _text, _text),
    st.builds(lambda q, a: f"- **问：** {q}\n  **答：** {a}", _words, _text),
    st.builds(lambda lang, code, closed: f"```{lang}\n{code}\n" + ("```" if closed else ""),
              st.sampled_from(["python", "py", "", "js"]), st.one_of(
                  _text, st.just('def f(x):\n    """Doc."""\n'),
                  st.builds(lambda n: "x=" + "+".join(["1"] * n), _sizes(20_000)),
                  st.builds(lambda n: "x=" + "-" * n + "1", _sizes(20_000)),
                  st.builds(lambda n: "(" * n, _sizes(5000))), st.booleans()),
    st.builds(lambda cells, rows: "| " + " | ".join(cells) + " |\n|" + "---|" * len(cells) + "\n"
              + "\n".join("| " + " | ".join(r) + " |" for r in rows),
              st.lists(_words, min_size=1, max_size=4), st.lists(st.lists(_text, max_size=4), max_size=4)),
    st.builds(lambda depth, text: "".join("  " * i + "- " for i in range(depth)) + text, _sizes(200), _text),
    st.builds(lambda depth, text: "> " * depth + text, _sizes(300), _text),
    st.builds(lambda term, definition: f"{term}\n: {definition}", _words, _text),
    _nest("*", "*"), _nest("_", "_"), _nest("**", "**"), _nest("[", "](x)"), _nest("![", "](x)"), _nest("<b>", "</b>"),
    _text,
)
_markdown = st.builds(lambda head, blocks: (head or "") + "\n\n".join(blocks),
                      st.one_of(st.none(), _front_matter), st.lists(_block, max_size=12))
_note_bytes = st.one_of(_markdown.map(lambda text: text.encode("utf-8")), st.binary(max_size=300))


@FUZZ
@given(content=_note_bytes)
def test_any_note_is_extracted_or_named_and_never_fails_the_run(ws, content: bytes) -> None:
    path = ws.root / "notes" / f"n{next(_files)}.md"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    job = survives(lambda: extract_notes(ws, path))
    assert job is not None and job.state == "completed"
    assert all(e["error"].startswith(f"notes/{path.name}: ") and "\n" not in e["error"] for e in job.error_log)


# -- JSON lines -----------------------------------------------------------------------------------
_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _text,
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                            max_leaves=8)
_escapes = st.lists(st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\ud83d\\ude00", "\\n", "x", "\\u4e2d"]),
                    max_size=5).map("".join)
_line = st.one_of(
    st.builds(lambda q, a: json.dumps({"instruction": q, "output": a}, ensure_ascii=False), _text, _text),
    st.builds(lambda row: json.dumps(row), st.dictionaries(st.sampled_from(["instruction", "output", "input", "system",
                                                                           "history", "conversations", "messages"]),
                                                           _json_values, max_size=5)),
    st.builds(lambda q: '{"instruction": "' + q + '", "output": "a"}', _escapes),
    st.builds(lambda n: '{"instruction": "q", "output": ' + "[" * n + "]" * n + "}", _sizes(20_000)),
    st.builds(lambda n: '{"instruction": "q", "output": ' + "9" * n + "}", _sizes(6000)),
    st.builds(lambda n: '{"conversations": [' + ", ".join(['{"from": "human", "value": "q"}',
                                                           '{"from": "gpt", "value": "a"}'] * n) + "]}",
              st.integers(0, 3)),
    _text.map(lambda t: t.replace("\n", " ")),  # not JSON at all
)
_GOOD_FIRST = json.dumps({"instruction": "What is NF4?", "output": "A 4-bit data type."})
_dataset = st.one_of(
    # A good first row makes the format alpaca, so every later line reaches the row converters.
    st.lists(_line, max_size=15).map(lambda lines: "\n".join([_GOOD_FIRST, *lines]).encode()),
    st.lists(_line, max_size=15).map(lambda lines: "\n".join(lines).encode()),
    st.builds(lambda rows: json.dumps({"data": rows}, indent=2).encode(), st.lists(_json_values, max_size=4)),
    st.builds(lambda rows: json.dumps(rows, indent=1).encode(), st.lists(_json_values, max_size=4)),
    st.binary(max_size=300),
)


@FUZZ
@given(content=_dataset, suffix=st.sampled_from([".jsonl", ".json"]))
def test_any_json_dataset_is_imported_or_refused_in_one_line(ws, content: bytes, suffix: str) -> None:
    path = ws.root / f"data{next(_files)}{suffix}"
    path.write_bytes(content)
    result = survives(lambda: import_dataset(ws, DatasetRequest(source=str(path))))
    if result is not None:
        assert result.job.state == "completed"
        assert all("\n" not in e["error"] for e in result.job.error_log)
