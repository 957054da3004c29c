"""Loading the base model and its tokenizer, the same way for training, eval, chat and export.

The base is loaded in 4-bit NF4 with double quantization (QLoRA), computing in bfloat16 where
the GPU has it. Unlike the usual recipe, nothing is upcast: `prepare_model_for_kbit_training`
would copy the embeddings and the LM head to float32 (4.4 GB more for a 7B Qwen, and every
norm and residual in float32 after it); here they stay in the compute dtype, and gradient
checkpointing is the non-reentrant kind, set up by the trainer.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import platform
from pathlib import Path
from typing import Any

from factory.errors import BadInput, FactoryError
from train.config import QuantizationSettings, TrainConfig

log = logging.getLogger(__name__)

TRAIN_LIBRARIES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets")


def require_train_extra() -> None:
    """Fail with an install hint when the training libraries are missing."""
    missing = [name for name in TRAIN_LIBRARIES if importlib.util.find_spec(name) is None]
    if missing:
        raise FactoryError(f"training needs {', '.join(missing)}: pip install 'dataset-factory[train]'")


def library_versions() -> dict[str, str]:
    import torch

    versions = {"python": platform.python_version()}
    for name in TRAIN_LIBRARIES:
        versions[name] = getattr(importlib.import_module(name), "__version__", "?")
    from factory import __version__

    versions["dataset-factory"] = __version__
    versions["cuda"] = torch.version.cuda or "none"
    versions["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return versions


def compute_dtype(settings: QuantizationSettings) -> Any:
    import torch

    if settings.compute_dtype != "auto":
        return getattr(torch, settings.compute_dtype)
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def device_map() -> dict[str, int] | None:
    """The whole model on this process's GPU (one per process under `accelerate launch`), else the CPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    from accelerate import PartialState

    return {"": PartialState().local_process_index}


def quantization_config(cfg: TrainConfig) -> Any:
    if not cfg.quantization.load_in_4bit:
        return None
    from transformers import BitsAndBytesConfig

    q = cfg.quantization
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=q.quant_type,
                              bnb_4bit_use_double_quant=q.double_quant, bnb_4bit_compute_dtype=compute_dtype(q))


def check_base_model(base: str) -> None:
    """A base that looks like a path must be a folder; a hub id is checked when it loads."""
    looks_local = base.startswith((".", "/", "~")) or Path(base).exists() or base.count("/") > 1
    if looks_local and not Path(base).expanduser().is_dir():
        raise BadInput(f"--base-model {base}: no such folder (give a local model folder or a hub id)")


def load_tokenizer(base: str, revision: str = "main") -> Any:
    from transformers import AutoTokenizer

    check_base_model(base)
    try:
        return AutoTokenizer.from_pretrained(str(Path(base).expanduser()) if Path(base).expanduser().is_dir()
                                             else base, revision=revision)
    except (OSError, ValueError) as exc:
        raise BadInput(f"--base-model {base}: cannot load its tokenizer ({str(exc).splitlines()[0]})") from None


def load_base_model(base: str, cfg: TrainConfig, *, for_training: bool = True) -> Any:
    """The base model as training sees it: 4-bit NF4 (or unquantized), compute dtype, sdpa."""
    from transformers import AutoModelForCausalLM

    check_base_model(base)
    source = str(Path(base).expanduser()) if Path(base).expanduser().is_dir() else base
    try:
        model = AutoModelForCausalLM.from_pretrained(
            source, revision=cfg.base_revision, quantization_config=quantization_config(cfg),
            dtype=compute_dtype(cfg.quantization), attn_implementation=cfg.attn_implementation,
            device_map=device_map())
    except (OSError, ValueError) as exc:
        raise BadInput(f"--base-model {base}: cannot load it ({str(exc).splitlines()[0]})") from None
    if for_training:
        model.config.use_cache = False
    return model


def base_model_identity(base: str, revision: str, model: Any) -> dict[str, Any]:
    """How the run names its base: the id, and the commit it resolved to (hub) or a fingerprint (folder)."""
    path = Path(base).expanduser()
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(path.iterdir()):
            if file.suffix in (".json", ".safetensors", ".bin", ".model", ".txt", ".jinja"):
                # config and tokenizer files by content; weight files by name and size (hashing GBs takes minutes)
                digest.update(file.name.encode() + b"\0")
                if file.suffix in (".safetensors", ".bin"):
                    digest.update(str(file.stat().st_size).encode())
                else:
                    digest.update(file.read_bytes())
        return {"id": base, "path": str(path.resolve()), "revision": None, "fingerprint": digest.hexdigest(),
                "architecture": (model.config.architectures or ["?"])[0]}
    return {"id": base, "path": None, "revision": revision,
            "commit": getattr(model.config, "_commit_hash", None) or getattr(model, "_commit_hash", None),
            "architecture": (model.config.architectures or ["?"])[0]}


def model_shape(model: Any) -> dict[str, Any]:
    c = model.config.get_text_config()
    return json.loads(json.dumps({k: getattr(c, k, None) for k in (
        "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "vocab_size")}))
