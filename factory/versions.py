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
import logging
import os
import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from factory import __version__
from factory.errors import VersionError
from factory.jobs import job_lock
from factory.licenses import is_non_commercial
from factory.mixing import GeneralMix, choose_general, general_count, split_eval
from factory.progress import Progress, no_progress
from factory.sample import Sample
from factory.store import SampleFilter, Store
from factory.workspace import Workspace

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DATA_FILES = ("train.jsonl", "eval.jsonl")
GENERAL_EVAL = "general_eval.jsonl"  # present when general data was mixed in
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


def _sha256_and_records(path: Path) -> tuple[str, int]:
    """The file's sha256 and its count of non-blank lines, in one read."""
    digest, records = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            records += bool(line.strip())
    return digest.hexdigest(), records


def dataset_hash(file_hashes: dict[str, str]) -> str:
    """One hash over the data files (train, eval, and general_eval when the version has one)."""
    names = [*DATA_FILES, *([GENERAL_EVAL] if GENERAL_EVAL in file_hashes else [])]
    text = "".join(f"{name}:{file_hashes[name]}\n" for name in names)
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
                   general_pool: str | None = None, general_ratio: float | None = None,
                   reuse_identical: bool = False, wait: bool = False,
                   progress: Progress = no_progress) -> tuple[VersionInfo, bool]:
    """Freeze every approved domain sample, plus general data from a pool, into the next version.

    Returns the version and whether it is new; with `reuse_identical`, a result identical to the
    latest version returns that version instead of writing a copy.
    """
    cfg = ws.config.freeze
    if not NAME_PATTERN.match(name):
        raise VersionError(f"{name!r}: a version name is letters, digits, '.', '_' or '-' (at most 64)")
    eval_ratio = cfg.eval_ratio if eval_ratio is None else eval_ratio
    seed = cfg.seed if seed is None else seed
    general_pool = cfg.general_pool if general_pool is None else general_pool
    general_ratio = cfg.general_ratio if general_ratio is None else general_ratio
    if not 0 <= eval_ratio < 1:
        raise VersionError(f"--eval-ratio must be in [0, 1), got {eval_ratio}")
    if not 0 <= general_ratio < 1:
        raise VersionError(f"--general-ratio must be in [0, 1), got {general_ratio}")
    threshold = ws.config.checks.near_duplicate_threshold
    with job_lock(ws.lock_path, f"freeze {name}", wait=wait), ws.open_store() as store:
        domain = sorted(store.samples(SampleFilter(status="approved", include_general=False)), key=lambda s: s.id)
        if not domain:
            raise VersionError("no approved samples to freeze; approve some with `factory approve` first")
        progress(0, 3)
        split = split_eval(domain, eval_ratio, seed, threshold)
        progress(1, 3)
        domain_train = len(domain) - len(split.eval_ids)
        pool_info, mix = None, None
        if general_pool:
            pool_info, pool = _general_pool(store, general_pool)
            mix = choose_general(pool, domain, wanted=general_count(domain_train, general_ratio),
                                 held_out=cfg.general_eval_size, seed=seed, threshold=threshold)
            if len(mix.train) < mix.wanted:
                log.warning("general pool %s has only %d usable samples after the held-out %d; the mix is %d, "
                            "not %d", general_pool, len(mix.train), len(mix.held_out), len(mix.train), mix.wanted)
        progress(2, 3)
        lines: dict[str, list[str]] = {"train.jsonl": [], "eval.jsonl": []}
        for sample in domain:
            lines["eval.jsonl" if sample.id in split.eval_ids else "train.jsonl"].append(
                canonical_line(version_record(sample)))
        if mix is not None:
            # General samples go after the domain ones, sorted by id; trainers shuffle.
            lines["train.jsonl"] += [canonical_line(version_record(s)) for s in sorted(mix.train, key=lambda s: s.id)]
            lines[GENERAL_EVAL] = [canonical_line(version_record(s)) for s in sorted(mix.held_out, key=lambda s: s.id)]
        hashes = {f: hashlib.sha256("".join(lines[f]).encode("utf-8")).hexdigest() for f in lines}
        existing = list_versions(ws, name)
        parent = existing[-1] if existing else None
        if reuse_identical and parent and parent.dataset_hash == dataset_hash(hashes):
            return parent, False
        shipped = domain + (mix.train + mix.held_out if mix else [])
        manifest = _manifest(name, parent, ws, seed, domain, split.eval_ids, eval_ratio, split.grouped_pairs,
                             general_pool, pool_info, general_ratio, mix, shipped, hashes,
                             {f: len(v) for f, v in lines.items()})
        for license in manifest["licenses"]["non_commercial"]:
            log.warning("%s@v%d includes samples under %s, which forbids commercial use", name,
                        manifest["version"], license)
        version = _write_version(ws, name, manifest, lines)
        progress(3, 3)
        return version, True


def _general_pool(store: Store, pool: str) -> tuple[dict[str, Any], list[Sample]]:
    """The pool's metadata and its usable samples (checked, not rejected)."""
    info = store.document("general", pool)
    if info is None:
        hint = ("`factory import builtin:starter --pool starter` imports the bundled pool" if pool == "starter"
                else f"`factory import SOURCE --pool {pool}` makes it")
        raise VersionError(f"no general pool named {pool!r}; {hint}")
    unchecked = store.count(SampleFilter(source_kind="general", source_uri=pool, unchecked=True))
    if unchecked:
        raise VersionError(f"general pool {pool!r} has {unchecked} unchecked samples; run `factory check` first")
    samples = [s for s in store.samples(SampleFilter(source_kind="general", source_uri=pool))
               if s.status != "rejected"]
    return {"pool": pool, **info.meta, "content_hash": info.content_hash}, samples


def _write_version(ws: Workspace, name: str, manifest: dict[str, Any], lines: dict[str, list[str]]) -> VersionInfo:
    """Write to a temporary folder, make the files read-only, rename into place."""
    number = manifest["version"]
    folder = ws.versions_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".tmp-*"):  # left by a crashed freeze; never a version
        shutil.rmtree(stale, ignore_errors=True)
    tmp = folder / f".tmp-v{number}-{os.getpid()}"
    tmp.mkdir()
    for filename, content in lines.items():
        (tmp / filename).write_text("".join(content), encoding="utf-8")
    (tmp / CARD).write_text(_card(manifest), encoding="utf-8")
    card_hash, _ = _sha256_and_records(tmp / CARD)
    manifest["files"][CARD] = {"sha256": card_hash, "bytes": (tmp / CARD).stat().st_size}
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for file in tmp.iterdir():
        file.chmod(0o444)
    final = folder / f"v{number}"
    os.rename(tmp, final)  # atomic: the version appears whole or not at all
    return VersionInfo(name=name, version=number, path=final, manifest=manifest)


def _manifest(name: str, parent: VersionInfo | None, ws: Workspace, seed: int, domain: list[Sample],
              eval_ids: set[str], eval_ratio: float, grouped_pairs: int, pool: str, pool_info: dict[str, Any] | None,
              general_ratio: float, mix: GeneralMix | None, shipped: list[Sample], hashes: dict[str, str],
              records: dict[str, int]) -> dict[str, Any]:
    number = parent.version + 1 if parent else 1
    general_train = len(mix.train) if mix else 0
    train = len(domain) - len(eval_ids) + general_train
    by_uri = Counter((s.source.kind, s.source.uri, s.source.license) for s in shipped)
    licenses = Counter(s.source.license or "unknown" for s in shipped)
    return {
        "format": FORMAT,
        "name": name,
        "version": number,
        "ref": f"{name}@v{number}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "factory_version": __version__,
        "parent": {"ref": parent.ref, "dataset_hash": parent.dataset_hash} if parent else None,
        "seed": seed,
        "eval_ratio": {"asked": eval_ratio, "achieved": round(len(eval_ids) / len(domain), 4)},
        "leakage": {"duplicate_pairs_kept_on_one_side": grouped_pairs,
                    "near_duplicate_threshold": ws.config.checks.near_duplicate_threshold},
        "general": None if mix is None or pool_info is None else {
            "pool": pool,
            "source": pool_info.get("uri") or pool_info.get("source"),
            "revision": pool_info.get("revision") or pool_info["content_hash"],
            "license": pool_info.get("license", ""),
            "ratio": {"asked": general_ratio, "achieved": round(general_train / train, 4) if train else 0.0},
            "train": general_train,
            "wanted": mix.wanted,
            "held_out": len(mix.held_out),
            "pool_usable": mix.available,
            "skipped_duplicates_of_domain_data": mix.skipped_duplicates,
        },
        "counts": {
            "total": len(domain) + general_train,
            "train": train,
            "eval": len(eval_ids),
            "general_eval": len(mix.held_out) if mix else 0,
            "by_source": dict(sorted(Counter(s.source.kind for s in domain + (mix.train if mix else [])).items())),
            "by_lang": dict(sorted(Counter(s.lang or "unknown" for s in domain + (mix.train if mix else [])).items())),
        },
        "licenses": {
            "by_license": dict(sorted(licenses.items())),
            "non_commercial": sorted(lic for lic in licenses if is_non_commercial(lic)),
        },
        "sources": [{"kind": k, "uri": u, "license": lic, "samples": n} for (k, u, lic), n in sorted(by_uri.items())],
        "check_config": ws.config.checks.model_dump(),
        "files": {f: {"sha256": hashes[f], "records": records[f]} for f in hashes},
        "dataset_hash": dataset_hash(hashes),
    }


def _card(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    rows = "\n".join(f"| {lang} | {n} |" for lang, n in counts["by_lang"].items())
    kinds = "\n".join(f"| {kind} | {n} |" for kind, n in counts["by_source"].items())
    top = sorted(manifest["sources"], key=lambda s: -s["samples"])[:20]
    sources = "\n".join(f"- `{s['uri']}` ({s['kind']}, license {s['license'] or 'unknown'}): {s['samples']}"
                        for s in top)
    parent = manifest["parent"]["ref"] if manifest["parent"] else "none"
    general = manifest["general"]
    if general:
        mix = (f"General data: {general['train']} samples from pool `{general['pool']}` ({general['source']}, "
               f"revision `{general['revision'][:12]}`), ratio asked {general['ratio']['asked']}, achieved "
               f"{general['ratio']['achieved']}; {general['held_out']} held out in `general_eval.jsonl` for the "
               "forgetting check.")
    else:
        mix = "General data: none mixed in."
    licenses = "\n".join(f"| {lic} | {n} |" for lic, n in manifest["licenses"]["by_license"].items())
    warning = ""
    if manifest["licenses"]["non_commercial"]:
        warning = (f"\n**Non-commercial:** this version includes data under "
                   f"{', '.join(manifest['licenses']['non_commercial'])}; a model trained on it inherits that.\n")
    return f"""# {manifest['ref']}

Frozen by dataset-factory {manifest['factory_version']} at {manifest['created_at']}.
Dataset hash `{manifest['dataset_hash']}`; parent version: {parent}.

| split | samples |
|---|---|
| train | {counts['train']} |
| eval | {counts['eval']} |

Eval ratio asked {manifest['eval_ratio']['asked']}, achieved {manifest['eval_ratio']['achieved']} (seed {manifest['seed']}).
Exact and near duplicates are kept on one side of the split ({manifest['leakage']['duplicate_pairs_kept_on_one_side']} pairs).

{mix}

| license | samples |
|---|---|
{licenses}
{warning}
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
