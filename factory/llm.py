"""One small interface for every model call, over the official `openai` client.

    client = LLMClient(LLMSettings.from_config(ws.config.llm))
    results = await client.chat_many(requests)          # bounded concurrency, retries, budget

`base_url` and `model` come from the workspace config or `$FACTORY_BASE_URL` / `$FACTORY_MODEL`;
the key only from `$FACTORY_API_KEY`. So OpenAI, DeepSeek, Qwen, a local Ollama or vLLM are
configuration, not code. The key is held by the `openai` client and nowhere else: it is not a
field of any model here, so it cannot reach the store, a manifest, a log or an export.

Failures that pass (429, 5xx, timeouts, dropped connections) are retried with exponential
backoff and full jitter, waiting at least what a `Retry-After` header asks. A per-run budget in
tokens (and in money when prices are configured) is checked before each request is sent; once
spent, `BudgetExceeded` stops the run cleanly and requests already in flight finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from factory.config import LLMConfig
from factory.errors import BadInput, FactoryError
from factory.store import LedgerEntry

log = logging.getLogger(__name__)

KEY_ENV, BASE_URL_ENV, MODEL_ENV = "FACTORY_API_KEY", "FACTORY_BASE_URL", "FACTORY_MODEL"
_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError)


class BudgetExceeded(FactoryError):
    """The run's token or money budget is spent; nothing more is sent."""


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
    outcome: str = "ok"  # ok, failed, budget
    error: str | None = None


def ledger_entry(result: ChatResult, settings: LLMSettings, **fields: Any) -> LedgerEntry:
    """The ledger's row for one finished request; `fields` set outcome, raw, produced, rejected."""
    return LedgerEntry(**{"key": result.request.key, "model": settings.model,
                          "template_hash": result.request.template_hash, "tokens_in": result.tokens_in,
                          "tokens_out": result.tokens_out, "cost": settings.cost(result.tokens_in, result.tokens_out),
                          "latency_ms": int(result.latency_s * 1000), "attempts": result.attempts,
                          "outcome": result.outcome, "error": result.error, **fields})


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
        # aiohttp underneath: about a quarter less client CPU a request than the default httpx
        # transport, which is what limits throughput at high concurrency (bench/generate.py).
        self._client = openai.AsyncOpenAI(api_key=key or api_key(), base_url=settings.base_url or None,
                                          timeout=settings.timeout_s, max_retries=0,
                                          http_client=openai.DefaultAioHttpClient(timeout=settings.timeout_s))
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
        """One request with retries; raises BudgetExceeded before sending when the budget is spent."""
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
                    self.usage.failed += 1
                    return ChatResult(request, None, latency_s=time.perf_counter() - start, attempts=attempt + 1,
                                      outcome="failed", error=_describe(exc))
                wait = self._backoff(attempt, exc)
                self.usage.retries.append(wait)
                log.info("retrying in %.1f s after %s", wait, _describe(exc))
                await self._sleep(wait)
                continue
            except (openai.APIStatusError, openai.APIResponseValidationError, ValueError) as exc:
                self.usage.failed += 1  # 4xx other than 429, or a body that is not a completion
                return ChatResult(request, None, latency_s=time.perf_counter() - start, attempts=attempt + 1,
                                  outcome="failed", error=_describe(exc))
            usage = response.usage
            tokens_in = usage.prompt_tokens if usage else 0
            tokens_out = usage.completion_tokens if usage else 0
            self.usage.tokens_in += tokens_in
            self.usage.tokens_out += tokens_out
            self.usage.requests += 1
            self.usage.cost += s.cost(tokens_in, tokens_out)
            choice = response.choices[0] if response.choices else None
            return ChatResult(request, choice.message.content if choice else "", tokens_in=tokens_in,
                              tokens_out=tokens_out, latency_s=time.perf_counter() - start, attempts=attempt + 1,
                              finish_reason=choice.finish_reason if choice else None)
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    async def ask(self, request: ChatRequest) -> ChatResult:
        """`chat`, with a spent budget as a result (outcome "budget") instead of an exception."""
        try:
            return await self.chat(request)
        except BudgetExceeded as exc:
            return ChatResult(request, None, outcome="budget", error=str(exc))

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


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}" + (f" {status}" if status else "") + f": {text[:200]}"
