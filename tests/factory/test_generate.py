"""`factory generate` against a scripted OpenAI-compatible server: the loop, filters, ledger, resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from itertools import count

import pytest

from factory.generate import BLACKLIST, generate, passes_filters
from factory.llm import LLMUnavailable
from factory.workspace import Workspace
from tests.conftest import REPO, killed_while_recording, run_cli, varied_text
from tests.openai_server import closed_port, malformed, ok, status

KEY = "sk-secret-do-not-store"


class FakeModel:
    """Writes new tasks or whole cases from a counter and answers tasks it is given; scripted
    extras go first."""

    def __init__(self):
        self.numbers = count()

    def __call__(self, body):
        prompt = body["messages"][-1]["content"]
        asked = re.match(r"Write (\d+) new, realistic cases", prompt)
        if asked:
            cases = [{"instruction": f"Case {n}: {varied_text(n, words=9)}", "input": "",
                      "output": varied_text(n + 5000, 15)} for n in (next(self.numbers) for _ in range(int(asked[1])))]
            return ok(json.dumps(cases), usage={"prompt_tokens": 60, "completion_tokens": 200})
        if prompt.startswith("You write new"):
            tasks = [{"instruction": f"Task {n}: {varied_text(n, words=9)}"} for n in
                     (next(self.numbers) for _ in range(4))]
            return ok("```json\n" + json.dumps(tasks) + "\n```", usage={"prompt_tokens": 50, "completion_tokens": 40})
        given = re.findall(r"^\d+\. (.+)$", prompt.split("Tasks:", 1)[1], flags=re.MULTILINE)
        pairs = [{"instruction": t, "input": "", "output": f"Answer to {t[:20]} " + varied_text(len(t), 15)}
                 for t in given]
        return ok(json.dumps({"pairs": pairs}), usage={"prompt_tokens": 80, "completion_tokens": 120})


@pytest.fixture
def gen_ws(ws, openai_server, monkeypatch, tmp_path):
    monkeypatch.setenv("FACTORY_API_KEY", KEY)
    monkeypatch.setenv("FACTORY_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("FACTORY_MODEL", "test-model")
    seeds = tmp_path / "seed_tasks.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Seed {i}: {varied_text(900 + i, words=9)}",
                                         "instances": [{"input": "", "output": varied_text(950 + i)}]}) + "\n"
                             for i in range(8)), encoding="utf-8")
    openai_server.set_default(FakeModel())
    ws.config.llm.backoff_base_s = 0.01
    return ws, seeds


def test_generates_to_the_count_with_a_ledger_and_pending_samples(gen_ws, openai_server):
    ws, seeds = gen_ws
    result = generate(ws, count=12, seeds=str(seeds), concurrency=2)
    assert result.total >= 12 and result.added == result.total and not result.resumed and result.stopped is None
    with ws.open_store() as store:
        samples = store.samples()
        assert len(samples) == result.total and {s.status for s in samples} == {"pending"}
        assert {s.source.kind for s in samples} == {"self_instruct"} and samples[0].source.uri == result.run_id
        assert samples[0].source.locator["template"] and "instances" in samples[0].source.locator["request"]
        ledger = store.llm_requests(result.run_id)
        (run,) = store.llm_runs()
    assert {e.outcome for e in ledger} == {"ok"} and sum(e.tokens_in for e in ledger) == result.usage["tokens_in"]
    produced = [i for e in ledger for i in e.produced]
    assert sorted(produced) == sorted(s.id for s in samples)
    assert run["samples"] == result.total and run["tokens_out"] > 0
    # the paper's prompt: 6 human examples (from the seed file) and, once there are any, 2 machine ones
    prompts = [r.json["messages"][-1]["content"] for r in openai_server.chat_requests
               if r.json["messages"][-1]["content"].startswith("You write new")]
    shown = [re.findall(r"^\d+\. (.+)$", p, flags=re.MULTILINE) for p in prompts]
    assert all(len([t for t in s if t.startswith("Seed ")]) == 6 for s in shown)
    assert {len([t for t in s if t.startswith("Task ")]) for s in shown} <= {0, 2}
    assert any(len([t for t in s if t.startswith("Task ")]) == 2 for s in shown)
    # the key only as the Authorization header
    assert openai_server.chat_requests[0].header("authorization") == f"Bearer {KEY}"
    assert KEY.encode() not in ws.store_path.read_bytes()


def test_domain_mode_writes_many_cases_per_call_on_the_configured_topics(gen_ws, openai_server):
    ws, seeds = gen_ws
    ws.config.generate.topics = ["tongue diagnosis", "pulse diagnosis"]
    ws.config.generate.pairs_per_call = 5
    result = generate(ws, count=20, domain="traditional Chinese medicine", seeds=str(seeds), concurrency=1)
    assert result.total == 20 and result.requests == 4  # 5 cases a request, one request a round
    prompts = [r.json["messages"] for r in openai_server.chat_requests]
    assert {m[0]["content"] for m in prompts} == {"You are a senior practitioner of traditional Chinese medicine."}
    assert [re.search(r"cases about (.+?) of the kind", m[-1]["content"])[1] for m in prompts] == \
        ["tongue diagnosis", "pulse diagnosis"] * 2
    with ws.open_store() as store:
        samples = store.samples()
        ledger = store.llm_requests(result.run_id)
    assert {s.source.locator["topic"] for s in samples} == {"tongue diagnosis", "pulse diagnosis"}
    assert [e.key for e in ledger] == [f"round {n}: cases" for n in (1, 2, 3, 4)]
    assert all(len(e.produced) == 5 for e in ledger)


def test_domain_and_topics_come_from_the_config_file(gen_ws, openai_server):
    ws, seeds = gen_ws
    text = ws.config_path.read_text().replace('domain = ""', 'domain = "tax law"').replace(
        "topics = []", 'topics = ["VAT"]')
    ws.config_path.write_text(text)
    ws = Workspace(ws.root)
    ws.config.llm.backoff_base_s = 0.01
    result = generate(ws, count=3, seeds=str(seeds), concurrency=1)
    first = openai_server.chat_requests[0].json["messages"]
    assert first[0]["content"] == "You are a senior practitioner of tax law."
    assert "cases about VAT" in first[1]["content"]
    assert result.total >= 3


def test_a_killed_run_resumes_without_resending_finished_requests(gen_ws, openai_server):
    ws, seeds = gen_ws
    with killed_while_recording(lambda n, _: n == 5):
        generate(ws, count=16, seeds=str(seeds), concurrency=1)
    with ws.open_store() as store:
        (run,) = store.llm_runs()
        before = {e.key for e in store.llm_requests(run["id"])}
    assert len(before) == 4
    result = generate(ws, count=16, seeds=str(seeds), concurrency=1)
    assert result.resumed and result.run_id == run["id"] and result.total >= 16
    with ws.open_store() as store:
        keys = [e.key for e in store.llm_requests(run["id"])]
        assert len(keys) == len(set(keys)) and before <= set(keys)  # nothing finished was asked again
        assert store.count() == result.total
    again = generate(ws, count=16, seeds=str(seeds), concurrency=1, new_run=True)
    assert again.run_id != run["id"] and not again.resumed


def test_cli_killed_with_sigkill_resumes_to_a_few_hundred_domain_pairs(gen_ws, openai_server):
    """As a user would: `factory generate --count 300 --domain ...`, kill -9 midway, run it again."""
    ws, seeds = gen_ws
    model = FakeModel()
    openai_server.set_default(lambda body: _slowly(model, body))
    env = {**os.environ, "PYTHONPATH": str(REPO), "FACTORY_API_KEY": KEY, "FACTORY_BASE_URL": openai_server.base_url,
           "FACTORY_MODEL": "test-model"}
    command = [sys.executable, "-m", "factory", "generate", "--count", "300", "--domain", "tax law",
               "--seeds", str(seeds), "--concurrency", "4"]
    proc = subprocess.Popen(command, cwd=ws.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with ws.open_store() as store:
        while proc.poll() is None and store.read("SELECT count(*) FROM llm_requests")[0][0] < 8:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        recorded = store.read("SELECT count(*) FROM llm_requests")[0][0]
        assert proc.returncode == -signal.SIGKILL and 8 <= recorded < 30, "killed midway"
        assert store.integrity_check() == "ok"
    finished = run_cli("generate", "--count", "300", "--domain", "tax law", "--seeds", str(seeds), "--concurrency",
                       "4", "--json", cwd=ws.root, env=env)
    result = json.loads(finished.stdout)
    assert result["resumed"] and result["total"] >= 300 and result["stopped"] is None
    stats = json.loads(run_cli("status", "--json", cwd=ws.root, env=env).stdout)
    (run,) = stats["generation_runs"]
    assert run["samples"] == result["total"] and run["state"] == "completed" and run["acceptance_rate"] == 0.0
    with ws.open_store() as store:
        keys = [e.key for e in store.llm_requests(run["id"])]
        assert store.count() == result["total"]
    assert len(keys) == len(set(keys))
    assert len(openai_server.chat_requests) - len(keys) <= 4  # at most the requests in flight at the kill


def _slowly(model, body):
    reply = model(body)
    return ok(reply.content, delay=0.05, usage=reply.usage)


def _instruction_prompts(server) -> int:
    return sum(r.json["messages"][-1]["content"].startswith("You write new") for r in server.chat_requests)


def test_a_round_killed_between_its_two_steps_is_finished_from_the_kept_instructions(gen_ws, openai_server):
    ws, seeds = gen_ws
    with killed_while_recording(lambda _, entry: entry.key.endswith("instances")):
        generate(ws, count=4, seeds=str(seeds), concurrency=1)
    assert _instruction_prompts(openai_server) == 1
    result = generate(ws, count=4, seeds=str(seeds), concurrency=1)
    assert result.total == 4 and _instruction_prompts(openai_server) == 1  # the paid instructions were reused
    with ws.open_store() as store:
        keys = [e.key for e in store.llm_requests(result.run_id)]
        samples = store.samples()
    assert keys == ["round 1: instructions", "round 1: instances"]
    assert {s.source.locator["request"] for s in samples} == {"round 1: instances"}


def test_killed_many_times_a_run_still_reaches_its_count_and_pays_once_per_request(gen_ws, openai_server):
    """Killed after the 3rd, 2nd, 4th and 1st recorded request of successive sessions: the run ends
    at --count, every ledger key once, and the only requests sent twice are the one in flight
    at each kill."""
    ws, seeds = gen_ws
    kills = [3, 2, 4, 1]
    for after in kills:
        with killed_while_recording(lambda n, _, after=after: n == after):
            generate(ws, count=20, seeds=str(seeds), concurrency=1)
    result = generate(ws, count=20, seeds=str(seeds), concurrency=1)
    assert result.resumed and result.total >= 20 and result.stopped is None
    with ws.open_store() as store:
        (run,) = store.llm_runs()
        keys = [e.key for e in store.llm_requests(run["id"])]
        assert store.count() == result.total == run["samples"]
    assert len(keys) == len(set(keys))
    assert len(openai_server.chat_requests) == len(keys) + len(kills)


def test_what_earlier_sessions_spent_counts_against_the_budget(gen_ws, openai_server):
    ws, seeds = gen_ws
    ws.config.llm.budget_tokens = 300  # a round costs 90 + 200 tokens here
    first = generate(ws, count=12, seeds=str(seeds), concurrency=1)
    assert first.stopped == "budget" and 0 < first.total < 12
    sent = len(openai_server.chat_requests)
    again = generate(ws, count=12, seeds=str(seeds), concurrency=1)
    assert again.resumed and again.stopped == "budget" and len(openai_server.chat_requests) == sent
    with ws.open_store() as store:
        assert store.llm_runs()[0]["state"] == "budget"
    ws.config.llm.budget_tokens = 100_000
    last = generate(ws, count=12, seeds=str(seeds), concurrency=1)
    assert last.resumed and last.stopped is None and last.total >= 12


def test_unparsable_answers_are_kept_raw_and_the_run_goes_on(gen_ws, openai_server):
    ws, seeds = gen_ws
    openai_server.script(ok("Sorry, here are some ideas: none of them JSON."), malformed("{broken"))
    result = generate(ws, count=4, seeds=str(seeds), concurrency=1)
    assert result.total >= 4
    with ws.open_store() as store:
        ledger = store.llm_requests(result.run_id)
    assert ledger[0].outcome == "unparsable" and ledger[0].raw.startswith("Sorry")
    assert any(e.outcome == "failed" for e in ledger)


def test_the_papers_filters():
    assert passes_filters("Write a haiku about autumn rain.") is None
    assert passes_filters("Draw a picture of a cat.") == "blacklist"
    assert passes_filters("看这张图片然后描述它的内容") == "blacklist"
    assert passes_filters("Hi.") == "length"
    assert passes_filters("- list three fruits") == "starts with punctuation"
    assert "image" in BLACKLIST


def test_near_copies_of_the_pool_are_filtered(gen_ws, openai_server):
    ws, seeds = gen_ws
    seed_text = json.loads(seeds.read_text().splitlines()[0])["instruction"]
    openai_server.script(ok(json.dumps([{"instruction": seed_text}, {"instruction": "Draw a map of the city."}])))
    result = generate(ws, count=4, seeds=str(seeds), concurrency=1)
    assert result.filtered >= 2
    with ws.open_store() as store:
        assert seed_text not in {s.instruction for s in store.samples()}


def test_cli_generate_and_status_show_cost_and_runs(gen_ws, openai_server):
    ws, seeds = gen_ws
    ws.config_path.write_text(ws.config_path.read_text().replace("price_in_per_mtok = 0.0", "price_in_per_mtok = 2.0"))
    env = {"FACTORY_API_KEY": KEY, "FACTORY_BASE_URL": openai_server.base_url, "FACTORY_MODEL": "test-model"}
    out = run_cli("generate", "--count", "4", "--seeds", str(seeds), cwd=ws.root, env=env).stdout
    assert "started run si-" in out and "pairs added" in out
    stats = json.loads(run_cli("status", "--json", cwd=ws.root, env=env).stdout)
    (run,) = stats["generation_runs"]
    assert run["samples"] >= 4 and run["cost"] > 0 and run["acceptance_rate"] == 0.0
    ledger = json.loads(run_cli("ledger", run["id"], "--json", cwd=ws.root, env=env).stdout)
    assert "round 1: instructions" in {e["key"] for e in ledger[0]["requests_log"]}  # rounds run concurrently
    assert sum(len(e["produced"]) for e in ledger[0]["requests_log"]) == run["samples"]
    assert run["id"] in run_cli("ledger", cwd=ws.root, env=env).stdout
    missing = run_cli("generate", "--count", "4", "--seeds", str(seeds), cwd=ws.root,
                      env={"FACTORY_BASE_URL": openai_server.base_url, "FACTORY_MODEL": "m", "FACTORY_API_KEY": ""},
                      check=False)
    assert missing.returncode == 1 and "FACTORY_API_KEY is not set" in missing.stderr
    assert Workspace(ws.root)  # the workspace is intact


def cli_env(base_url: str) -> dict[str, str]:
    return {"FACTORY_API_KEY": KEY, "FACTORY_BASE_URL": base_url, "FACTORY_MODEL": "test-model"}


def quick_retries(ws: Workspace) -> None:
    """One retry, at once: what the CLI reads from the config file."""
    ws.config_path.write_text(ws.config_path.read_text().replace("max_retries = 6", "max_retries = 1")
                              .replace("backoff_base_s = 1.0", "backoff_base_s = 0.001"))


def stored_bytes(ws: Workspace) -> bytes:
    """Every byte under .factory/: the store with its WAL and history, the config, the lock, versions."""
    return b"".join(p.read_bytes() for p in sorted((ws.root / ".factory").rglob("*")) if p.is_file())


def test_a_key_that_errors_and_replies_quote_stays_out_of_the_store_the_ledger_and_the_log(gen_ws, openai_server):
    ws, seeds = gen_ws
    quick_retries(ws)
    openai_server.script(status(500, echo_headers=True), status(500, echo_headers=True),  # round 1 fails for good
                         ok("Sorry, no JSON today.", echo_headers=True))  # round 2: kept raw, unparsable
    env = cli_env(openai_server.base_url)
    made = run_cli("-v", "generate", "--count", "4", "--seeds", str(seeds), "--concurrency", "1", cwd=ws.root, env=env)
    assert "retrying in" in made.stderr and "Bearer [redacted]" in made.stderr
    (run,) = json.loads(run_cli("ledger", "--json", cwd=ws.root, env=env).stdout)
    failed, unparsable = run["requests_log"][:2]
    assert failed["outcome"] == "failed" and failed["error"].startswith("InternalServerError 500: ")
    assert "Bearer [redacted]" in failed["error"]
    assert unparsable["outcome"] == "unparsable" and unparsable["raw"].startswith("Sorry, no JSON today.")
    assert "Bearer [redacted]" in unparsable["raw"]
    shown = run_cli("ledger", run["id"], cwd=ws.root, env=env).stdout
    assert "InternalServerError 500" in shown
    for text in (made.stdout, made.stderr, shown, json.dumps(run)):
        assert KEY not in text
    assert KEY.encode() not in stored_bytes(ws)


def test_a_rejected_key_fails_the_run_in_one_line_and_exit_1(gen_ws, openai_server):
    ws, seeds = gen_ws
    openai_server.set_default(lambda body: status(401, echo_headers=True))
    env = cli_env(openai_server.base_url)
    failed = run_cli("-v", "generate", "--count", "4", "--seeds", str(seeds), "--concurrency", "2", cwd=ws.root,
                     env=env, check=False)
    assert failed.returncode == 1, failed.stderr
    (line,) = [x for x in failed.stderr.splitlines() if x.startswith("error:")]
    assert "AuthenticationError 401" in line and "check $FACTORY_API_KEY" in line and "0 pairs added" in line
    assert "run the same command to continue" not in failed.stderr
    assert len(openai_server.chat_requests) <= 2  # the requests already in flight, nothing after
    (run,) = json.loads(run_cli("ledger", "--json", cwd=ws.root, env=env).stdout)
    assert run["state"] == "failed" and {e["outcome"] for e in run["requests_log"]} == {"failed"}
    assert "Bearer [redacted]" in run["requests_log"][0]["error"]
    for text in (failed.stdout, failed.stderr, run_cli("ledger", run["id"], cwd=ws.root, env=env).stdout):
        assert KEY not in text
    assert KEY.encode() not in stored_bytes(ws)


def test_an_unreachable_server_fails_the_run_in_one_line_and_exit_1(gen_ws):
    ws, seeds = gen_ws
    quick_retries(ws)
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    failed = run_cli("generate", "--count", "4", "--seeds", str(seeds), cwd=ws.root, env=cli_env(base_url),
                     check=False)
    lines = [x for x in failed.stderr.splitlines() if x.strip()]
    assert failed.returncode == 1 and len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: ") and "APIConnectionError" in lines[0] and base_url in lines[0]


def test_a_key_revoked_midway_keeps_the_pairs_made_and_the_run_continues_once_fixed(gen_ws, openai_server):
    ws, seeds = gen_ws
    model, answered = FakeModel(), count()
    openai_server.set_default(lambda body: model(body) if next(answered) < 2 else status(401))
    with pytest.raises(LLMUnavailable, match=r"AuthenticationError 401.*4 pairs added.*the same command continues"):
        generate(ws, count=8, seeds=str(seeds), concurrency=1)
    with ws.open_store() as store:
        (run,) = store.llm_runs()
        assert run["state"] == "failed" and store.count() == 4
    openai_server.set_default(model)  # the key works again
    result = generate(ws, count=8, seeds=str(seeds), concurrency=1)
    assert result.resumed and result.total >= 8 and result.stopped is None
