"""Fixtures for the training tests: tiny models, a frozen version, and one shared trained run.

GPU tests (`@pytest.mark.gpu`) are deselected, not skipped, when no CUDA device is visible, so
`.venv/bin/python -m pytest` passes on a CPU-only machine or CI without counting them as skips;
`pytest -m gpu` on a machine with a GPU runs them. Expensive fixtures are session-scoped: the
models, the workspace and the main training run are built once and shared, read-only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.train.tiny import build_model, frozen_workspace
from train.config import TrainConfig

# Two cores: one thread per op is several times faster for these tiny matrices than two.
torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available() or config.getoption("-m"):
        return
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu:
        config.hook.pytest_deselected(items=gpu)
        items[:] = [item for item in items if not item.get_closest_marker("gpu")]


def tiny_config(**changes: object) -> TrainConfig:
    """Settings a 2-layer model with hidden size 64 memorises the facts with in ~30 steps on a CPU."""
    values = {"max_steps": 30, "eval_steps": 10, "logging_steps": 2, "learning_rate": 2e-2, "batch_size": 2,
                  "gradient_accumulation_steps": 1, "warmup_ratio": 0.0, "early_stopping_patience": 5, "max_new_tokens": 24,
                  "eval_batch_size": 4}
    values.update(changes)
    return TrainConfig(**values)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {"qwen": build_model(root / "qwen2"),  # ChatML template of its own, a pad token
            "llama": build_model(root / "llama", arch="llama", chat_template=False, pad=False)}  # neither


@pytest.fixture(scope="session")
def facts(tmp_path_factory: pytest.TempPathFactory):
    """(workspace, version): 12 facts, 25% eval, general data mixed in with a held-out general_eval."""
    return frozen_workspace(tmp_path_factory.mktemp("facts") / "ws")


@pytest.fixture(scope="session")
def trained(facts, models):
    """One finished run on facts@v1 with the Qwen2-shaped model; tests read it, never change it."""
    from train.trainer import TrainRequest, train

    ws, version = facts
    return train(ws, TrainRequest(dataset=version.ref, base_model=str(models["qwen"]), config=tiny_config()))
