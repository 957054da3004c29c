"""`factory extract notes --llm` against a scripted OpenAI-compatible server: grounded pairs with
their chunk locator, and the incremental rules (unchanged notes and answered chunks cost nothing)."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from factory.llm import LLMUnavailable
from factory.llm_notes import extract_notes_llm
from factory.store import SampleFilter
from tests.conftest import killed_while_recording, run_cli, write_note
from tests.openai_server import closed_port, ok, status

KEY = "sk-notes-secret"


def notes_model(body):
    """Answers with one pair quoting the first prose line of the chunk, and one invented pair."""
    prompt = body["messages"][-1]["content"]
    text = prompt.split("<<<\n", 1)[1].rsplit("\n>>>", 1)[0]
    line = next(x for x in text.split("\n") if x.strip() and not x.startswith("#"))
    pairs = [{"question": f"What does it say about {line[:40]}?", "answer": line, "evidence": line[:60]},
             {"question": "What colour is the sky?", "answer": "Green.", "evidence": "The sky is green."}]
    return ok(json.dumps({"pairs": pairs}), usage={"prompt_tokens": len(prompt) // 4, "completion_tokens": 60})


SECTION = "{title} line one: a fact about {title} that a colleague may ask about, with enough words to keep."


def note(*titles: str) -> str:
    return "# Handbook\n\n" + "\n\n".join(f"## {t}\n\n{SECTION.format(title=t)}" for t in titles) + "\n"


@pytest.fixture
def llm_ws(ws, openai_server, monkeypatch):
    monkeypatch.setenv("FACTORY_API_KEY", KEY)
    monkeypatch.setenv("FACTORY_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("FACTORY_MODEL", "notes-model")
    openai_server.set_default(notes_model)
    ws.config.llm.backoff_base_s = 0.001
    ws.config.llm.max_retries = 1
    ws.config.llm.concurrency = 1
    ws.config.llm_notes.chunk_tokens = 50  # one chunk per "##" section here
    ws.config.llm_notes.min_chunk_chars = 10
    folder = ws.root / "notes"
    write_note(folder, "ops.md", note("Deploys", "Rollbacks", "Alerts"))
    write_note(folder, "zh/训练.md", "# 训练手册\n\n学习率从 2e-4 开始，数据少的时候调低一些，并观察验证集损失的变化。\n")
    return ws, folder


def samples(ws) -> dict[str, object]:
    with ws.open_store() as store:
        return {s.instruction: s for s in store.samples(SampleFilter(source_kind="notes_llm"))}


def test_pairs_are_grounded_and_keep_their_chunk(llm_ws, openai_server):
    ws, folder = llm_ws
    result = extract_notes_llm(ws, folder)
    assert (result.chunks, result.asked, result.reused, result.ungrounded) == (4, 4, 0, 4)
    found = samples(ws)
    assert len(found) == 4 and "What colour is the sky?" not in found
    rollbacks = next(s for q, s in found.items() if "Rollbacks line one" in q)
    locator = rollbacks.source.locator
    assert rollbacks.source.uri == "notes/ops.md" and rollbacks.status == "pending"
    assert locator["heading_path"] == ["Handbook", "Rollbacks"] and locator["rule"] == "llm"
    lines = (folder / "ops.md").read_text().split("\n")[locator["lines"][0] - 1:locator["lines"][1]]
    assert lines[0] == "## Rollbacks" and locator["evidence"] in "\n".join(lines)
    zh = next(s for s in found.values() if s.source.uri == "notes/zh/训练.md")
    assert zh.output.startswith("学习率") and zh.source.locator["heading_path"] == ["训练手册"]
    with ws.open_store() as store:
        (run,) = store.llm_runs()
        ledger = store.llm_requests(run["id"])
    assert run["kind"] == "notes_llm" and run["samples"] == 4 and run["filtered_out"] == 4
    assert len(ledger) == 4 and all(e.key.startswith("chunk ") and len(e.produced) == 1 for e in ledger)
    assert KEY.encode() not in ws.store_path.read_bytes()
    prompt = openai_server.chat_requests[0].json["messages"][0]["content"]
    assert "Handbook" in prompt and "evidence" in prompt


def test_unchanged_notes_cost_nothing_and_an_edit_asks_only_its_chunk(llm_ws, openai_server):
    ws, folder = llm_ws
    extract_notes_llm(ws, folder)
    with ws.open_store() as store:
        store.set_status(store.ids(SampleFilter(source_kind="notes_llm")), "approved", actor="reviewer:ana")
    sent = len(openai_server.chat_requests)
    again = extract_notes_llm(ws, folder)
    assert len(openai_server.chat_requests) == sent and again.job.skipped == 2 and again.asked == 0
    write_note(folder, "ops.md", note("Deploys", "Rollbacks", "Paging"))  # one section changed
    edited = extract_notes_llm(ws, folder)
    assert len(openai_server.chat_requests) == sent + 1 and (edited.asked, edited.reused) == (1, 2)
    status_of = {s.source.locator["heading_path"][-1]: s.status for s in samples(ws).values()}
    assert status_of == {"Handbook": "approved", "Rollbacks": "approved", "Paging": "pending", "训练手册": "approved"}
    assert edited.job.retired == 1  # the Alerts pair left with its section
    (folder / "ops.md").unlink()
    gone = extract_notes_llm(ws, folder)
    assert gone.job.retired == 3 and len(openai_server.chat_requests) == sent + 1


def test_a_killed_run_pays_once_for_every_recorded_answer(llm_ws, openai_server):
    ws, folder = llm_ws
    with killed_while_recording(lambda n, _: n == 3):
        extract_notes_llm(ws, folder)
    assert len(openai_server.chat_requests) == 3 and samples(ws) == {}  # no note was complete
    result = extract_notes_llm(ws, folder)
    assert (result.asked, result.reused) == (2, 2) and len(openai_server.chat_requests) == 5
    assert len(samples(ws)) == 4
    with ws.open_store() as store:
        assert [j.state for j in store.jobs()] == ["completed", "interrupted"]


def test_a_chunk_without_an_answer_keeps_the_notes_earlier_pairs(llm_ws, openai_server):
    ws, folder = llm_ws
    extract_notes_llm(ws, folder)
    before = set(samples(ws))
    write_note(folder, "ops.md", note("Deploys", "Rollbacks", "Paging"))
    openai_server.script(status(500), status(500))  # the one new chunk fails, retry included
    failed = extract_notes_llm(ws, folder)
    assert failed.job.errors == 1 and set(samples(ws)) == before
    assert re.match(r"notes/ops\.md: 1 of 3 chunks got no usable answer \(InternalServerError 500",
                    failed.job.error_log[0]["error"])
    finished = extract_notes_llm(ws, folder)
    assert finished.asked == 1 and finished.job.errors == 0
    assert any("Paging line one" in q for q in samples(ws))


def test_cli_extract_llm_reports_chunks_and_cost(llm_ws, openai_server):
    ws, folder = llm_ws
    env = {"FACTORY_API_KEY": KEY, "FACTORY_BASE_URL": openai_server.base_url, "FACTORY_MODEL": "m"}
    ws.config_path.write_text(ws.config_path.read_text().replace("chunk_tokens = 1200", "chunk_tokens = 50")
                              .replace("min_chunk_chars = 80", "min_chunk_chars = 10"))
    out = run_cli("extract", "notes", "notes", "--llm", cwd=ws.root, env=env).stdout
    assert "notes (llm): 4 added" in out and "chunks: 4, 4 asked, 0 answered before; 4 ungrounded" in out
    status_json = json.loads(run_cli("status", "--json", cwd=ws.root, env=env).stdout)
    assert status_json["generation_runs"][0]["kind"] == "notes_llm"
    write_note(folder, "new.md", "# New\n\nA brand new note with a fact worth asking about in a review.\n")
    missing = run_cli("extract", "notes", "notes", "--llm", cwd=ws.root, check=False,
                      env={**env, "FACTORY_API_KEY": ""})
    assert missing.returncode == 1 and "FACTORY_API_KEY is not set" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def cli_ready(ws, base_url: str) -> dict[str, str]:
    """The fixture's settings in the config file, for the CLI: one chunk a section, one request at a
    time, one retry at once. Returns the environment to run it in."""
    text = ws.config_path.read_text()
    for default, value in (("chunk_tokens = 1200", "chunk_tokens = 50"),
                           ("min_chunk_chars = 80", "min_chunk_chars = 10"), ("concurrency = 8", "concurrency = 1"),
                           ("max_retries = 6", "max_retries = 1"), ("backoff_base_s = 1.0", "backoff_base_s = 0.001")):
        text = text.replace(default, value)
    ws.config_path.write_text(text)
    return {"FACTORY_API_KEY": KEY, "FACTORY_BASE_URL": base_url, "FACTORY_MODEL": "m"}


def stored_bytes(ws) -> bytes:
    """Every byte under .factory/: the store with its WAL and history, the config, the lock, versions."""
    return b"".join(p.read_bytes() for p in sorted((ws.root / ".factory").rglob("*")) if p.is_file())


def test_cli_a_key_quoted_by_a_failing_server_stays_out_of_the_store_the_jobs_and_the_log(llm_ws, openai_server):
    ws, folder = llm_ws
    env = cli_ready(ws, openai_server.base_url)
    openai_server.script(status(500, echo_headers=True), status(500, echo_headers=True))  # the first chunk fails
    made = run_cli("-v", "extract", "notes", "notes", "--llm", cwd=ws.root, env=env)
    assert "retrying in" in made.stderr and "warning: skipped notes/" in made.stderr
    assert "Bearer [redacted]" in made.stderr
    (job,) = json.loads(run_cli("jobs", "--json", cwd=ws.root, env=env).stdout)
    assert job["errors"] == 1 and "InternalServerError 500" in job["error_log"][0]["error"]
    assert "Bearer [redacted]" in job["error_log"][0]["error"]
    ledger = run_cli("ledger", "--json", cwd=ws.root, env=env).stdout
    assert json.loads(ledger)[0]["requests_log"][0]["outcome"] == "failed"
    for text in (made.stdout, made.stderr, ledger, run_cli("jobs", cwd=ws.root, env=env).stdout):
        assert KEY not in text
    assert KEY.encode() not in stored_bytes(ws)


def test_cli_a_rejected_key_fails_the_job_in_one_line_and_exit_1(llm_ws, openai_server):
    ws, folder = llm_ws
    env = cli_ready(ws, openai_server.base_url)
    openai_server.set_default(lambda body: status(401, echo_headers=True))
    failed = run_cli("extract", "notes", "notes", "--llm", cwd=ws.root, env=env, check=False)
    lines = [x for x in failed.stderr.splitlines() if x.strip()]
    assert failed.returncode == 1 and len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: ") and "AuthenticationError 401" in lines[0]
    assert "check $FACTORY_API_KEY" in lines[0] and "4 of 4 chunks got no answer" in lines[0]
    assert len(openai_server.chat_requests) == 1  # nothing more was sent after the key was refused
    (job,) = json.loads(run_cli("jobs", "--json", cwd=ws.root, env=env).stdout)
    assert job["state"] == "failed" and job["errors"] == 2
    ledger = run_cli("ledger", "--json", cwd=ws.root, env=env).stdout
    assert json.loads(ledger)[0]["state"] == "failed"
    for text in (failed.stdout, failed.stderr, ledger, json.dumps(job)):
        assert KEY not in text
    assert KEY.encode() not in stored_bytes(ws)


def test_cli_an_unreachable_server_fails_the_job_in_one_line_and_exit_1(llm_ws):
    ws, folder = llm_ws
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    failed = run_cli("extract", "notes", "notes", "--llm", cwd=ws.root, env=cli_ready(ws, base_url), check=False)
    lines = [x for x in failed.stderr.splitlines() if x.strip()]
    assert failed.returncode == 1 and len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: ") and "APIConnectionError" in lines[0] and base_url in lines[0]


def test_a_key_refused_midway_keeps_what_was_answered_for_the_next_run(llm_ws, openai_server):
    ws, folder = llm_ws
    answered = itertools.count()
    openai_server.set_default(lambda body: notes_model(body) if next(answered) < 1 else status(401))
    with pytest.raises(LLMUnavailable, match=r"3 of 4 chunks got no answer: AuthenticationError 401"):
        extract_notes_llm(ws, folder)
    openai_server.set_default(notes_model)
    result = extract_notes_llm(ws, folder)
    assert (result.asked, result.reused) == (3, 1) and len(samples(ws)) == 4


def test_a_pair_of_an_edited_chunk_names_the_approved_pair_it_replaces(llm_ws, openai_server):
    ws, folder = llm_ws
    extract_notes_llm(ws, folder)
    with ws.open_store() as store:
        store.set_status(store.ids(SampleFilter(source_kind="notes_llm")), "approved", actor="reviewer:ana")
    old = next(s for q, s in samples(ws).items() if "Rollbacks line one" in q)
    write_note(folder, "ops.md", note("Deploys", "Rollbacks", "Alerts").replace(
        "a fact about Rollbacks", "the one fact about Rollbacks"))
    edited = extract_notes_llm(ws, folder)
    assert (edited.asked, edited.job.added, edited.job.retired, edited.job.replaced) == (1, 1, 1, 1)
    new = next(s for q, s in samples(ws).items() if "Rollbacks line one" in q)
    with ws.open_store() as store:
        assert new.status == "pending" and store.replaces(new.id) == old.id
