"""Frozen dataset versions: immutable, hash-verified folders under `.factory/versions/NAME/vN/`.

A version is written to a temporary folder and renamed into place, so a crash never leaves a
half version; its files are made read-only. The eval split is chosen by a hash of the sample
id (and seed), so a sample stays on the same side of the split as the dataset grows and an
eval question never drifts into a later version's train split.

Integrity (format `factory-version/2`): the manifest lists the sha256 of every file, and
`dataset_hash` is a hash of the whole manifest except that field and the card's entry (the card
quotes the hash, so it cannot be inside it; its sha256 is checked like every file's). The store
records each version's dataset hash and the sha256 of its manifest.json when it is frozen, so
a folder edited afterwards, even with every hash in it recomputed, no longer matches the store.
The record is written before the folder is renamed into place: a crash in between leaves a
record and no folder (that number is skipped, never reused), never a folder without a record,
so a format-2 folder the store has no record of was not frozen by this workspace and fails.

Versions frozen before the store kept records (`factory-version/1`, dataset hash over the data
files only) verify by their own hashes, with a note that the store cannot vouch for them; one
numbered after a version the store did record cannot be one of those, and fails.

A version folder whose manifest cannot be read is damaged: it is listed as such, fails verify,
keeps its number, and breaks nothing else.
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
from factory.workspace import Workspace, open_store

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DATA_FILES = ("train.jsonl", "eval.jsonl")
GENERAL_EVAL = "general_eval.jsonl"  # present when general data was mixed in
MANIFEST = "manifest.json"
CARD = "README.md"
REQUIRED_FILES = (*DATA_FILES, CARD)  # listed in every manifest; manifest.json itself is the list
FORMAT = "factory-version/2"
LEGACY_FORMAT = "factory-version/1"  # before the store recorded versions
_READ_KEYS = {"dataset_hash": str, "created_at": str, "counts": dict, "files": dict}  # what readers rely on


class VersionInfo(BaseModel):
    name: str
    version: int
    path: Path
    manifest: dict[str, Any]
    store_path: Path  # the store of the workspace the version belongs to, which recorded it
    damaged: str | None = None  # why the manifest cannot be read; the manifest is then {}

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def dataset_hash(self) -> str:
        return "" if self.damaged else self.manifest["dataset_hash"]

    @property
    def legacy(self) -> bool:
        return self.manifest.get("format") == LEGACY_FORMAT

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


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def dataset_hash(manifest: dict[str, Any]) -> str:
    """Format 2: the manifest (so every listed file's sha256, licenses, counts, sources, parent, check
    config, ratios) as canonical JSON, without `dataset_hash` itself and the card's entry."""
    body = {key: value for key, value in manifest.items() if key != "dataset_hash"}
    body["files"] = {name: entry for name, entry in manifest.get("files", {}).items() if name != CARD}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def legacy_dataset_hash(file_hashes: dict[str, str]) -> str:
    """Format 1: one hash over the data files (train, eval, and general_eval when the version has one)."""
    names = [*DATA_FILES, *([GENERAL_EVAL] if GENERAL_EVAL in file_hashes else [])]
    text = "".join(f"{name}:{file_hashes[name]}\n" for name in names)
    return hashlib.sha256(text.encode()).hexdigest()


# -- listing and references ---------------------------------------------------------------
def list_versions(ws: Workspace, name: str | None = None, *, damaged: bool = False) -> list[VersionInfo]:
    """Every version folder, by name and number. A damaged one is left out with a warning, so
    whatever reads records goes on; with `damaged` it is kept, marked, for listing and numbering."""
    found = []
    if not ws.versions_dir.is_dir():
        return found
    for folder in sorted(ws.versions_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith(".") or (name and folder.name != name):
            continue
        for vdir in folder.iterdir():
            match = re.fullmatch(r"v(\d+)", vdir.name)
            if match:
                found.append(_read_version(ws, folder.name, int(match[1]), vdir))
    for version in found:
        if version.damaged and not damaged:
            log.warning("skipped %s: damaged (%s)", version.ref, version.damaged)
    return sorted((v for v in found if damaged or not v.damaged), key=lambda v: (v.name, v.version))


def _read_version(ws: Workspace, name: str, number: int, path: Path) -> VersionInfo:
    manifest, damaged = _read_manifest(path)
    return VersionInfo(name=name, version=number, path=path, manifest=manifest, store_path=ws.store_path,
                       damaged=damaged)


def _read_manifest(path: Path) -> tuple[dict[str, Any], str | None]:
    """The manifest, or {} and why it cannot be read."""
    if not path.is_dir():
        return {}, "not a folder"
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, f"{MANIFEST} is missing"
    except json.JSONDecodeError as exc:
        return {}, f"{MANIFEST} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"{MANIFEST} cannot be read ({getattr(exc, 'strerror', None) or exc})"
    if not isinstance(manifest, dict):
        return {}, f"{MANIFEST} is not a JSON object"
    for key, kind in _READ_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            return {}, f"{MANIFEST} has no {key}"
    return manifest, None


def resolve_version(ws: Workspace, ref: str) -> VersionInfo:
    """`NAME@vN`, `NAME@latest`, `NAME` (latest) or `NAME@<dataset hash prefix>`."""
    name, _, which = ref.partition("@")
    versions = list_versions(ws, name, damaged=True)  # a damaged one resolves, and then fails to verify
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
        matches = [v for v in versions if not v.damaged and v.dataset_hash.startswith(which)]
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
        existing = list_versions(ws, name, damaged=True)
        parent = next((v for v in reversed(existing) if not v.damaged), None)
        if reuse_identical and parent and _same_data(parent, hashes):
            return parent, False
        number = _next_number(store, name, existing)
        if existing and existing[-1].damaged:
            log.warning("%s is damaged (%s); %s@v%d is frozen after it, with %s as its parent", existing[-1].ref,
                        existing[-1].damaged, name, number, parent.ref if parent else "no version")
        shipped = domain + (mix.train + mix.held_out if mix else [])
        manifest = _manifest(name, number, parent, ws, seed, domain, split.eval_ids, eval_ratio,
                             split.grouped_pairs, general_pool, pool_info, general_ratio, mix, shipped, hashes,
                             {f: len(v) for f, v in lines.items()})
        for license in manifest["licenses"]["non_commercial"]:
            log.warning("%s@v%d includes samples under %s, which forbids commercial use", name,
                        manifest["version"], license)
        version = _write_version(ws, store, name, manifest, lines)
        progress(3, 3)
        return version, True


def _same_data(version: VersionInfo, hashes: dict[str, str]) -> bool:
    """Whether `version` ships exactly these data files (the manifest around them is new each time)."""
    listed = {f: e.get("sha256") if isinstance(e, dict) else None for f, e in version.manifest["files"].items()}
    return {f: h for f, h in listed.items() if f != CARD} == hashes


def _next_number(store: Store, name: str, existing: list[VersionInfo]) -> int:
    """After every folder, damaged ones too, and after any number a crashed freeze recorded but never
    renamed into place: a number is never used twice."""
    number = max((v.version for v in existing), default=0) + 1
    while store.version_hashes(name, number) is not None:
        number += 1
    return number


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


def _write_version(ws: Workspace, store: Store, name: str, manifest: dict[str, Any],
                   lines: dict[str, list[str]]) -> VersionInfo:
    """Write to a temporary folder, make the files read-only, record the hashes, rename into place."""
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
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    (tmp / MANIFEST).write_bytes(manifest_bytes)
    for file in tmp.iterdir():
        file.chmod(0o444)
    # Recorded first: a crash before the rename leaves a record without a folder (the number is
    # skipped), never a folder the store cannot vouch for.
    store.record_version(name, number, dataset_hash=manifest["dataset_hash"],
                         manifest_hash=hashlib.sha256(manifest_bytes).hexdigest())
    final = folder / f"v{number}"
    try:
        os.rename(tmp, final)  # atomic: the version appears whole or not at all
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise VersionError(f"{name}@v{number}: could not move it into place ({exc.strerror or exc}); nothing was "
                           f"frozen, and the next freeze of {name} takes the number after it") from exc
    return VersionInfo(name=name, version=number, path=final, manifest=manifest, store_path=ws.store_path)


def _manifest(name: str, number: int, parent: VersionInfo | None, ws: Workspace, seed: int, domain: list[Sample],
              eval_ids: set[str], eval_ratio: float, grouped_pairs: int, pool: str, pool_info: dict[str, Any] | None,
              general_ratio: float, mix: GeneralMix | None, shipped: list[Sample], hashes: dict[str, str],
              records: dict[str, int]) -> dict[str, Any]:
    general_train = len(mix.train) if mix else 0
    train = len(domain) - len(eval_ids) + general_train
    by_uri = Counter((s.source.kind, s.source.uri, s.source.license) for s in shipped)
    licenses = Counter(s.source.license or "unknown" for s in shipped)
    manifest = {
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
    }
    # Hashed as verify will read it back (JSON has no tuples, no int keys); the card's entry is left out anyway.
    return {**manifest, "dataset_hash": dataset_hash(json.loads(json.dumps(manifest, ensure_ascii=False)))}


def _code(value: object, *, in_table: bool = False) -> str:
    """`value` as a Markdown code span, so licenses and uris from sources show as text: no link, image
    or HTML can come out of them. The fence is longer than any backtick run inside, line breaks
    (which could end the span or the table row) become spaces, and in a table cell `|` is escaped
    (GFM splits cells on it even inside code) by an odd run of backslashes, which GFM reads as escaped."""
    text = re.sub(r"\s", " ", str(value)) or " "
    if in_table:
        text = re.sub(r"(\\*)\|", lambda m: m[1] + "\\" * (1 + len(m[1]) % 2) + "|", text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or text.strip() == "" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _card(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    rows = "\n".join(f"| {_code(lang, in_table=True)} | {n} |" for lang, n in counts["by_lang"].items())
    kinds = "\n".join(f"| {_code(kind, in_table=True)} | {n} |" for kind, n in counts["by_source"].items())
    top = sorted(manifest["sources"], key=lambda s: -s["samples"])[:20]
    sources = "\n".join(f"- {_code(s['uri'])} ({_code(s['kind'])}, license {_code(s['license'] or 'unknown')}): "
                        f"{s['samples']}" for s in top)
    parent = manifest["parent"]["ref"] if manifest["parent"] else "none"
    general = manifest["general"]
    if general:
        mix = (f"General data: {general['train']} samples from pool {_code(general['pool'])} "
               f"({_code(general['source'])}, revision {_code(general['revision'][:12])}), ratio asked "
               f"{general['ratio']['asked']}, achieved {general['ratio']['achieved']}; {general['held_out']} held "
               "out in `general_eval.jsonl` for the forgetting check.")
    else:
        mix = "General data: none mixed in."
    licenses = "\n".join(f"| {_code(lic, in_table=True)} | {n} |"
                         for lic, n in manifest["licenses"]["by_license"].items())
    warning = ""
    if manifest["licenses"]["non_commercial"]:
        warning = (f"\n**Non-commercial:** this version includes data under "
                   f"{', '.join(_code(lic) for lic in manifest['licenses']['non_commercial'])}; a model trained "
                   "on it inherits that.\n")
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
- `factory verify {manifest['ref']}` recomputes every hash in `manifest.json` and checks them against the store.
- `factory export {manifest['ref']} --format llamafactory --out DIR` writes LLaMA-Factory data.
"""


# -- verifying ----------------------------------------------------------------------------
def verify_version(version: VersionInfo, store: Store | None = None) -> list[str]:
    """Every reason not to trust the version, one line each; empty when its files match its manifest,
    its manifest matches its dataset hash, and both match what the store recorded at freeze.

    Without `store`, the version's own workspace store is opened."""
    if store is None:
        with open_store(version.store_path, for_reading=True) as own:
            return verify_version(version, own)
    if version.damaged:
        return [f"damaged: {version.damaged}"]
    fmt = version.manifest.get("format")
    if fmt not in (FORMAT, LEGACY_FORMAT):
        return [f"{MANIFEST}: format {fmt!r} is not one this factory reads ({FORMAT} or {LEGACY_FORMAT})"]
    problems = _identity_problems(version)
    actual, file_problems = _file_problems(version)
    problems += file_problems
    if version.legacy:
        if all(f in actual for f in DATA_FILES) and legacy_dataset_hash(actual) != version.dataset_hash:
            problems.append("dataset hash does not match the manifest")
    elif dataset_hash(version.manifest) != version.dataset_hash:
        problems.append("dataset hash does not match the manifest's content (an entry was edited)")
    return problems + _record_problems(version, store)


def legacy_note(version: VersionInfo) -> str | None:
    """What to tell someone relying on a version the store has no record of (verify fails the others)."""
    if not version.legacy:
        return None
    return (f"{version.ref} was frozen before the store recorded versions ({LEGACY_FORMAT}): it is not recorded "
            "in the store, so it is verified against its own manifest only")


def _identity_problems(version: VersionInfo) -> list[str]:
    manifest = version.manifest
    if (manifest.get("name"), manifest.get("version")) == (version.name, version.version):
        return []
    return [f"{MANIFEST} is the manifest of {manifest.get('name')}@v{manifest.get('version')}, "
            f"in the folder of {version.ref}"]


def _file_problems(version: VersionInfo) -> tuple[dict[str, str], list[str]]:
    """The sha256 of every listed file that is there, and every difference from the manifest."""
    files = version.manifest["files"]
    problems = [f"{name}: missing" for name in REQUIRED_FILES if name not in files and
                not (version.path / name).exists()]  # present but unlisted: reported below
    actual: dict[str, str] = {}
    for filename, expected in files.items():
        path = version.path / filename
        if Path(filename).name != filename or filename in ("", ".", "..", MANIFEST):
            problems.append(f"{MANIFEST}: lists {filename!r}, which is not a file of the version")
            continue
        if not isinstance(expected, dict) or not isinstance(expected.get("sha256"), str):
            problems.append(f"{filename}: the manifest has no sha256 for it")
            continue
        if not path.is_file():
            problems.append(f"{filename}: missing")
            continue
        actual[filename], records = _sha256_and_records(path)
        if actual[filename] != expected["sha256"]:
            problems.append(f"{filename}: sha256 {actual[filename][:12]}… does not match the manifest's "
                            f"{expected['sha256'][:12]}…")
        if "records" in expected and records != expected["records"]:
            problems.append(f"{filename}: {records} records, the manifest says {expected['records']}")
    for path in sorted(version.path.iterdir()):
        if path.name not in files and path.name != MANIFEST:
            problems.append(f"{path.name}: not in the manifest")
    return actual, problems


def _record_problems(version: VersionInfo, store: Store) -> list[str]:
    """Differences from the store's record; for an unrecorded version, whether it can be one from
    before the store kept records."""
    record = store.version_hashes(version.name, version.version)
    if record is None:
        if not version.legacy:
            return ["not recorded in this workspace's store: it was not frozen here (copied in, or made by hand); "
                    "freeze the data again to get a version you can trust"]
        earlier = next((n for n in range(1, version.version) if store.version_hashes(version.name, n)), None)
        if earlier is None:
            return []  # frozen before the store kept records: `legacy_note` says so
        return [f"not recorded in the store, yet numbered after {version.name}@v{earlier}, which is: it cannot be "
                f"a version from before the store kept records ({LEGACY_FORMAT})"]
    problems = []
    if record.dataset_hash != version.dataset_hash:
        problems.append(f"dataset hash {version.dataset_hash[:12]}… is not the {record.dataset_hash[:12]}… the "
                        f"store recorded at freeze ({record.created_at})")
    manifest_hash = hashlib.sha256((version.path / MANIFEST).read_bytes()).hexdigest()
    if manifest_hash != record.manifest_hash:
        problems.append(f"{MANIFEST} changed since the freeze: its sha256 is not the one the store recorded")
    return problems
