"""What changed between two frozen versions: samples added, removed and edited, by sample id.

A sample keeps its id when a reviewer edits it (the id is fixed when the sample is first seen),
so the same id with different text in two versions is an edit, and an id in only one of them
is an addition or a removal. A sample that only moved between splits is counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factory.versions import GENERAL_EVAL, VersionInfo

SPLITS = ("train", "eval", GENERAL_EVAL.removesuffix(".jsonl"))
COMPARED_FIELDS = ("instruction", "input", "output", "system", "history", "tags", "lang")


@dataclass
class EditedSample:
    id: str
    old: dict[str, Any]
    new: dict[str, Any]
    fields: list[str]  # which of COMPARED_FIELDS differ


@dataclass
class VersionDiff:
    old_ref: str
    new_ref: str
    added: list[dict[str, Any]] = field(default_factory=list)  # records with their "split"
    removed: list[dict[str, Any]] = field(default_factory=list)
    edited: list[EditedSample] = field(default_factory=list)
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (id, old split, new split), text unchanged
    unchanged: int = 0

    def summary(self) -> str:
        return (f"{self.old_ref} → {self.new_ref}: {len(self.added)} added, {len(self.removed)} removed, "
                f"{len(self.edited)} edited, {len(self.moved)} moved between splits, {self.unchanged} unchanged")


def records_by_id(version: VersionInfo) -> dict[str, dict[str, Any]]:
    """Every record of a version (all splits), by sample id, each with the split it is in."""
    found: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        if (version.path / f"{split}.jsonl").is_file():
            for record in version.records(split):
                found[record["id"]] = {**record, "split": split}
    return found


def diff_versions(old: VersionInfo, new: VersionInfo) -> VersionDiff:
    before, after = records_by_id(old), records_by_id(new)
    diff = VersionDiff(old_ref=old.ref, new_ref=new.ref)
    diff.added = [after[i] for i in sorted(after.keys() - before.keys())]
    diff.removed = [before[i] for i in sorted(before.keys() - after.keys())]
    for sample_id in sorted(before.keys() & after.keys()):
        a, b = before[sample_id], after[sample_id]
        changed = [f for f in COMPARED_FIELDS if _value(a, f) != _value(b, f)]
        if changed:
            diff.edited.append(EditedSample(id=sample_id, old=a, new=b, fields=changed))
        elif a["split"] != b["split"]:
            diff.moved.append((sample_id, a["split"], b["split"]))
        else:
            diff.unchanged += 1
    return diff


def _value(record: dict[str, Any], name: str) -> Any:
    value = record.get(name)
    if name == "history":
        return [list(turn) for turn in value or []]
    if name == "tags":
        return list(value or [])
    return value if value is not None or name != "input" else ""

