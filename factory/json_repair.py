"""Recover instruction/input/output pairs from an LLM's not-quite-JSON answer.

Asked for "a JSON array of objects with instruction, input and output", models often answer
with something close to it. `parse_pairs` never raises; it repairs, in this order:

- code fences (```json ... ``` or ``` ... ```) and prose before or after the JSON: the JSON is
  the first `[{` / `[]` / `{"` (quotes of any kind) in the text, read up to its matching bracket;
- raw control characters (real newlines, tabs) inside strings;
- trailing commas before `]` or `}` (outside strings);
- single-quoted and smart-quoted (“ ” ‘ ’) keys and strings, converted to JSON strings; a
  closing quote is one followed by `,` `:` `}` `]` or the end, so apostrophes inside stay;
- truncation (cut at max_tokens mid-object or mid-string): a string-aware bracket scanner
  remembers where the last complete object of the array ended; the text is cut there and the
  open brackets are closed, keeping every complete object;
- JSON lines / several objects one after the other instead of an array;
- a top-level object wrapping the list ({"pairs": [...]}, {"data": [...]}, any single
  list-valued key), or a single bare object;
- key variants: question/answer, prompt/response, query, context, completion,
  指令/输入/输出, 问题/答案/回答 -> instruction/input/output.

Objects that are not usable (not an object, missing instruction or output, empty or
non-string values) are dropped and counted. `error` is set only when no pair was recovered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

__all__ = ["ParsedPairs", "parse_pairs"]


@dataclass
class ParsedPairs:
    items: list[dict] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    dropped: int = 0
    error: str | None = None


KEY_ALIASES = {
    "instruction": ("instruction", "question", "prompt", "query", "指令", "问题"),
    "input": ("input", "context", "输入"),
    "output": ("output", "answer", "response", "completion", "输出", "答案", "回答"),
}

# Where a JSON value plausibly starts: an array of objects (or empty), or an object whose first
# key is quoted with any kind of quote.
_START = re.compile(r"""\[\s*[{\]]|\{\s*["'“”„‘’]""")
_DQ_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_FENCE = re.compile(r"```[\w+-]*")
_QUOTE_CLOSERS = {
    "'": "'",
    "‘": "‘’", "’": "‘’",
    "“": "“”\"", "”": "“”\"", "„": "“”\"",
}
_QUOTE_NAMES = {"'": "single quotes"}  # everything else in _QUOTE_CLOSERS is a smart quote
_STRICT = json.JSONDecoder()
_LENIENT = json.JSONDecoder(strict=False)  # accepts raw control characters inside strings


def parse_pairs(text: str, required: tuple[str, ...] = ("instruction", "output"),
                extra: tuple[str, ...] = ()) -> ParsedPairs:
    """Parse an LLM answer into instruction/input/output dicts; never raises.

    An object lacking a `required` field is dropped; other missing fields become "" (so a list
    of new instructions alone parses with `required=("instruction",)`). `extra` keys are kept
    too, as strings ("" when missing or not a string)."""
    result = ParsedPairs()
    text = text if isinstance(text, str) else ""
    values, start, end, truncated = _read_json(text, result.repaired)
    if start is None:
        result.error = "no JSON array or object found in the response"
        return result
    result.repaired[:0] = _surroundings(text[:start] + "\n" + text[end:])
    if not values:
        result.error = ("truncated before the first complete object" if truncated
                        else "could not parse the JSON in the response")
        return result

    records = _records(values, result)
    if truncated:
        _add(result.repaired, f"truncated: kept {len(records)} complete objects")
    for record in records:
        item = _to_pair(record, result.repaired, required)
        if item is None:
            result.dropped += 1
        else:
            result.items.append(item | {k: v if isinstance(v := record.get(k), str) else "" for k in extra})
    if not result.items:
        result.error = f"no usable objects ({result.dropped} dropped)"
    return result


# --- finding and reading the JSON -------------------------------------------------------------

def _read_json(text: str, repaired: list[str]) -> tuple[list, int | None, int, bool]:
    """Values read from the first place in `text` that holds JSON: (values, start, end, truncated).

    A value that is an object may be followed by more objects (JSON lines); they are read too.
    A candidate start that turns out to be closed but unparsable is skipped for the next one.
    """
    pos = 0
    first_start = None
    while (match := _START.search(text, pos)) is not None:
        start = match.start()
        first_start = start if first_start is None else first_start
        notes: list[str] = []
        value, end, truncated = _read_value(text, start, notes)
        if value is _NOTHING and not truncated:
            pos = start + 1
            continue
        values = [] if value is _NOTHING else [value]
        if isinstance(value, dict) and not truncated:
            more, end, truncated = _read_more_objects(text, end, notes)
            if more:
                values += more
                notes.append("JSON lines (separate objects instead of an array)")
        for note in notes:
            _add(repaired, note)
        return values, start, end, truncated
    return [], first_start, len(text), False


def _read_more_objects(text: str, pos: int, notes: list[str]) -> tuple[list, int, bool]:
    """Objects following one another after `pos` (separated by whitespace or commas)."""
    values = []
    while True:
        nxt = pos
        while nxt < len(text) and (text[nxt].isspace() or text[nxt] == ","):
            nxt += 1
        if nxt >= len(text) or text[nxt] != "{":
            return values, pos, False
        value, end, truncated = _read_value(text, nxt, notes)
        if truncated or value is _NOTHING:
            # a truncated last line; or garbage: stop before it
            return values, (end if truncated else pos), truncated
        values.append(value)
        pos = end


_NOTHING = object()


def _read_value(text: str, start: int, notes: list[str]) -> tuple[object, int, bool]:
    """The JSON value starting at text[start]: (value or _NOTHING, end in text, truncated)."""
    try:
        value, end = _STRICT.raw_decode(text, start)
        return value, end, False
    except (ValueError, RecursionError):
        pass
    try:
        value, end = _LENIENT.raw_decode(text, start)
        notes.append("raw control characters in strings")
        return value, end, False
    except (ValueError, RecursionError):
        pass
    scan = _scan(text, start)
    if scan.closed:
        value = _loads(scan.text)
        if value is not _NOTHING:
            notes.extend(sorted(scan.fixes))
        return value, scan.end, False
    value = _loads(scan.cut) if scan.cut is not None else _NOTHING
    if isinstance(value, dict) and _looks_like_record(value):
        value = _NOTHING  # a single record cut short somewhere inside: not trustworthy
    if value is not _NOTHING:
        notes.extend(sorted(scan.fixes))
    return value, scan.end, True


def _loads(text: str) -> object:
    try:
        return _LENIENT.decode(text)
    except (ValueError, RecursionError):
        return _NOTHING


@dataclass
class _Scanned:
    text: str  # the value rewritten as JSON (quotes converted, trailing commas removed)
    end: int  # index in the original text just past the value
    closed: bool  # False: the text ended with brackets still open (truncated)
    cut: str | None  # truncated only: text up to the last complete record object, closed
    fixes: set[str]


def _scan(text: str, start: int) -> _Scanned:
    """String-aware bracket scan from text[start], rewriting the value into JSON as it goes.

    Records, after each object that closes directly inside a record-level array (the top-level
    array, or an array that is a value of the top-level object), where to cut if the text turns
    out to be truncated.
    """
    out: list[str] = []
    stack: list[str] = []
    fixes: set[str] = set()
    cut_at: tuple[int, tuple[str, ...]] | None = None
    i = start
    while i < len(text):
        c = text[i]
        if c == '"':
            match = _DQ_STRING.match(text, i)
            if match is None:  # unterminated: truncated inside a string
                out.append(text[i:])
                i = len(text)
                break
            out.append(match.group())
            i = match.end()
            continue
        if c in _QUOTE_CLOSERS:
            content, i = _read_quoted(text, i, _QUOTE_CLOSERS[c])
            out.append(_json_string(content))
            fixes.add(_QUOTE_NAMES.get(c, "smart quotes"))
            continue
        i += 1
        if c in "[{":
            stack.append(c)
        elif c in "]}":
            if stack:
                stack.pop()
            out.append(c)
            if not stack:
                return _Scanned("".join(out), i, True, None, fixes)
            if c == "}" and tuple(stack) in (("[",), ("{", "[")):
                cut_at = (len(out), tuple(stack))
            continue
        elif c == "," and _next_non_space(text, i) in ("]", "}"):
            fixes.add("trailing comma")
            continue
        out.append(c)
    cut = None
    if cut_at is not None:
        length, open_brackets = cut_at
        closers = "".join("]" if b == "[" else "}" for b in reversed(open_brackets))
        cut = "".join(out[:length]) + closers
    return _Scanned("".join(out), len(text), False, cut, fixes)


def _next_non_space(text: str, i: int) -> str:
    while i < len(text) and text[i].isspace():
        i += 1
    return text[i] if i < len(text) else ""


def _read_quoted(text: str, i: int, closers: str) -> tuple[str, int]:
    """Content of the quoted string opening at text[i], and the index after its closing quote.

    A closing quote is one followed (after spaces) by , : } ] or the end of the text; other
    quote characters are content (an apostrophe in 'don't').
    """
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] in closers and _next_non_space(text, j + 1) in (",", ":", "}", "]", ""):
            return text[i + 1:j], j + 1
        j += 1
    return text[i + 1:], len(text)


def _json_string(content: str) -> str:
    """A single- or smart-quoted string's content as a JSON string literal."""
    out = []
    k = 0
    while k < len(content):
        c = content[k]
        if c == "\\":
            if k + 1 == len(content):
                out.append("\\\\")
            elif content[k + 1] in "'‘’":
                out.append(content[k + 1])  # \' is not a JSON escape
            else:
                out.append(content[k:k + 2])
            k += 2
            continue
        out.append('\\"' if c == '"' else c)
        k += 1
    return '"' + "".join(out) + '"'


def _surroundings(outside: str) -> list[str]:
    """What was stripped around the JSON: fences and/or prose."""
    notes = ["code fence"] if "```" in outside else []
    if _FENCE.sub("", outside).strip():
        notes.append("surrounding prose")
    return notes


# --- from JSON values to pairs ----------------------------------------------------------------

def _records(values: list, result: ParsedPairs) -> list:
    """The candidate record objects: an array's elements, a wrapper's list, or bare objects."""
    if len(values) > 1:
        return values
    value = values[0]
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and not _looks_like_record(value):
        lists = [(k, v) for k, v in value.items() if isinstance(v, list)]
        if len(lists) == 1:
            key, inner = lists[0]
            _add(result.repaired, f"unwrapped {{{json.dumps(key, ensure_ascii=False)}: [...]}}")
            return inner
    return [value]


def _looks_like_record(value: dict) -> bool:
    keys = {str(k).strip().lower() for k in value}
    return any(alias in keys for aliases in KEY_ALIASES.values() for alias in aliases)


def _to_pair(record: object, repaired: list[str], required: tuple[str, ...]) -> dict | None:
    """{"instruction", "input", "output"} from one object, or None when it is not usable."""
    if not isinstance(record, dict):
        return None
    by_key = {str(k).strip().lower(): v for k, v in record.items()}
    pair = {}
    for name, aliases in KEY_ALIASES.items():
        alias = next((a for a in aliases if a in by_key), None)
        value = by_key.get(alias) if alias is not None else None
        if name not in required and value is None:
            value = ""
        if not isinstance(value, str) or (name in required and not value.strip()):
            return None
        if alias not in (None, name):
            _add(repaired, f"key names: {alias} -> {name}")
        pair[name] = value
    return pair


def _add(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)
