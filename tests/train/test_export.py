"""`export --merge`: a bf16 model that answers like the adapter, and a Modelfile with the same prompts."""

import json

import pytest
import torch

from train.export import export_run
from train.generation import load_run
from train.model import load_tokenizer
from train.ollama import TemplateNotPortable, go_template, render_parts, template_parts
from train.template import install_template, prompt_ids, record_messages

CONVERSATIONS = [
    [{"role": "user", "content": "What is NF4?"}],
    [{"role": "system", "content": "Answer in one line."}, {"role": "user", "content": "What is NF4?"},
     {"role": "assistant", "content": "A 4-bit type."}, {"role": "user", "content": "什么是量化？"}],
]


@pytest.fixture(scope="module")
def exported(trained, facts, tmp_path_factory):
    ws, _ = facts
    return export_run(ws, trained.run.id, merge=True, out=tmp_path_factory.mktemp("export"))


def test_merged_model_is_bf16_dequantised_and_answers_like_the_adapter(exported, trained, facts):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, version = facts
    config = json.loads((exported.merged / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "bfloat16"
    merged = AutoModelForCausalLM.from_pretrained(str(exported.merged), dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in merged.parameters())  # loaded as asked; stored as bf16
    assert not any("lora" in name for name, _ in merged.named_parameters())
    tokenizer = AutoTokenizer.from_pretrained(str(exported.merged))
    loaded = load_run(trained.run)
    assert tokenizer.chat_template == loaded.tokenizer.chat_template
    ids = torch.tensor([prompt_ids(tokenizer, record_messages(version.records("train")[0], with_answer=False))])
    with torch.no_grad():
        tuned = loaded.model(input_ids=ids).logits[0, -1]
        with loaded.model.disable_adapter():
            base = loaded.model(input_ids=ids).logits[0, -1]
        out = merged(input_ids=ids).logits[0, -1]
    # closer to the tuned model than the base is by far: the adapter is in, on the weights it trained against
    assert (out - tuned).abs().max() < 0.1 * (base - tuned).abs().max()
    assert out.argmax() == tuned.argmax()
    assert merged.generation_config.eos_token_id == loaded.template.stop_token_ids


def test_modelfile_template_and_stop_tokens_match_the_stored_template(exported, trained):
    text = exported.modelfile.read_text()
    tokenizer = load_run(trained.run).tokenizer
    parts = template_parts(tokenizer)
    assert f'TEMPLATE """{go_template(parts)}"""' in text
    assert 'PARAMETER stop "<|im_end|>"' in text and "FROM ./merged" in text
    assert trained.run.info["dataset"]["dataset_hash"] in text  # which data made it
    for messages in CONVERSATIONS:
        assert render_parts(parts, messages, True) == tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True)
    assert parts.user_before == "<|im_start|>user\n" and parts.generation == "<|im_start|>assistant\n"
    assert exported.gguf is None and any("LLAMA_CPP_DIR" in note for note in exported.notes)


def test_a_gguf_is_written_when_the_converter_is_there(trained, facts, tmp_path, monkeypatch):
    ws, _ = facts
    fake = tmp_path / "llama.cpp"
    fake.mkdir()
    (fake / "convert_hf_to_gguf.py").write_text(
        "import sys\nargs = sys.argv\nopen(args[args.index('--outfile') + 1], 'wb').write(b'GGUF' + "
        "args[args.index('--outtype') + 1].encode())\n")
    monkeypatch.setenv("LLAMA_CPP_DIR", str(fake))
    result = export_run(ws, trained.run.id, merge=True, out=tmp_path / "out")
    assert result.gguf.read_bytes() == b"GGUFbf16" and "FROM ./model.gguf" in result.modelfile.read_text()


def test_without_merge_the_modelfile_names_the_base_and_the_adapter(trained, facts, tmp_path):
    ws, _ = facts
    result = export_run(ws, trained.run.id, merge=False, out=tmp_path / "out")
    text = result.modelfile.read_text()
    assert f"FROM {trained.run.info['config']['base_model']}" in text and "ADAPTER ./adapter" in text
    assert (tmp_path / "out" / "adapter" / "adapter_model.safetensors").is_file() and result.merged is None


def test_template_parts_for_the_plain_template_and_a_default_system_prompt(models):
    tokenizer = load_tokenizer(str(models["llama"]))
    install_template(tokenizer, "plain")
    parts = template_parts(tokenizer)
    assert parts.no_system == "<s>" and parts.assistant_after == "</s>\n\n"
    qwen_like = load_tokenizer(str(models["qwen"]))  # Qwen2.5 style: a default system prompt when none is given
    qwen_like.chat_template = (
        "{%- if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}"
        "{%- endif %}{%- for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + "
        "'<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}")
    for tok in (tokenizer, qwen_like):
        parts = template_parts(tok)
        for messages in CONVERSATIONS:
            for generation in (True, False):
                assert render_parts(parts, messages, generation) == tok.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=generation)
    assert template_parts(qwen_like).no_system == "<|im_start|>system\nYou are helpful.<|im_end|>\n"


def test_a_template_ollama_cannot_express_is_refused(models):
    tokenizer = load_tokenizer(str(models["qwen"]))
    tokenizer.chat_template = (  # numbers the turns: no fixed wrapper per role
        "{%- for m in messages %}{{ loop.index|string + ' ' + m['role'] + ': ' + m['content'] + '\\n' }}"
        "{%- endfor %}{%- if add_generation_prompt %}{{ 'assistant: ' }}{%- endif %}")
    with pytest.raises(TemplateNotPortable):
        template_parts(tokenizer)
