"""factory/checks/answers.py: outputs that are not an answer on their own, in English and Chinese;
the clean ones are near misses."""

import pytest

from factory.checks.answers import (
    check_answers,
    code_only,
    dangling_link_text,
    figure_reference,
    image_alt_left,
    lead_in_only,
    link_only,
    reference_section,
)
from factory.checks import CheckContext
from factory.config import ChecksConfig
from tests.factory.checks.sample_builders import codes, make_context, make_sample

CTX = make_context()


@pytest.mark.parametrize("output", [
    "如下图所示，每张显卡负责一段连续的层。",
    "这个过程见下图。",
    "如图 5 所示，多个注意力头的输出被拼接起来。",
    "下图展示了在同样的计算开销下增大专家个数带来的提升。",
    "KV 缓存在每一层都有一份。\n\n图1 KV缓存机制",
    "Each GPU holds a block of layers, as shown in the figure below.",
    "The diagram below shows the three stages.",
    "See Figure 3 for the memory breakdown.",
    "Here is a diagram of the pipeline:",
])
def test_a_reference_to_a_figure_that_is_not_there(output):
    assert figure_reference(output)


@pytest.mark.parametrize("output", [
    "比如图书馆的公版书就是很好的语料。",
    "打开地图应用就能看到路线。",
    "图灵测试由图灵提出。",
    "First figure out the batch size, then multiply this figure by two.",
    "He tills the plot in two hours.",
    "Image compression reduces the file size.",
    "如下图所示：\n\n```\nGPU0 -> GPU1 -> GPU2\n```",  # a diagram drawn as text
    "As shown in the figure below:\n\n![pipeline](pipeline.png)",
])
def test_words_that_are_no_missing_figure(output):
    assert figure_reference(output) is None


def test_an_image_alt_text_left_where_the_image_was():
    note = "结果如下。\n\n![glam-results2](img/glam-results2.png)\n"
    assert image_alt_left("与GPT-3相比，训练成本仅为1/3。\n\nglam-results2", note) == "glam-results2"
    assert image_alt_left("与GPT-3相比，训练成本仅为1/3。", note) is None
    flags = check_answers([make_sample(output="与GPT-3相比，训练成本仅为1/3。\n\nglam-results2")],
                          CheckContext(ChecksConfig(), source_texts={}))
    assert "missing_figure" not in codes(flags)  # without the note there is nothing to compare with


@pytest.mark.parametrize("output, only", [
    ("BERT的训练目标是：", True),
    ("The steps are as follows:", True),
    ("主要包含以下几点", True),
    ("BERT的训练目标是：掩码语言模型和下一句预测。", False),
    ("The steps are as follows:\n1. Save.\n2. Resume.", False),
    ("Use rank 8: it is enough for most tasks.", False),
])
def test_lead_in_only(output, only):
    assert lead_in_only(output, 150) is only


def test_a_long_lead_in_is_the_truncation_check_s():
    long = "上面三篇文章都希望通过MoE把模型做大，" * 10 + "下面介绍的两篇文章是关于如何压缩模型的："
    assert not lead_in_only(long, 150)
    assert lead_in_only(long, 1000)


@pytest.mark.parametrize("output, only", [
    ("See [here](https://example.com/x).", True),
    ("https://example.com/a\nhttps://example.com/b", True),
    ("- source\n- 1\n- here", True),
    ("详见：https://zhuanlan.zhihu.com/p/1", True),
    ("原文链接", True),
    ("Moved to Debugging PyTorch Programs.", True),  # a stub that only says where the text went
    ("已迁移至《部署指南》。", True),
    ("See the docs for the full list of flags, then pick bf16.", False),
    ("The office moved to Berlin in 2020 and grew.", False),
    ("3", False),
    ("6, 28, 496, and 8128", False),
    ("Start with rank 8; see https://example.com for details.", False),
    ("先用 8，详见 https://zhuanlan.zhihu.com/p/1", False),
])
def test_link_only(output, only):
    assert link_only(output) is only


def test_a_link_only_answer_to_a_question_about_a_link_is_fine():
    sample = make_sample(instruction="Where can I download the weights?", output="https://huggingface.co/x")
    assert "link_only_output" not in codes(check_answers([sample], CTX))
    sample = make_sample(instruction="LLaMA 的官网是什么？", output="https://llama.meta.com")
    assert "link_only_output" not in codes(check_answers([sample], CTX))


@pytest.mark.parametrize("output, last", [
    ("Run git status.\n\nsource", "source"),
    ("Run git status.\n\nh/t Jake Worth", "h/t Jake Worth"),
    ("Clean up the files.\n\nSources: this and this", "Sources: this and this"),
    ("运行 git status。\n\n原文链接", "原文链接"),
    ("运行 git status。\n\n来源：知乎", "来源：知乎"),
    ("Run git status.\n\nsource code", "source code"),
])
def test_a_trailing_link_text(output, last):
    assert dangling_link_text(output) == last


@pytest.mark.parametrize("output", [
    "source",  # a one-line output is link_only_output's
    "You can also install it from a local source",
    "Run it like this:\n```\nsource venv/bin/activate\n```",
    "每条数据都记录了它的来源",
    "结果如下。\n\n33.",
])
def test_no_trailing_link_text(output):
    assert dangling_link_text(output) is None


def test_code_only():
    assert code_only("```python\nx = 1\n```") == "code"
    assert code_only("```\n# Heading\n```") == "heading"
    assert code_only("```md\n## 安装\n### 步骤\n```") == "heading"
    assert code_only("Set it like this:\n```python\nx = 1\n```") is None
    assert code_only("x = 1") is None


@pytest.mark.parametrize("instruction, flagged", [
    ("What is gradient accumulation?", True),
    ("Why does checkpointing save memory?", True),
    ("什么是默认模式？", True),
    ("解释一下梯度累积。", True),
    ("Write a function that accumulates gradients.", False),
    ("How do I list files in a directory?", False),
    ("What is the command to list GPUs?", False),
    ("用 Python 写一段梯度累积的代码。", False),
    ("梯度累积怎么写？", False),
])
def test_code_without_prose_is_flagged_only_where_an_explanation_was_asked(instruction, flagged):
    sample = make_sample(instruction=instruction, output="```python\nloss = loss / 4\nloss.backward()\n```")
    assert ("code_only_output" in codes(check_answers([sample], CTX))) is flagged


def test_a_code_block_around_a_heading_is_flagged_whatever_was_asked():
    sample = make_sample(instruction="Write a title for a blog post about LoRA.", output="```\n# LoRA in Practice\n```")
    flags = check_answers([sample], CTX)
    assert codes(flags) == ["code_only_output"] and "heading" in flags[0][1].message


@pytest.mark.parametrize("output, what", [
    ("参考资料：\n\n- 让研究人员绞尽脑汁的Transformer位置编码\n- RoPE是一种β进制编码", "a reference list"),
    ("References:\n\n- Sys Admin Pocket Survival Guide - InfiniBand", "a reference list"),
    ("参考资料：ACL 2023 Tutorial: Retrieval-based Language Models", "a reference list"),
    ("Further reading\n- The Annotated Transformer\n- The Illustrated Transformer", "a reference list"),
    ("Xiong et al. ICLR 2021. Approximate nearest neighbor negative contrastive learning.\n"
     "Qu et al. NAACL 2021. RocketQA.", "a list of citations"),
    ("1.分词\n\n2.jieba分词用法及原理\n\n3.词性标注\n\n4.句法分析", "a table of contents (titles without text)"),
    ("bert细节\n\nTransformer架构细节\n\nbert变种", "a table of contents (titles without text)"),
])
def test_a_reference_or_navigation_section(output, what):
    assert reference_section(output) == (what, "")


def test_a_reference_list_at_the_end_names_the_line_to_cut_from():
    output = "直接外推的效果不好；内插如果不微调效果也很差。\n\n参考资料：\n\n- https://spaces.ac.cn/archives/9675"
    assert reference_section(output) == ("a reference list", "参考资料：")
    flags = check_answers([make_sample(output=output)], CTX)
    assert codes(flags) == ["reference_section"] and "cut it" in flags[0][1].message


@pytest.mark.parametrize("output", [
    "长度外推是指模型在更长的序列上保持效果，参考资料里常用 RoPE 插值。",
    "- 数据并行\n- 张量并行\n- 流水线并行",  # a list answer, not a table of contents
    "She had 5+8 = 13 crayons\nShe gave out 4 crayons\nShe has 9 crayons left",
    "Roses are red\n\nViolets are blue",  # two lines are no table of contents
    "在美国，受保护的属性包括种族和性别(Kalluri, 2020)。\n\n交叉性理论(Crenshaw (1989))提出了额外的歧视。",
])
def test_no_reference_section(output):
    assert reference_section(output) is None


def test_lead_in_limit_comes_from_the_config():
    sample = make_sample(output="The steps are as follows:")
    assert "lead_in_only" in codes(check_answers([sample], CTX))
    assert "lead_in_only" not in codes(check_answers([sample], make_context(lead_in_max_chars=10)))


def test_an_empty_output_is_left_to_the_fields_check():
    assert check_answers([make_sample(output=" ")], CTX) == []
