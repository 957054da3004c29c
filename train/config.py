"""The training config: a typed model with documented defaults, loadable from a `train.toml`.

    factory train --dataset team-kb@v3 --base-model Qwen/Qwen2.5-7B --config train.toml

Every field has the default below; a `train.toml` sets any of them (unknown keys fail loudly),
and `--max-steps`, `--epochs` and `--output-name` on the command line win over the file. The
resolved config is saved in the run folder, so a run can be repeated exactly. `DEFAULT_TRAIN_TOML`
is the same defaults as a commented file (`factory train --print-config` writes it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from factory.config import read_toml, validated
from factory.errors import BadInput

# The seven linear projections of a Llama/Qwen/Mistral decoder layer.
ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Section):
    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: list(ALL_PROJECTIONS), min_length=1)


class QuantizationSettings(_Section):
    # 4-bit NF4 with double quantization (QLoRA); false trains LoRA on an unquantized base.
    load_in_4bit: bool = True
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True
    # auto: bfloat16 on a GPU that has it, float16 on one that does not, float32 on the CPU.
    compute_dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"


class TrainConfig(_Section):
    base_model: str = ""  # hub id or local folder; --base-model sets it
    base_revision: str = "main"  # hub branch, tag or commit of the base model
    output_name: str = ""  # names the run folder; default: the dataset name and version
    # The chat template: "auto" uses the base tokenizer's own and, when it has none, "plain";
    # "chatml" or "plain" force a declared one; a path to a .jinja file uses that file.
    template: str = "auto"
    # Put into every sample that has no system prompt, in training and in eval, chat and export alike.
    system_prompt: str = ""
    max_length: int = Field(2048, gt=8)  # tokens; longer samples are left out with a warning, never cut
    epochs: float = Field(3.0, gt=0)
    max_steps: int = Field(0, ge=0)  # when > 0, overrides epochs
    # Sequences per device per step. With packing, each is a row of up to max_length tokens made of
    # whole samples, with attention kept inside each sample.
    batch_size: int = Field(1, gt=0)
    gradient_accumulation_steps: int = Field(4, gt=0)
    packing: bool = True
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(0.3, gt=0)  # the QLoRA paper's value
    # paged_adamw_8bit keeps 8-bit states that page to CPU memory under pressure (bitsandbytes).
    optimizer: Literal["paged_adamw_8bit", "adamw_8bit", "paged_adamw_32bit", "adamw_torch"] = "paged_adamw_8bit"
    gradient_checkpointing: bool = True
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] = "sdpa"
    logging_steps: int = Field(5, gt=0)
    eval_steps: int = Field(50, gt=0)  # eval loss on the version's eval split, and a checkpoint, every N steps
    early_stopping_patience: int = Field(3, ge=0)  # evals without improvement before stopping; 0: never stop early
    early_stopping_threshold: float = Field(0.0, ge=0)  # smallest eval-loss drop that counts as improvement
    save_total_limit: int = Field(2, gt=0)  # checkpoints kept; the best is always among them
    keep_checkpoints: bool = False  # keep checkpoints/ after a finished run (the adapter is the best one)
    seed: int = 0
    lora: LoraSettings = Field(default_factory=LoraSettings)
    quantization: QuantizationSettings = Field(default_factory=QuantizationSettings)
    # Generation in eval and chat (greedy, so eval is repeatable).
    max_new_tokens: int = Field(256, gt=0)
    eval_batch_size: int = Field(8, gt=0)
    eval_max_samples: int = Field(0, ge=0)  # 0: every sample of each eval file


DEFAULT_TRAIN_TOML = """\
# factory train config. Every value below is the default; delete a line to use it.
# Used as: factory train --dataset NAME@vN --base-model HUB_ID_OR_PATH --config train.toml

# Hub branch, tag or commit of the base model (ignored for a local folder).
base_revision = "main"
# Names the run folder (.factory/runs/NAME-TIMESTAMP); default: the dataset name and version.
output_name = ""
# "auto": the base tokenizer's own chat template, else "plain"; or "chatml", "plain", or a .jinja file.
template = "auto"
# Added to every sample without a system prompt, in training and in eval, chat and the Modelfile.
system_prompt = ""
# Tokens; longer samples are left out with a warning (never cut, so the end-of-turn is always learned).
max_length = 2048
epochs = 3.0
# When > 0, train this many optimizer steps instead of `epochs`.
max_steps = 0
# Sequences per device per step; with packing, rows of up to max_length tokens of whole samples.
batch_size = 1
gradient_accumulation_steps = 4
packing = true
learning_rate = 2e-4
lr_scheduler = "cosine"
warmup_ratio = 0.03
weight_decay = 0.0
max_grad_norm = 0.3
optimizer = "paged_adamw_8bit"
gradient_checkpointing = true
attn_implementation = "sdpa"
logging_steps = 5
# Eval loss on the version's eval split and a checkpoint every N steps; the best checkpoint is kept.
eval_steps = 50
# Stop after this many evals without an eval-loss drop of at least the threshold (0: never early).
early_stopping_patience = 3
early_stopping_threshold = 0.0
save_total_limit = 2
keep_checkpoints = false
seed = 0
# Generation in `factory eval` and `factory chat` (greedy).
max_new_tokens = 256
eval_batch_size = 8
# 0: every sample of eval.jsonl and general_eval.jsonl.
eval_max_samples = 0

[lora]
r = 16
alpha = 32
dropout = 0.05
target_modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

[quantization]
load_in_4bit = true
quant_type = "nf4"
double_quant = true
# "auto": bfloat16 on a GPU that has it, float16 on one that does not, float32 on the CPU.
compute_dtype = "auto"
"""


def load_train_config(path: Path | None) -> TrainConfig:
    """The config in `path` (a train.toml), or the defaults; a bad file is one line naming the field."""
    if path is None:
        return TrainConfig()
    if not path.is_file():
        raise BadInput(f"{path}: no such config file")
    return validate_config(read_toml(path), str(path))


def validate_config(data: dict, where: str) -> TrainConfig:
    return validated(TrainConfig, data, where)
