"""factory/redaction.py: API keys and credential headers never survive into an error, a log line or
the ledger."""

from __future__ import annotations

import logging

import pytest

import factory.generate  # noqa: F401 - the loggers of the modules that talk to the model exist
import factory.llm_notes  # noqa: F401
from factory.redaction import MASK, RedactingFilter, mask_secrets, protect_loggers, redact, secret_values

KEY = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("text", [
    f"Error code: 401 - request headers: Authorization=Bearer {KEY}; Host=api",
    f"{{'Authorization': 'Bearer {KEY}', 'Host': 'api'}}",
    f'{{"authorization": "Bearer {KEY}"}}',
    f"Authorization: Bearer {KEY}\r\nHost: api",
    f"[('authorization', 'Bearer {KEY}'), ('host', 'api')]",
    f"given bearer {KEY} for this route",
])
def test_a_bearer_credential_is_masked_in_every_shape_servers_echo_it(text):
    cleaned = redact(text, secrets=())
    assert "sk-live" not in cleaned and f"Bearer {MASK}".lower() in cleaned.lower()
    assert redact(cleaned, secrets=()) == cleaned  # redacting twice changes nothing


@pytest.mark.parametrize("text, kept", [
    ('{"api-key": "abc123secretvalue", "model": "m"}', '"model": "m"'),
    ("x-api-key=abc123secretvalue; Host=api", "Host=api"),
    ("https://proxy/v1/chat?api_key=abc123secretvalue&model=m", "&model=m"),
    ("X-Api-Key: abc123secretvalue", "X-Api-Key: "),
])
def test_api_key_headers_and_parameters_are_masked(text, kept):
    cleaned = redact(text, secrets=())
    assert "abc123secretvalue" not in cleaned and MASK in cleaned and kept in cleaned
    assert redact(cleaned, secrets=()) == cleaned


def test_the_secret_values_of_the_environment_are_masked_wherever_they_appear():
    env = {"FACTORY_API_KEY": KEY, "OPENAI_API_KEY": "sk-other-9876543210", "HOME": "/home/ana"}
    secrets = secret_values(env)
    assert set(secrets) == {KEY, "sk-other-9876543210"}
    assert redact(f"the key {KEY}, quoted as '{KEY}' and sk-other-9876543210", secrets) == \
        f"the key {MASK}, quoted as '{MASK}' and {MASK}"
    assert redact("/home/ana: nothing secret here", secrets) == "/home/ana: nothing secret here"


def test_a_reply_loses_the_secrets_only_not_what_it_teaches_about_headers():
    reply = f"Send `Authorization: Bearer example-token-42`; never paste {KEY} into a note."
    assert mask_secrets(reply, [KEY]) == reply.replace(KEY, MASK)
    assert "Bearer example-token-42" in mask_secrets(reply, [KEY]) and "example-token-42" not in redact(reply, [KEY])


def test_a_placeholder_key_for_a_local_server_does_not_mangle_text():
    # "any value works" for a local server: a key like "x" or "ollama" is not a secret to hunt for
    assert secret_values({"FACTORY_API_KEY": "ollama"}) == ()
    assert redact("pull the model with ollama first", secret_values({"FACTORY_API_KEY": "ollama"})) == \
        "pull the model with ollama first"


def test_the_filter_redacts_a_records_message_arguments_and_traceback(monkeypatch):
    monkeypatch.setenv("FACTORY_API_KEY", KEY)
    try:
        raise RuntimeError(f"server said: Authorization=Bearer {KEY}")
    except RuntimeError as exc:
        record = logging.LogRecord("factory.llm", logging.INFO, __file__, 1, "retrying after %s", (str(exc),),
                                   exc_info=(type(exc), exc, exc.__traceback__))
    assert RedactingFilter().filter(record)
    text = logging.Formatter("%(message)s").format(record)
    assert KEY not in text and "retrying after server said: Authorization=Bearer [redacted]" in text
    assert "Traceback" in text and "RuntimeError" in text


def test_protected_loggers_redact_records_of_the_package_and_the_sdk(monkeypatch, caplog):
    monkeypatch.setenv("FACTORY_API_KEY", KEY)
    protect_loggers()
    protect_loggers()  # once per logger, however often it is called
    for name in ("factory.llm", "factory.generate", "factory.llm_notes", "factory.ingest", "openai._base_client",
                 "httpx2"):
        assert sum(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters) == 1
    with caplog.at_level(logging.INFO):
        logging.getLogger("factory.llm").info("retrying after %s", f"Authorization=Bearer {KEY}")
        logging.getLogger("openai._base_client").info("key %s", KEY)
    assert KEY not in caplog.text and caplog.text.count(MASK) == 2
