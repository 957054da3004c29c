"""The record: one pydantic `Sample` in the LLaMA-Factory alpaca shape, plus its provenance.

`id` is a content hash of the normalised text, so the same pair extracted from two places is
one sample. It is fixed when the sample is first seen: a reviewer's edit keeps the id, so the
next extraction of the unchanged note finds the edited sample instead of re-adding the old text.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["pending", "approved", "rejected"]
Severity = Literal["reject", "warn"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "rejected")

_TRAILING_SPACE = re.compile(r"[ \t]+\n")
# Built once: `json.dumps` with options builds an encoder per call, and ids are computed per row.
_ID_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def normalise_text(text: str) -> str:
    """NFC, unix newlines, no trailing spaces, no leading or trailing blank lines.

    Indentation inside the text is kept: it is meaningful in code answers.
    """
    if not text:  # most inputs and systems: nothing to do
        return text
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    if " \n" in text or "\t\n" in text:  # the regex scan costs more than the rest together
        text = _TRAILING_SPACE.sub("\n", text)
    return text.strip("\n").rstrip()


def content_id(
    instruction: str,
    input: str = "",
    output: str = "",
    system: str | None = None,
    history: list[tuple[str, str]] | None = None,
) -> str:
    """The sample id: 16 hex digits of sha256 over the normalised fields."""
    payload = _ID_ENCODER.encode(
        [
            normalise_text(instruction),
            normalise_text(input),
            normalise_text(output),
            normalise_text(system or ""),
            [[normalise_text(u), normalise_text(a)] for u, a in history or []],
        ]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class Source(BaseModel):
    """Where a sample came from, precisely enough to open the original."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str  # "notes", "dataset", "self_instruct", "manual", ...
    uri: str  # a file path relative to the extraction root, a dataset id, a request id
    locator: dict[str, Any] = Field(default_factory=dict)  # heading path, line range, row, ...
    extractor_version: str = ""
    content_hash: str = ""  # hash of the whole source document or row this came from
    license: str = ""  # SPDX-style id of the source's license ("cc-by-nc-4.0"), when known


class Finding(BaseModel):
    """One thing a check noticed about a sample."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str  # the check's name, e.g. "fields"
    code: str  # stable snake_case reason code, e.g. "empty_output"
    severity: Severity
    message: str
    related_id: str | None = None  # the other sample, for duplicates


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    instruction: str
    input: str = ""
    output: str
    system: str | None = None
    history: list[tuple[str, str]] = Field(default_factory=list)
    source: Source
    lang: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: Status = "pending"
    findings: list[Finding] = Field(default_factory=list)
    revision: int = 0

    @model_validator(mode="after")
    def _fill_id(self) -> "Sample":
        if not self.id:
            self.id = content_id(self.instruction, self.input, self.output, self.system, self.history)
        return self

    def text_fields(self) -> dict[str, Any]:
        """The fields a reviewer edits and a version ships."""
        return {
            "instruction": self.instruction,
            "input": self.input,
            "output": self.output,
            "system": self.system,
            "history": [list(turn) for turn in self.history],
        }
