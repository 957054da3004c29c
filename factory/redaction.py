"""Secrets out of every text this package writes: errors, log lines and the ledger.

    redact("401 - request headers: Authorization=Bearer sk-...")  # "... Authorization=Bearer [redacted]"

The key is sent only as a request header, yet servers and proxies quote request headers back in
error bodies and replies, and that text is what we log, store and show. So every such text passes
`redact` where it is formed: the values of the secret variables of the environment are masked
wherever they appear, and so is the value of anything shaped like a credential header
(`Authorization`, `api-key`, `x-api-key`, a bare `Bearer ...`) whatever the key it holds. A
model's reply is data (samples are made from it, and from the ledger's copy of it when it is
reused), so it passes `mask_secrets`, which masks the secret values only.
`RedactingFilter` does the same for log records, as a second line behind the first:
`protect_loggers()` puts it on the loggers of this package and of the HTTP stack under the
`openai` client, adding no handler.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping

MASK = "[redacted]"
SECRET_ENV = ("FACTORY_API_KEY", "OPENAI_API_KEY")
# A value this short is a placeholder for a local server ("x", "ollama"), not a secret; masking it
# everywhere would only mangle text. Credential headers are masked whatever their length.
MIN_SECRET_CHARS = 8
# Loggers that may carry request or response text: ours, the SDK's and its transports'.
PROTECTED_LOGGERS = ("factory", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "aiohttp")

# A credential header or parameter as servers echo it: `Authorization: Bearer x`, `"api-key": "x"`,
# `x-api-key=x`, `?api_key=x`, `('authorization', 'Bearer x')`. The scheme is kept so a reader
# still sees what kind of credential it was; `?+` (possessive) keeps an already masked
# `Bearer [redacted]` from being read as the value `Bearer`, so redacting twice changes nothing.
_HEADER = re.compile(
    r"""\b(authorization|(?:x-)?api[-_]?key)"""      # the name (Proxy-Authorization, openai-api-key too)
    r"""(["']?\s*(?:[:=]|,(?=\s*["']))\s*["']?)"""   # : or = (or a tuple's comma), with any quotes
    r"""((?:bearer|basic|token)\s+)?+"""             # the scheme, kept
    rf"""(?!{re.escape(MASK)})[^\s"',;&()\[\]{{}}<>]+""",  # the value
    re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def secret_values(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The secrets of the environment worth masking, longest first (so none is masked in part)."""
    env = os.environ if env is None else env
    values = {env.get(name, "").strip() for name in SECRET_ENV}
    return tuple(sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True))


def mask_secrets(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` without the given secrets (default: those of the environment), and nothing else
    changed: for a model's reply, where `Authorization: Bearer abc` may be what a note teaches."""
    for secret in secret_values() if secrets is None else secrets:
        text = text.replace(secret, MASK)
    return text


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` without the given secrets (default: those of the environment) and without the value
    of any credential header: for errors and log lines."""
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{MASK}", mask_secrets(text, secrets))
    return _BEARER.sub(lambda m: f"{m[1]}{MASK}", text)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments and traceback; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - arguments that do not fit: the handler reports that, not the caller
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)  # what handlers would print
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def protect_loggers(prefixes: Iterable[str] = PROTECTED_LOGGERS) -> None:
    """Put a RedactingFilter on each logger named by `prefixes` and on every logger below them that
    exists now. A logger's filter sees only records logged on it, not on its children, so each one
    needs its own; call this again after importing a module with a new logger (it is idempotent)."""
    prefixes = tuple(prefixes)
    below = tuple(f"{p}." for p in prefixes)
    names = set(prefixes) | {name for name, logger in logging.root.manager.loggerDict.items()
                             if isinstance(logger, logging.Logger) and name.startswith(below)}
    for name in sorted(names):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
