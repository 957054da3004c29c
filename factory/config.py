"""The workspace config (`.factory/config.toml`): every threshold, with its documented default.

`factory init` writes `DEFAULT_CONFIG_TOML`, whose comments are the documentation; the pydantic
models below are the single source of the defaults and validate the file once at load.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factory.errors import BadInput, os_error

M = TypeVar("M", bound=BaseModel)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotesConfig(_Section):
    max_file_bytes: int = Field(1_048_576, gt=0)
    answer_max_chars: int = Field(2_000, gt=0)
    min_answer_chars: int = Field(20, ge=0)


class ChecksConfig(_Section):
    min_instruction_chars: int = Field(4, ge=0)
    max_instruction_chars: int = Field(1_000, gt=0)
    min_output_chars: int = Field(2, ge=0)
    max_output_chars: int = Field(4_000, gt=0)
    near_duplicate_threshold: float = Field(90.0, ge=0, le=100)
    tokenizer: str = ""
    max_tokens: int = Field(2048, gt=0)
    truncated_min_chars: int = Field(80, ge=0)
    lead_in_max_chars: int = Field(150, ge=0)
    noun_phrase_max_words: int = Field(5, ge=0)
    languages: list[str] = Field(default_factory=lambda: ["zh", "en"])
    severity: dict[str, Literal["reject", "warn"]] = Field(default_factory=dict)


class FreezeConfig(_Section):
    eval_ratio: float = Field(0.1, ge=0, lt=1)
    seed: int = 0
    general_pool: str = ""
    general_ratio: float = Field(0.1, ge=0, lt=1)
    general_eval_size: int = Field(100, ge=0)


class LLMConfig(_Section):
    base_url: str = ""
    model: str = ""
    concurrency: int = Field(8, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0)
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    budget_tokens: int = Field(0, ge=0)
    price_in_per_mtok: float = Field(0.0, ge=0)
    price_out_per_mtok: float = Field(0.0, ge=0)
    budget_money: float = Field(0.0, ge=0)


class GenerateConfig(_Section):
    domain: str = ""
    persona: str = "You are a senior practitioner of {domain}."
    topics: list[str] = Field(default_factory=list)
    pairs_per_call: int = Field(10, ge=1, le=100)
    instructions_per_round: int = Field(8, ge=1, le=50)
    novelty_threshold: float = Field(0.7, gt=0, le=1)


class LLMNotesConfig(_Section):
    chunk_tokens: int = Field(1200, ge=50)
    pairs_per_chunk: int = Field(5, ge=1, le=50)
    min_chunk_chars: int = Field(80, ge=0)


class WorkspaceConfig(_Section):
    notes: NotesConfig = Field(default_factory=NotesConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    freeze: FreezeConfig = Field(default_factory=FreezeConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    llm_notes: LLMNotesConfig = Field(default_factory=LLMNotesConfig)


DEFAULT_CONFIG_TOML = """\
# Dataset factory workspace config. Every value below is the default; delete a line to use it.

[notes]
# Notes larger than this are skipped with a warning (bytes).
max_file_bytes = 1048576
# A longer answer ends at the last whole block or sentence that fits; code and tables are never cut (characters).
answer_max_chars = 2000
# A heading whose own text is shorter than this makes no question-answer pair (characters).
min_answer_chars = 20

[checks]
# Length bounds in characters; outside them a sample gets a finding.
min_instruction_chars = 4
max_instruction_chars = 1000
min_output_chars = 2
max_output_chars = 4000
# rapidfuzz ratio (0-100) at or above which two samples are near duplicates.
near_duplicate_threshold = 90.0
# The training tokenizer (a Hugging Face hub id, a local folder, or a tokenizer.json file).
# When set, a sample longer than max_tokens tokens gets `too_many_tokens`, so nothing is cut
# silently at max_length in training; when empty, lengths are only checked in characters.
tokenizer = ""
max_tokens = 2048
# An output at least this long that stops mid-sentence gets `truncated_output` (characters).
truncated_min_chars = 80
# An output of one paragraph at most this long that ends on a colon, "如下" or "as follows" gets
# `lead_in_only`: it announces an answer that is not there (characters).
lead_in_max_chars = 150
# An instruction of at most this many words (Chinese: twice as many characters, plus two) with
# no question mark, question word or task verb gets `not_a_question`: a bare noun phrase such as
# "Transformer Architecture" or "分布式训练框架".
noun_phrase_max_words = 5
# Languages this dataset is meant to contain (ISO 639-1); others get `unexpected_language`.
languages = ["zh", "en"]

# Override the severity of any reason code: "reject" auto-rejects, "warn" leaves it to review.
[checks.severity]
# output_too_long = "reject"

[freeze]
# Share of approved samples held out as eval.jsonl, chosen by a hash of the sample id (exact and
# near duplicates are kept on one side, so no eval answer has a near twin in train).
eval_ratio = 0.1
seed = 0
# General data mixed in against forgetting: a pool imported with `factory import SOURCE --pool
# NAME` ("starter" is the bundled bilingual pool). Empty: no mixing unless --general-pool is given.
general_pool = ""
# Share of the final train split that is general data (0.1 = 10%).
general_ratio = 0.1
# Pool samples held out as general_eval.jsonl (never trained on) for the forgetting check.
general_eval_size = 100

[llm]
# Any OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, Ollama, vLLM). $FACTORY_BASE_URL and
# $FACTORY_MODEL override these; the key comes only from $FACTORY_API_KEY, never from this file.
base_url = ""
model = ""
# Requests in flight at once.
concurrency = 8
timeout_s = 120.0
# Retries on 429, 5xx, timeouts and dropped connections: exponential backoff with jitter,
# starting at backoff_base_s, at most backoff_max_s, or the server's Retry-After when it says.
max_retries = 6
backoff_base_s = 1.0
backoff_max_s = 60.0
# A run stops cleanly when it has used this many tokens (in + out; 0: no limit), or this much
# money at the prices below (dollars per million tokens; 0: not counted).
budget_tokens = 0
price_in_per_mtok = 0.0
price_out_per_mtok = 0.0
budget_money = 0.0

[generate]
# Domain mode (`factory generate`, or `--domain` on the command line): the model speaks as the
# persona below ({domain} is filled in) and writes pairs_per_call cases per request, one topic
# per request in turn from `topics` (the whole domain when empty). Without a domain: the
# Self-Instruct paper's two steps, instructions_per_round new tasks and then their instances.
domain = ""
persona = "You are a senior practitioner of {domain}."
topics = []
pairs_per_call = 10
instructions_per_round = 8
# A new instruction whose ROUGE-L against any instruction already in the pool is above this is
# dropped (the paper's 0.7).
novelty_threshold = 0.7

[llm_notes]
# `factory extract notes PATH --llm`: each note is cut into chunks along its headings, at most
# chunk_tokens tokens each (the [checks] tokenizer when set, else about 4 characters a token),
# and the model writes up to pairs_per_chunk pairs grounded in each chunk. Chunks shorter than
# min_chunk_chars characters are merged into their neighbour or left out.
chunk_tokens = 1200
pairs_per_chunk = 5
min_chunk_chars = 80
"""


def load_config(path: Path) -> WorkspaceConfig:
    if not path.exists():
        return WorkspaceConfig()
    return validated(WorkspaceConfig, read_toml(path), str(path))


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:  # a folder, no permission: the review app shows this line too, not a traceback
        raise (os_error(exc, path) or exc) from None


def validated(model: type[M], data: dict[str, Any], where: str) -> M:
    """`data` as `model`; a bad value is one line naming where it came from and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise BadInput(f"{where}: {field}: {err['msg']}") from None
