"""What the review app asks of the store: the queue, the table, bulk actions and the dashboard.

SQL does the paging, filtering and counting, so a page costs the same with 100 samples or
100,000: the queue moves by rowid (keyset), counts are `count(*)`, and nothing loads the whole
table. Every action names the revision the reviewer saw, so a sample someone else changed in
the meantime is refused (`RevisionConflict`) instead of overwritten.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

from factory.errors import BadInput, RevisionConflict
from factory.replacements import SMALL_CHANGE, similarity
from factory.sample import STATUSES, Finding, Sample, Status
from factory.store import HistoryEntry, SampleFilter, Store
from factory.workspace import Workspace
from sources import markdown_notes

REVIEWER_PREFIX = "reviewer:"
REVIEW_ACTIONS = ("approved", "rejected", "edit", "reopen")
REJECT_REASONS = ("wrong answer", "outdated", "low quality", "off topic", "duplicate", "unsafe", "other")
NAME_PATTERN = re.compile(r"^[\w][\w .@-]{0,39}$")
LENGTH_BINS = (0, 25, 50, 100, 200, 400, 800, 1600, 3200)  # characters; the last bin is open-ended
ORIGINAL_MAX_LINES = 200  # of a note section shown beside a sample
DATASET_ROW_SCAN_LIMIT = 2_000_000  # lines read to find a dataset row; beyond it the row is not shown


def reviewer_actor(name: str) -> str:
    """The history's actor for a person in the app: `reviewer:NAME`."""
    name = " ".join(name.split())
    if not NAME_PATTERN.match(name):
        raise BadInput("a reviewer name is 1 to 40 letters, digits, spaces or . @ - _")
    return REVIEWER_PREFIX + name


# -- filters -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewFilter:
    """What a reviewer narrowed the samples to. General-pool samples are left out unless asked for."""

    status: Status | None = "pending"
    source_kind: str | None = None
    reason: str | None = None
    lang: str | None = None
    tag: str | None = None
    text: str | None = None

    def sample_filter(self) -> SampleFilter:
        return SampleFilter(status=self.status, source_kind=self.source_kind or None, reason=self.reason or None,
                            lang=self.lang or None, tag=self.tag or None, text=(self.text or "").strip() or None,
                            include_general=False)

    def describe(self) -> str:
        parts = [self.status or "any status"]
        parts += [f"{name} {value}" for name, value in (("source", self.source_kind), ("finding", self.reason),
                                                       ("language", self.lang), ("tag", self.tag)) if value]
        if (self.text or "").strip():
            parts.append(f"text “{self.text.strip()}”")
        return ", ".join(parts)


@dataclass
class FilterOptions:
    source_kinds: list[str]
    reasons: list[str]
    langs: list[str]
    tags: list[str]


def filter_options(store: Store, *, with_tags: bool = True) -> FilterOptions:
    """The values each filter can take, from what the store holds. Kinds and languages come from
    one pass over the review index; tags need a pass over the rows (`with_tags=False` skips it)."""
    pairs = store.read("SELECT DISTINCT source_kind, lang FROM samples INDEXED BY samples_for_review "
                       "WHERE retired_at IS NULL AND source_kind != 'general'")
    tags = store.read("SELECT DISTINCT t.value FROM samples, json_each(samples.tags) t "
                      "WHERE samples.retired_at IS NULL AND samples.tags != '[]' ORDER BY 1") if with_tags else []
    return FilterOptions(
        source_kinds=sorted({r[0] for r in pairs}),
        reasons=[r[0] for r in store.read("SELECT DISTINCT code FROM findings ORDER BY 1")],
        langs=sorted({r[1] for r in pairs if r[1] is not None}),
        tags=[r[0] for r in tags],
    )


# -- the queue -----------------------------------------------------------------------------
@dataclass
class QueueItem:
    """Where a reviewer is: the sample at or after the cursor, and its place among the matches."""

    total: int  # samples matching the filter
    sample: Sample | None  # None past the end of the queue
    rowid: int = 0
    position: int = 0  # 1-based; 0 past the end

    @property
    def skipped_before(self) -> int:
        """Matching samples before the cursor: the ones skipped, when the queue has an end."""
        return self.total if self.sample is None else self.position - 1


def queue_item(store: Store, flt: ReviewFilter, cursor: int = 0) -> QueueItem:
    """The first matching sample with rowid >= `cursor`, with its position among the matches.

    One pass over the matches answers all three: the total, how many lie before the cursor, and
    the first at or after it (no match lies between the cursor and that one).
    """
    where, params = flt.sample_filter().where()
    total, before, rowid = store.read(
        f"SELECT count(*), coalesce(sum(rowid < ?), 0), min(CASE WHEN rowid >= ? THEN rowid END) "
        f"FROM samples WHERE {where}", [cursor, cursor, *params])[0]
    if rowid is None:
        return QueueItem(total=total, sample=None)
    (sample_id,) = store.read("SELECT id FROM samples WHERE rowid = ?", [rowid])[0]
    return QueueItem(total=total, sample=store.get(sample_id), rowid=rowid, position=before + 1)


def previous_rowid(store: Store, flt: ReviewFilter, rowid: int) -> int | None:
    """The matching sample just before `rowid`, for "back"."""
    where, params = flt.sample_filter().where()
    found = store.read(f"SELECT rowid FROM samples WHERE {where} AND rowid < ? ORDER BY rowid DESC LIMIT 1",
                       [*params, rowid])
    return found[0][0] if found else None


# -- actions -------------------------------------------------------------------------------
def approve(store: Store, sample_id: str, seen_revision: int, reviewer: str) -> int:
    """Approve the sample the reviewer saw at `seen_revision`; refused if it changed since."""
    return store.set_status([sample_id], "approved", actor=reviewer_actor(reviewer),
                            expected_revisions={sample_id: seen_revision})


def reject(store: Store, sample_id: str, seen_revision: int, reviewer: str, reason: str) -> int:
    if not reason.strip():
        raise BadInput("say why the sample is rejected")
    return store.set_status([sample_id], "rejected", actor=reviewer_actor(reviewer), reason=reason.strip(),
                            expected_revisions={sample_id: seen_revision})


def reopen(store: Store, sample_id: str, seen_revision: int, reviewer: str) -> int:
    return store.set_status([sample_id], "pending", actor=reviewer_actor(reviewer),
                            expected_revisions={sample_id: seen_revision})


def edit(store: Store, sample_id: str, seen_revision: int, reviewer: str, *, instruction: str, input: str,
         output: str, system: str | None, tags: list[str]) -> Sample:
    """Save a reviewer's text; the previous text goes to the history. Refused if the sample changed."""
    changes: dict[str, Any] = {"instruction": instruction, "input": input, "output": output,
                               "system": system or None, "tags": tags}
    if not instruction.strip() or not output.strip():
        raise BadInput("instruction and output cannot be empty; reject the sample instead")
    try:
        return store.edit(sample_id, seen_revision, changes, actor=reviewer_actor(reviewer))
    except RevisionConflict:
        # The same save sent twice (a key press and the form's own submit) finds its text in
        # place: nothing would be overwritten, so it is not a conflict.
        current = store.get(sample_id)
        if all(getattr(current, name) == value for name, value in changes.items()):
            return current
        raise


def parse_tags(text: str) -> list[str]:
    """Tags as a reviewer types them: comma-separated, blanks dropped, order kept, no repeats."""
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


def changes_since(store: Store, sample_id: str, revision: int) -> list[HistoryEntry]:
    """What happened to a sample after the revision a reviewer saw (for a refused save)."""
    return [h for h in store.history(sample_id) if h.revision > revision]


# -- bulk ----------------------------------------------------------------------------------
def selection(store: Store, flt: ReviewFilter) -> dict[str, int]:
    """Every matching sample with the revision it has now: what a bulk action will apply to."""
    where, params = flt.sample_filter().where()
    return {r[0]: r[1] for r in store.read(f"SELECT id, revision FROM samples WHERE {where} ORDER BY rowid", params)}


def bulk_set_status(store: Store, chosen: dict[str, int], status: Status, reviewer: str,
                    reason: str | None = None) -> int:
    """Set the status of a confirmed selection at once; if any sample changed since it was
    selected, nothing is written (`RevisionConflict`)."""
    if status not in STATUSES:
        raise BadInput(f"unknown status {status!r}")
    if status == "rejected" and not (reason or "").strip():
        raise BadInput("say why these samples are rejected")
    return store.set_status(list(chosen), status, actor=reviewer_actor(reviewer), reason=reason,
                            expected_revisions=chosen)


# -- the table -----------------------------------------------------------------------------
@dataclass
class TablePage:
    rows: list[dict[str, Any]]
    total: int
    page: int  # 1-based
    pages: int


def table_page(store: Store, flt: ReviewFilter, page: int, page_size: int) -> TablePage:
    where, params = flt.sample_filter().where()
    total = store.read(f"SELECT count(*) FROM samples WHERE {where}", params)[0][0]
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = store.read(
        "SELECT id, status, source_kind, source_uri, lang, substr(instruction, 1, 160) AS instruction, "
        "substr(output, 1, 160) AS output, length(output) AS output_chars, tags, revision, "
        "(SELECT group_concat(DISTINCT code) FROM findings WHERE sample_id = samples.id) AS findings "
        f"FROM samples WHERE {where} ORDER BY rowid LIMIT ? OFFSET ?",
        [*params, page_size, (page - 1) * page_size])
    return TablePage(rows=[{**dict(r), "tags": ", ".join(json.loads(r["tags"])),
                            "findings": (r["findings"] or "").replace(",", ", ")} for r in rows],
                     total=total, page=page, pages=pages)


# -- what a sample came from ----------------------------------------------------------------
@dataclass
class SourceContext:
    """Where a sample came from, as a reviewer needs it beside the sample."""

    kind: str
    title: str  # the note and heading path, the dataset and row, the generation run and request
    facts: dict[str, str] = field(default_factory=dict)
    original: str | None = None  # the note's lines, the dataset row, the request: as text
    original_language: str = "text"
    notice: str | None = None  # why the original is not shown, or that it changed since


def inside_workspace(ws: Workspace, uri: str) -> Path | None:
    """The file a source uri names, only when it lies inside the workspace (the app reads nothing else)."""
    root = ws.root.resolve()
    path = (root / uri).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def source_context(ws: Workspace, store: Store, sample: Sample) -> SourceContext:
    src = sample.source
    if src.kind == "notes":
        return _note_context(ws, sample)
    if src.kind in ("dataset", "general"):
        return _dataset_context(ws, sample)
    if src.kind == "self_instruct":
        return _generation_context(store, sample)
    return SourceContext(kind=src.kind, title=f"{src.kind}: {src.uri}",
                         facts={k: str(v) for k, v in src.locator.items()})


def _note_context(ws: Workspace, sample: Sample) -> SourceContext:
    src, loc = sample.source, sample.source.locator
    heading = " › ".join(loc.get("heading_path") or [])
    lines = loc.get("lines") or []
    ctx = SourceContext(kind="notes", title=f"{src.uri}" + (f" › {heading}" if heading else ""),
                        facts={"lines": "–".join(str(n) for n in lines), "rule": str(loc.get("rule", "")),
                               "extractor": src.extractor_version}, original_language="markdown")
    path = inside_workspace(ws, src.uri)
    if path is None:
        ctx.notice = "The note is not in this workspace (or is gone), so its text is not shown."
        return ctx
    try:
        text = markdown_notes.read_note(path, max_bytes=ws.config.notes.max_file_bytes, name=src.uri)
    except BadInput as exc:
        ctx.notice = f"The note cannot be read now: {exc}"
        return ctx
    if len(lines) == 2:
        start, end = lines[0], min(lines[1], lines[0] + ORIGINAL_MAX_LINES - 1)
        ctx.original = "\n".join(text.split("\n")[start - 1:end])
    if src.content_hash and hashlib.sha256(text.encode("utf-8")).hexdigest() != src.content_hash:
        ctx.notice = "The note changed since this pair was extracted; these are its lines as they are now."
    return ctx


def _dataset_context(ws: Workspace, sample: Sample) -> SourceContext:
    src, loc = sample.source, sample.source.locator
    dataset = loc.get("dataset", src.uri)  # a general pool keeps the dataset it came from in the locator
    row = loc.get("row")
    facts = {"dataset": str(dataset), "row": str(row), "license": src.license or "unknown",
             "format": src.extractor_version}
    if loc.get("revision"):
        facts["revision"] = str(loc["revision"])
    if src.kind == "general":
        facts["general pool"] = src.uri
    ctx = SourceContext(kind=src.kind, title=f"{dataset}, row {row}", facts=facts, original_language="json")
    path = inside_workspace(ws, str(dataset))
    if path is None:
        ctx.notice = ("A hub dataset or a file outside this workspace: the row is not shown here."
                      if row is not None else None)
        return ctx
    if path.suffix != ".jsonl" or not isinstance(row, int):
        ctx.notice = f"Row {row} of a {path.suffix or 'local'} file: open the dataset to see it."
        return ctx
    if row >= DATASET_ROW_SCAN_LIMIT:
        ctx.notice = f"Row {row} is too far into the file to look up here."
        return ctx
    with path.open(encoding="utf-8", errors="replace") as handle:
        line = next(islice(handle, row, row + 1), None)
    if line is None:
        ctx.notice = "The file has fewer rows now than when it was imported."
        return ctx
    try:
        ctx.original = json.dumps(json.loads(line), ensure_ascii=False, indent=2)
    except ValueError:
        ctx.original, ctx.original_language = line.rstrip("\n"), "text"
    return ctx


def _generation_context(store: Store, sample: Sample) -> SourceContext:
    src, loc = sample.source, sample.source.locator
    request = str(loc.get("request", ""))
    ctx = SourceContext(kind=src.kind, title=f"generation run {src.uri}, {request}",
                        facts={"run": src.uri, "request": request, "template": str(loc.get("template", ""))},
                        original_language="json")
    runs = store.read("SELECT args, model, base_url, created_at FROM llm_runs WHERE id = ?", [src.uri])
    if runs:
        ctx.facts.update({"model": runs[0]["model"], "endpoint": runs[0]["base_url"],
                          "run started": runs[0]["created_at"]})
        ctx.original = json.dumps(json.loads(runs[0]["args"]), ensure_ascii=False, indent=2)
    for entry in store.llm_requests(src.uri):
        if entry.key == request:
            ctx.facts.update({"tokens": f"{entry.tokens_in} in, {entry.tokens_out} out",
                              "cost": f"${entry.cost:.4f}", "latency": f"{entry.latency_ms} ms",
                              "outcome": entry.outcome, "attempts": str(entry.attempts)})
    return ctx


# -- near duplicates -------------------------------------------------------------------------
@dataclass
class RelatedSample:
    finding: Finding
    other: Sample | None  # None when the other is not in the store (only in a frozen version)
    diff: str  # the two samples' text, inline: [-removed-]{+added+}


def related_samples(store: Store, sample: Sample) -> list[RelatedSample]:
    """The samples this one's findings point at (duplicates), each with a diff against it."""
    found = []
    for f in sample.findings:
        if not f.related_id:
            continue
        other = store.get(f.related_id) if store.find_ids(f.related_id) == [f.related_id] else None
        diff = inline_diff(sample_text(other), sample_text(sample)) if other else ""
        found.append(RelatedSample(finding=f, other=other, diff=diff))
    return found


# -- re-review: a changed pair against the text a person decided on --------------------------
DIFFED_FIELDS = ("system", "instruction", "input", "output")


@dataclass
class Replacement:
    """The reviewed pair a sample replaces (the same place in its note, before an edit of the note)."""

    old: Sample  # as the reviewer left it: their edits included
    decision: str  # "approved by ann", "rejected by bob", "edited by cy", "edited and approved by ann"
    diffs: dict[str, str]  # field -> the old text turned into the new, [-removed-]{+added+}; changed fields only
    similarity: float  # 0 to 1: how alike the old and new text are, in the field that changed most

    @property
    def approved(self) -> bool:
        return self.old.status == "approved"


def replacement(store: Store, sample: Sample) -> Replacement | None:
    """What `sample` replaces, with who decided it and the difference; None when it replaces nothing."""
    old_id = store.replaces(sample.id)
    if old_id is None:
        return None
    old = store.get(old_id)
    texts = {name: (getattr(old, name) or "", getattr(sample, name) or "") for name in DIFFED_FIELDS}
    changed = {name: pair for name, pair in texts.items() if pair[0] != pair[1]}
    # A question reworded is no small change however long the answer is: each field is compared alone.
    alike = min((similarity(a, b) / 100 for a, b in changed.values()), default=1.0)
    return Replacement(old=old, decision=_decision(store.history(old_id), old.status),
                       diffs={name: inline_diff(a, b) for name, (a, b) in changed.items()}, similarity=alike)


def _decision(entries: list[HistoryEntry], status: Status) -> str:
    """Who decided the sample's status, and who edited it last, as a reviewer reads it."""
    def who(entry: HistoryEntry) -> str:
        return entry.actor.removeprefix(REVIEWER_PREFIX)

    decided = None if status == "pending" else next(
        (who(h) for h in reversed(entries) if (h.changes.get("status") or [None])[-1] == status), None)
    edited = next((who(h) for h in reversed(entries) if h.action == "edit"), None)
    if decided and edited:
        return f"edited and {status} by {decided}" if decided == edited else f"{status} by {decided}, edited by {edited}"
    if decided:
        return f"{status} by {decided}"
    return f"edited by {edited}" if edited else status


def small_replacements(store: Store, min_similarity: float = SMALL_CHANGE) -> tuple[dict[str, int], int]:
    """Pending samples that replace an approved one with a text at least `min_similarity` alike:
    (id -> revision now, for a revision-checked approval; how many others replace an approved one)."""
    rows = store.read("SELECT s.id, s.revision FROM samples s JOIN samples o ON o.id = s.replaces "
                      "WHERE s.status = 'pending' AND s.retired_at IS NULL AND o.status = 'approved' ORDER BY s.rowid")
    chosen, others = {}, 0
    for sample_id, revision in rows:
        found = replacement(store, store.get(sample_id))
        if found is not None and found.similarity >= min_similarity:
            chosen[sample_id] = revision
        else:
            others += 1
    return chosen, others


def sample_text(sample: Sample) -> str:
    return pair_text(sample.instruction, sample.input, sample.output)


def pair_text(instruction: str, input: str, output: str) -> str:
    """A pair as one plain text, for diffs and side-by-side views."""
    return "\n".join([f"Instruction: {instruction}", *([f"Input: {input}"] if input else []), f"Output: {output}"])


_TOKEN = re.compile(r"[A-Za-z0-9_]+|\s+|.", re.DOTALL)  # words; every other character (a Han one) alone


def inline_diff(old: str, new: str) -> str:
    """`old` turned into `new`, with [-removed-] and {+added+} marks (like `git diff --word-diff`)."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.3:  # a rewrite: word-level marks would only be noise
        return f"[-{old}-]{{+{new}+}}"
    # Chunks of (kept, removed, added); a run of only spaces between two changes joins them.
    chunks: list[list[str]] = []
    ops = matcher.get_opcodes()
    for n, (op, i1, i2, j1, j2) in enumerate(ops):
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        between_changes = bool(chunks) and chunks[-1][0] is None and n + 1 < len(ops)
        if op == "equal" and not (removed.isspace() and between_changes):
            chunks.append([removed, "", ""])
        elif chunks and chunks[-1][0] is None:
            chunks[-1][1] += removed
            chunks[-1][2] += added
        else:
            chunks.append([None, removed, added])  # type: ignore[list-item]
    out = []
    for kept, removed, added in chunks:
        if kept is not None:
            out.append(kept)
            continue
        out.append(f"[-{removed}-]" if removed else "")
        out.append(f"{{+{added}+}}" if added else "")
    return "".join(out)


def describe_change(entry: HistoryEntry) -> list[tuple[str, str]]:
    """One history entry as (field, what changed) lines; text fields as an inline diff."""
    lines = []
    for name, value in entry.changes.items():
        if isinstance(value, list) and len(value) == 2:
            old, new = value
            if isinstance(old, str) and isinstance(new, str) and name in ("instruction", "input", "output",
                                                                          "system"):
                lines.append((name, inline_diff(old, new)))
            else:
                lines.append((name, f"{_short(old)} → {_short(new)}"))
        else:
            lines.append((name, _short(value)))
    return lines


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


# -- the dashboard ---------------------------------------------------------------------------
def store_marker(store: Store) -> tuple[int, int, int, int]:
    """Changes whenever anything a dashboard shows changes: a cheap key for caching views."""
    row = store.read("SELECT (SELECT coalesce(max(seq), 0) FROM history), (SELECT coalesce(max(id), 0) FROM jobs), "
                     "(SELECT count(*) FROM jobs WHERE state = 'running'), "
                     "(SELECT coalesce(max(id), 0) FROM llm_requests)")[0]
    return tuple(row)  # type: ignore[return-value]


@dataclass
class Dashboard:
    """Review samples only (general pools are mixed in at freeze, not reviewed), live ones only."""

    by_status: dict[str, int]
    by_lang: dict[str, int]
    by_reason: dict[str, int]  # samples with at least one finding of the code
    general: int  # samples in general pools
    retired: int
    status_by_source: list[dict[str, Any]]  # source kind, status, samples
    approval_by_source: list[dict[str, Any]]  # source kind: approved, rejected, pending, rate
    approval_by_run: list[dict[str, Any]]  # generation run: samples, approved, rate, cost
    lengths: list[dict[str, Any]]  # field, bin label, samples
    reviewer_activity: list[dict[str, Any]]  # day, reviewer, action, count
    reviewers: list[dict[str, Any]]  # reviewer: approved, rejected, edits, last seen

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def approval_rate(self) -> float | None:
        return _rate({s: self.by_status.get(s, 0) for s in STATUSES})


def dashboard(store: Store) -> Dashboard:
    live = "FROM samples WHERE retired_at IS NULL AND source_kind != 'general'"

    def grouped(sql: str) -> dict[str, int]:
        return {str(k): n for k, n in store.read(sql)}

    by_source: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    status_rows = []
    for kind, status, n in store.read(f"SELECT source_kind, status, count(*) {live} GROUP BY 1, 2 ORDER BY 1, 2"):
        by_source[kind][status] = n
        status_rows.append({"source": kind, "status": status, "samples": n})
    approval = [{"source": kind, **counts, "approval rate": _rate(counts)} for kind, counts in by_source.items()]
    runs = [{"run": r["id"], "model": r["model"], "samples": r["samples"],
             "approved": r["by_status"].get("approved", 0), "rejected": r["by_status"].get("rejected", 0),
             "approval rate": r["acceptance_rate"], "cost": r["cost"]} for r in store.llm_runs()]
    return Dashboard(
        by_status=grouped(f"SELECT status, count(*) {live} GROUP BY 1"),
        by_lang=grouped(f"SELECT coalesce(lang, 'unknown'), count(*) {live} GROUP BY 1 ORDER BY 2 DESC"),
        by_reason=grouped("SELECT f.code, count(DISTINCT f.sample_id) FROM findings f JOIN samples s "
                          "ON s.id = f.sample_id WHERE s.retired_at IS NULL AND s.source_kind != 'general' "
                          "GROUP BY 1 ORDER BY 2 DESC"),
        general=store.read("SELECT count(*) FROM samples WHERE retired_at IS NULL AND source_kind = 'general'")[0][0],
        retired=store.read("SELECT count(*) FROM samples WHERE retired_at IS NOT NULL")[0][0],
        status_by_source=status_rows, approval_by_source=approval, approval_by_run=runs,
        lengths=_length_histogram(store, live), reviewer_activity=_activity(store), reviewers=_reviewers(store))


def _rate(counts: dict[str, int]) -> float | None:
    decided = counts["approved"] + counts["rejected"]
    return round(counts["approved"] / decided, 4) if decided else None


def length_bin_labels() -> list[str]:
    edges = LENGTH_BINS
    return [f"{lo}–{hi - 1}" for lo, hi in pairwise(edges)] + [f"{edges[-1]}+"]


def _length_histogram(store: Store, live: str) -> list[dict[str, Any]]:
    labels = length_bin_labels()
    rows = []
    for name in ("instruction", "output"):
        case = " ".join(f"WHEN length({name}) < {hi} THEN {i}" for i, hi in enumerate(LENGTH_BINS[1:]))
        counts = dict(store.read(f"SELECT CASE {case} ELSE {len(LENGTH_BINS) - 1} END, count(*) {live} GROUP BY 1"))
        rows += [{"field": name, "characters": label, "bin": i, "samples": counts.get(i, 0)}
                 for i, label in enumerate(labels)]
    return rows


def _review_actors_sql() -> str:
    actions = ", ".join(f"'{a}'" for a in REVIEW_ACTIONS)
    return f"action IN ({actions}) AND actor NOT LIKE 'job:%' AND actor != 'check'"


def _activity(store: Store, days: int = 30) -> list[dict[str, Any]]:
    rows = store.read(
        f"SELECT substr(at, 1, 10) AS day, actor, action, count(*) AS n FROM history WHERE {_review_actors_sql()} "
        "AND at >= date('now', ?) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", [f"-{days} days"])
    return [{"day": r["day"], "reviewer": r["actor"].removeprefix(REVIEWER_PREFIX), "action": r["action"],
             "count": r["n"]} for r in rows]


def _reviewers(store: Store) -> list[dict[str, Any]]:
    rows = store.read(
        f"SELECT actor, sum(action = 'approved'), sum(action = 'rejected'), sum(action = 'edit'), max(at) "
        f"FROM history WHERE {_review_actors_sql()} GROUP BY actor ORDER BY 5 DESC")
    return [{"reviewer": r[0].removeprefix(REVIEWER_PREFIX), "approved": r[1], "rejected": r[2], "edits": r[3],
             "last action": r[4][:19].replace("T", " ")} for r in rows]


# -- versions ---------------------------------------------------------------------------------
@dataclass
class FreezeDefaults:
    name: str
    eval_ratio: float
    seed: int
    general_pool: str | None
    general_ratio: float
    pools: list[str]
    approved: int


def freeze_defaults(ws: Workspace, store: Store) -> FreezeDefaults:
    """What a new version would be frozen with: like the latest version, else the workspace config."""
    from factory.versions import list_versions

    cfg = ws.config.freeze
    pools = [d.uri for d in store.document_infos("general")]
    versions = sorted(list_versions(ws), key=lambda v: v.manifest.get("created_at", ""))
    approved = store.count(SampleFilter(status="approved", include_general=False))
    if versions:
        m = versions[-1].manifest
        general = m.get("general") or {}
        pool = general.get("pool") if general.get("pool") in pools else None
        return FreezeDefaults(name=versions[-1].name, eval_ratio=m["eval_ratio"]["asked"], seed=m.get("seed", cfg.seed),
                              general_pool=pool,
                              general_ratio=general["ratio"]["asked"] if pool else cfg.general_ratio,
                              pools=pools, approved=approved)
    pool = cfg.general_pool if cfg.general_pool in pools else None
    return FreezeDefaults(name=ws.root.name if _valid_name(ws.root.name) else "dataset", eval_ratio=cfg.eval_ratio,
                          seed=cfg.seed, general_pool=pool, general_ratio=cfg.general_ratio, pools=pools,
                          approved=approved)


def _valid_name(name: str) -> bool:
    from factory.versions import NAME_PATTERN as VERSION_NAME

    return bool(VERSION_NAME.match(name))

