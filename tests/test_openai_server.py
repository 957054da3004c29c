"""The scripted OpenAI-compatible test server, exercised through the real ``openai`` client."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from tests import openai_server as openai_server_module
from tests.openai_server import (
    OpenAIServer,
    count_prompt_tokens,
    drop,
    malformed,
    ok,
    slow,
    status,
)

openai_server = openai_server_module.openai_server  # the fixture (conftest may import it instead)

MESSAGES = [{"role": "system", "content": "You write Q/A pairs."},
            {"role": "user", "content": "Write one pair about tides."}]


def client(server: OpenAIServer, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0, **kwargs)


def chat(c: openai.OpenAI, **kwargs):
    return c.chat.completions.create(model="gen-model", messages=MESSAGES, **kwargs)


def test_ok_content_usage_and_what_the_client_sent(openai_server: OpenAIServer) -> None:
    openai_server.script(ok("Q: Why tides?\nA: The moon."))
    with client(openai_server) as c:
        resp = chat(c)
    assert resp.object == "chat.completion"
    assert resp.model == "gen-model"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "Q: Why tides?\nA: The moon."
    assert resp.choices[0].finish_reason == "stop"
    expected_prompt = count_prompt_tokens({"messages": MESSAGES})
    assert resp.usage.prompt_tokens == expected_prompt
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens

    [req] = openai_server.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.authorization == "Bearer test-key"
    assert req.header("authorization") == "Bearer test-key"  # case-insensitive lookup
    assert req.json["model"] == "gen-model"
    assert req.json["messages"] == MESSAGES
    assert req.responded_at is not None and req.responded_at >= req.received_at
    assert openai_server.remaining == 0


def test_json_object_recorded_finish_reason_and_usage_override(openai_server: OpenAIServer) -> None:
    openai_server.script(ok('{"q": "x"', finish_reason="length", usage={"completion_tokens": 7}))
    with client(openai_server) as c:
        resp = chat(c, response_format={"type": "json_object"}, max_tokens=5)
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 7
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + 7
    [req] = openai_server.chat_requests
    assert req.json["response_format"] == {"type": "json_object"}
    assert req.json["max_tokens"] == 5


def test_queue_then_default_then_exhausted(openai_server: OpenAIServer) -> None:
    openai_server.script("first", ok("second"))
    with client(openai_server) as c:
        assert chat(c).choices[0].message.content == "first"
        assert chat(c).choices[0].message.content == "second"
        with pytest.raises(openai.InternalServerError, match="no reply left"):
            chat(c)
        openai_server.set_default(lambda body: f"echo {body['messages'][-1]['content']}")
        assert chat(c).choices[0].message.content == "echo Write one pair about tides."
    assert len(openai_server.chat_requests) == 4


def test_models_endpoint(openai_server: OpenAIServer) -> None:
    with client(openai_server) as c:
        models = list(c.models.list())
    assert [m.id for m in models] == [openai_server.model]
    assert openai_server.requests[0].path == "/v1/models"


def test_429_with_retry_after_is_rate_limit_error(openai_server: OpenAIServer) -> None:
    openai_server.script(status(429, retry_after=3))
    with client(openai_server) as c, pytest.raises(openai.RateLimitError) as info:
        chat(c)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "3"
    assert len(openai_server.chat_requests) == 1  # max_retries=0: one attempt only


def test_500_and_503_are_internal_server_errors(openai_server: OpenAIServer) -> None:
    openai_server.script(status(500), status(503, body={"error": {"message": "overloaded"}}))
    with client(openai_server) as c:
        with pytest.raises(openai.InternalServerError) as info:
            chat(c)
        assert info.value.status_code == 500
        with pytest.raises(openai.InternalServerError, match="overloaded") as info:
            chat(c)
        assert info.value.status_code == 503


def test_client_retries_are_recorded_with_gaps(openai_server: OpenAIServer) -> None:
    # the client honours `retry-after-ms`, which keeps the back-off short
    fast = {"retry-after-ms": "20"}
    openai_server.script(status(429, headers=fast), status(503, headers=fast), ok("finally"))
    with openai.OpenAI(base_url=openai_server.base_url, api_key="test-key", max_retries=2) as c:
        assert chat(c).choices[0].message.content == "finally"
    assert len(openai_server.chat_requests) == 3
    gaps = openai_server.gaps()
    assert len(gaps) == 2 and all(g >= 0.02 for g in gaps)


def test_malformed_body_raises_json_decode_error(openai_server: OpenAIServer) -> None:
    # The client does not wrap this: a 200 whose body is not JSON surfaces as json.JSONDecodeError
    # (a ValueError), not as an openai.APIError subclass.
    openai_server.script(malformed(), malformed("not json at all"))
    with client(openai_server) as c:
        for _ in range(2):
            with pytest.raises(json.JSONDecodeError) as info:
                chat(c)
            assert not isinstance(info.value, openai.APIError)


def test_drop_is_connection_error(openai_server: OpenAIServer) -> None:
    openai_server.script(drop(), ok("after the drop"))
    with client(openai_server) as c:
        with pytest.raises(openai.APIConnectionError) as info:
            chat(c)
        assert not isinstance(info.value, openai.APITimeoutError)
        assert chat(c).choices[0].message.content == "after the drop"  # server still fine


def test_slow_reply_beyond_client_timeout_is_timeout_error(openai_server: OpenAIServer) -> None:
    openai_server.script(slow("too late", 5.0))
    with client(openai_server, timeout=0.2) as c, pytest.raises(openai.APITimeoutError):
        chat(c)
    # stopping the server (fixture teardown) wakes the sleeping handler, so this costs ~0.2 s


def test_async_concurrent_requests_overlap(openai_server: OpenAIServer) -> None:
    n = 8
    openai_server.script(default=lambda body: ok(f"reply to {body['messages'][-1]['content']}", delay=0.2))

    async def main() -> list[str]:
        async with openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="test-key",
                                      max_retries=0) as c:
            resps = await asyncio.gather(*(
                c.chat.completions.create(model="gen-model", messages=[{"role": "user", "content": f"q{i}"}])
                for i in range(n)))
        return [r.choices[0].message.content for r in resps]

    contents = asyncio.run(main())
    assert contents == [f"reply to q{i}" for i in range(n)]
    reqs = openai_server.chat_requests
    assert len(reqs) == n
    assert all(r.authorization == "Bearer test-key" for r in reqs)
    # every request had arrived before the first response went out: they were served concurrently
    assert max(r.received_at for r in reqs) < min(r.responded_at for r in reqs)


def test_async_errors_map_the_same_way(openai_server: OpenAIServer) -> None:
    openai_server.script(status(429, retry_after=1), drop(), malformed())

    async def main() -> list[type[BaseException]]:
        seen = []
        async with openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="test-key",
                                      max_retries=0) as c:
            for _ in range(3):
                try:
                    await c.chat.completions.create(model="gen-model", messages=MESSAGES)
                except Exception as exc:  # noqa: BLE001 - collecting the real types
                    seen.append(type(exc))
        return seen

    assert asyncio.run(main()) == [openai.RateLimitError, openai.APIConnectionError, json.JSONDecodeError]


@pytest.mark.parametrize("code, error", [(401, openai.AuthenticationError), (500, openai.InternalServerError)])
def test_an_error_can_echo_the_request_headers_key_included(openai_server: OpenAIServer, code, error) -> None:
    # What a careless proxy does: the key comes back in the error text a client would log or store.
    openai_server.script(status(code, echo_headers=True))
    with client(openai_server) as c, pytest.raises(error) as info:
        chat(c)
    assert "request headers: authorization=bearer test-key; " in str(info.value).lower()  # the credentials first
    assert "Bearer test-key" in info.value.body["request_headers"].values()


def test_a_reply_can_echo_the_request_headers(openai_server: OpenAIServer) -> None:
    openai_server.script(ok("Sorry.", echo_headers=True))
    with client(openai_server) as c:
        content = chat(c).choices[0].message.content
    assert content.lower().startswith("sorry.\nrequest headers: authorization=bearer test-key; ")
