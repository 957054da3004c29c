"""`factory export RUN_ID --merge`: a standalone model and an Ollama Modelfile.

With `--merge`, the base is loaded exactly as training saw it (4-bit NF4 by default) and then
dequantised to bfloat16, so the weights the adapter is merged into are the ones it was trained
against, not the original higher-precision checkpoint; the adapter is merged and the result
saved as bf16 safetensors with the run's tokenizer (and its chat template) and a generation
config that stops at the end-of-turn token. The Modelfile's TEMPLATE and stop tokens come from
the stored template (`ollama.py`). When llama.cpp's `convert_hf_to_gguf.py` can be found
(`$LLAMA_CPP_DIR`, on PATH, or ~/llama.cpp), a GGUF is written too and the Modelfile uses it;
otherwise the Modelfile imports the safetensors folder, which Ollama supports for Llama,
Mistral, Gemma and Qwen2 architectures, and the result says how to get a GGUF.

Without `--merge`, the export is the adapter next to a Modelfile with `FROM <base>` and
`ADAPTER ./adapter`, for an Ollama that has the same base model.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from factory.errors import FactoryError
from factory.progress import Progress, no_progress
from factory.workspace import Workspace
from train.generation import load_run_tokenizer, require_complete, run_config
from train.model import load_base_model, require_train_extra
from train.ollama import modelfile, template_parts
from train.runs import Run, resolve_run

log = logging.getLogger(__name__)

CONVERTER = "convert_hf_to_gguf.py"


@dataclass
class ExportResult:
    out: Path
    modelfile: Path
    merged: Path | None = None
    gguf: Path | None = None
    notes: list[str] = field(default_factory=list)


def find_gguf_converter() -> Path | None:
    candidates = []
    if os.environ.get("LLAMA_CPP_DIR"):
        candidates.append(Path(os.environ["LLAMA_CPP_DIR"]) / CONVERTER)
    on_path = shutil.which(CONVERTER)
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(Path.home() / "llama.cpp" / CONVERTER)
    return next((c for c in candidates if c.is_file()), None)


def merge_adapter(run: Run, out: Path) -> Path:
    """The base as trained (dequantised to bf16) with the adapter merged in, saved under `out`."""
    require_train_extra()
    import torch
    from peft import PeftModel

    cfg = run_config(run)
    model = load_base_model(cfg.base_model, cfg, for_training=False)
    if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
        model = model.dequantize(dtype=torch.bfloat16)
    model = PeftModel.from_pretrained(model.to(torch.bfloat16), str(run.adapter_dir))
    merged = model.merge_and_unload().to(torch.bfloat16)
    if getattr(merged.config, "quantization_config", None) is not None:
        del merged.config.quantization_config
    merged.config.use_cache = True
    tokenizer, template = load_run_tokenizer(run)
    merged.generation_config.eos_token_id = template.stop_token_ids
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def export_run(ws: Workspace, run_id: str, *, merge: bool, out: Path | None = None, gguf: bool = True,
               progress: Progress = no_progress) -> ExportResult:
    run = resolve_run(ws, run_id)
    require_complete(run)
    require_train_extra()
    out = (out or run.path / "export").resolve()
    out.mkdir(parents=True, exist_ok=True)
    cfg = run_config(run)
    tokenizer, template = load_run_tokenizer(run)
    parts = template_parts(tokenizer)  # refuse an unportable template before any slow work
    progress(0, 3)
    info = run.info
    header = (f"Made by dataset-factory from run {run.id}: dataset {info['dataset']['ref']} "
              f"(hash {info['dataset']['dataset_hash']}), base {cfg.base_model}, template {template.source}.")
    result = ExportResult(out=out, modelfile=out / "Modelfile")
    if merge:
        result.merged = merge_adapter(run, out / "merged")
        progress(1, 3)
        source = "./merged"
        converter = find_gguf_converter() if gguf else None
        if converter is not None:
            target = out / "model.gguf"
            done = subprocess.run([sys.executable, str(converter), str(result.merged), "--outfile", str(target),
                                   "--outtype", "bf16"], check=False, capture_output=True, text=True)
            if done.returncode != 0:
                raise FactoryError(f"{converter} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
            result.gguf, source = target, "./model.gguf"
        elif gguf:
            result.notes.append(f"no GGUF: llama.cpp's {CONVERTER} was not found (set LLAMA_CPP_DIR to a llama.cpp "
                                "checkout and export again); the Modelfile imports the safetensors folder, which "
                                "`ollama create` converts itself")
    else:
        shutil.copytree(run.adapter_dir, out / "adapter", dirs_exist_ok=True)
        source = cfg.base_model
        result.notes.append(f"FROM {cfg.base_model}: Ollama needs that same base model; --merge makes a standalone one")
    progress(2, 3)
    result.modelfile.write_text(modelfile(source, parts, template.stop, template.system_prompt,
                                          adapter=None if merge else "./adapter", header=header), encoding="utf-8")
    progress(3, 3)
    return result
