"""Token counting with the training tokenizer (`checks.tokenizer`), for the `too_many_tokens` check.

`load_token_counter(spec)` returns a callable that counts the tokens of a batch of texts in one
call (the Rust tokenizer encodes a batch in parallel). The spec is

- a `tokenizer.json` file: loaded with the `tokenizers` library;
- a local folder or a Hugging Face hub id: loaded with `transformers.AutoTokenizer` when
  transformers is installed (the `train` extra), otherwise a folder holding a `tokenizer.json`
  is loaded with `tokenizers`; a hub id then needs transformers.

Counts are of the text alone: no special tokens, no truncation, no padding (a tokenizer.json
saved with truncation on would otherwise cap every count at its max_length). The counters are
plain objects, so a CheckContext holding one can be pickled to worker processes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from factory.errors import BadInput

TokenCounter = Callable[[Sequence[str]], list[int]]

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[\w.-]+)?")  # "gpt2", "Qwen/Qwen2.5-7B-Instruct"


def _bad(spec: str, why: str) -> BadInput:
    return BadInput(f"checks.tokenizer = {spec!r}: {why}")


class _TokenizersCounter:
    """Counts with a `tokenizers.Tokenizer`."""

    def __init__(self, tokenizer: Any, spec: str):
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.tokenizer, self.spec = tokenizer, spec

    def __call__(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def __repr__(self) -> str:
        return f"TokenCounter({self.spec!r})"


class _TransformersCounter:
    """Counts with a transformers tokenizer (fast or slow)."""

    def __init__(self, tokenizer: Any, spec: str):
        self.tokenizer, self.spec = tokenizer, spec

    def __call__(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, padding=False)["input_ids"]
        return [len(x) for x in ids]

    def __repr__(self) -> str:
        return f"TokenCounter({self.spec!r})"


def _from_file(path: Path, spec: str) -> _TokenizersCounter:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise _bad(spec, "loading a tokenizer.json needs the tokenizers package (pip install tokenizers)") from None
    try:
        return _TokenizersCounter(Tokenizer.from_file(str(path)), spec)
    except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
        raise _bad(spec, f"cannot load {path} as a tokenizer.json: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def load_token_counter(spec: str) -> TokenCounter:
    """A batch token counter for the tokenizer `spec`; BadInput naming `checks.tokenizer` and the
    spec when it cannot be loaded."""
    spec = spec.strip()
    if not spec:
        raise BadInput("checks.tokenizer is empty; set it to a tokenizer.json file, a folder or a hub id")
    path = Path(spec).expanduser()
    if path.is_file():
        return _from_file(path, spec)
    if not path.exists() and (not _HUB_ID.fullmatch(spec) or spec.endswith(".json")):
        raise _bad(spec, f"no such file or folder {path}")
    try:
        import transformers
    except ImportError:
        transformers = None
    if transformers is not None:
        try:
            return _TransformersCounter(transformers.AutoTokenizer.from_pretrained(spec), spec)
        except Exception as exc:  # OSError, ValueError, HTTP errors, …: all mean "cannot load"
            if path.is_dir() and (path / "tokenizer.json").is_file():
                return _from_file(path / "tokenizer.json", spec)
            raise _bad(spec, f"transformers cannot load it: {_first_line(exc)}") from None
    if path.is_dir():
        if (path / "tokenizer.json").is_file():
            return _from_file(path / "tokenizer.json", spec)
        raise _bad(spec, f"folder {path} has no tokenizer.json; other tokenizer formats need transformers "
                   "(pip install transformers)")
    raise _bad(spec, "loading a tokenizer by hub id needs transformers (pip install transformers), "
               "or point checks.tokenizer at a local tokenizer.json")
