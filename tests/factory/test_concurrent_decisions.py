"""A scheduled check, two bulk CLI commands and reviewers in the app, all at once on one store:
every decision a person made survives, and each bulk command decides a sample at most once.

The processes are real (`factory check`, `factory approve`, `factory reject` in subprocesses,
the app's review functions in threads), so the interleaving is whatever the OS makes of it; the
assertions hold for every interleaving, and read only the history the store keeps.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading

from factory import review
from factory.errors import RevisionConflict
from factory.sample import Sample, Source
from factory.store import SampleFilter, Store
from tests.conftest import REPO, varied_text

REFUSAL = "I'm sorry, but as an AI language model I cannot help with that request."
SAMPLES = 1200
APP_REVIEWERS = ("ann", "ben")
HUMAN_BULK = ("bulk-approver", "bulk-rejecter")


def _is_person(actor: str) -> bool:
    return actor.startswith("reviewer:") or actor in HUMAN_BULK


def _store_with_pending(ws) -> list[Sample]:
    samples = [Sample(instruction=varied_text(i), output=REFUSAL if i % 4 == 0 else varied_text(10_000 + i, words=20),
                      source=Source(kind="notes", uri="notes/a.md")) for i in range(SAMPLES)]
    with ws.open_store() as store:
        store.sync_document("notes", "notes/a.md", "h1", "v1", samples, actor="job:extract#1")
    return samples


def _factory(ws, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "factory", "--workspace", str(ws.root), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def _app_reviewer(ws, name: str, ids: list[str], done: list[tuple[str, str, int]], rng: random.Random) -> None:
    """What a reviewer does in the app: read a sample, then decide or fix it at the revision seen."""
    with Store(ws.store_path) as store:
        for sample_id in rng.sample(ids, 150):
            seen = store.get(sample_id)
            try:
                if seen.output == REFUSAL and rng.random() < 0.5:
                    review.edit(store, sample_id, seen.revision, name, instruction=seen.instruction, input="",
                                output=f"{name} rewrote this answer: {varied_text(rng.randrange(10**6), words=15)}",
                                system=None, tags=[])
                    done.append((sample_id, "edit", seen.revision))
                elif rng.random() < 0.5:
                    if review.approve(store, sample_id, seen.revision, name):  # 0: it was approved already
                        done.append((sample_id, "approved", seen.revision))
                elif review.reject(store, sample_id, seen.revision, name, "off topic"):
                    done.append((sample_id, "rejected", seen.revision))
            except RevisionConflict:
                pass  # the app shows the other change and keeps the draft; nothing was written


def test_check_bulk_commands_and_app_reviews_at_once_keep_every_human_decision(ws):
    ids = [s.id for s in _store_with_pending(ws)]
    check = _factory(ws, "check")
    with ws.open_store() as store:  # the check has its job row and is reading its batch
        while not any(j.kind == "check" for j in store.jobs(limit=1)):
            if check.poll() is not None:
                break
    bulk = [_factory(ws, "approve", "--status", "pending", "--reviewer", HUMAN_BULK[0]),
            _factory(ws, "reject", "--status", "pending", "--reviewer", HUMAN_BULK[1], "--because", "bulk")]
    app_done: list[tuple[str, str, int]] = []
    threads = [threading.Thread(target=_app_reviewer, args=(ws, name, ids, app_done, random.Random(n)))
               for n, name in enumerate(APP_REVIEWERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for process in (check, *bulk):
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr

    with ws.open_store() as store:
        samples = {s.id: s for s in store.samples(SampleFilter(include_retired=True))}
        histories = {i: store.history(i) for i in ids}
    for sample_id, history in histories.items():
        decisions = [h for h in history if "status" in h.changes and h.action != "add"]
        people = [h for h in decisions if _is_person(h.actor)]
        # Each bulk command decided this sample at most once, and never both of them.
        assert sum(h.actor in HUMAN_BULK for h in people) <= 1, history
        if people:
            # The last person's decision stands: no check (or anything else) changed it afterwards.
            assert samples[sample_id].status == people[-1].changes["status"][1], history
            assert all(_is_person(h.actor) for h in decisions if h.seq > people[-1].seq), history
        edits = [h for h in history if h.action == "edit"]
        if edits:
            assert samples[sample_id].output == edits[-1].changes["output"][1], history
    for sample_id, action, seen in app_done:  # every save the app reported is in the history, at that revision
        assert any(h.revision == seen + 1 and h.action == action for h in histories[sample_id]), (action, seen)
    # What the check rejected, it rejected while the sample was still pending at the revision it read.
    for history in histories.values():
        for h in history:
            if h.actor == "check" and h.action == "rejected":
                before = [e for e in history if e.seq < h.seq and e.revision == h.revision - 1]
                assert before and all(not _is_person(e.actor) for e in before), history
