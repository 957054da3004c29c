"""`factory generate` against a scripted OpenAI-compatible server: the loop, filters, ledger, resume."""

from __future__ import annotations

import json
import re
from itertools import count

import pytest

from factory.generate import BLACKLIST, generate, passes_filters
from factory.store import Store
from factory.workspace import Workspace
from tests.conftest import run_cli, varied_text
from tests.openai_server import malformed, ok

KEY = "sk-secret-do-not-store"


class FakeModel:
    """Writes new tasks from a counter and answers tasks it is given; scripted extras go first."""

    def __init__(self):
        self.numbers = count()

    def __call__(self, body):
        prompt = body["messages"][-1]["content"]
        if prompt.startswith("You write new"):
            tasks = [{"instruction": f"Task {n}: {varied_text(n, words=9)}"} for n in
                     (next(self.numbers) for _ in range(4))]
            return ok("```json\n" + json.dumps(tasks) + "\n```", usage={"prompt_tokens": 50, "completion_tokens": 40})
        given = re.findall(r"^\d+\. (.+)$", prompt.split("Tasks:", 1)[1], flags=re.M)
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
    result = generate(ws, count=12, domain="LLM fine-tuning", seeds=str(seeds), concurrency=2)
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
    # the persona reached the model; the key only as the Authorization header
    first = openai_server.chat_requests[0]
    assert first.json["messages"][0] == {"role": "system", "content": "You are a senior practitioner of LLM fine-tuning."}
    assert first.header("authorization") == f"Bearer {KEY}"
    assert KEY.encode() not in ws.store_path.read_bytes()


def test_a_killed_run_resumes_without_resending_finished_requests(gen_ws, openai_server, monkeypatch):
    ws, seeds = gen_ws
    calls = count(1)
    original = Store.record_llm_request

    def dies_on_fifth(self, *args, **kwargs):
        if next(calls) == 5:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "record_llm_request", dies_on_fifth)
    with pytest.raises(KeyboardInterrupt):
        generate(ws, count=16, seeds=str(seeds), concurrency=1)
    monkeypatch.setattr(Store, "record_llm_request", original)
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
