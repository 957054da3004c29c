"""The chat template: chosen, stored and used so that training and inference prompts are the same."""

import pytest

from factory.errors import BadInput
from train.model import load_tokenizer
from train.template import (
    encode_example,
    install_template,
    prompt_ids,
    record_messages,
    render_prompt,
)


def test_a_tokenizer_with_a_template_keeps_its_own(models):
    tokenizer = load_tokenizer(str(models["qwen"]))
    info = install_template(tokenizer, "auto")
    assert info.source == "base tokenizer"
    assert info.end_of_turn == "<|im_end|>\n" and info.stop == ["<|im_end|>"]
    assert info.stop_token_ids[0] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert render_prompt(tokenizer, [{"role": "user", "content": "What is NF4?"}]) == \
        "<|im_start|>user\nWhat is NF4?<|im_end|>\n<|im_start|>assistant\n"


def test_a_base_without_a_template_gets_the_declared_plain_one_ending_answers_with_eos(models):
    tokenizer = load_tokenizer(str(models["llama"]))
    assert not tokenizer.chat_template
    info = install_template(tokenizer, "auto")
    assert info.source == "declared: plain"
    assert info.end_of_turn == "</s>\n\n" and info.stop == ["</s>"]
    assert info.stop_token_ids == [tokenizer.eos_token_id]
    text = render_prompt(tokenizer, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}])
    assert text == "<s>Be brief.\n\n### Question:\nHi?\n\n### Answer:\n"


def test_chatml_is_refused_for_a_tokenizer_without_its_tokens(models):
    with pytest.raises(BadInput, match=r"chatml.*no <\|im_start\|> token"):
        install_template(load_tokenizer(str(models["llama"])), "chatml")
    with pytest.raises(BadInput, match="template = 'nope'"):
        install_template(load_tokenizer(str(models["llama"])), "nope")


def test_a_template_that_never_ends_an_answer_is_refused(models, tmp_path):
    path = tmp_path / "t.jinja"
    path.write_text("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                    "{% if add_generation_prompt %}assistant: {% endif %}")
    with pytest.raises(BadInput, match="learn to stop"):
        install_template(load_tokenizer(str(models["llama"])), str(path))


def test_record_messages_carry_system_history_and_input():
    record = {"instruction": "Translate", "input": "hello", "output": "你好", "system": "",
              "history": [["Hi", "Hello!"]]}
    assert record_messages(record, system_prompt="You are terse.") == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Translate\n\nhello"}, {"role": "assistant", "content": "你好"}]
    own = record_messages({**record, "system": "Own."}, system_prompt="Default.", with_answer=False)
    assert own[0] == {"role": "system", "content": "Own."} and own[-1]["role"] == "user"


@pytest.mark.parametrize("name", ["qwen", "llama"])
def test_labels_cover_exactly_the_answer_and_its_end_of_turn(models, name):
    tokenizer = load_tokenizer(str(models[name]))
    info = install_template(tokenizer, "auto")
    messages = record_messages({"instruction": "什么是量化？", "output": "量化把权重变成低比特的数。"})
    input_ids, labels = encode_example(tokenizer, messages)
    prompt = prompt_ids(tokenizer, messages[:-1])
    assert input_ids[:len(prompt)] == prompt  # the inference prompt, token for token
    assert labels[:len(prompt)] == [-100] * len(prompt)
    assert labels[len(prompt):] == input_ids[len(prompt):] and -100 not in labels[len(prompt):]
    answer = tokenizer.decode(labels[len(prompt):])
    assert answer == "量化把权重变成低比特的数。" + info.end_of_turn
    assert info.stop_token_ids[0] in labels  # the model is taught to stop
