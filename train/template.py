"""The chat template: chosen once at training, stored with the adapter, used again everywhere.

A sample becomes messages (system, earlier turns, the question, the answer). Training renders
the prompt with the template's generation prompt and tokenizes it, then tokenizes the rest of
the rendered conversation (the answer and the end-of-turn marker) as the completion. `eval`,
`chat` and the export render the prompt with `prompt_ids()`, the very function training used,
from the tokenizer saved in the run folder, and a hash check refuses a template that changed.
So the prompt a model sees at inference is, token for token, the one it was trained on.

The template is the base tokenizer's own when it has one; a base model without one (most base
Llama checkpoints) gets a declared template: `plain` (Question/Answer headers, the tokenizer's
own end-of-sequence token closes each answer, so no new token has to be learned) or `chatml`
(for tokenizers that already have `<|im_start|>` and `<|im_end|>`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from factory.errors import BadInput
from factory.exports import to_openai

log = logging.getLogger(__name__)

PLAIN_TEMPLATE = (
    "{%- if bos_token %}{{ bos_token }}{% endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{{ message['content'] + '\\n\\n' }}"
    "{%- elif message['role'] == 'user' -%}{{ '### Question:\\n' + message['content'] + '\\n\\n' }}"
    "{%- elif message['role'] == 'assistant' -%}{{ '### Answer:\\n' + message['content'] + eos_token + '\\n\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '### Answer:\\n' }}{%- endif -%}"
)
CHATML_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)
DECLARED = {"plain": PLAIN_TEMPLATE, "chatml": CHATML_TEMPLATE}
TEMPLATE_FILE = "template.json"
_SENTINEL = "Zq7xAnswerMark"


@dataclass(frozen=True)
class TemplateInfo:
    """What the run folder records about its template, next to the tokenizer that carries it."""

    source: str  # "base tokenizer", "declared: plain", "file: PATH"
    sha256: str  # of the Jinja text
    end_of_turn: str  # what the template writes after an answer, e.g. "<|im_end|>\n"
    stop: list[str]  # stop strings (Ollama PARAMETER stop, generation)
    stop_token_ids: list[int]  # generation stops on any of these
    system_prompt: str  # added to messages without a system prompt

    def save(self, folder: Path) -> None:
        (folder / TEMPLATE_FILE).write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n",
                                            encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TemplateInfo:
        path = folder / TEMPLATE_FILE
        if not path.is_file():
            raise BadInput(f"{path}: missing; the run folder is incomplete")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def template_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def choose_template(tokenizer: Any, choice: str) -> tuple[str, str]:
    """(jinja text, source) for the config's `template` value."""
    if choice == "auto":
        if getattr(tokenizer, "chat_template", None):
            return tokenizer.chat_template, "base tokenizer"
        log.info("the base tokenizer has no chat template; using the declared 'plain' template")
        choice = "plain"
    if choice in DECLARED:
        if choice == "chatml":
            for token in ("<|im_start|>", "<|im_end|>"):
                if token not in tokenizer.get_vocab():
                    raise BadInput(f"template = \"chatml\": the tokenizer has no {token} token; "
                                   "use template = \"plain\" (it ends answers with the tokenizer's own EOS)")
        return DECLARED[choice], f"declared: {choice}"
    path = Path(choice)
    if path.suffix in (".jinja", ".j2") and path.is_file():
        return path.read_text(encoding="utf-8"), f"file: {path}"
    raise BadInput(f"template = {choice!r}: use \"auto\", \"plain\", \"chatml\" or the path of a .jinja file")


def install_template(tokenizer: Any, choice: str, system_prompt: str = "") -> TemplateInfo:
    """Set the chosen template on `tokenizer` and work out how an answer ends."""
    text, source = choose_template(tokenizer, choice)
    tokenizer.chat_template = text
    if tokenizer.eos_token is None:
        raise BadInput("the base tokenizer has no EOS token; set one in its tokenizer_config.json")
    probe = [{"role": "user", "content": "Q"}]
    prompt = render_prompt(tokenizer, probe)
    full = render(tokenizer, [*probe, {"role": "assistant", "content": _SENTINEL}])
    if not full.startswith(prompt) or _SENTINEL not in full[len(prompt):]:
        raise BadInput(f"chat template ({source}) renders the prompt differently when an answer follows, so "
                       "training and inference prompts would differ; use template = \"plain\" or a .jinja file")
    end_of_turn = full[len(prompt):].split(_SENTINEL, 1)[1]
    if not end_of_turn.strip():
        raise BadInput(f"chat template ({source}) writes nothing after an answer, so the model could never learn "
                       "to stop; use template = \"plain\" or a .jinja file")
    marker = end_of_turn.strip()
    marker_ids = tokenizer(marker, add_special_tokens=False)["input_ids"]
    stop_ids = [marker_ids[0]] if len(marker_ids) == 1 else []
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stop_ids:
        stop_ids.append(tokenizer.eos_token_id)
    if len(marker_ids) != 1:
        log.warning("the end-of-turn marker %r is %d tokens; generation stops on the text", marker, len(marker_ids))
    return TemplateInfo(source=source, sha256=template_sha256(text), end_of_turn=end_of_turn, stop=[marker],
                        stop_token_ids=stop_ids, system_prompt=system_prompt)


def check_template(tokenizer: Any, info: TemplateInfo, where: Path) -> None:
    """Refuse a stored tokenizer whose template is not the one the run trained with."""
    text = getattr(tokenizer, "chat_template", None) or ""
    if template_sha256(text) != info.sha256:
        raise BadInput(f"{where}: the tokenizer's chat template is not the one this run trained with "
                       f"(sha256 {template_sha256(text)[:12]}, trained {info.sha256[:12]})")


def record_messages(record: dict[str, Any], system_prompt: str = "", with_answer: bool = True) -> list[dict[str, str]]:
    """A version record as chat messages: system, earlier turns, the question and (optionally) the answer."""
    messages = to_openai({"input": "", "history": [], **record})["messages"]
    if system_prompt and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": system_prompt})
    return messages if with_answer else messages[:-1]


def render(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False)


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text up to where the model starts answering."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """Token ids of the prompt; the template writes BOS itself, so the tokenizer adds nothing."""
    return tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"]


def encode_example(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """(input_ids, labels) for messages ending in the answer: labels are -100 on the prompt.

    The prompt is tokenized on its own, exactly as `prompt_ids` does at inference, and the
    completion (answer plus end-of-turn marker) after it, so the answer's labels include the
    marker that teaches the model to stop.
    """
    prompt = render_prompt(tokenizer, messages[:-1])
    full = render(tokenizer, messages)
    if not full.startswith(prompt):
        raise BadInput("the chat template renders the prompt differently when an answer follows; "
                       "use template = \"plain\" or a .jinja file")
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    return ids + completion, [-100] * len(ids) + completion
