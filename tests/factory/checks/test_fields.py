import pytest

from factory.checks.fields import check_fields
from tests.factory.checks.sample_builders import codes, make_context, make_sample

CTX = make_context()


@pytest.mark.parametrize(
    "code, fields",
    [
        ("empty_instruction", {"instruction": "   \n\t"}),
        ("empty_instruction", {"instruction": "\u3000\n", "output": "LoRA 是一种低秩适配方法。"}),  # ideographic space
        ("empty_output", {"output": ""}),
        ("empty_output", {"instruction": "LoRA 的秩怎么选？", "output": " \u3000 "}),
        ("output_equals_instruction", {"instruction": "What is LoRA?", "output": "what is  LoRA"}),
        ("output_equals_instruction", {"instruction": "什么是 LoRA？", "output": "什么是LoRA?"}),  # full-width "？"
        ("placeholder_output", {"instruction": "How do we tag releases?", "output": "TODO"}),
        ("placeholder_output", {"instruction": "What is NF4?", "output": " n/a. "}),
        ("placeholder_output", {"instruction": "What is NF4?", "output": "<no output>"}),
        ("placeholder_output", {"instruction": "如何申请配额？", "output": "待补充"}),
        ("placeholder_output", {"instruction": "如何申请配额？", "output": "暂无。"}),
        ("placeholder_output", {"instruction": "如何申请配额？", "output": "……"}),
    ],
)
def test_flags(code, fields):
    sample = make_sample(**fields)
    flags = check_fields([sample], CTX)
    assert codes(flags) == [code]
    sample_id, finding = flags[0]
    assert sample_id == sample.id and finding.check == "fields" and finding.severity == "reject"


@pytest.mark.parametrize(
    "fields",
    [
        {"instruction": "What is LoRA?", "output": "LoRA adds trainable low-rank matrices to frozen weights."},
        {"instruction": "什么是 LoRA？", "output": "LoRA 在冻结的权重旁加入可训练的低秩矩阵。"},
        # Repeating the question and then answering it is fine.
        {"instruction": "What is NF4?", "output": "What is NF4? A 4-bit data type for normally distributed weights."},
        {"instruction": "NF4 是什么？", "output": "NF4 是什么？它是为正态分布权重设计的 4 位数据类型。"},
        # Short real answers are not placeholders.
        {"instruction": "Is NF4 lossless?", "output": "No."},
        {"instruction": "Which partition has no GPUs?", "output": "None of them: every partition has GPUs."},
        {"instruction": "QLoRA 训练有副作用吗？", "output": "没有。"},
        {"instruction": "TODO 注释要写负责人吗？", "output": "要，写成 TODO(name)。"},
    ],
)
def test_clean(fields):
    assert check_fields([make_sample(**fields)], CTX) == []


def test_both_empty_is_two_findings_not_an_echo():
    assert codes(check_fields([make_sample(instruction=" ", output="")], CTX)) == ["empty_instruction", "empty_output"]
