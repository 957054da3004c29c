"""One small interface for every model call, over the official `openai` client.

    client = LLMClient(LLMSettings.from_config(ws.config.llm))
    results = await client.chat_many(requests)          # bounded concurrency, retries, budget

`base_url` and `model` come from the workspace config or `$FACTORY_BASE_URL` / `$FACTORY_MODEL`;
the key only from `$FACTORY_API_KEY`. So OpenAI, DeepSeek, Qwen, a local Ollama or vLLM are
configuration, not code. The key is held by the `openai` client and nowhere else: it is not a
field of any model here. Servers do quote it back (request headers in an error body), so every
error text, reply and log line is redacted (factory/redaction.py) before it is stored or logged.

Failures that pass (429, 5xx, timeouts, dropped connections) are retried with exponential
backoff and full jitter, waiting at least what a `Retry-After` header asks. A per-run budget in
tokens (and in money when prices are configured) is checked before each request is sent; once
spent, `BudgetExceeded` stops the run cleanly and requests already in flight finish.

A failure that every other request would meet too (the key refused, the model unknown, no server
there once the retries are spent) is permanent: its error says what to check, and the client sends
nothing more (`unavailable`), so callers can stop with that one error instead of a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import re
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from factory.config import LLMConfig
from factory.errors import BadInput, FactoryError
from factory.redaction import MIN_SECRET_CHARS, mask_secrets, protect_loggers, redact, secret_values
from factory.store import LedgerEntry

log = logging.getLogger(__name__)

KEY_ENV, BASE_URL_ENV, MODEL_ENV = "FACTORY_API_KEY", "FACTORY_BASE_URL", "FACTORY_MODEL"
_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError)
# How servers say "no such model" in a 400 (DeepSeek: "Model Not Exist") rather than a 404.
_UNKNOWN_MODEL = re.compile(r"\bmodel\b.*\b(not exist|not found|does not exist)|\b(unknown|invalid) model\b", re.I)


class BudgetExceeded(FactoryError):
    """The run's token or money budget is spent; nothing more is sent."""


class LLMUnavailable(FactoryError):
    """The model refuses every request or cannot be reached (bad key, unknown model, no server):
    asking again fails the same way until the setting the message names is fixed."""


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    model: str
    concurrency: int = 8
    timeout_s: float = 120.0
    max_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    budget_tokens: int = 0
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    budget_money: float = 0.0

    @classmethod
    def from_config(cls, config: LLMConfig, env: dict[str, str] | None = None) -> LLMSettings:
        env = dict(os.environ) if env is None else env
        values = config.model_dump()
        values["base_url"] = env.get(BASE_URL_ENV) or config.base_url
        values["model"] = env.get(MODEL_ENV) or config.model
        if not values["model"]:
            raise BadInput(f"no model: set ${MODEL_ENV} or llm.model in .factory/config.toml")
        return cls(**values)

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.price_in_per_mtok + tokens_out * self.price_out_per_mtok) / 1e6


def api_key(env: dict[str, str] | None = None) -> str:
    key = (os.environ if env is None else env).get(KEY_ENV, "")
    if not key:
        raise BadInput(f"${KEY_ENV} is not set; export your API key (for a local server any value works)")
    return key


def template_hash(template: str) -> str:
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    template_hash: str = ""
    json_mode: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    key: str = ""  # the caller's name for this request (resuming matches on it)


@dataclass
class ChatResult:
    request: ChatRequest
    content: str | None  # None when the request failed for good
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    attempts: int = 0
    finish_reason: str | None = None
    outcome: str = "ok"  # ok, failed, budget, not_sent (after a permanent failure)
    error: str | None = None  # redacted
    permanent: bool = False  # a failure every other request would meet too (see `unavailable`)


def ledger_entry(result: ChatResult, settings: LLMSettings, **fields: Any) -> LedgerEntry:
    """The ledger's row for one finished request; `fields` set outcome, raw, produced, rejected.
    Error and raw reply are redacted once more here: they are what a server may have echoed. The
    reply only loses the secrets: it is reused as it is (resumed rounds, answered chunks)."""
    entry = {"key": result.request.key, "model": settings.model, "template_hash": result.request.template_hash,
             "tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
             "cost": settings.cost(result.tokens_in, result.tokens_out), "latency_ms": int(result.latency_s * 1000),
             "attempts": result.attempts, "outcome": result.outcome, "error": result.error, **fields}
    entry["error"] = entry["error"] and redact(entry["error"])
    entry["raw"] = entry["raw"] and mask_secrets(entry["raw"])
    return LedgerEntry(**entry)


@dataclass
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    requests: int = 0
    failed: int = 0
    cost: float = 0.0
    retries: list[float] = field(default_factory=list)  # waits taken, for the ledger and tests


class LLMClient:
    def __init__(self, settings: LLMSettings, *, key: str | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, seed: int | None = None):
        self.settings = settings
        self.usage = Usage()
        self.unavailable: str | None = None  # the error of a permanent failure; nothing is sent after it
        key = key or api_key()
        # aiohttp underneath: about a quarter less client CPU a request than the default httpx
        # transport, which is what limits throughput at high concurrency (bench/generate.py).
        self._client = openai.AsyncOpenAI(api_key=key, base_url=settings.base_url or None,
                                          timeout=settings.timeout_s, max_retries=0,
                                          http_client=openai.DefaultAioHttpClient(timeout=settings.timeout_s))
        # A key given here (not from the environment) is masked too; the loggers of the SDK and
        # its transport exist now, so the filter reaches them.
        self._secrets = tuple(dict.fromkeys(((key,) if len(key) >= MIN_SECRET_CHARS else ()) + secret_values()))
        protect_loggers()
        self._sleep = sleep
        self._random = random.Random(seed)
        self._spent_before = (0, 0.0)  # tokens and money a resumed run spent in earlier sessions

    def carry_over(self, tokens: int, cost: float) -> None:
        """Count what earlier sessions of this run spent against its budget."""
        self._spent_before = (tokens, cost)

    async def close(self) -> None:
        await self._client.close()

    def _check_budget(self) -> None:
        s, u = self.settings, self.usage
        tokens, cost = u.tokens_in + u.tokens_out + self._spent_before[0], u.cost + self._spent_before[1]
        if s.budget_tokens and tokens >= s.budget_tokens:
            raise BudgetExceeded(f"token budget of {s.budget_tokens:,} spent ({tokens:,} used)")
        if s.budget_money and cost >= s.budget_money:
            raise BudgetExceeded(f"budget of ${s.budget_money:.2f} spent (${cost:.4f} used)")

    def _backoff(self, attempt: int, exc: Exception) -> float:
        s = self.settings
        wait = self._random.uniform(0, min(s.backoff_max_s, s.backoff_base_s * 2**attempt))  # full jitter
        response = getattr(exc, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            with contextlib.suppress(ValueError):  # an HTTP date: rare from these servers, keep the backoff
                wait = max(wait, min(float(retry_after), s.backoff_max_s))
        return wait

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One request with retries; raises LLMUnavailable after a permanent failure and
        BudgetExceeded when the budget is spent, before sending."""
        if self.unavailable:
            raise LLMUnavailable(self.unavailable)
        self._check_budget()
        s = self.settings
        kwargs: dict[str, Any] = {"model": s.model, "messages": request.messages}
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        start = time.perf_counter()
        for attempt in range(s.max_retries + 1):
            try:
                response = await self._client.chat.completions.create(**kwargs)
            except _RETRYABLE as exc:
                if attempt == s.max_retries:
                    return self._failed(request, exc, start, attempt + 1)
                wait = self._backoff(attempt, exc)
                self.usage.retries.append(wait)
                log.info("retrying in %.1f s after %s", wait, self._describe(exc))
                await self._sleep(wait)
                continue
            except (openai.APIStatusError, openai.APIResponseValidationError, ValueError) as exc:
                return self._failed(request, exc, start, attempt + 1)  # 4xx but 429, or not a completion
            usage = response.usage
            tokens_in = usage.prompt_tokens if usage else 0
            tokens_out = usage.completion_tokens if usage else 0
            self.usage.tokens_in += tokens_in
            self.usage.tokens_out += tokens_out
            self.usage.requests += 1
            self.usage.cost += s.cost(tokens_in, tokens_out)
            choice = response.choices[0] if response.choices else None
            content = choice.message.content if choice else ""
            # Only the key itself: a reply about `Authorization: Bearer abc` is data to keep.
            content = content and mask_secrets(content, self._secrets)
            return ChatResult(request, content, tokens_in=tokens_in,
                              tokens_out=tokens_out, latency_s=time.perf_counter() - start, attempts=attempt + 1,
                              finish_reason=choice.finish_reason if choice else None)
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    def _failed(self, request: ChatRequest, exc: Exception, start: float, attempts: int) -> ChatResult:
        """A request that failed for good; a permanent failure stops every later request."""
        self.usage.failed += 1
        fix = self._fix_for(exc)
        error = self._describe(exc) + (f" ({fix})" if fix else "")
        if fix:
            self.unavailable = self.unavailable or error
        return ChatResult(request, None, latency_s=time.perf_counter() - start, attempts=attempts, outcome="failed",
                          error=error, permanent=fix is not None)

    def _fix_for(self, exc: Exception) -> str | None:
        """What to check when `exc` (the last attempt's) means every request would fail alike, else None."""
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return f"check ${KEY_ENV}"
        if isinstance(exc, openai.NotFoundError) or (
                isinstance(exc, openai.BadRequestError) and _UNKNOWN_MODEL.search(exc.message)):
            return f"check ${MODEL_ENV} (or llm.model) and ${BASE_URL_ENV}"
        if _refused(exc) is not None:
            return f"is the server at {str(self._client.base_url).rstrip('/')} running? check ${BASE_URL_ENV}"
        return None  # 429, 5xx and timeouts may pass; a 400 may be this request's own fault

    def _describe(self, exc: Exception) -> str:
        refused = _refused(exc)
        if refused is not None:  # not the "Request timed out." the transport turned it into
            return f"APIConnectionError: {redact(str(refused), self._secrets)}"
        # Redacted before it is cut short, so no part of a key survives the cut.
        text = redact(str(exc), self._secrets).splitlines()[0] if str(exc) else type(exc).__name__
        status = getattr(exc, "status_code", None)
        return f"{type(exc).__name__}" + (f" {status}" if status else "") + f": {text[:200]}"

    async def ask(self, request: ChatRequest) -> ChatResult:
        """`chat`, with a spent budget (outcome "budget") or an earlier permanent failure (outcome
        "not_sent") as a result instead of an exception."""
        try:
            return await self.chat(request)
        except BudgetExceeded as exc:
            return ChatResult(request, None, outcome="budget", error=str(exc))
        except LLMUnavailable as exc:
            return ChatResult(request, None, outcome="not_sent", error=str(exc))

    async def chat_many(self, requests: Sequence[ChatRequest],
                        on_result: Callable[[ChatResult], None] | None = None) -> list[ChatResult]:
        """All requests, at most `concurrency` in flight; results in request order. Once the
        budget is spent, requests not yet sent come back with outcome "budget"."""
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(request: ChatRequest) -> ChatResult:
            async with gate:
                result = await self.ask(request)
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(r) for r in requests)))


def _refused(exc: BaseException) -> OSError | None:
    """The refused connection or unknown host behind `exc`, when that is what it is: no server
    there. The aiohttp transport reports both as a connect timeout, so the class does not tell."""
    cause = exc.__cause__ or exc.__context__
    for _ in range(8):  # the chain is short (openai <- httpx2 <- aiohttp <- OSError); never loop on a cycle
        if cause is None or isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None
