"""A tiny OpenAI-compatible HTTP server for tests (stdlib only).

It speaks just enough of the OpenAI REST API for the official ``openai`` client:

* ``POST /v1/chat/completions`` -> a ``chat.completion`` object (non-streaming only);
* ``GET /v1/models``            -> a list holding one model.

What each chat completion returns is *scripted*: a thread-safe queue of replies consumed in
order, then an optional default callable ``(request_json) -> reply``.  A reply is one of

* ``ok(content, delay=0, finish_reason="stop", usage=None)`` - a normal completion;
* ``slow(content, delay_s)``                                  - the same, sent after ``delay_s``;
* ``status(code, body=None, retry_after=None, headers=None)`` - an error status (429, 500, 503...);
* ``status(code, echo_headers=True)`` / ``ok(content, echo_headers=True)`` - the request's headers
  (Authorization included) quoted in the error message / the reply, as some proxies and debug
  servers do: what a client must never store or log;
* ``malformed(raw_text)``                                     - 200 whose body is not valid JSON;
* ``drop()``                                                  - close the connection, no response;

or a plain ``str`` (short for ``ok(str)``).  With the queue empty and no default, the server answers
500 with an error message saying the script ran out, so a missing script step fails loudly.

Every request (any path) is recorded - method, path, headers (Authorization included), raw and
parsed body, monotonic receive time and the time its response was sent or the connection was
dropped - so tests can check what the client sent, how many attempts it made and how far apart.

``closed_port()`` gives a port nothing listens on, for a server that is down (connection refused).

Use the ``openai_server`` fixture (import it into a test module or conftest, or list this module
in a root ``pytest_plugins``) or the ``running_server()`` context manager::

    def test_x(openai_server):
        openai_server.script(ok("hi"), status(429, retry_after=1))
        client = openai.OpenAI(base_url=openai_server.base_url, api_key="k", max_retries=0)
        ...
        assert openai_server.chat_requests[0].header("authorization") == "Bearer k"
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, Union

import pytest

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
DEFAULT_MODEL = "test-model"


# --------------------------------------------------------------------------- scripted replies

@dataclass(frozen=True)
class Ok:
    content: str
    delay: float = 0.0
    finish_reason: str = "stop"
    usage: dict[str, int] | None = None  # overrides (merged over) the computed usage
    echo_headers: bool = False  # append the request's headers to the content


@dataclass(frozen=True)
class Status:
    code: int
    body: Any = None  # dict/list -> JSON, str/bytes -> sent as is, None -> an OpenAI-style error
    retry_after: float | str | None = None  # sent as the Retry-After header when set
    headers: dict[str, str] | None = None
    delay: float = 0.0
    echo_headers: bool = False  # quote the request's headers in the error message (when body is None)


@dataclass(frozen=True)
class Malformed:
    raw_text: str
    delay: float = 0.0


@dataclass(frozen=True)
class Drop:
    delay: float = 0.0


Reply = Union[Ok, Status, Malformed, Drop]  # noqa: UP007 - runtime alias
ReplyLike = Union[Reply, str]  # noqa: UP007
DefaultFn = Callable[[dict[str, Any]], ReplyLike]


def ok(content: str, delay: float = 0.0, finish_reason: str = "stop",
       usage: dict[str, int] | None = None, echo_headers: bool = False) -> Ok:
    return Ok(content, delay=delay, finish_reason=finish_reason, usage=usage, echo_headers=echo_headers)


def slow(content: str, delay_s: float) -> Ok:
    return Ok(content, delay=delay_s)


def status(code: int, body: Any = None, retry_after: float | str | None = None,
           headers: dict[str, str] | None = None, echo_headers: bool = False) -> Status:
    return Status(code, body=body, retry_after=retry_after, headers=headers, echo_headers=echo_headers)


def malformed(raw_text: str = '{"id": "chatcmpl-broken", "choices": [') -> Malformed:
    return Malformed(raw_text)


def drop() -> Drop:
    return Drop()


def _as_reply(reply: ReplyLike) -> Reply:
    if isinstance(reply, str):
        return Ok(reply)
    if isinstance(reply, (Ok, Status, Malformed, Drop)):
        return reply
    raise TypeError(f"not a scripted reply: {reply!r}")


# --------------------------------------------------------------------------- recorded requests

@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # as sent (original case); use .header() for case-insensitive lookup
    body: bytes
    json: Any  # parsed body, or None when empty / not JSON
    received_at: float  # time.monotonic() when the request had been read
    responded_at: float | None = None  # time.monotonic() when the response was sent / conn dropped
    reply: Reply | None = None  # the scripted reply used (chat completions only)

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    @property
    def authorization(self) -> str | None:
        return self.header("Authorization")

    def echoed_headers(self) -> str:
        """The headers as a careless server quotes them, credentials first (as a 401 page says what it
        was given): ``Authorization=Bearer sk-...; Host=...``."""
        first = sorted(self.headers, key=lambda name: name.lower() not in ("authorization", "api-key"))
        return "; ".join(f"{name}={self.headers[name]}" for name in first)


# --------------------------------------------------------------------------- the server

def count_prompt_tokens(body: dict[str, Any]) -> int:
    """Deterministic stand-in for a tokenizer: characters of all message contents // 4 + 1."""
    chars = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):  # content parts
            chars += sum(len(part.get("text", "")) for part in content if isinstance(part, dict))
    return chars // 4 + 1


def count_completion_tokens(content: str) -> int:
    return len(content) // 4 + 1


def _error_body(message: str, type_: str = "server_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive like the real API; every response has Content-Length
    disable_nagle_algorithm = True  # a reply must not wait for the client's delayed ACK (~40 ms stalls)
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # keep tests quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.owner._untrack(self.connection)

    # -- plumbing

    def _read_request(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        record = RecordedRequest(method=self.command, path=self.path.split("?", 1)[0],
                                 headers=dict(self.headers.items()), body=body, json=parsed,
                                 received_at=time.monotonic())
        self.server.owner._record(record)
        return record

    def _send(self, record: RecordedRequest, code: int, payload: bytes,
              headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
        # Status line, headers and body in one write (send_response/end_headers would write the head
        # and the body apart): the client gets one segment and one wake-up per reply, which saves it
        # CPU per request - the client is what limits bench/generate.py at high concurrency.
        lines = [f"{self.protocol_version} {code} {self.responses.get(code, ('',))[0]}",
                 f"Server: {self.version_string()}", f"Date: {self.date_time_string()}",
                 f"Content-Type: {content_type}", f"Content-Length: {len(payload)}"]
        for key, value in (headers or {}).items():
            lines.append(f"{key}: {value}")
            if key.lower() == "connection" and value.lower() == "close":
                self.close_connection = True
        try:
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        except OSError:  # the client gave up (e.g. its timeout fired) - nothing to tell it
            self.close_connection = True
        finally:
            record.responded_at = time.monotonic()

    def _send_json(self, record: RecordedRequest, code: int, obj: Any,
                   headers: dict[str, str] | None = None) -> None:
        self._send(record, code, json.dumps(obj).encode("utf-8"), headers)

    def _drop(self, record: RecordedRequest) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        record.responded_at = time.monotonic()

    def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; False when the server is stopping (then the reply is dropped)."""
        if delay > 0:
            return not self.server.owner._stopping.wait(delay)
        return True

    # -- routes

    def do_GET(self) -> None:
        record = self._read_request()
        if record.path.rstrip("/") == MODELS_PATH:
            model = {"id": self.server.owner.model, "object": "model", "created": 0, "owned_by": "test"}
            self._send_json(record, 200, {"object": "list", "data": [model]})
        else:
            self._send_json(record, 404, _error_body(f"no route GET {record.path}", "invalid_request_error"))

    def do_POST(self) -> None:
        record = self._read_request()
        if record.path.rstrip("/") != CHAT_PATH:
            self._send_json(record, 404, _error_body(f"no route POST {record.path}", "invalid_request_error"))
            return
        body = record.json
        if not isinstance(body, dict):
            self._send_json(record, 400, _error_body("request body is not a JSON object", "invalid_request_error"))
            return
        if body.get("stream"):
            self._send_json(record, 400, _error_body("the test server does not stream", "invalid_request_error"))
            return
        reply = self.server.owner._next_reply(body)
        record.reply = reply
        if reply is None:
            self._send_json(record, 500, _error_body("openai_server: the script has no reply left"))
            return
        if not self._wait(reply.delay):
            self._drop(record)
            return
        if isinstance(reply, Drop):
            self._drop(record)
        elif isinstance(reply, Malformed):
            self._send(record, 200, reply.raw_text.encode("utf-8"))
        elif isinstance(reply, Status):
            headers = dict(reply.headers or {})
            if reply.retry_after is not None:
                headers["Retry-After"] = str(reply.retry_after)
            if reply.body is None:
                message = f"scripted status {reply.code}"
                if reply.echo_headers:
                    message += f"; request headers: {record.echoed_headers()}"
                error = _error_body(message, "rate_limit_exceeded" if reply.code == 429 else "server_error")
                if reply.echo_headers:  # and as a dict beside the message, as request dumps do
                    error["error"]["request_headers"] = dict(record.headers)
                self._send(record, reply.code, json.dumps(error).encode("utf-8"), headers)
            elif isinstance(reply.body, (bytes, str)):
                raw = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                self._send(record, reply.code, raw, headers)
            else:
                self._send_json(record, reply.code, reply.body, headers)
        else:
            if reply.echo_headers:
                reply = Ok(f"{reply.content}\nrequest headers: {record.echoed_headers()}", reply.delay,
                           reply.finish_reason, reply.usage)
            self._send_json(record, 200, self.server.owner._completion(body, reply))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default listen backlog (5) drops SYNs under bursts -> 1 s stalls
    owner: OpenAIServer


class OpenAIServer:
    """The scripted server; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(self, model: str = DEFAULT_MODEL, host: str = "127.0.0.1") -> None:
        self.model = model
        self._host = host
        self._lock = threading.Lock()
        self._queue: collections.deque[Reply] = collections.deque()
        self._default: DefaultFn | None = None
        self._requests: list[RecordedRequest] = []
        self._conns: set[socket.socket] = set()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Self:
        httpd = _HTTPServer((self._host, 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # kept-alive connections would otherwise keep handler threads waiting
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    # -- script

    def script(self, *replies: ReplyLike, default: DefaultFn | None = None) -> OpenAIServer:
        """Queue ``replies`` (after any still queued); ``default`` (if given) answers once they run out."""
        converted = [_as_reply(r) for r in replies]
        with self._lock:
            self._queue.extend(converted)
            if default is not None:
                self._default = default
        return self

    def set_default(self, default: DefaultFn | None) -> None:
        with self._lock:
            self._default = default

    def reset(self) -> None:
        """Forget queued replies, the default and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self._default = None
            self._requests.clear()

    @property
    def remaining(self) -> int:
        """How many queued replies have not been used yet."""
        with self._lock:
            return len(self._queue)

    # -- recorded requests

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/") == CHAT_PATH]

    def gaps(self, path: str = CHAT_PATH) -> list[float]:
        """Seconds between consecutive requests to ``path`` (e.g. to check retry back-off)."""
        times = [r.received_at for r in self.requests if r.path.rstrip("/") == path]
        return [b - a for a, b in itertools.pairwise(times)]

    # -- internals used by the handler

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)

    def _next_reply(self, body: dict[str, Any]) -> Reply | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            default = self._default
        if default is None:
            return None
        return _as_reply(default(body))  # called outside the lock: it may be slow or re-script

    def _completion(self, body: dict[str, Any], reply: Ok) -> dict[str, Any]:
        prompt_tokens = count_prompt_tokens(body)
        completion_tokens = count_completion_tokens(reply.content)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        if reply.usage:
            usage.update(reply.usage)
            if "total_tokens" not in reply.usage:
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return {
            "id": f"chatcmpl-test-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }],
            "usage": usage,
        }


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, so connecting to it is refused at once: a server that is down."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(model: str = DEFAULT_MODEL) -> Iterator[OpenAIServer]:
    server = OpenAIServer(model=model).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh scripted OpenAI-compatible server on a free 127.0.0.1 port, stopped after the test."""
    with running_server() as server:
        yield server
