"""Tiny random-weight models and tokenizers made on the fly, and a workspace with a frozen version.

Nothing is downloaded: a byte-level BPE tokenizer is trained on the test data itself and wrapped
in `PreTrainedTokenizerFast`, and a 2-layer Qwen2 or Llama model with hidden size 64 is built from
its config with random weights. Both are saved with `save_pretrained`, so the real code paths load
them from a folder exactly as they would load a hub id or a local checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

from factory.checking import check_pending
from factory.importing import import_dataset
from factory.sample import Sample, Source
from factory.versions import VersionInfo, freeze_version
from factory.workspace import Workspace, init_workspace
from sources.open_datasets import DatasetRequest

# Short facts a tiny model can memorise; half English, half Chinese.
FACTS = [
    ("What is NF4?", "NF4 is a 4-bit NormalFloat type for QLoRA weights.", "en"),
    ("What does LoRA train?", "LoRA trains two small low-rank matrices per layer.", "en"),
    ("Why use gradient checkpointing?", "It trades compute for memory by recomputing activations.", "en"),
    ("What is paged AdamW?", "AdamW whose states page to CPU memory under pressure.", "en"),
    ("What does packing do?", "Packing puts whole samples into one row to avoid padding.", "en"),
    ("What is the eval split for?", "It measures loss on questions the model never trained on.", "en"),
    ("What is a chat template?", "A chat template turns messages into the prompt text.", "en"),
    ("什么是量化？", "量化把权重变成低比特的数。", "zh"),
    ("什么是学习率？", "学习率决定每一步更新的大小。", "zh"),
    ("为什么要早停？", "早停在评测损失不再下降时停止训练。", "zh"),
    ("什么是适配器？", "适配器是加在模型上的小矩阵。", "zh"),
    ("什么是过拟合？", "过拟合是模型只记住了训练数据。", "zh"),
]
GENERAL = [
    ("What is the capital of France?", "Paris is the capital of France."),
    ("How many days are in a week?", "A week has seven days."),
    ("What color is the sky?", "The sky is blue on a clear day."),
    ("What is two plus two?", "Two plus two is four."),
    ("天空是什么颜色？", "晴天的天空是蓝色的。"),
    ("一周有几天？", "一周有七天。"),
    ("What do bees make?", "Bees make honey."),
    ("What is ice?", "Ice is frozen water."),
]
QWEN_SPECIALS = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]
LLAMA_SPECIALS = ["<s>", "</s>"]
CHATML = ("{%- for message in messages -%}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}"
          "{%- endif -%}")


def corpus() -> list[str]:
    texts = [t for q, a, _ in FACTS for t in (q, a)] + [t for q, a in GENERAL for t in (q, a)]
    return texts + ["### Question:\n", "### Answer:\n", "system user assistant\n"]


def build_tokenizer(folder: Path, *, chat_template: bool, pad: bool) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>" if chat_template else None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=QWEN_SPECIALS if chat_template else LLAMA_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus() * 4, trainer)
    if chat_template:  # Qwen-like: ChatML, EOS <|endoftext|>, its own pad token
        hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", unk_token="<unk>",
                                     pad_token="<|pad|>" if pad else None,
                                     additional_special_tokens=["<|im_start|>", "<|im_end|>"])
        hf.chat_template = CHATML
    else:  # Llama-like base: BOS/EOS, no chat template, no pad token, no unk
        hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>")
    hf.save_pretrained(folder)
    return hf


def build_model(folder: Path, *, arch: str = "qwen2", chat_template: bool = True, pad: bool = True) -> Path:
    """A saved tiny model and tokenizer in `folder`; returns the folder."""
    import torch
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    tokenizer = build_tokenizer(folder, chat_template=chat_template, pad=pad)
    shape = {"vocab_size": len(tokenizer), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
                 "tie_word_embeddings": False, "initializer_range": 0.3, "eos_token_id": tokenizer.eos_token_id,
                 "bos_token_id": tokenizer.bos_token_id, "pad_token_id": tokenizer.pad_token_id}
    torch.manual_seed(0)
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**shape))
    else:
        model = LlamaForCausalLM(LlamaConfig(**shape))
    model.save_pretrained(folder)
    return folder


def frozen_workspace(root: Path, *, general: bool = True, eval_ratio: float = 0.25) -> tuple[Workspace, VersionInfo]:
    """A workspace holding FACTS as approved samples, frozen with GENERAL as the general pool."""
    ws = init_workspace(root)
    config = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(config.replace("general_eval_size = 100", "general_eval_size = 3"), encoding="utf-8")
    ws = Workspace(ws.root)  # re-read the config
    samples = [Sample(instruction=q, output=a, source=Source(kind="notes", uri="notes/facts.md"), lang=lang)
               for q, a, lang in FACTS]
    with ws.open_store() as store:
        store.sync_document("notes", "notes/facts.md", "h", "v1", samples, actor="test")
        store.set_status([s.id for s in samples], "approved", actor="test")
    pool = None
    if general:
        path = root / "general.jsonl"
        path.write_text("".join(json.dumps({"instruction": q, "input": "", "output": a}, ensure_ascii=False) + "\n"
                                for q, a in GENERAL), encoding="utf-8")
        import_dataset(ws, DatasetRequest(source=str(path), license="cc-by-4.0"), pool="gen")
        check_pending(ws)
        pool = "gen"
    version, _ = freeze_version(ws, "facts", eval_ratio=eval_ratio, general_pool=pool, general_ratio=0.2)
    return ws, version
