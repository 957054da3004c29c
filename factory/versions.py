"""Frozen dataset versions: immutable, hash-verified folders under `.factory/versions/NAME/vN/`.

A version is written to a temporary folder and renamed into place, so a crash never leaves a
half version; its files are made read-only. The eval split is chosen by a hash of the sample
id (and seed), so a sample stays on the same side of the split as the dataset grows and an
eval question never drifts into a later version's train split. `dataset_hash` covers the data
files; `verify` recomputes every hash in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from factory import __version__
from factory.errors import VersionError
from factory.jobs import job_lock
from factory.progress import Progress, no_progress
from factory.sample import Sample
from factory.store import SampleFilter
from factory.workspace import Workspace

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DATA_FILES = ("train.jsonl", "eval.jsonl")
MANIFEST = "manifest.json"
CARD = "README.md"
FORMAT = "factory-version/1"


class VersionInfo(BaseModel):
    name: str
    version: int
    path: Path
    manifest: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def dataset_hash(self) -> str:
        return self.manifest["dataset_hash"]

    def records(self, split: str) -> list[dict[str, Any]]:
        path = self.path / f"{split}.jsonl"
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]


def version_record(sample: Sample) -> dict[str, Any]:
    """What a version ships for one sample: the alpaca fields plus provenance, no review state."""
    return {"id": sample.id, **sample.text_fields(), "lang": sample.lang, "tags": sample.tags,
            "source": sample.source.model_dump()}


def canonical_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def split_eval(ids: Sequence[str], ratio: float, seed: int) -> set[str]:
    """Eval ids: those whose seeded hash falls under `ratio`; at least one when asked for any."""
    def position(sample_id: str) -> float:
        digest = hashlib.sha256(f"{seed}:{sample_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    if ratio <= 0 or len(ids) < 2:
        return set()
    ranked = sorted(ids, key=position)
    chosen = {i for i in ranked if position(i) < ratio}
    return chosen or {ranked[0]}


def _sha256_and_records(path: Path) -> tuple[str, int]:
    """The file's sha256 and its count of non-blank lines, in one read."""
    digest, records = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            records += bool(line.strip())
    return digest.hexdigest(), records


def dataset_hash(file_hashes: dict[str, str]) -> str:
    text = "".join(f"{name}:{file_hashes[name]}\n" for name in DATA_FILES)
    return hashlib.sha256(text.encode()).hexdigest()


# -- listing and references ---------------------------------------------------------------
def list_versions(ws: Workspace, name: str | None = None) -> list[VersionInfo]:
    found = []
    if not ws.versions_dir.is_dir():
        return found
    for folder in sorted(ws.versions_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith(".") or (name and folder.name != name):
            continue
        for vdir in folder.iterdir():
            match = re.fullmatch(r"v(\d+)", vdir.name)
            if match and (vdir / MANIFEST).is_file():
                manifest = json.loads((vdir / MANIFEST).read_text(encoding="utf-8"))
                found.append(VersionInfo(name=folder.name, version=int(match[1]), path=vdir, manifest=manifest))
    return sorted(found, key=lambda v: (v.name, v.version))


def resolve_version(ws: Workspace, ref: str) -> VersionInfo:
    """`NAME@vN`, `NAME@latest`, `NAME` (latest) or `NAME@<dataset hash prefix>`."""
    name, _, which = ref.partition("@")
    versions = list_versions(ws, name)
    if not versions:
        raise VersionError(f"{ref}: no versions named {name!r}; `factory versions` lists them")
    if which in ("", "latest"):
        return versions[-1]
    if re.fullmatch(r"v\d+", which):
        for v in versions:
            if v.version == int(which[1:]):
                return v
        raise VersionError(f"{ref}: no such version; {name} has " + ", ".join(f"v{v.version}" for v in versions))
    if re.fullmatch(r"[0-9a-f]{4,64}", which):
        matches = [v for v in versions if v.dataset_hash.startswith(which)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise VersionError(f"{ref}: hash prefix is ambiguous ({', '.join(v.ref for v in matches)})")
    raise VersionError(f"{ref}: not a version reference; use NAME@vN, NAME@latest or NAME@<hash prefix>")


# -- freezing -----------------------------------------------------------------------------
def freeze_version(ws: Workspace, name: str, *, eval_ratio: float | None = None, seed: int | None = None,
                   reuse_identical: bool = False, wait: bool = False,
                   progress: Progress = no_progress) -> tuple[VersionInfo, bool]:
    """Freeze every approved sample into the next version of `name`.

    Returns the version and whether it is new; with `reuse_identical`, an approved set identical
    to the latest version returns that version instead of writing a copy.
    """
    if not NAME_PATTERN.match(name):
        raise VersionError(f"{name!r}: a version name is letters, digits, '.', '_' or '-' (at most 64)")
    eval_ratio = ws.config.freeze.eval_ratio if eval_ratio is None else eval_ratio
    seed = ws.config.freeze.seed if seed is None else seed
    if not 0 <= eval_ratio < 1:
        raise VersionError(f"--eval-ratio must be in [0, 1), got {eval_ratio}")
    with job_lock(ws.lock_path, f"freeze {name}", wait=wait), ws.open_store() as store:
        samples = sorted(store.samples(SampleFilter(status="approved")), key=lambda s: s.id)
        if not samples:
            raise VersionError("no approved samples to freeze; approve some with `factory approve` first")
        eval_ids = split_eval([s.id for s in samples], eval_ratio, seed)
        lines = {"train.jsonl": [], "eval.jsonl": []}
        for done, sample in enumerate(samples, 1):
            split = "eval.jsonl" if sample.id in eval_ids else "train.jsonl"
            lines[split].append(canonical_line(version_record(sample)))
            if done % 1000 == 0:
                progress(done, len(samples))
        hashes = {f: hashlib.sha256("".join(lines[f]).encode("utf-8")).hexdigest() for f in DATA_FILES}
        existing = list_versions(ws, name)
        parent = existing[-1] if existing else None
        if reuse_identical and parent and parent.dataset_hash == dataset_hash(hashes):
            return parent, False

        number = parent.version + 1 if parent else 1
        folder = ws.versions_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".tmp-*"):  # left by a crashed freeze; never a version
            shutil.rmtree(stale, ignore_errors=True)
        tmp = folder / f".tmp-v{number}-{os.getpid()}"
        tmp.mkdir()
        for filename in DATA_FILES:
            (tmp / filename).write_text("".join(lines[filename]), encoding="utf-8")
        manifest = _manifest(name, number, samples, eval_ids, eval_ratio, seed, parent, ws, hashes,
                             {f: len(lines[f]) for f in DATA_FILES})
        (tmp / CARD).write_text(_card(manifest), encoding="utf-8")
        card_hash, _ = _sha256_and_records(tmp / CARD)
        manifest["files"][CARD] = {"sha256": card_hash, "bytes": (tmp / CARD).stat().st_size}
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        for file in tmp.iterdir():
            file.chmod(0o444)
        final = folder / f"v{number}"
        os.rename(tmp, final)  # atomic: the version appears whole or not at all
        progress(len(samples), len(samples))
        return VersionInfo(name=name, version=number, path=final, manifest=manifest), True


def _manifest(name: str, number: int, samples: list[Sample], eval_ids: set[str], eval_ratio: float, seed: int,
              parent: VersionInfo | None, ws: Workspace, hashes: dict[str, str],
              records: dict[str, int]) -> dict[str, Any]:
    by_uri = Counter((s.source.kind, s.source.uri) for s in samples)
    total = len(samples)
    return {
        "format": FORMAT,
        "name": name,
        "version": number,
        "ref": f"{name}@v{number}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "factory_version": __version__,
        "parent": {"ref": parent.ref, "dataset_hash": parent.dataset_hash} if parent else None,
        "seed": seed,
        "eval_ratio": {"asked": eval_ratio, "achieved": round(len(eval_ids) / total, 4)},
        "counts": {
            "total": total,
            "train": total - len(eval_ids),
            "eval": len(eval_ids),
            "by_source": dict(sorted(Counter(s.source.kind for s in samples).items())),
            "by_lang": dict(sorted(Counter(s.lang or "unknown" for s in samples).items())),
        },
        "sources": [{"kind": k, "uri": u, "samples": n} for (k, u), n in sorted(by_uri.items())],
        "check_config": ws.config.checks.model_dump(),
        "files": {f: {"sha256": hashes[f], "records": records[f]} for f in DATA_FILES},
        "dataset_hash": dataset_hash(hashes),
    }


def _card(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    rows = "\n".join(f"| {lang} | {n} |" for lang, n in counts["by_lang"].items())
    kinds = "\n".join(f"| {kind} | {n} |" for kind, n in counts["by_source"].items())
    top = sorted(manifest["sources"], key=lambda s: -s["samples"])[:20]
    sources = "\n".join(f"- `{s['uri']}` ({s['kind']}): {s['samples']}" for s in top)
    parent = manifest["parent"]["ref"] if manifest["parent"] else "none"
    return f"""# {manifest['ref']}

Frozen by dataset-factory {manifest['factory_version']} at {manifest['created_at']}.
Dataset hash `{manifest['dataset_hash']}`; parent version: {parent}.

| split | samples |
|---|---|
| train | {counts['train']} |
| eval | {counts['eval']} |

Eval ratio asked {manifest['eval_ratio']['asked']}, achieved {manifest['eval_ratio']['achieved']} (seed {manifest['seed']}).

| language | samples |
|---|---|
{rows}

| source kind | samples |
|---|---|
{kinds}

## Largest sources
{sources}

## Use
- `factory verify {manifest['ref']}` recomputes every hash in `manifest.json`.
- `factory export {manifest['ref']} --format llamafactory --out DIR` writes LLaMA-Factory data.
"""


# -- verifying ----------------------------------------------------------------------------
def verify_version(version: VersionInfo) -> list[str]:
    """Every difference between the folder and its manifest; empty when the version is intact."""
    problems = []
    files = version.manifest.get("files", {})
    actual: dict[str, str] = {}
    for filename, expected in files.items():
        path = version.path / filename
        if not path.is_file():
            problems.append(f"{filename}: missing")
            continue
        actual[filename], records = _sha256_and_records(path)
        if actual[filename] != expected["sha256"]:
            problems.append(f"{filename}: sha256 {actual[filename][:12]}… does not match the manifest's "
                            f"{expected['sha256'][:12]}…")
        if "records" in expected and records != expected["records"]:
            problems.append(f"{filename}: {records} records, the manifest says {expected['records']}")
    for path in version.path.iterdir():
        if path.name not in files and path.name != MANIFEST:
            problems.append(f"{path.name}: not in the manifest")
    if all(f in actual for f in DATA_FILES) and dataset_hash(actual) != version.manifest.get("dataset_hash"):
        problems.append("dataset hash does not match the manifest")
    return problems
