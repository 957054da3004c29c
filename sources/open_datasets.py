"""Open instruction datasets: a Hugging Face hub id or a local file, row by row into `Sample`s.

    opened = open_dataset(DatasetRequest(source="data/alpaca.jsonl"))
    for batch in opened.batches(2000):           # lists of Sample or RowError, memory stays flat
        ...

Where rows come from:
- a hub id (`tatsu-lab/alpaca`, with revision, subset and split) or a local dataset folder, and
  local `.parquet` and `.csv` files: `datasets.load_dataset(..., streaming=True)`;
- local `.jsonl` and `.json`: read here, line by line. `datasets`' JSON loader fails the whole
  file on one bad line and turns a column of mixed types into JSON-encoded strings (the output
  `"b"` arrives as `'"b"'`), so a dirty file would either land nothing or land altered text.
  Read here, every bad line is one error naming its line and the good rows still land. A `.json`
  file holding one array is parsed whole (it cannot stream; use JSON lines for large files), and
  so is a `.json` file holding one object: a pretty-printed row is one row, and an object whose
  rows sit in its one list of objects (`{"version": 2, "data": [...]}`) gives those rows. The same
  object in a `.jsonl` file is refused in one line: its lines are not rows, and calling each of
  them "not valid JSON" would hide what is wrong.

Formats: `alpaca` (instruction, input, output, optional system and history), `sharegpt`
(`conversations` of {from, value} with roles human/gpt/system), `openai` (`messages` of
{role, content}), or any columns named with a mapping such as `output=answer,instruction=q`.
`auto` looks at the first row's columns and says which it chose. Multi-turn conversations keep
their earlier turns as `history`; the last user turn is the instruction, the answer the output.

This module reads; it never writes the store (`factory.importing` does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

from factory.errors import BadInput
from factory.sample import Sample, Source, content_id

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = "dataset-rows/1"
Format = Literal["auto", "alpaca", "sharegpt", "openai"]
FORMATS: tuple[str, ...] = get_args(Format)
FIELDS = ("instruction", "input", "output", "system", "history")
BUILTIN = "builtin:"
BUILTIN_LICENSE = "apache-2.0"  # written for this project, under its license
LOCAL_SUFFIXES = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}
# Built once: `json.dumps` with options builds an encoder per call, and every row is hashed.
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# JSON allows "\ud800" alone; it is no character, and SQLite, hashing and every export fail on it.
_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_PROBLEM = "holds a lone surrogate escape (such as \\ud800), which is not text; fix or drop it"
# A JSON lines file whose first line is no JSON value may be one pretty-printed document: up to
# this size it is parsed whole to tell (beyond, it is read as JSON lines and its lines reported).
_SNIFF_WHOLE_BYTES = 64 << 20
# ShareGPT speakers as LLaMA-Factory's converter names them; trl does not map these for you.
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "system": "system"}


class DatasetRequest(BaseModel):
    """What the user asked to import (the `factory import` arguments)."""

    source: str  # a hub id or a local path
    revision: str | None = None
    subset: str | None = None
    split: str = "train"
    format: Format = "auto"
    mapping: dict[str, str] = Field(default_factory=dict)  # our field -> their column
    license: str | None = None  # overrides the dataset card's


class RowError(BaseModel):
    row: int  # 0-based row index; in a JSON lines file, the line number minus one
    field: str | None
    message: str
    line: int | None = None  # 1-based, for JSON lines files

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else f"row {self.row}"
        return where + (f", field {self.field!r}" if self.field else "") + f": {self.message}"


def parse_mapping(text: str) -> dict[str, str]:
    """`output=answer,instruction=q` -> {"output": "answer", "instruction": "q"}."""
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        ours, eq, theirs = part.partition("=")
        ours, theirs = ours.strip(), theirs.strip()
        if not eq or not theirs or ours not in FIELDS:
            raise BadInput(f"--map {text!r}: expected FIELD=COLUMN pairs with FIELD one of {', '.join(FIELDS)}")
        mapping[ours] = theirs
    return mapping  # fields left unmapped keep their alpaca column names


@dataclass
class OpenedDataset:
    """A dataset ready to read: where it is, what it is, and its rows in batches."""

    uri: str  # how samples name it: a workspace-relative path or hf:ID[:subset]:split
    content_hash: str  # the file's sha256 or the hub commit; equal hash + same options = nothing to do
    revision: str | None
    license: str  # from --license, else the dataset card, else ""
    license_from: str  # "--license", "the dataset card" or "unknown"
    format: str = ""  # decided on the first row (auto detection)
    total: int | None = None  # rows, when known up front
    line_numbers: bool = False  # row i is line i + 1 of a JSON lines file
    _rows: Iterator[tuple[int, dict[str, Any] | RowError]] | None = field(default=None, repr=False)
    _request: DatasetRequest | None = field(default=None, repr=False)

    def batches(self, size: int = 2000) -> Iterator[list[Sample | RowError]]:
        assert self._rows is not None and self._request is not None
        batch: list[Sample | RowError] = []
        for index, row in self._rows:
            if isinstance(row, RowError):
                batch.append(row)
            else:
                if not self.format:
                    self.format = detect_format(row, self._request)
                converted = row_to_sample(row, index, self)
                if isinstance(converted, RowError) and self.line_numbers:
                    converted.line = index + 1
                batch.append(converted)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


# -- opening ------------------------------------------------------------------------------
def builtin_datasets() -> dict[str, Path]:
    """Datasets shipped with the project, by name (`builtin:starter`, the bilingual general pool)."""
    folder = Path(str(resources.files("factory") / "general"))
    return {p.stem: p for p in sorted(folder.glob("*.jsonl"))}


def open_dataset(request: DatasetRequest, *, uri: str | None = None) -> OpenedDataset:
    """Open a local file or folder, a bundled dataset or a hub dataset; `uri` names a local one."""
    if request.source.startswith(BUILTIN):
        name = request.source[len(BUILTIN):]
        bundled = builtin_datasets()
        if name not in bundled:
            raise BadInput(f"{request.source}: no such bundled dataset; there are {', '.join(map(repr, bundled))}")
        request = request.model_copy(update={"license": request.license or BUILTIN_LICENSE})
        return open_dataset(request.model_copy(update={"source": str(bundled[name])}), uri=request.source)
    path = Path(request.source).expanduser()
    if path.exists():
        opened = _open_local(path, request, uri or str(path))
    elif path.suffix.lower() in LOCAL_SUFFIXES:  # "data/x.jsonl" also matches a hub id's shape
        raise BadInput(f"{request.source}: no such file")
    elif _HUB_ID.match(request.source) and not request.source.startswith("."):
        opened = _open_hub(request)
    else:
        raise BadInput(f"{request.source}: no such file, and not a Hugging Face dataset id")
    opened._request = request
    opened.format = "" if request.format == "auto" else request.format
    return opened


def _license(request: DatasetRequest, card_license: str | None) -> tuple[str, str]:
    if request.license:
        return request.license, "--license"
    if card_license:
        return card_license, "the dataset card"
    return "", "unknown"


def _open_local(path: Path, request: DatasetRequest, uri: str) -> OpenedDataset:
    _refuse_special_file(path)
    if path.is_dir():  # a dataset folder laid out like a hub repo (data files + README.md card)
        digest = _hash_folder(path)
        license, origin = _license(request, _card_license(path / "README.md"))
        rows = _datasets_rows(str(path), request, data_files=None)
        return OpenedDataset(uri=f"{uri}:{request.split}", content_hash=digest, revision=None,
                             license=license, license_from=origin, _rows=rows)
    kind = LOCAL_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BadInput(f"{path}: unsupported file type; import .json, .jsonl, .parquet or .csv")
    digest = _hash_file(path)
    license, origin = _license(request, None)
    if kind == "json":
        rows, total, line_numbers = _json_rows(path, request)
    else:
        rows = _datasets_rows(kind, request, data_files=str(path))
        total, line_numbers = (_parquet_rows(path) if kind == "parquet" else None), False
    return OpenedDataset(uri=uri, content_hash=digest, revision=None, license=license, license_from=origin,
                         total=total, line_numbers=line_numbers, _rows=rows)


def _open_hub(request: DatasetRequest) -> OpenedDataset:
    from huggingface_hub import HfApi

    try:
        info = HfApi().dataset_info(request.source, revision=request.revision)
    except Exception as exc:  # noqa: BLE001 - HTTP, connection (httpx), offline and validation errors alike
        raise BadInput(f"{request.source}: cannot reach this dataset on the Hugging Face hub: "
                       f"{str(exc).splitlines()[0]}") from None
    card = info.card_data.to_dict() if info.card_data else {}
    card_license = card.get("license")
    if isinstance(card_license, list):
        card_license = ",".join(card_license)
    license, origin = _license(request, card_license)
    revised = request.model_copy(update={"revision": info.sha})  # pin: the rows match the hash
    total = None
    if info.card_data and getattr(info.card_data, "dataset_info", None):
        total = _card_split_rows(card.get("dataset_info"), request.subset, request.split)
    uri = f"hf:{request.source}" + (f":{request.subset}" if request.subset else "") + f":{request.split}"
    return OpenedDataset(uri=uri, content_hash=f"hub:{info.sha}", revision=info.sha, license=license,
                         license_from=origin, total=total, _rows=_datasets_rows(request.source, revised))


def _refuse_special_file(path: Path) -> None:
    """Only regular files and folders are read, told from their stat before anything opens them:
    reading a FIFO waits for a writer forever, and a device such as /dev/zero never ends."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise BadInput(f"{path}: not a regular file ({kind}); import a .json, .jsonl, .parquet or .csv file "
                       "or a dataset folder")


def _card_split_rows(dataset_info: Any, subset: str | None, split: str) -> int | None:
    entries = dataset_info if isinstance(dataset_info, list) else [dataset_info]
    for entry in entries:
        if not isinstance(entry, dict) or (subset and entry.get("config_name") not in (subset, None)):
            continue
        for s in entry.get("splits") or []:
            if s.get("name") == split and isinstance(s.get("num_examples"), int):
                return s["num_examples"]
    return None


def _card_license(readme: Path) -> str | None:
    if not readme.is_file():
        return None
    from huggingface_hub import DatasetCard

    try:
        license = DatasetCard.load(readme).data.to_dict().get("license")
    except Exception as exc:  # noqa: BLE001 - YAML and card validation errors of many types
        raise BadInput(f"{readme.parent}: cannot read the dataset card {readme.name}: "
                       f"{str(exc).splitlines()[0]}") from None
    return ",".join(license) if isinstance(license, list) else license


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_folder(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and ".cache" not in p.parts):
        digest.update(f"{file.relative_to(path).as_posix()}\0{_hash_file(file)}\n".encode())
    return digest.hexdigest()


def _parquet_rows(path: Path) -> int | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise BadInput(f"{path}: not a readable parquet file: {exc}") from None


def _json_rows(path: Path, request: DatasetRequest) -> tuple[Iterator[tuple[int, dict[str, Any] | RowError]], int,
                                                               bool]:
    """Rows of a JSON array, JSON object or JSON lines file, their count, and whether rows are lines."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        data = _whole_json(path)
        if not isinstance(data, list):
            raise BadInput(f"{path}: expected a JSON array of objects or JSON lines")
        return _array_rows(data), len(data), False
    document = _spread_object(path)
    if document is not None:
        if path.suffix.lower() == ".jsonl":
            raise BadInput(f"{path}: one JSON object spread over several lines, not JSON lines (one object per "
                           "line); write one row per line, or name the file .json if it is one JSON document")
        data = _object_rows(document, path, request)
        return _array_rows(data), len(data), False
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return _json_lines(path), lines, True


def _array_rows(data: list[Any]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    return ((i, row if isinstance(row, dict) else RowError(row=i, field=None, message="not a JSON object"))
            for i, row in enumerate(data))


def _whole_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of 5,000 digits
        raise BadInput(f"{path}: not valid JSON: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise BadInput(f"{path}: not valid JSON: nested too deep to read") from None


def _spread_object(path: Path) -> dict[str, Any] | None:
    """The file's one JSON object when it is pretty-printed over several lines; None when its
    first line is a JSON value of its own (JSON lines) or the file is no JSON document."""
    with path.open("rb") as handle:
        first = next((line.strip() for line in handle if line.strip()), b"").removeprefix(b"\xef\xbb\xbf").strip()
    try:
        json.loads(first)
        return None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        pass
    if first != b"{" and path.stat().st_size > _SNIFF_WHOLE_BYTES:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        if first == b"{":  # a lone brace opens a pretty-printed object, never a JSON line
            raise BadInput(f"{path}: looks like one JSON object spread over several lines (its first line is a lone "
                           f"'{{'), but it is not valid JSON: {str(exc).splitlines()[0]}") from None
        return None
    return value if isinstance(value, dict) else None


def _object_rows(document: dict[str, Any], path: Path, request: DatasetRequest) -> list[Any]:
    """A JSON document's rows: itself when it is one row, else the one list of objects it holds."""
    row_keys = {"instruction", "output", "conversations", "messages", *request.mapping.values()}
    if document.keys() & row_keys:
        return [document]
    lists = [key for key, value in document.items() if isinstance(value, list) and value and isinstance(value[0], dict)]
    if len(lists) != 1:
        found = f"{len(lists)} lists of objects ({', '.join(map(repr, lists[:5]))})" if lists else "no list of objects"
        raise BadInput(f"{path}: one JSON object with {found}, not rows; expected a JSON array of objects, JSON lines, "
                       "or an object holding its rows in one list")
    log.info("%s: reading the %d rows under %r", path, len(document[lists[0]]), lists[0])
    return document[lists[0]]


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            row = number - 1
            try:
                value = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError:
                yield row, RowError(row=row, line=number, field=None, message="not UTF-8")
                continue
            except json.JSONDecodeError as exc:
                yield row, RowError(row=row, line=number, field=None,
                                    message=f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})")
                continue
            except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
                yield row, RowError(row=row, line=number, field=None, message=f"not readable JSON ({exc})")
                continue
            except RecursionError:
                yield row, RowError(row=row, line=number, field=None, message="not valid JSON (nested too deep to read)")
                continue
            if not isinstance(value, dict):
                yield row, RowError(row=row, line=number, field=None, message="not a JSON object")
                continue
            yield row, value


def _datasets_rows(path: str, request: DatasetRequest,
                   data_files: str | None = None) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    import datasets

    # Its errors reach us as exceptions and become one BadInput line; logged as well, each would be
    # printed twice more (by its own handler and by the CLI's).
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    datasets.disable_progress_bars()  # the CLI draws one bar for the whole import
    try:
        stream = datasets.load_dataset(path, name=request.subset, data_files=data_files, split=request.split,
                                       revision=request.revision, streaming=True)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for a missing split, config or file
        raise BadInput(f"{request.source}: cannot load with datasets: {str(exc).splitlines()[0]}") from None

    def rows() -> Iterator[tuple[int, dict[str, Any] | RowError]]:
        index = 0
        try:
            for batch in stream.iter(batch_size=1000):
                columns = list(batch)
                for values in zip(*(batch[c] for c in columns)):
                    yield index, dict(zip(columns, values))
                    index += 1
        except Exception as exc:  # noqa: BLE001 - any reader failure mid-stream: name where it stopped
            raise BadInput(f"{request.source}: unreadable after row {index}: {str(exc).splitlines()[0]}") from None

    return rows()


# -- rows to samples ----------------------------------------------------------------------
def detect_format(row: dict[str, Any], request: DatasetRequest) -> str:
    if request.format != "auto":
        return request.format
    if request.mapping:
        return "alpaca"
    if isinstance(row.get("conversations"), list):
        return "sharegpt"
    messages = row.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return "openai" if "role" in messages[0] else "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    raise BadInput(f"{request.source}: cannot tell the format from the columns {sorted(row)}; pass --format "
                   "alpaca|sharegpt|openai or --map instruction=COLUMN,output=COLUMN")


def row_to_sample(row: dict[str, Any], index: int, opened: OpenedDataset) -> Sample | RowError:
    try:
        fields = _CONVERTERS[opened.format](row, opened._request.mapping if opened._request else {})
    except _RowProblem as problem:
        return RowError(row=index, field=problem.field, message=problem.message)
    # surrogatepass: a lone surrogate in a column no field reads is hashed, not fatal.
    digest = hashlib.sha256(_ROW_ENCODER.encode(row).encode("utf-8", "surrogatepass")).hexdigest()
    locator: dict[str, Any] = {"row": index}
    if opened.revision:
        locator["revision"] = opened.revision
    # The converters checked every type, so the models are built without validating again
    # (a third of the import's time on a million rows); the id is computed as Sample would.
    source = Source.model_construct(kind="dataset", uri=opened.uri, locator=locator,
                                    extractor_version=f"{EXTRACTOR_VERSION} {opened.format}",
                                    content_hash=digest[:16], license=opened.license)
    fields["id"] = content_id(fields["instruction"], fields["input"], fields["output"], fields["system"],
                              fields["history"])
    return Sample.model_construct(source=source, lang=None, tags=[], status="pending", findings=[], revision=0,
                                  **fields)


class _RowProblem(Exception):
    def __init__(self, field: str | None, message: str):
        self.field, self.message = field, message


def _text(value: Any, field: str, required: bool) -> str:
    if value is None:
        if required:
            raise _RowProblem(field, "is null")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # an answer of 42 is text "42"
    if not isinstance(value, str):
        raise _RowProblem(field, f"expected text, got {type(value).__name__}")
    if not value.isascii() and _SURROGATE.search(value):  # isascii() is a flag read: the common case costs nothing
        raise _RowProblem(field, SURROGATE_PROBLEM)
    return value


def _alpaca(row: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("instruction", "input", "output", "system"):
        column = mapping.get(name, name)
        required = name in ("instruction", "output")
        if column not in row:
            if required:
                raise _RowProblem(column, "missing" + (f" (mapped to {name})" if column != name else ""))
            continue
        fields[name] = _text(row[column], column, required)
    fields.setdefault("input", "")
    if not fields.get("system"):
        fields["system"] = None
    column = mapping.get("history", "history")
    history = row.get(column) or []
    if not isinstance(history, list) or not all(
            isinstance(t, (list, tuple)) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in history):
        raise _RowProblem(column, "expected a list of [user, assistant] pairs")
    if any(not x.isascii() and _SURROGATE.search(x) for t in history for x in t):
        raise _RowProblem(column, SURROGATE_PROBLEM)
    fields["history"] = [tuple(t) for t in history]
    return fields


def _turns_to_fields(turns: list[tuple[str, str]], field: str) -> dict[str, Any]:
    """[(role, text), ...] with roles system/user/assistant -> alpaca fields with history."""
    system = None
    if turns and turns[0][0] == "system":
        system = turns[0][1]
        turns = turns[1:]
    if not turns:
        raise _RowProblem(field, "no user or assistant turns")
    for position, (role, _) in enumerate(turns):
        expected = "user" if position % 2 == 0 else "assistant"
        if role != expected:
            raise _RowProblem(field, f"turn {position + 1} is {role!r}, expected {expected!r} (turns must alternate, "
                                     "user first, after an optional system turn)")
    if len(turns) % 2:
        raise _RowProblem(field, "the last turn is the user's; there is no answer to learn")
    pairs = [(turns[i][1], turns[i + 1][1]) for i in range(0, len(turns), 2)]
    return {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1], "system": system,
            "history": pairs[:-1]}


def _sharegpt(row: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    field = mapping.get("conversations", "conversations" if "conversations" in row else "messages")
    conversation = row.get(field)
    if not isinstance(conversation, list):
        raise _RowProblem(field, "missing or not a list")
    turns = []
    for position, turn in enumerate(conversation, 1):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise _RowProblem(field, f"turn {position} is not an object with 'from' and 'value'")
        role = SHAREGPT_ROLES.get(str(turn["from"]).lower())
        if role is None:
            raise _RowProblem(field, f"turn {position} is from {turn['from']!r}; supported: human, gpt, system")
        turns.append((role, _text(turn["value"], f"{field}[{position - 1}].value", True)))
    fields = _turns_to_fields(turns, field)
    if fields["system"] is None and isinstance(row.get("system"), str) and row["system"]:
        fields["system"] = _text(row["system"], "system", False)  # LLaMA-Factory's sharegpt keeps it in its own column
    return fields


def _openai(row: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    field = mapping.get("messages", "messages")
    messages = row.get(field)
    if not isinstance(messages, list):
        raise _RowProblem(field, "missing or not a list")
    turns = []
    for position, message in enumerate(messages, 1):
        if not isinstance(message, dict) or "role" not in message:
            raise _RowProblem(field, f"message {position} has no 'role'")
        role = message["role"]
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant"):
            raise _RowProblem(field, f"message {position} has role {role!r}; supported: system, user, assistant")
        content = message.get("content")
        if isinstance(content, list):  # content parts: text only; an image the model cannot see is an error
            kinds = {p.get("type") for p in content if isinstance(p, dict)}
            if kinds - {"text"}:
                raise _RowProblem(f"{field}[{position - 1}].content", f"has {', '.join(sorted(map(str, kinds - {'text'})))} "
                                  "parts; only text is supported")
            content = "".join(p.get("text", "") for p in content)
        turns.append((role, _text(content, f"{field}[{position - 1}].content", True)))
    return _turns_to_fields(turns, field)


_CONVERTERS = {"alpaca": _alpaca, "sharegpt": _sharegpt, "openai": _openai}
