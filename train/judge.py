"""An optional LLM judge: any OpenAI-compatible model grades answers against the reference.

The rubric asks for three scores from 1 to 5: domain knowledge, style (as the reference answers),
and accuracy. The model, endpoint and key come from the workspace's `[llm]` config and
`$FACTORY_API_KEY`, through `factory.llm` like every other model call; the key is never written.
A reply that is not the JSON asked for scores as missing and is counted, never guessed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from factory.llm import ChatRequest, LLMClient, LLMSettings, LLMUnavailable, template_hash
from factory.workspace import Workspace

log = logging.getLogger(__name__)

CRITERIA = ("domain_knowledge", "style", "accuracy")
RUBRIC = """You grade an answer to a question against a reference answer written by a domain expert.
Score the candidate answer from 1 (poor) to 5 (excellent) on each criterion:
- domain_knowledge: does it show the knowledge the reference shows?
- style: does it answer the way the reference does (length, tone, language, format)?
- accuracy: is every claim correct and consistent with the reference?
Reply with JSON only: {"domain_knowledge": n, "style": n, "accuracy": n, "reason": "one sentence"}"""
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def judge_messages(question: str, reference: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": RUBRIC},
            {"role": "user", "content": f"Question:\n{question}\n\nReference answer:\n{reference}\n\n"
                                        f"Candidate answer:\n{answer}"}]


def parse_scores(text: str | None) -> dict[str, Any] | None:
    """The three scores (ints 1-5) and the reason, or None when the reply is not that."""
    if not text:
        return None
    match = _OBJECT.search(text)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    scores: dict[str, Any] = {}
    for key in CRITERIA:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
            return None
        scores[key] = round(value)
    scores["reason"] = str(data.get("reason", ""))[:300]
    return scores


def judge_answers(ws: Workspace, items: list[tuple[str, str, str]]) -> tuple[list[dict[str, Any] | None], str]:
    """Scores for each (question, reference, answer), and the judge model's name."""
    settings = LLMSettings.from_config(ws.config.llm)
    requests = [ChatRequest(messages=judge_messages(*item), template_hash=template_hash(RUBRIC), json_mode=True,
                            temperature=0.0, max_tokens=200, key=f"judge-{i}") for i, item in enumerate(items)]

    async def run() -> tuple[list[Any], str | None]:
        client = LLMClient(settings)
        try:
            return await client.chat_many(requests), client.unavailable
        finally:
            await client.close()

    results, unavailable = asyncio.run(run())
    if unavailable:  # a bad key or model fails every answer the same way: say so once, score nothing
        raise LLMUnavailable(f"judge: {unavailable}")
    scores = [parse_scores(r.content) for r in results]
    failed = sum(s is None for s in scores)
    if failed:
        log.warning("judge: %d of %d replies were not usable scores (failed requests or bad JSON)", failed, len(items))
    return scores, settings.model
