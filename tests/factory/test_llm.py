"""factory/llm.py against a real HTTP server speaking the OpenAI API (tests/openai_server.py).

The official `openai` client sends real requests; only the backoff sleep is replaced by one that
records the wait and returns at once, so retries are checked by what was waited, not by a clock.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from factory.config import LLMConfig
from factory.errors import BadInput
from factory.llm import BudgetExceeded, ChatRequest, LLMClient, LLMSettings, api_key
from tests.openai_server import closed_port, drop, malformed, ok, slow, status

KEY = "sk-test-secret-123"


def make_client(server, waits: list[float] | None = None, **overrides) -> LLMClient:
    settings = LLMSettings(**{"base_url": server.base_url, "model": "test-model", "max_retries": 3,
                              "backoff_base_s": 0.5, "backoff_max_s": 30.0, "timeout_s": 5.0, **overrides})

    async def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)

    return LLMClient(settings, key=KEY, sleep=sleep, seed=0)


def run(client: LLMClient, *requests: ChatRequest):
    async def go():
        try:
            return await client.chat_many(list(requests))
        finally:
            await client.close()
    return asyncio.run(go())


def ask(text: str = "Write one question about LoRA.", **kw) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], **kw)


def test_a_reply_with_its_usage_and_what_was_sent(openai_server):
    openai_server.script(ok('{"pairs": []}', usage={"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}))
    client = make_client(openai_server)
    (result,) = run(client, ask(json_mode=True))
    assert result.outcome == "ok" and result.content == '{"pairs": []}' and result.attempts == 1
    assert (result.tokens_in, result.tokens_out) == (11, 7) and client.usage.tokens_in == 11
    (sent,) = openai_server.chat_requests
    assert sent.header("authorization") == f"Bearer {KEY}"
    assert sent.json["model"] == "test-model" and sent.json["response_format"] == {"type": "json_object"}
    assert sent.json["messages"] == [{"role": "user", "content": "Write one question about LoRA."}]


def test_429_waits_at_least_what_retry_after_says(openai_server):
    openai_server.script(status(429, retry_after=7), ok("done"))
    waits: list[float] = []
    (result,) = run(make_client(openai_server, waits), ask())
    assert result.content == "done" and result.attempts == 2
    assert waits and waits[0] >= 7


@pytest.mark.parametrize("failure", [lambda: status(500), lambda: status(503), lambda: drop(),
                                     lambda: slow("late", 2.0)], ids=["500", "503", "dropped", "timeout"])
def test_passing_failures_are_retried_with_growing_jittered_backoff(openai_server, failure):
    openai_server.script(failure(), failure(), ok("finally"))
    waits: list[float] = []
    (result,) = run(make_client(openai_server, waits, timeout_s=0.5), ask())
    assert result.content == "finally" and result.attempts == 3
    assert len(waits) == 2 and 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0  # full jitter under base * 2^n


def test_a_request_that_keeps_failing_is_a_failed_result_not_a_crash(openai_server):
    openai_server.script(*[status(500)] * 4)
    (result,) = run(make_client(openai_server, []), ask())
    assert result.outcome == "failed" and result.content is None and result.attempts == 4
    assert "500" in result.error and len(openai_server.chat_requests) == 4


@pytest.mark.parametrize("reply", [lambda: malformed("{not json"), lambda: status(400)], ids=["malformed", "400"])
def test_a_reply_that_cannot_be_used_is_not_retried(openai_server, reply):
    openai_server.script(reply(), ok("unused"))
    (result,) = run(make_client(openai_server, []), ask())
    assert result.outcome == "failed" and result.attempts == 1 and len(openai_server.chat_requests) == 1


def test_the_token_budget_stops_the_run_cleanly(openai_server):
    usage = {"prompt_tokens": 60, "completion_tokens": 40, "total_tokens": 100}
    openai_server.script(default=lambda body: ok("a pair", usage=usage))
    client = make_client(openai_server, [], budget_tokens=250, concurrency=1)
    results = run(client, *[ask(f"q{i}") for i in range(6)])
    assert [r.outcome for r in results] == ["ok"] * 3 + ["budget"] * 3
    assert len(openai_server.chat_requests) == 3 and client.usage.tokens_in + client.usage.tokens_out == 300


def test_the_money_budget_uses_the_configured_prices(openai_server):
    usage = {"prompt_tokens": 1_000_000, "completion_tokens": 0, "total_tokens": 1_000_000}
    openai_server.script(default=lambda body: ok("x", usage=usage))
    client = make_client(openai_server, [], price_in_per_mtok=0.5, budget_money=1.0, concurrency=1)
    results = run(client, *[ask() for _ in range(4)])
    assert [r.outcome for r in results] == ["ok", "ok", "budget", "budget"] and client.usage.cost == 1.0
    with pytest.raises(BudgetExceeded):
        client._check_budget()


def test_many_requests_overlap_up_to_the_concurrency(openai_server):
    openai_server.script(default=lambda body: slow(body["messages"][0]["content"].upper(), 1.0))
    results = run(make_client(openai_server, [], concurrency=4), *[ask(f"q{i}") for i in range(8)])
    assert [r.content for r in results] == [f"Q{i}" for i in range(8)]  # in request order
    seen = openai_server.chat_requests
    first_reply = min(r.responded_at for r in seen)
    in_flight = [r for r in seen if r.received_at < first_reply]
    assert len(in_flight) == 4  # four at once, and the fifth only after a reply freed a slot


def test_a_missing_key_names_the_variable_and_the_key_is_never_logged(openai_server, caplog):
    with pytest.raises(BadInput, match=r"\$FACTORY_API_KEY is not set"):
        api_key(env={})
    with pytest.raises(BadInput, match="FACTORY_MODEL"):
        LLMSettings.from_config(LLMConfig(), env={})
    settings = LLMSettings.from_config(LLMConfig(model="m"), env={"FACTORY_BASE_URL": openai_server.base_url})
    assert settings.base_url == openai_server.base_url and KEY not in repr(settings)
    openai_server.script(status(429, retry_after=1), ok("fine"))
    with caplog.at_level(logging.DEBUG):
        run(make_client(openai_server, []), ask())
    assert caplog.records and KEY not in caplog.text


def test_an_error_that_quotes_the_key_keeps_it_out_of_the_result_and_the_log(openai_server, caplog):
    openai_server.script(status(500, echo_headers=True), status(401, echo_headers=True))
    with caplog.at_level(logging.INFO):
        (result,) = run(make_client(openai_server, []), ask())
    assert result.outcome == "failed" and result.attempts == 2
    assert result.error.lower().startswith("authenticationerror 401: error code: 401 - scripted status 401; "
                                           "request headers: authorization=bearer [redacted]; ")
    assert "retrying in" in caplog.text and "Bearer [redacted]" in caplog.text
    assert KEY not in result.error and KEY not in caplog.text


def test_a_reply_that_quotes_the_key_comes_back_without_it(openai_server):
    openai_server.script(ok("Sorry, I cannot.", echo_headers=True), ok("Send `Authorization: Bearer abc123456789`."))
    echoed, taught = run(make_client(openai_server, [], concurrency=1), ask(), ask())
    assert echoed.outcome == "ok" and echoed.content.startswith("Sorry, I cannot.") and KEY not in echoed.content
    assert taught.content == "Send `Authorization: Bearer abc123456789`."  # a reply is data: only the key goes


@pytest.mark.parametrize("reply, fix", [(lambda: status(401), "$FACTORY_API_KEY"),
                                        (lambda: status(403), "$FACTORY_API_KEY"),
                                        (lambda: status(404, body={"error": {"message": "model not found"}}),
                                         "$FACTORY_MODEL"),
                                        (lambda: status(400, body={"error": {"message": "Model Not Exist"}}),
                                         "$FACTORY_MODEL")],
                         ids=["401", "403", "404", "400-model"])
def test_a_permanent_failure_names_its_fix_and_stops_the_requests_not_yet_sent(openai_server, reply, fix):
    openai_server.script(reply(), default=lambda body: ok("never asked"))
    client = make_client(openai_server, [], concurrency=1)
    results = run(client, *[ask(f"q{i}") for i in range(4)])
    assert [r.outcome for r in results] == ["failed", "not_sent", "not_sent", "not_sent"]
    assert results[0].permanent and fix in results[0].error and client.unavailable == results[0].error
    assert len(openai_server.chat_requests) == 1


def test_a_closed_port_is_permanent_once_the_retries_are_spent(openai_server):
    closed = make_client(openai_server, [], max_retries=2, concurrency=1,
                         base_url=openai_server.base_url.replace(str(openai_server.port), str(closed_port())))
    results = run(closed, ask("a"), ask("b"))
    assert [r.outcome for r in results] == ["failed", "not_sent"] and results[0].attempts == 3
    assert results[0].error.startswith("APIConnectionError") and "$FACTORY_BASE_URL" in results[0].error


def test_failures_that_may_pass_do_not_stop_the_other_requests(openai_server):
    openai_server.script(*[status(500)] * 4, status(400), default=lambda body: ok("fine"))
    results = run(make_client(openai_server, [], concurrency=1), ask("a"), ask("b"), ask("c"))
    assert [r.outcome for r in results] == ["failed", "failed", "ok"]
    assert not any(r.permanent for r in results)



def test_the_sdks_own_log_lines_lose_the_key_too(openai_server, caplog):
    # A gateway that takes the key as a URL parameter: the HTTP transport logs every URL at INFO (-v).
    client = make_client(openai_server, [], base_url=f"{openai_server.base_url}/?api-key={KEY}")
    with caplog.at_level(logging.INFO):
        run(client, ask())
    assert "HTTP Request: POST" in caplog.text and KEY not in caplog.text
