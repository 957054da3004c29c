"""Loading a finished run for inference, and greedy generation with its stored template.

`eval`, `chat` and the export all start here: the tokenizer comes from the run folder (it carries
the chat template training used, checked against the sha256 in `template.json`), the base model
loads exactly as in training (4-bit NF4 by default), and the adapter goes on top. Prompts are
`template.prompt_ids()`, the function training used for the prompt part of every sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from factory.errors import BadInput
from train.config import TrainConfig, validate_config
from train.model import load_base_model, require_train_extra
from train.runs import CONFIG_FILE, Run
from train.template import TemplateInfo, check_template, prompt_ids

log = logging.getLogger(__name__)


@dataclass
class LoadedRun:
    run: Run
    config: TrainConfig
    tokenizer: Any
    template: TemplateInfo
    model: Any  # a PeftModel: `with model.disable_adapter():` gives the base

    def generate(self, conversations: list[list[dict[str, str]]], *, max_new_tokens: int | None = None,
                 batch_size: int | None = None, base: bool = False) -> list[str]:
        """Greedy answers to each conversation (messages ending with a user turn)."""
        if base:
            with self.model.disable_adapter():
                return self.generate(conversations, max_new_tokens=max_new_tokens, batch_size=batch_size)
        return generate_answers(self.model, self.tokenizer, self.template, conversations,
                                max_new_tokens or self.config.max_new_tokens, batch_size or self.config.eval_batch_size)


def load_run_tokenizer(run: Run) -> tuple[Any, TemplateInfo]:
    from transformers import AutoTokenizer

    if not run.tokenizer_dir.is_dir():
        raise BadInput(f"{run.tokenizer_dir}: missing; the run folder is incomplete")
    tokenizer = AutoTokenizer.from_pretrained(str(run.tokenizer_dir))
    template = TemplateInfo.load(run.path)
    check_template(tokenizer, template, run.tokenizer_dir)
    return tokenizer, template


def run_config(run: Run) -> TrainConfig:
    return validate_config(run.info.get("config", {}), str(run.path / CONFIG_FILE))


def require_complete(run: Run) -> None:
    if not run.complete or not (run.adapter_dir / "adapter_config.json").is_file():
        raise BadInput(f"run {run.id} is not finished (no {run.path.name}/COMPLETE); resume it with "
                       "`factory train ... --resume` or start a new one")


def load_run(run: Run) -> LoadedRun:
    require_train_extra()
    from peft import PeftModel

    require_complete(run)
    cfg = run_config(run)
    tokenizer, template = load_run_tokenizer(run)
    base = load_base_model(cfg.base_model, cfg, for_training=False)
    model = PeftModel.from_pretrained(base, str(run.adapter_dir))
    model.eval()
    return LoadedRun(run=run, config=cfg, tokenizer=tokenizer, template=template, model=model)


def generate_answers(model: Any, tokenizer: Any, template: TemplateInfo, conversations: list[list[dict[str, str]]],
                     max_new_tokens: int, batch_size: int) -> list[str]:
    import torch

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    answers: list[str] = []
    for start in range(0, len(conversations), batch_size):
        batch = [prompt_ids(tokenizer, messages) for messages in conversations[start:start + batch_size]]
        width = max(len(ids) for ids in batch)
        # left padding, so every answer starts right after its prompt
        input_ids = torch.tensor([[pad_id] * (width - len(ids)) + ids for ids in batch], device=device)
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=device)
        extra: dict[str, Any] = {}
        if any(len(tokenizer(s, add_special_tokens=False)["input_ids"]) > 1 for s in template.stop):
            extra = {"stop_strings": template.stop, "tokenizer": tokenizer}  # a multi-token end-of-turn
        with torch.no_grad():
            output = model.generate(input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens,
                                    do_sample=False, eos_token_id=template.stop_token_ids, pad_token_id=pad_id,
                                    **extra)
        for row in output[:, width:]:
            answers.append(clean_answer(tokenizer.decode(row, skip_special_tokens=False), tokenizer, template))
    return answers


def clean_answer(text: str, tokenizer: Any, template: TemplateInfo) -> str:
    """The answer up to its end-of-turn marker, without padding or special tokens."""
    for stop in [*template.stop, tokenizer.eos_token or ""]:
        if stop and stop in text:
            text = text.split(stop, 1)[0]
    for token in tokenizer.all_special_tokens:
        text = text.replace(token, "")
    return text.strip()
