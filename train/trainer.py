"""QLoRA SFT on one frozen version: `factory train --dataset NAME@vN --base-model HUB_ID_OR_PATH`.

    factory train --dataset team-kb@v3 --base-model Qwen/Qwen2.5-7B
    factory train --dataset team-kb@v3 --base-model ./models/llama --config train.toml --max-steps 200
    factory train --dataset team-kb@v3 --base-model Qwen/Qwen2.5-7B --resume     # after a kill
    accelerate launch -m factory train --dataset team-kb@v3 --base-model Qwen/Qwen2.5-7B   # several GPUs

The version must verify (every hash in its manifest), so a run always names the exact data it
saw. The path, in order: the tokenizer gets its chat template (`template.py`); each sample is
encoded with labels only on the answer and its end-of-turn marker (`data.py`); the base loads in
4-bit NF4 without float32 copies (`model.py`); trl's `SFTTrainer` trains LoRA adapters on all
seven projections with:

- packing of whole samples into rows of `max_length` tokens, padding-free: the samples of a row
  are told apart by `position_ids`, and transformers builds a block-diagonal mask from them for
  `sdpa`, so no token attends across samples and no compute is spent on padding;
- trl's fused LM head: the loss is computed in vocabulary chunks with an online softmax, over
  the answer positions only on a GPU (every position on a CPU), so the full-vocabulary logits
  (2048 x 152k for Qwen, 1.2 GB in float32) are never materialised;
- non-reentrant gradient checkpointing, 8-bit paged AdamW, cosine schedule with warmup;
- eval loss on the version's eval split every `eval_steps`, a checkpoint each time, early
  stopping on it, and the best checkpoint loaded at the end and saved as the adapter.
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.errors import BadInput, FactoryError, VersionError
from factory.versions import (
    GENERAL_EVAL,
    VersionInfo,
    legacy_note,
    resolve_version,
    verify_version,
)
from factory.workspace import Workspace
from train.config import TrainConfig, validate_config
from train.data import EncodedSplit, encode_records
from train.model import (
    base_model_identity,
    check_base_model,
    compute_dtype,
    library_versions,
    load_base_model,
    load_tokenizer,
    model_shape,
    require_train_extra,
)
from train.plot import loss_curve_png
from train.runs import (
    CONFIG_FILE,
    CURVE,
    Run,
    create_run,
    new_run_id,
    now,
    resumable_run,
    runs_dir,
)
from train.template import TemplateInfo, install_template

log = logging.getLogger(__name__)


@dataclass
class TrainRequest:
    dataset: str
    base_model: str
    config: TrainConfig
    resume: bool = False
    callbacks: list[Any] = field(default_factory=list)  # extra TrainerCallbacks (tests, progress)


@dataclass
class TrainResult:
    run: Run
    resumed: bool
    global_step: int
    best_eval_loss: float | None
    first_loss: float | None
    last_loss: float | None
    stopped_early: bool


def frozen_version(ws: Workspace, ref: str) -> VersionInfo:
    """The version `ref` names, refused unless it is a frozen version whose hashes verify."""
    if "@" not in ref and (Path(ref).is_file() or Path(ref).suffix in (".json", ".jsonl", ".parquet", ".csv")):
        raise BadInput(f"--dataset {ref}: a file, not a frozen version; import it, review it, `factory freeze NAME` "
                       "and train on NAME@vN")
    version = resolve_version(ws, ref)
    problems = verify_version(version)  # the format, every hash, and the store's record of the version
    if problems:
        raise VersionError(f"{version.ref} does not verify ({problems[0]}); refusing to train on it")
    if note := legacy_note(version):
        log.warning("%s", note)
    return version


def default_pad_token(tokenizer: Any) -> None:
    """Give the tokenizer a pad token when it has none.

    Labels are built per sample, never from the pad id, so even pad == eos cannot mask the
    end-of-turn out of the loss; a distinct token is still preferred, for clarity in batches.
    """
    if tokenizer.pad_token is not None:
        return
    if tokenizer.unk_token is not None and tokenizer.unk_token != tokenizer.eos_token:
        tokenizer.pad_token = tokenizer.unk_token
    else:
        tokenizer.pad_token = tokenizer.eos_token


def lora_config(cfg: TrainConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=list(cfg.lora.target_modules), bias="none", task_type="CAUSAL_LM")


def sft_config(cfg: TrainConfig, output_dir: Path, has_eval: bool) -> Any:
    import torch
    from trl import SFTConfig

    dtype = compute_dtype(cfg.quantization)
    on_gpu = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # below 1: a share of the total steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        optim=cfg.optimizer,
        activation_checkpointing=cfg.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        bf16=on_gpu and dtype == torch.bfloat16,
        fp16=on_gpu and dtype == torch.float16,
        use_cpu=not on_gpu,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=cfg.eval_steps,
        save_strategy="steps",
        save_steps=cfg.eval_steps,
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=has_eval,
        metric_for_best_model="eval_loss" if has_eval else None,
        greater_is_better=False if has_eval else None,
        packing=cfg.packing,
        packing_strategy="bfd",
        max_length=cfg.max_length,
        report_to=[],
        seed=cfg.seed,
        data_seed=cfg.seed,
        dataloader_num_workers=0,
    )


def build_trainer(model: Any, tokenizer: Any, train_rows: Any, eval_rows: Any | None, cfg: TrainConfig,
                  output_dir: Path, callbacks: list[Any] | None = None) -> Any:
    """The project's SFTTrainer over tokenized rows ({input_ids, labels}); used by `train` and bench/train.py."""
    from transformers import EarlyStoppingCallback
    from trl import SFTTrainer

    has_eval = eval_rows is not None and len(eval_rows) > 0
    callbacks = list(callbacks or [])
    if has_eval and cfg.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(cfg.early_stopping_patience, cfg.early_stopping_threshold))
    return SFTTrainer(model=model, args=sft_config(cfg, output_dir, has_eval), train_dataset=train_rows,
                      eval_dataset=eval_rows if has_eval else None, processing_class=tokenizer,
                      peft_config=lora_config(cfg), callbacks=callbacks)


def _metrics_callback(run: Run) -> Any:
    from transformers import TrainerCallback

    class MetricsToRunFolder(TrainerCallback):
        """Every log line to metrics.jsonl, and the loss curve redrawn after each eval."""

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if state.is_world_process_zero and logs:
                values = {k: v for k, v in logs.items() if isinstance(v, int | float) and not isinstance(v, bool)}
                run.append_metrics({"step": state.global_step, "epoch": state.epoch, **values, "time": now()})

        def on_evaluate(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.is_world_process_zero:
                loss_curve_png(run.metrics(), run.path / CURVE)

    return MetricsToRunFolder()


def _shared_run_id(run_id: str) -> str:
    """Under `accelerate launch`, every process uses the main process's run id."""
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    if PartialState().num_processes == 1:
        return run_id
    box = [run_id]
    broadcast_object_list(box, from_process=0)
    return box[0]


def train(ws: Workspace, request: TrainRequest) -> TrainResult:
    version = frozen_version(ws, request.dataset)
    cfg = request.config
    base = request.base_model or cfg.base_model
    if not base:
        raise BadInput("--base-model is required (a hub id or a local model folder), or base_model in the config")
    check_base_model(base)
    require_train_extra()
    from accelerate import PartialState

    output_name = cfg.output_name or f"{version.name}-v{version.version}"
    is_main = PartialState().is_main_process
    checkpoint = None
    if request.resume:
        run = resumable_run(ws, version.dataset_hash, base, output_name)
        if run is None or (checkpoint := run.last_checkpoint()) is None:
            raise BadInput(f"nothing to resume: no killed run of {version.ref} on {base} named {output_name!r} with a "
                           f"checkpoint in {runs_dir(ws)}; start one without --resume")
        cfg = validate_config(run.info["config"], str(run.path / CONFIG_FILE))  # the run goes on as it began
        log.info("resuming run %s from %s", run.id, checkpoint.name)
    else:
        run_id = _shared_run_id(new_run_id(output_name))
        # the other processes of a multi-GPU launch use the same folder and write nothing to it
        run = create_run(ws, run_id) if is_main else Run(run_id, runs_dir(ws) / run_id)
    cfg = cfg.model_copy(update={"base_model": base, "output_name": output_name})

    tokenizer = load_tokenizer(base, cfg.base_revision)
    template = install_template(tokenizer, cfg.template, cfg.system_prompt)
    default_pad_token(tokenizer)
    tokenizer.padding_side = "right"
    train_split = encode_records(tokenizer, version.records("train"), cfg.max_length, cfg.system_prompt, "train")
    eval_split = encode_records(tokenizer, version.records("eval"), cfg.max_length, cfg.system_prompt, "eval")
    if not eval_split.rows:
        log.warning("%s has no eval samples: no eval loss, no early stopping, the last step is kept", version.ref)
    model = load_base_model(base, cfg)

    if is_main and checkpoint is None:
        run.write_info(_run_info(run, version, cfg, base, model, template, train_split, eval_split))
        (run.path / CONFIG_FILE).write_text(cfg.model_dump_json(indent=2) + "\n", encoding="utf-8")
        tokenizer.save_pretrained(run.tokenizer_dir)
        template.save(run.path)
    if is_main and checkpoint is not None:
        from transformers import TrainerState

        run.truncate_metrics(TrainerState.load_from_json(str(checkpoint / "trainer_state.json")).global_step)
        run.update_info(resumed_at=[*run.info.get("resumed_at", []), now()])

    trainer = build_trainer(model, tokenizer, train_split.dataset(), eval_split.dataset() if eval_split.rows else None,
                            cfg, run.checkpoints_dir, [_metrics_callback(run), *request.callbacks])
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    return _finish(run, trainer, cfg, checkpoint is not None, is_main)


def _finish(run: Run, trainer: Any, cfg: TrainConfig, resumed: bool, is_main: bool) -> TrainResult:
    state = trainer.state
    losses = [m["loss"] for m in state.log_history if "loss" in m]
    evals = [m["eval_loss"] for m in state.log_history if "eval_loss" in m]
    max_steps = state.max_steps
    stopped_early = bool(evals) and state.global_step < max_steps
    best = state.best_metric if evals else None
    if is_main:
        trainer.model.save_pretrained(run.adapter_dir)  # the best checkpoint's weights, loaded at the end
        loss_curve_png(run.metrics(), run.path / CURVE)
        history = run.metrics()
        first = next((m["loss"] for m in history if "loss" in m), None)
        last = next((m["loss"] for m in reversed(history) if "loss" in m), None)
        run.update_info(finished_at=now(), training={
            "global_step": state.global_step, "max_steps": max_steps, "epochs_done": state.epoch,
            "stopped_early": stopped_early, "best_eval_loss": best,
            "best_checkpoint": Path(state.best_model_checkpoint).name if state.best_model_checkpoint else None,
            "first_train_loss": first, "last_train_loss": last,
            "last_eval_loss": evals[-1] if evals else None,
        })
        if not cfg.keep_checkpoints:
            shutil.rmtree(run.checkpoints_dir, ignore_errors=True)
        run.mark_complete()  # last: a folder without it is never read as a finished run
    first = losses[0] if losses else None
    last = losses[-1] if losses else None
    if best is not None and not math.isfinite(best):
        raise FactoryError(f"run {run.id}: eval loss is {best}; lower the learning rate")
    return TrainResult(run=run, resumed=resumed, global_step=state.global_step, best_eval_loss=best,
                       first_loss=first, last_loss=last, stopped_early=stopped_early)


def _run_info(run: Run, version: VersionInfo, cfg: TrainConfig, base: str, model: Any, template: TemplateInfo,
              train_split: EncodedSplit, eval_split: EncodedSplit) -> dict[str, Any]:
    manifest = version.manifest
    return {
        "id": run.id,
        "output_name": cfg.output_name,
        "started_at": now(),
        "dataset": {
            "ref": version.ref, "name": version.name, "version": version.version,
            "dataset_hash": version.dataset_hash, "path": str(version.path),
            "files": manifest.get("files", {}), "counts": manifest.get("counts", {}),
            "licenses": manifest.get("licenses", {}), "general_eval": (version.path / GENERAL_EVAL).is_file(),
        },
        "base_model": {**base_model_identity(base, cfg.base_revision, model), "shape": model_shape(model),
                       "loaded_in_4bit": bool(getattr(model, "is_loaded_in_4bit", False))},
        "template": {"source": template.source, "sha256": template.sha256, "end_of_turn": template.end_of_turn,
                     "stop": template.stop},
        "data": {"train": train_split.summary(), "eval": eval_split.summary(),
                 "left_out_too_long": train_split.left_out + eval_split.left_out},
        "config": cfg.model_dump(),
        "libraries": library_versions(),
    }
