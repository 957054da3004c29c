"""What the trainer actually feeds the model: labels, padding, packing, and attention across samples."""

import itertools

import pytest
import torch

from tests.train.conftest import tiny_config
from train.data import encode_records
from train.model import load_base_model, load_tokenizer
from train.template import install_template
from train.trainer import build_trainer, default_pad_token


def trainer_batch(models, facts, tmp_path, name, packing):
    """The first batch of the project's trainer: its own data collator, its own sampler."""
    _ws, version = facts
    cfg = tiny_config(packing=packing, batch_size=3)
    tokenizer = load_tokenizer(str(models[name]))
    info = install_template(tokenizer, cfg.template)
    default_pad_token(tokenizer)
    split = encode_records(tokenizer, version.records("train"), cfg.max_length)
    trainer = build_trainer(load_base_model(str(models[name]), cfg), tokenizer, split.dataset(), None, cfg,
                            tmp_path / "out")
    batch = next(iter(trainer.get_train_dataloader()))
    return tokenizer, info, split, batch


def segments(batch):
    """(input_ids, labels) of each sample in the batch, and the padding's labels."""
    if "position_ids" in batch:  # packed and padding-free: one row, positions restart at each sample
        ids, labels, pos = batch["input_ids"][0].tolist(), batch["labels"][0].tolist(), batch["position_ids"][0]
        starts = [i for i, p in enumerate(pos.tolist()) if p == 0] + [len(ids)]
        return [(ids[a:b], labels[a:b]) for a, b in itertools.pairwise(starts)], []
    rows, padding = [], []
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        n = int(mask.sum())
        assert mask[:n].all() and not mask[n:].any()  # right padding
        rows.append((ids[:n].tolist(), labels[:n].tolist()))
        padding += labels[n:].tolist()
    return rows, padding


@pytest.mark.parametrize(("name", "packing"), [("qwen", True), ("qwen", False), ("llama", False)],
                         ids=["qwen-packed", "qwen-padded", "llama-pad-is-eos"])
def test_labels_are_minus_100_exactly_on_prompt_and_padding_and_hold_the_end_of_turn(models, facts, tmp_path, name,
                                                                                     packing):
    tokenizer, info, split, batch = trainer_batch(models, facts, tmp_path, name, packing)
    rows, padding = segments(batch)
    assert len(rows) >= 2 and all(label == -100 for label in padding)
    by_ids = {tuple(r["input_ids"]): r for r in split.rows}
    end_of_turn = info.stop_token_ids[0]
    for ids, labels in rows:
        expected = by_ids[tuple(ids)]  # each sample whole, never cut or merged
        prompt = expected["labels"].index(next(x for x in expected["labels"] if x != -100))
        assert labels[:prompt] == [-100] * prompt, "a prompt token is in the loss"
        assert labels[prompt:] == ids[prompt:], "an answer token is masked"
        assert end_of_turn in labels[prompt:]
    if name == "llama":
        assert tokenizer.pad_token_id == tokenizer.eos_token_id == end_of_turn  # pad == eos, eos still learned
    else:
        assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_packed_samples_do_not_attend_to_each_other(models, facts):
    """A packed row scores each sample exactly as if it were alone (block-diagonal attention from position ids)."""
    _, version = facts
    cfg = tiny_config()
    tokenizer = load_tokenizer(str(models["qwen"]))
    install_template(tokenizer, cfg.template)
    rows = encode_records(tokenizer, version.records("train")[:3], cfg.max_length).rows
    model = load_base_model(str(models["qwen"]), cfg)
    ids = torch.tensor([[t for r in rows for t in r["input_ids"]]])
    positions = torch.tensor([[p for r in rows for p in range(len(r["input_ids"]))]])
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=positions).logits[0]
        alone = torch.cat([model(input_ids=torch.tensor([r["input_ids"]])).logits[0] for r in rows])
    assert torch.allclose(packed, alone, atol=1e-4)
