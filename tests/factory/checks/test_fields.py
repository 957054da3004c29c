import pytest

from factory.checks.fields import REASON_CODES, check_fields, is_placeholder_input
from tests.factory.checks.sample_builders import codes, make_context, make_sample

CTX = make_context()

# (code, language, fields): every reason code flagged in English and in Chinese.
FLAGGED = [
    ("empty_instruction", "en", {"instruction": "   \n\t"}),
    ("empty_instruction", "zh", {"instruction": "\u3000\n", "output": "LoRA 是一种低秩适配方法。"}),  # ideographic space
    ("empty_output", "en", {"output": ""}),
    ("empty_output", "zh", {"instruction": "LoRA 的秩怎么选？", "output": " \u3000 "}),
    ("output_equals_instruction", "en", {"instruction": "What is LoRA?", "output": "what is  LoRA"}),
    ("output_equals_instruction", "zh", {"instruction": "什么是 LoRA？", "output": "什么是LoRA?"}),  # full-width "？"
    ("placeholder_output", "en", {"instruction": "How do we tag releases?", "output": "TODO"}),
    ("placeholder_output", "en", {"instruction": "What is NF4?", "output": " n/a. "}),
    ("placeholder_output", "en", {"instruction": "What is NF4?", "output": "<no output>"}),
    ("placeholder_output", "en", {"instruction": "What is NF4?", "output": "No answer."}),
    ("placeholder_output", "en", {"instruction": "What is NF4?", "output": "NaN"}),  # a pandas empty cell
    ("placeholder_output", "zh", {"instruction": "如何申请配额？", "output": "待补充"}),
    ("placeholder_output", "zh", {"instruction": "如何申请配额？", "output": "暂无。"}),
    ("placeholder_output", "zh", {"instruction": "如何申请配额？", "output": "无"}),
    ("placeholder_output", "zh", {"instruction": "如何申请配额？", "output": "暂无答案"}),
    ("placeholder_output", "zh", {"instruction": "如何申请配额？", "output": "……"}),
    ("placeholder_input", "en", {"input": "<noinput>"}),
    ("placeholder_input", "en", {"input": "<no input>"}),
    ("placeholder_input", "en", {"input": "N/A"}),
    ("placeholder_input", "en", {"input": " None. "}),
    ("placeholder_input", "en", {"input": "(no input)"}),
    ("placeholder_input", "zh", {"instruction": "LoRA 的秩怎么选？", "output": "先用 8。", "input": "无"}),
    ("placeholder_input", "zh", {"instruction": "LoRA 的秩怎么选？", "output": "先用 8。", "input": "（无）"}),
    ("placeholder_input", "zh", {"instruction": "LoRA 的秩怎么选？", "output": "先用 8。", "input": "暂无。"}),
    ("placeholder_input", "zh", {"instruction": "LoRA 的秩怎么选？", "output": "先用 8。", "input": "【无输入】"}),
]

# Near misses a sloppy rule would flag.
CLEAN = [
    ("en", {"instruction": "What is LoRA?", "output": "LoRA adds trainable low-rank matrices to frozen weights."}),
    ("zh", {"instruction": "什么是 LoRA？", "output": "LoRA 在冻结的权重旁加入可训练的低秩矩阵。"}),
    # Repeating the question and then answering it is fine.
    ("en", {"instruction": "What is NF4?", "output": "What is NF4? A 4-bit data type for normally distributed weights."}),
    ("zh", {"instruction": "NF4 是什么？", "output": "NF4 是什么？它是为正态分布权重设计的 4 位数据类型。"}),
    # Short real answers are not placeholders.
    ("en", {"instruction": "Is NF4 lossless?", "output": "No."}),
    ("en", {"instruction": "Which partition has no GPUs?", "output": "None of them: every partition has GPUs."}),
    ("en", {"instruction": "Is there a fix yet?", "output": "Not applicable here: the bug only affects v1."}),
    ("zh", {"instruction": "QLoRA 训练有副作用吗？", "output": "没有。"}),
    ("zh", {"instruction": "TODO 注释要写负责人吗？", "output": "要，写成 TODO(name)。"}),
    ("zh", {"instruction": "这个任务有输入吗？", "output": "无需输入，直接运行即可。"}),
    # Inputs that look like placeholders but are data.
    ("en", {"instruction": "Is this bracket string balanced?", "input": "(()", "output": "No, one ( is never closed."}),
    ("en", {"instruction": "Which element has this symbol?", "input": "Na", "output": "Sodium."}),
    ("en", {"instruction": "Pick the right option.", "input": "None of the above; all of the above", "output": "All of the above."}),
    ("en", {"instruction": "Convert this JSON value to Python.", "input": "null", "output": "It becomes None in Python."}),
    ("zh", {"instruction": "把这个词翻译成英文。", "input": "无线网络", "output": "Wireless network."}),
    ("zh", {"instruction": "这句话是什么意思？", "input": "无可奈何", "output": "没有办法，只好如此。"}),
    ("zh", {"instruction": "这个成语对吗？", "input": "空穴来风", "output": "对，意思是消息有一定来由。"}),
]


@pytest.mark.parametrize("code, lang, fields", FLAGGED)
def test_flags(code, lang, fields):
    sample = make_sample(**fields)
    flags = check_fields([sample], CTX)
    assert codes(flags) == [code]
    sample_id, finding = flags[0]
    assert sample_id == sample.id and finding.check == "fields" and finding.severity == REASON_CODES[code][0]
    assert "\n" not in finding.message


@pytest.mark.parametrize("lang, fields", CLEAN)
def test_clean(lang, fields):
    assert check_fields([make_sample(**fields)], CTX) == []


def test_every_code_has_an_example_in_both_languages():
    assert {(code, lang) for code, lang, _ in FLAGGED} == {(c, lang) for c in REASON_CODES for lang in ("en", "zh")}
    assert {lang for lang, _ in CLEAN} == {"en", "zh"}


def test_both_empty_is_two_findings_not_an_echo():
    assert codes(check_fields([make_sample(instruction=" ", output="")], CTX)) == ["empty_instruction", "empty_output"]


def test_placeholder_input_is_a_warning_that_says_to_clear_it():
    (_, finding), = check_fields([make_sample(input="<noinput>")], CTX)
    assert finding.severity == "warn"
    assert "'<noinput>'" in finding.message and "clear the input" in finding.message


def test_placeholder_input_comes_with_a_placeholder_output():
    sample = make_sample(input="N/A", output="N/A")
    assert codes(check_fields([sample], CTX)) == ["placeholder_input", "placeholder_output"]


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_input_is_not_a_placeholder(text):
    assert not is_placeholder_input(text)
