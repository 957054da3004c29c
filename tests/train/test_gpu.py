"""On a CUDA GPU (`pytest -m gpu`): the same path in bf16, and the memory it saves over the plain recipe.

Deselected where no GPU is visible (see conftest.py). Nothing here times anything: speed is
measured by bench/train.py; these tests check dtypes, devices and peak memory.
"""

import argparse
import json

import pytest
import torch

from tests.train.conftest import tiny_config

pytestmark = pytest.mark.gpu


def test_training_on_a_gpu_computes_in_bf16_and_keeps_the_run_folder(facts, models, tmp_path):
    from train.generation import load_run
    from train.trainer import TrainRequest, train

    ws, version = facts
    result = train(ws, TrainRequest(dataset=version.ref, base_model=str(models["qwen"]),
                                    config=tiny_config(output_name="gpu", max_steps=12, eval_steps=6)))
    info = json.loads((result.run.path / "run.json").read_text())
    assert info["libraries"]["device"] != "cpu" and info["base_model"]["loaded_in_4bit"]
    loaded = load_run(result.run)
    linear = loaded.model.base_model.model.model.layers[0].self_attn.q_proj.base_layer
    assert linear.compute_dtype == torch.bfloat16 and linear.weight.device.type == "cuda"
    # no float32 copies of the embeddings or the LM head, unlike prepare_model_for_kbit_training
    assert loaded.model.get_input_embeddings().weight.dtype == torch.bfloat16
    assert loaded.model.get_output_embeddings().weight.dtype == torch.bfloat16
    assert result.last_loss < result.first_loss


def test_the_project_path_peaks_lower_than_the_plain_recipe(tmp_path):
    """A 0.5B-like shape at length 1024: the project's peak memory is below the tutorial recipe's."""
    import bench.train as bench

    shape = {**bench.QWEN25_7B, "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 6,
             "num_attention_heads": 14, "num_key_value_heads": 2}
    args = argparse.Namespace(seq=1024, batch=2, project_batch=1, steps=2, warmup=1, samples=64, profile=False,
                              profile_rows=0)
    checkpoint = bench.random_checkpoint(shape, tmp_path / "model", on_gpu=True)
    rows = bench.samples(args.samples, args.seq, shape["vocab_size"])
    plain = bench.run_recipe("plain", checkpoint, rows, args, on_gpu=True)
    project = bench.run_recipe("project", checkpoint, rows, args, on_gpu=True)
    assert project["load_peak_gb"] < plain["load_peak_gb"]  # bf16 embeddings and LM head, not fp32
    assert project["peak_gb"] < plain["peak_gb"]
    assert project["tokens_per_step"] > plain["tokens_per_step"]  # packed rows carry no padding
