import pytest

from factory.checks.markdown import check_markdown, markdown_residue
from tests.factory.checks.sample_builders import codes, make_context, make_sample

CTX = make_context()


@pytest.mark.parametrize(
    "text, kind",
    [
        ("Use **gradient checkpointing** to save memory.", "bold **…**"),
        ("使用**梯度检查点**来节省显存。", "bold **…**"),
        ("4. **知识表示能力的扩展 **：规模更大的模型知识更多。", "bold **…**"),  # the space stops it rendering
        ("This is __very important__ for training.", "bold __…__"),
        ("这一点__非常重要__。", "bold __…__"),
        ("See [the PEFT docs](https://huggingface.co/docs/peft).", "link [text](url)"),
        ("详见[官方文档](https://huggingface.co/docs/peft)。", "link [text](url)"),
        ("![loss curve](img/loss.png)", "image ![alt](…)"),
        ("损失曲线如下：![损失曲线](loss.png)", "image ![alt](…)"),
        ("## Memory budget\nA 7B model needs about 5 GB in 4-bit.", "heading #"),
        ("# 显存预算\n4 位量化的 7B 模型约需 5 GB。", "heading #"),
        ("First line<br>second line", "HTML tag"),
        ("<div class='note'>第一行</div>", "HTML tag"),
        ("Use&nbsp;bf16 on A100.", "HTML entity &…;"),
        ("在 A100 上使用&nbsp;bf16。", "HTML entity &…;"),
        ("Tom &amp; Jerry, &#8212; and &#x4e2d;", "HTML entity &…;"),
    ],
)
def test_residue(text, kind):
    assert kind in markdown_residue(text)
    flags = check_markdown([make_sample(output=text)], CTX)
    assert codes(flags) == ["markdown_residue"]
    finding = flags[0][1]
    assert finding.severity == "warn" and finding.check == "markdown" and kind in finding.message


@pytest.mark.parametrize(
    "text",
    [
        "Steps:\n- install the package\n- run the script\n* or use the star",
        "步骤：\n- 安装依赖\n- 运行脚本",
        "1. Freeze the dataset.\n2. Train.\n3. Export.",
        "1. 冻结数据集。\n2. 训练。\n3. 导出。",
        "C# and F# both run on .NET; see issue #12.",
        "C# 和 F# 都运行在 .NET 上，见 issue #12。",
        "#12 is fixed and #hashtag is not a heading.",
        "Write `**kwargs` or `[x](y)` inline; both are code.",
        "用 `**kwargs` 传参，`<br>` 是代码。",
        "```markdown\n# Title\n**bold** [link](http://x) <br> | a | b |\n|---|---|\n```",
        "代码如下：\n~~~\n## 不是标题\n&nbsp;\n~~~\n结束。",
        "Python calls __init__ when the object is created; __main__ runs the script.",
        "A name like snake__case__name is not bold.",
        "Java's List<String> and Rust's Vec<u8> are generic; the BOS token is <s>.",
        "2 * 3 * 4 = 24, a | b is a pipe, x < y > z.",
        "价格 < 100 且 > 50，a|b 表示或。",
        "AT&T; R&D & more",
        # a table is content: the note's tables stay intact in the answer
        "| rank | memory |\n|---|---|\n| 8 | 5 GB |",
        "| 秩 | 显存 |\n| 8 | 5 GB |",
        "rank | memory\n--- | ---\n8 | 5 GB",
    ],
)
def test_not_residue(text):
    assert markdown_residue(text) == []
    assert check_markdown([make_sample(output=text)], CTX) == []


def test_one_finding_naming_each_field():
    sample = make_sample(instruction="What is **NF4**?", output="See [docs](https://x.y) and <br> it.")
    (sample_id, finding), = check_markdown([sample], CTX)
    assert sample_id == sample.id
    assert "instruction: bold **…**" in finding.message
    assert "output: link [text](url), HTML tag" in finding.message


def test_unclosed_fence_hides_the_rest():
    # An unclosed fence runs to the end of the text, as a renderer treats it.
    assert markdown_residue("Run this:\n```\n**not bold**") == []
