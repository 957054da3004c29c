"""Benchmark: QLoRA training speed and peak GPU memory, the project's path against the plain recipe.

    .venv/bin/python bench/train.py                  # CUDA: Qwen2.5-7B shape, random weights, seq 2048
    .venv/bin/python bench/train.py --profile        # and where the time goes (torch.profiler, 2 steps each)
    .venv/bin/python bench/train.py --tiny           # CPU: a tiny Qwen2 shape, to show the script works

Both recipes run in one process, one after the other, on the same model shape (Qwen2Config with
Qwen2.5-7B's numbers, random bf16 weights saved once to --cache-dir and loaded through
`from_pretrained` with bitsandbytes 4-bit NF4, double quantization, bf16 compute), the same
synthetic samples (prompt and answer lengths drawn uniformly, every sample at most --seq tokens)
and the same number of optimizer steps, LoRA r=16 on all seven projections, paged 8-bit AdamW:

- plain: what most tutorials do: `prepare_model_for_kbit_training` (float32 copies of the
  embeddings, the LM head and the norms; reentrant gradient checkpointing), `get_peft_model`,
  every example padded to --seq, no packing, the Hugging Face `Trainer` with full logits;
- project: `train.trainer.build_trainer`, the path `factory train` runs: no float32 upcasts,
  whole samples packed into rows of --seq tokens without padding (position ids keep them apart),
  the loss in chunks on answer positions only (no full-vocabulary logits), non-reentrant
  checkpointing.

Reported: real (non-padding) tokens per second over the timed steps (after --warmup steps),
peak GPU memory (`torch.cuda.max_memory_allocated`, from before loading to the end; the load
peak apart), and the ratios. bitsandbytes' paged optimizer states live in CUDA unified memory,
which the PyTorch allocator does not count (for LoRA r=16 on a 7B model they are ~80 MB).
Nothing here asserts; it measures and prints a markdown block for bench/RESULTS.md. On the CPU
(--tiny) it reports speed only, and that speed says nothing about a GPU.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Qwen2.5-7B (config.json of Qwen/Qwen2.5-7B)
QWEN25_7B = {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
             "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 32768,
             "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False}
TINY = {"vocab_size": 1024, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
        "tie_word_embeddings": False}
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PAD_ID = 0


def random_checkpoint(shape: dict[str, int], folder: Path, on_gpu: bool) -> Path:
    """Random bf16 weights in `folder` (made once; 15 GB for the 7B shape)."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    if (folder / "config.json").is_file():
        return folder
    config = Qwen2Config(**shape, pad_token_id=PAD_ID)
    with torch.device("cuda" if on_gpu else "cpu"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16 if on_gpu else torch.float32)
    tmp = folder.with_name(folder.name + ".tmp")
    model.save_pretrained(tmp)
    del model
    tmp.rename(folder)
    return folder


def tokenizer() -> Any:
    """A stand-in tokenizer: the samples are token ids already; the trainers only need its pad token."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": PAD_ID, "<eos>": 1, "<unk>": 2}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")),
                                  pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    return tok


def samples(n: int, seq: int, vocab: int, seed: int = 0) -> list[dict[str, list[int]]]:
    """Prompt 16-256 and answer 32-768 tokens (scaled to --seq), labels -100 on the prompt."""
    rng = random.Random(seed)
    scale = seq / 2048
    rows = []
    for _ in range(n):
        prompt = max(4, int(rng.randint(16, 256) * scale))
        answer = max(4, int(rng.randint(32, 768) * scale))
        ids = [rng.randrange(100, vocab - 1) for _ in range(min(prompt + answer, seq))]
        rows.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    return rows


class Counter:
    """Wraps a data collator to count the real tokens of every batch it makes."""

    def __init__(self, collate: Any):
        self.collate, self.tokens = collate, []

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.collate(examples)
        mask = batch.get("attention_mask")
        self.tokens.append(int(mask.sum()) if mask is not None else int(batch["input_ids"].numel()))
        return batch


def timing_callback(warmup: int, steps: int, profile: bool, on_gpu: bool) -> Any:
    import torch
    from transformers import TrainerCallback

    class Timer(TrainerCallback):
        def __init__(self) -> None:
            self.start = self.end = 0.0
            self.profiler = None

        def _sync(self) -> float:
            if on_gpu:
                torch.cuda.synchronize()
            return time.perf_counter()

        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.global_step == warmup:
                self.start = self._sync()
            if profile and state.global_step == warmup + steps:
                activities = [torch.profiler.ProfilerActivity.CPU] + (
                    [torch.profiler.ProfilerActivity.CUDA] if on_gpu else [])
                self.profiler = torch.profiler.profile(activities=activities)
                self.profiler.start()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.global_step == warmup + steps:
                self.end = self._sync()

    return Timer()


def run_recipe(name: str, checkpoint: Path, rows: list[dict[str, list[int]]], args: argparse.Namespace,
               on_gpu: bool) -> dict[str, Any]:
    import torch

    total = args.warmup + args.steps + (2 if args.profile else 0)
    if on_gpu:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    timer = timing_callback(args.warmup, args.steps, args.profile, on_gpu)
    if name == "plain":
        trainer = plain_trainer(checkpoint, rows, args, on_gpu, out, total)
    else:
        trainer = project_trainer(checkpoint, rows, args, on_gpu, out, total)
    load_peak = torch.cuda.max_memory_allocated() if on_gpu else None
    trainer.add_callback(timer)
    counter = Counter(trainer.data_collator)
    trainer.data_collator = counter
    trainer.train()
    if timer.profiler is not None:
        timer.profiler.stop()
    timed = counter.tokens[args.warmup:args.warmup + args.steps]
    seconds = timer.end - timer.start
    result = {"recipe": name, "steps": args.steps, "tokens": sum(timed), "seconds": seconds,
              "tokens_per_s": sum(timed) / seconds, "tokens_per_step": sum(timed) / len(timed),
              "peak_gb": torch.cuda.max_memory_allocated() / 1e9 if on_gpu else None,
              "reserved_gb": torch.cuda.max_memory_reserved() / 1e9 if on_gpu else None,
              "load_peak_gb": load_peak / 1e9 if load_peak is not None else None,
              "loss": [round(h["loss"], 4) for h in trainer.state.log_history if "loss" in h][-1:]}
    if timer.profiler is not None:
        key = "self_cuda_time_total" if on_gpu else "self_cpu_time_total"
        result["profile"] = timer.profiler.key_averages().table(sort_by=key, row_limit=args.profile_rows)
    del trainer
    gc.collect()
    shutil.rmtree(out, ignore_errors=True)
    return result


def plain_trainer(checkpoint: Path, rows: list[dict[str, list[int]]], args: argparse.Namespace, on_gpu: bool,
                  out: Path, total: int) -> Any:
    """The tutorial recipe: prepare_model_for_kbit_training, pad every example to max length, Trainer."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        BitsAndBytesConfig,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )

    dtype = torch.bfloat16 if on_gpu else torch.float32
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=dtype)
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), quantization_config=quant, dtype=dtype,
                                                 device_map={"": 0} if on_gpu else None)
    model.config.use_cache = False
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=PROJECTIONS,
                                             task_type="CAUSAL_LM"))
    padded = [{"input_ids": r["input_ids"] + [PAD_ID] * (args.seq - len(r["input_ids"])),
               "attention_mask": [1] * len(r["input_ids"]) + [0] * (args.seq - len(r["input_ids"])),
               "labels": r["labels"] + [-100] * (args.seq - len(r["labels"]))} for r in rows]
    targs = TrainingArguments(output_dir=str(out), max_steps=total, per_device_train_batch_size=args.batch,
                              gradient_accumulation_steps=1, learning_rate=2e-4, lr_scheduler_type="cosine",
                              warmup_steps=0.03, optim="paged_adamw_8bit", bf16=on_gpu, use_cpu=not on_gpu,
                              logging_steps=1, save_strategy="no", report_to=[], seed=0,
                              dataloader_num_workers=0)
    return Trainer(model=model, args=targs, train_dataset=Dataset.from_list(padded),
                   data_collator=default_data_collator)


def project_trainer(checkpoint: Path, rows: list[dict[str, list[int]]], args: argparse.Namespace, on_gpu: bool,
                    out: Path, total: int) -> Any:
    """`factory train`'s own trainer (train/trainer.py), on the same rows."""
    from datasets import Dataset

    from train.config import TrainConfig
    from train.model import load_base_model
    from train.trainer import build_trainer

    cfg = TrainConfig(max_length=args.seq, max_steps=total, batch_size=args.project_batch,
                      gradient_accumulation_steps=1, logging_steps=1, eval_steps=10**6)
    model = load_base_model(str(checkpoint), cfg)
    return build_trainer(model, tokenizer(), Dataset.from_list(rows), None, cfg, out)


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, on_gpu: bool, shape: str) -> str:
    import bitsandbytes
    import peft
    import torch
    import transformers
    import trl

    device = torch.cuda.get_device_name(0) if on_gpu else f"CPU ({platform.machine()})"
    plain = next(r for r in results if r["recipe"] == "plain")
    lines = [f"## bench/train.py, {date.today().isoformat()}, {device}, Python {platform.python_version()}", "",
             (f"{shape}, random weights, sequence length {args.seq}, LoRA r=16 on all seven projections, 4-bit NF4 "
             f"with double quantization, paged 8-bit AdamW; {args.samples} synthetic samples (mean "
             f"{args.mean_tokens:.0f} tokens), {args.steps} timed steps after {args.warmup} warm-up steps. "
             f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
             f"trl {trl.__version__}, bitsandbytes {bitsandbytes.__version__}."), "",
             "| recipe | batch | real tokens/step | real tokens/s | vs plain | peak GPU memory | load peak |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        batch = args.batch if r["recipe"] == "plain" else f"{args.project_batch} packed row(s)"
        mem = "n/a (CPU)" if r["peak_gb"] is None else f"{r['peak_gb']:.1f} GB"
        load = "n/a" if r["load_peak_gb"] is None else f"{r['load_peak_gb']:.1f} GB"
        lines.append(f"| {r['recipe']} | {batch} | {r['tokens_per_step']:,.0f} | {r['tokens_per_s']:,.0f} | "
                     f"{r['tokens_per_s'] / plain['tokens_per_s']:.2f}x | {mem} | {load} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="CPU, a tiny Qwen2 shape (checks the script runs).")
    parser.add_argument("--seq", type=int, default=None, help="Sequence length (default 2048; 256 with --tiny).")
    parser.add_argument("--batch", type=int, default=2, help="Plain recipe: examples per step.")
    parser.add_argument("--project-batch", type=int, default=1, help="Project: packed rows of --seq per step.")
    parser.add_argument("--steps", type=int, default=None, help="Timed steps (default 20; 4 with --tiny).")
    parser.add_argument("--warmup", type=int, default=None, help="Untimed first steps (default 3; 1 with --tiny).")
    parser.add_argument("--samples", type=int, default=600, help="Synthetic samples.")
    parser.add_argument("--only", choices=["plain", "project"], help="Run one recipe.")
    parser.add_argument("--profile", action="store_true", help="Profile 2 more steps of each recipe.")
    parser.add_argument("--profile-rows", type=int, default=25)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "factory-bench-models")
    args = parser.parse_args()

    import torch

    on_gpu = torch.cuda.is_available() and not args.tiny
    if not on_gpu and not args.tiny:
        parser.error("no CUDA device: the 7B benchmark needs a GPU; --tiny runs a small CPU version")
    args.seq = args.seq or (256 if args.tiny else 2048)
    args.steps = args.steps or (4 if args.tiny else 20)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.tiny else 3)
    shape = TINY if args.tiny else QWEN25_7B
    shape_name = "tiny Qwen2 (hidden 64, 2 layers)" if args.tiny else "Qwen2.5-7B shape (Qwen2Config)"
    if args.tiny:
        torch.set_num_threads(1)
    checkpoint = random_checkpoint(shape, args.cache_dir / ("tiny" if args.tiny else "qwen2.5-7b-random"), on_gpu)
    rows = samples(args.samples, args.seq, shape["vocab_size"])
    args.mean_tokens = sum(len(r["input_ids"]) for r in rows) / len(rows)
    results = []
    for name in ("plain", "project"):
        if args.only in (None, name):
            print(f"running {name} ...", file=sys.stderr)
            results.append(run_recipe(name, checkpoint, rows, args, on_gpu))
            r = results[-1]
            print(f"{name}: {r['tokens_per_s']:,.0f} real tokens/s, {r['tokens_per_step']:,.0f} real tokens/step, "
                  f"peak {r['peak_gb'] if r['peak_gb'] is None else round(r['peak_gb'], 2)} GB, last loss "
                  f"{r['loss']}", file=sys.stderr)
    for r in results:
        if "profile" in r:
            print(f"\n### where the time goes: {r['recipe']}\n\n```\n{r['profile']}\n```")
    if len(results) == 2:
        print(markdown(results, args, on_gpu, shape_name))
        plain, project = results
        print(f"speed: {project['tokens_per_s'] / plain['tokens_per_s']:.2f}x the plain recipe (goal: at least 3x)")
        if on_gpu:
            print(f"peak memory: project {project['peak_gb']:.2f} GB (goal: at most 8 GB), "
                  f"plain {plain['peak_gb']:.2f} GB")


if __name__ == "__main__":
    main()
