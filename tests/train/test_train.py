"""`train`: refusals, the run folder, falling loss, template equality, early stopping and resume."""

import json
import os
import stat
import struct

import pytest

from factory.errors import BadInput, VersionError
from tests.train.conftest import tiny_config
from tests.train.tiny import frozen_workspace
from train.chat import ChatSession
from train.data import encode_records
from train.generation import load_run
from train.model import load_tokenizer
from train.runs import list_runs, resolve_run
from train.template import install_template, prompt_ids, record_messages
from train.trainer import TrainRequest, train


@pytest.fixture
def small(tmp_path):
    return frozen_workspace(tmp_path / "ws", general=False)


def test_refuses_what_is_not_a_verified_frozen_version(small, models, tmp_path):
    ws, version = small
    base = str(models["qwen"])
    with pytest.raises(VersionError, match="no versions named 'nope'"):
        train(ws, TrainRequest(dataset="nope@v1", base_model=base, config=tiny_config()))
    with pytest.raises(VersionError, match=r"facts@v9: no such version"):
        train(ws, TrainRequest(dataset="facts@v9", base_model=base, config=tiny_config()))
    loose = tmp_path / "data.jsonl"
    loose.write_text('{"instruction": "q", "output": "a"}\n')
    with pytest.raises(BadInput, match="a file, not a frozen version"):
        train(ws, TrainRequest(dataset=str(loose), base_model=base, config=tiny_config()))
    with pytest.raises(BadInput, match="--base-model ./no/such/model: no such folder"):
        train(ws, TrainRequest(dataset="facts@v1", base_model="./no/such/model", config=tiny_config()))
    path = version.path / "train.jsonl"
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    path.write_text(path.read_text().replace("NF4", "NF5"))
    with pytest.raises(VersionError, match=r"facts@v1 does not verify \(train.jsonl: sha256"):
        train(ws, TrainRequest(dataset="facts@v1", base_model=base, config=tiny_config()))
    assert list_runs(ws) == []  # nothing started


def test_the_run_folder_says_exactly_what_trained_it(trained, facts, models):
    ws, version = facts
    run = trained.run
    names = {p.name for p in run.path.iterdir()}
    assert {"run.json", "config.json", "adapter", "tokenizer", "template.json", "metrics.jsonl", "loss.png",
            "COMPLETE"} <= names
    assert "checkpoints" not in names  # removed after success; the adapter is the best checkpoint
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in run.adapter_dir.iterdir()}
    info = json.loads((run.path / "run.json").read_text())
    assert info["dataset"]["ref"] == "facts@v1" and info["dataset"]["dataset_hash"] == version.dataset_hash
    assert info["dataset"]["files"] == version.manifest["files"] and info["dataset"]["general_eval"] is True
    assert info["base_model"]["id"] == str(models["qwen"]) and len(info["base_model"]["fingerprint"]) == 64
    assert info["base_model"]["architecture"] == "Qwen2ForCausalLM" and info["base_model"]["loaded_in_4bit"] is True
    assert set(info["libraries"]) >= {"torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "python"}
    assert info["config"]["lora"] == {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
    assert info["config"]["quantization"]["quant_type"] == "nf4" and info["config"]["quantization"]["double_quant"]
    assert json.loads((run.path / "config.json").read_text()) == info["config"]
    assert info["data"]["train"]["samples"] == version.manifest["counts"]["train"]
    adapter = json.loads((run.adapter_dir / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"]) == (16, 32)
    assert sorted(adapter["target_modules"]) == sorted(info["config"]["lora"]["target_modules"])
    template = json.loads((run.path / "template.json").read_text())
    assert template["source"] == "base tokenizer" and template["stop"] == ["<|im_end|>"]
    png = (run.path / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (720, 420)
    assert resolve_run(ws, run.id[:12]).id == run.id or len(list_runs(ws)) > 1
    summary = run.summary()
    assert summary["status"] == "complete" and summary["steps"] == 30 and summary["best_eval_loss"] is not None


def test_training_loss_falls_on_data_it_can_memorise(trained):
    metrics = trained.run.metrics()
    losses = [m["loss"] for m in metrics if "loss" in m]
    evals = [m for m in metrics if "eval_loss" in m]
    assert len(losses) >= 10 and [m["step"] for m in evals] == [10, 20, 30]
    assert losses[-1] < 0.2 * losses[0], losses
    assert trained.first_loss == losses[0] and trained.last_loss == losses[-1]


def test_the_inference_prompt_is_the_training_prompt_up_to_the_answer(trained, facts, models):
    _, version = facts
    # training side: the tokenizer as train() prepared it, and the ids it trained on
    tokenizer = load_tokenizer(str(models["qwen"]))
    install_template(tokenizer, "auto")
    records = version.records("train") + version.records("eval")
    rows = encode_records(tokenizer, records, 2048).rows
    # inference side: what eval and chat load from the run folder
    loaded = load_run(trained.run)
    chat = ChatSession(loaded)
    for record, row in zip(records, rows, strict=True):
        n_prompt = row["labels"].index(next(x for x in row["labels"] if x != -100))
        trained_prompt = row["input_ids"][:n_prompt]
        question = record_messages(record, loaded.template.system_prompt, with_answer=False)
        assert prompt_ids(loaded.tokenizer, question) == trained_prompt  # eval's prompt
        assert prompt_ids(loaded.tokenizer, chat.messages(record["instruction"])) == trained_prompt  # chat's
        assert loaded.tokenizer.decode(row["input_ids"][n_prompt:]) == record["output"] + "<|im_end|>\n"


def test_the_tuned_model_answers_trained_questions_and_stops(trained, facts):
    """Greedy answers to memorised questions are the answers, then the end-of-turn: stopping was learned."""
    _, version = facts
    loaded = load_run(trained.run)
    records = version.records("train")
    questions = [record_messages(r, with_answer=False) for r in records]
    answers = loaded.generate(questions, max_new_tokens=40)
    right = sum(a == r["output"] for a, r in zip(answers, records, strict=True))
    assert right >= len(records) - 2, list(zip(answers, [r["output"] for r in records], strict=True))
    base = loaded.generate(questions[:3], max_new_tokens=8, base=True)
    assert all(b != r["output"] for b, r in zip(base, records, strict=False))


def test_early_stopping_keeps_the_best_checkpoint(small, models):
    ws, _ = small
    # an improvement must be larger than 100 to count, so the second eval stops the run
    cfg = tiny_config(max_steps=40, eval_steps=2, early_stopping_patience=1, early_stopping_threshold=100.0,
                      keep_checkpoints=True, output_name="early")
    result = train(ws, TrainRequest(dataset="facts@v1", base_model=str(models["qwen"]), config=cfg))
    info = result.run.info["training"]
    assert result.stopped_early and info["stopped_early"] and result.global_step == 4 < cfg.max_steps
    evals = {m["step"]: m["eval_loss"] for m in result.run.metrics() if "eval_loss" in m}
    best_step = min(evals, key=evals.get)
    assert list(evals) == [2, 4] and info["best_checkpoint"] == f"checkpoint-{best_step}"
    assert info["best_eval_loss"] == pytest.approx(evals[best_step])
    # the adapter the run keeps is that checkpoint's, not the last step's
    from safetensors.torch import load_file

    kept = load_file(result.run.adapter_dir / "adapter_model.safetensors")
    best = load_file(result.run.checkpoints_dir / f"checkpoint-{best_step}" / "adapter_model.safetensors")
    assert kept.keys() == best.keys() and all((kept[k] == best[k]).all() for k in kept)


class Killed(Exception):
    pass


def test_resume_after_a_kill_goes_on_from_the_last_checkpoint(small, models):
    from transformers import TrainerCallback

    ws, _ = small
    cfg = tiny_config(max_steps=8, eval_steps=3, logging_steps=1, output_name="killed")

    class KillAtStep5(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 5:
                raise Killed

    with pytest.raises(Killed):
        train(ws, TrainRequest(dataset="facts@v1", base_model=str(models["qwen"]), config=cfg,
                               callbacks=[KillAtStep5()]))
    (run,) = list_runs(ws)
    assert not run.complete and run.last_checkpoint().name == "checkpoint-3"
    assert max(m["step"] for m in run.metrics()) == 4  # logged after the checkpoint, before the kill
    with pytest.raises(BadInput, match="nothing to resume"):
        train(ws, TrainRequest(dataset="facts@v1", base_model=str(models["qwen"]),
                               config=cfg.model_copy(update={"output_name": "other"}), resume=True))
    result = train(ws, TrainRequest(dataset="facts@v1", base_model=str(models["qwen"]), config=cfg, resume=True))
    assert result.resumed and result.run.id == run.id and result.global_step == 8 and run.complete
    steps = [m["step"] for m in run.metrics() if "loss" in m]
    assert steps == list(range(1, 9))  # step 4 logged once, by the resumed run; none lost, none twice
    assert len(run.info["resumed_at"]) == 1 and run.info["training"]["global_step"] == 8
