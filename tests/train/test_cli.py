"""The training commands as a user runs them: `python -m factory train ...` in a subprocess."""

import json
import os
import subprocess
import sys
import tomllib

from tests.conftest import REPO, run_cli
from tests.train.tiny import frozen_workspace
from train.config import TrainConfig

THREADS = {"OMP_NUM_THREADS": "1"}  # two cores: one thread is faster for a tiny model
TINY_TOML = """
max_steps = 30
eval_steps = 2
logging_steps = 1
learning_rate = 0.02
batch_size = 2
gradient_accumulation_steps = 1
warmup_ratio = 0.0
max_new_tokens = 12
"""


def chat_cli(run_id: str, cwd, text: str) -> subprocess.CompletedProcess[str]:
    """`factory chat RUN_ID` with `text` typed on its standard input."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **THREADS}
    env.pop("FACTORY_WORKSPACE", None)
    result = subprocess.run([sys.executable, "-m", "factory", "chat", run_id], check=False, cwd=cwd, env=env, input=text,
                            text=True, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def one_line_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_help_lists_the_training_commands_and_the_default_config_is_valid(tmp_path):
    help_text = run_cli("--help", cwd=tmp_path).stdout
    for command in ("train", "runs", "eval", "chat", "export"):
        assert command in help_text
    printed = run_cli("train", "--print-config", cwd=tmp_path).stdout
    assert TrainConfig.model_validate(tomllib.loads(printed)) == TrainConfig()


def test_bad_input_is_one_line_naming_what_is_wrong(tmp_path, models):
    ws, _ = frozen_workspace(tmp_path / "ws", general=False)
    line = one_line_error(run_cli("train", "--dataset", "nope@v1", "--base-model", str(models["qwen"]),
                                  cwd=ws.root, check=False, env=THREADS))
    assert "nope@v1: no versions named 'nope'" in line
    line = one_line_error(run_cli("train", "--dataset", "facts@v1", "--base-model", "./missing-model",
                                  cwd=ws.root, check=False, env=THREADS))
    assert "--base-model ./missing-model: no such folder" in line
    (ws.root / "train.toml").write_text("learning_rate = -1\n")
    line = one_line_error(run_cli("train", "--dataset", "facts@v1", "--base-model", str(models["qwen"]),
                                  "--config", "train.toml", cwd=ws.root, check=False, env=THREADS))
    assert "train.toml: learning_rate: Input should be greater than 0" in line
    line = one_line_error(run_cli("eval", "no-such-run", cwd=ws.root, check=False, env=THREADS))
    assert "no-such-run: no such run; `factory runs` lists them" in line


def test_train_runs_chat_export_from_the_command_line(tmp_path, models):
    ws, version = frozen_workspace(tmp_path / "ws", general=False)
    (ws.root / "train.toml").write_text(TINY_TOML)
    trained = json.loads(run_cli("train", "--dataset", "facts@latest", "--base-model", str(models["qwen"]),
                                 "--config", "train.toml", "--max-steps", "4", "--output-name", "cli", "--json",
                                 cwd=ws.root, env=THREADS, timeout=300).stdout)
    assert trained["status"] == "complete" and trained["steps"] == 4  # --max-steps beat the file's 30
    assert trained["id"].startswith("cli-") and trained["dataset"] == "facts@v1"
    assert trained["dataset_hash"] == version.dataset_hash
    config = json.loads((ws.root / ".factory" / "runs" / trained["id"] / "config.json").read_text())
    assert config["eval_steps"] == 2 and config["max_steps"] == 4 and config["output_name"] == "cli"
    (listed,) = json.loads(run_cli("runs", "--json", cwd=ws.root).stdout)
    assert listed["id"] == trained["id"] and listed["best_eval_loss"] == trained["best_eval_loss"]
    chat = chat_cli(trained["id"], ws.root, "What is NF4?\n/reset\n/exit\n")
    assert chat.stdout.count("model> ") == 1 and "(conversation cleared)" in chat.stdout
    exported = run_cli("export", trained["id"], "--merge", "--no-gguf", cwd=ws.root, env=THREADS, timeout=300)
    modelfile = ws.root / ".factory" / "runs" / trained["id"] / "export" / "Modelfile"
    assert str(modelfile) in exported.stdout and 'PARAMETER stop "<|im_end|>"' in modelfile.read_text()
    # versions still export through the same command
    run_cli("export", "facts@v1", "--format", "alpaca", "--out", "alpaca", cwd=ws.root)
    assert (ws.root / "alpaca" / "train.json").is_file()
