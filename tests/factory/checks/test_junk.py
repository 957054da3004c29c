"""factory/checks/junk.py: every reason code flagged and left alone, in English and Chinese.

The clean examples are near misses: text a sloppy regex for the same code would flag.
"""

import pytest

from factory.checks import REASON_CODES as ALL_REASON_CODES
from factory.checks.junk import REASON_CODES, check_junk, truncation
from factory.checks import CheckContext
from factory.config import ChecksConfig
from tests.factory.checks.sample_builders import codes, make_context, make_sample

CTX = make_context()

EN_OUT = "LoRA adds trainable low-rank matrices next to the frozen weights."
ZH_OUT = "LoRA 在冻结的权重旁加入可训练的低秩矩阵。"
LONG_EN = "LoRA adds trainable low-rank matrices next to the frozen weights, so fine-tuning updates few parameters"
LONG_ZH = ("LoRA 在冻结的权重旁加入可训练的低秩矩阵，因此微调时只需要更新很少的参数，显存占用也大大降低，"
           "训练速度也更快，同时效果接近全量微调，非常适合在单张消费级显卡上训练七十亿参数的模型")


def en(**kw):
    return {"instruction": "Summarize the article.", "output": EN_OUT} | kw


def zh(**kw):
    return {"instruction": "总结这篇文章的要点。", "output": ZH_OUT} | kw


# (code, language, fields)
FLAGGED = [
    # input_only_url
    ("input_only_url", "en", en(input="https://example.com/blog/lora-explained")),
    ("input_only_url", "en", en(input="URL: https://a.example.com/x\n- https://b.example.com/y")),
    ("input_only_url", "zh", zh(input="链接：https://zhuanlan.zhihu.com/p/123456")),
    ("input_only_url", "zh", zh(input="[原文](https://mp.weixin.qq.com/s/abc)")),
    # input_only_attachment
    ("input_only_attachment", "en", en(instruction="What breed is the dog?", input="<image>")),
    ("input_only_attachment", "en", en(instruction="Compare them.", input="[Image 1] [Image 2]")),
    ("input_only_attachment", "en", en(instruction="Transcribe it.", input="<audio>")),
    ("input_only_attachment", "en", en(instruction="What is it?", input='<img src="cat.png">')),
    ("input_only_attachment", "zh", zh(instruction="这是什么品种的狗？", input="[图片]")),
    ("input_only_attachment", "zh", zh(instruction="总结一下。", input="【附件】")),
    ("input_only_attachment", "zh", zh(instruction="这段说了什么？", input="[语音]")),
    # the Alpaca variants: a phrase about an attachment, in brackets or as a sentence
    ("input_only_attachment", "en", en(instruction="Classify the shape.", input="<Picture Attached>")),
    ("input_only_attachment", "en", en(instruction="Classify the shape.", input="<Insert image here>")),
    ("input_only_attachment", "en", en(instruction="What is in it?", input="(see attached photo)")),
    ("input_only_attachment", "en", en(instruction="What is in it?", input="[Attached image]")),
    ("input_only_attachment", "en", en(instruction="What is in it?", input="See attached file.")),
    ("input_only_attachment", "zh", zh(instruction="这是什么形状？", input="[插入图片]")),
    ("input_only_attachment", "zh", zh(instruction="这是什么形状？", input="（见附图）")),
    ("input_only_attachment", "zh", zh(instruction="这是什么形状？", input="附图如下")),
    # unseen_media
    ("unseen_media", "en", en(instruction="Describe the image.")),
    ("unseen_media", "en", en(instruction="Look at the chart below and tell me which quarter sold most.")),
    ("unseen_media", "en", en(instruction="Watch the video and list the steps.", input="<noinput>", output=EN_OUT)),
    ("unseen_media", "en", en(instruction="What is shown in this photo?")),
    ("unseen_media", "zh", zh(instruction="描述这张图片中的内容。")),
    ("unseen_media", "zh", zh(instruction="根据下图，计算三角形的面积。")),
    ("unseen_media", "zh", zh(instruction="如图所示，电路中的电流是多少？")),
    ("unseen_media", "zh", zh(instruction="图中的人在做什么？")),
    # merged_instructions
    ("merged_instructions", "en", en(output="Paris is the capital of France.\n\n2. Instruction: Name a fruit.\n"
                                            "2. Input:\n<noinput>\n2. Output:\nApple.")),
    ("merged_instructions", "en", en(output="The answer is 4.\n\n### Instruction:\nAdd 3 and 5.\n\n### Response:\n8.")),
    ("merged_instructions", "en", en(output="Use rank 8.\nInstruction: Name a fruit.\nOutput: Apple.")),
    ("merged_instructions", "zh", zh(output="巴黎是法国的首都。\n\n2. 指令：列出三种水果。\n2. 输入：无\n2. 输出：苹果、香蕉、橙子。")),
    ("merged_instructions", "zh", zh(output="答案是 4。\n\n指令：计算 3 加 5。\n输出：8。")),
    # truncated_output (the default truncated_min_chars is 80)
    ("truncated_output", "en", en(output=LONG_EN + " and the")),
    ("truncated_output", "en", en(output=LONG_EN + " in the frozen model")),
    ("truncated_output", "en", en(output="Here is the code that scales the update:\n```python\ndef scale(alpha, rank):\n    return alpha / rank\n")),
    ("truncated_output", "en", en(output=LONG_EN + ", for example:")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "，")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "，而且")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "、")),
    ("truncated_output", "zh", zh(output=LONG_ZH)),
    ("truncated_output", "zh", zh(output=LONG_ZH + "，然后")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "，我们使用的")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "，并且")),
    ("truncated_output", "en", en(output=LONG_EN + ".\n\nThe code is:\n\nsource")),  # the link text is left out first
    # control_characters
    ("control_characters", "en", en(output="Set the rank\x07 to 8.")),
    ("control_characters", "en", en(instruction="Summarize the na\ufffdve article.")),
    ("control_characters", "en", en(output="Lo\u200bRA adds low-rank matrices.")),
    ("control_characters", "en", en(output="Use rank \u202e8 here.")),  # a bidi override in plain English
    ("control_characters", "zh", zh(output="LoRA 的秩\x1b[0m 设为 8。")),
    ("control_characters", "zh", zh(output="低秩\u200b适配。")),
    ("control_characters", "zh", zh(input="\ufeff一篇关于 LoRA 的文章。")),
    ("control_characters", "zh", zh(output="低秩\u200d适配。")),  # a joiner between Han characters
    ("control_characters", "zh", zh(output="中文��乱码。")),  # mojibake
    ("control_characters", "en", en(output="Caf\ufffd au lait.")),
    # escaped_characters
    ("escaped_characters", "en", en(output="First, install it.\\nThen run it.")),
    ("escaped_characters", "en", en(output="Tom &amp; Jerry is a cartoon.")),
    ("escaped_characters", "en", en(output="It&#39;s a low-rank update.")),
    ("escaped_characters", "en", en(output='He said \\"use rank 8\\" twice.')),
    ("escaped_characters", "zh", zh(output="第一步：安装。\\n第二步：配置。")),
    ("escaped_characters", "zh", zh(output="\\u4e2d\\u6587是中文。")),
    ("escaped_characters", "zh", zh(output="汤姆&amp;杰瑞是动画片。")),
    ("escaped_characters", "zh", zh(output="LoRA\\u662f\\u4e00\\u79cd\\u65b9\\u6cd5\\u3002")),
    ("escaped_characters", "zh", zh(output="b'\\xe4\\xb8\\xad\\xe6\\x96\\x87' 是什么？")),
    # refusal
    ("refusal", "en", en(output="As an AI language model, I cannot browse the internet.")),
    ("refusal", "en", en(output="I'm sorry, but I cannot help with that request.")),
    ("refusal", "en", en(output="I am unable to view images, but LoRA is a method.")),
    ("refusal", "en", en(output="I don't have personal opinions, but many prefer rank 8.")),
    ("refusal", "en", en(output="Sure. As a large language model, my knowledge is limited.")),
    ("refusal", "zh", zh(output="作为一个AI，我没有个人观点。")),
    ("refusal", "zh", zh(output="作为一个人工智能语言模型，我无法访问互联网。")),
    ("refusal", "zh", zh(output="很抱歉，我不能提供这个信息。")),
    ("refusal", "zh", zh(output="我无法访问该链接。")),
    ("refusal", "zh", zh(output="我是一个人工智能助手，没有办法看图片。")),
    ("refusal", "zh", zh(output="好的。作为一个语言模型，我不能替你做决定。")),
    ("refusal", "en", en(output="Sure. As an AI language model, I don't have opinions on this.")),
]

# (code the example is a near miss for, language, fields)
CLEAN = [
    # input_only_url: the URL is the data, or it comes with text.
    ("input_only_url", "en", en(instruction="Extract the domain from this URL.", input="https://www.example.com/path?q=1",
                                output="example.com")),
    ("input_only_url", "en", en(input="Summarize https://example.com: it says LoRA trains two small matrices.")),
    ("input_only_url", "en", en(instruction="Which version is it?", input="version 2.0")),
    ("input_only_url", "zh", zh(instruction="解析这个网址的域名。", input="https://www.baidu.com/s?wd=lora",
                                output="域名是 www.baidu.com。")),
    ("input_only_url", "zh", zh(input="参考 https://example.com 上的说明，比较两种方法。")),
    # input_only_attachment: code with a type, or a placeholder with a description.
    ("input_only_attachment", "en", en(instruction="Explain this Java line.", input="List<Image> images = new ArrayList<>();")),
    ("input_only_attachment", "en", en(instruction="Is this a list?", input="[1, 2, 3]")),
    ("input_only_attachment", "en", en(instruction="What breed is the dog?", input="[image] a small white dog with curly fur")),
    ("input_only_attachment", "zh", zh(instruction="这是什么品种的猫？", input="[图片] 一只橘猫趴在窗台上晒太阳")),
    ("input_only_attachment", "zh", zh(instruction="这个格式适合网页吗？", input="图片格式：PNG，尺寸 512×512")),
    # unseen_media: no reference to a specific image, or the content is there as text.
    ("unseen_media", "en", en(instruction="Explain how image compression works.")),
    ("unseen_media", "en", en(instruction="Generate a caption for an image of a cat.")),
    ("unseen_media", "en", en(instruction="Describe the image of America in 19th-century European novels.")),
    ("unseen_media", "en", en(instruction="What does the graph of y = x^2 look like?")),
    ("unseen_media", "en", en(instruction="How do I make a chart in Excel?")),
    ("unseen_media", "en", en(instruction="Describe the chart below.", input="Q1: 10, Q2: 15, Q3: 30, Q4: 22")),
    ("unseen_media", "en", en(instruction="Describe the chart below: sales rose from 10 in 2019 to 40 in 2023, dipping in 2021.")),
    ("unseen_media", "en", en(instruction="Which quarter is best in the following table?\n| Q1 | 10 |\n| Q2 | 30 |")),
    ("unseen_media", "zh", zh(instruction="什么是图像压缩？")),
    ("unseen_media", "zh", zh(instruction="如何在网页中插入图片？")),
    ("unseen_media", "zh", zh(instruction="比如图片压缩，有哪些常见算法？")),
    ("unseen_media", "zh", zh(instruction="推荐几个上海的图书馆。")),
    ("unseen_media", "zh", zh(instruction="以上表明了什么？")),
    ("unseen_media", "zh", zh(instruction="图灵测试是什么？")),
    ("unseen_media", "zh", zh(instruction="地图中的比例尺是什么意思？")),
    ("unseen_media", "zh", zh(instruction="根据下表回答：哪个季度销量最高？", input="一季度 10，二季度 30，三季度 20")),
    # merged_instructions: "Input:"/"Output:" describing a function, the word in prose, a template in code.
    ("merged_instructions", "en", en(output="The function takes:\nInput: a list of integers.\nOutput: the sorted list.")),
    ("merged_instructions", "en", en(output="Follow each instruction in the manual, then check the output.")),
    ("merged_instructions", "en", en(output="Every sample has three fields. Instruction: the task. That is all.")),
    ("merged_instructions", "en", en(output="The server replies:\n\n## Response\nA JSON body with status 200.")),
    ("merged_instructions", "en", en(output="The Alpaca template is:\n```\n### Instruction:\n{instruction}\n\n### Response:\n```")),
    ("merged_instructions", "zh", zh(output="函数说明：\n输入：两个整数。\n输出：它们的和。")),
    ("merged_instructions", "zh", zh(output="请严格按照指令操作：先备份，再升级。")),
    ("merged_instructions", "zh", zh(output="每条样本包括指令、输入和输出三部分。")),
    # truncated_output: complete endings without a full stop, and short outputs.
    ("truncated_output", "en", en(output=LONG_EN + ".")),
    ("truncated_output", "en", en(output="Steps to fine-tune a model with LoRA:\n- prepare the data\n- pick a rank\n- train with a low learning rate")),
    ("truncated_output", "en", en(output="Here is the code that scales the update:\n```python\ndef scale(alpha, rank):\n    return alpha / rank\n```")),
    ("truncated_output", "en", en(output="The full list of options is in the documentation at https://docs.example.com/lora/options")),
    ("truncated_output", "en", en(output="Adding the three invoices gives the total cost of the project:\n1200 + 300 + 45 = 1545")),
    ("truncated_output", "en", en(output="Roses are red and the sky is so blue\nThe grass it is green and the river runs through\nI wrote this small poem for you")),
    ("truncated_output", "en", en(output="Start at 8 and")),  # shorter than truncated_min_chars
    ("truncated_output", "en", en(output=LONG_EN + " (see the paper)")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "。")),
    ("truncated_output", "zh", zh(output="春天来了\n河边的柳树发了新芽\n孩子们在田野里奔跑\n风筝飞得比云还高\n妈妈在门口喊我回家吃饭\n"
                                   "炊烟慢慢升起来\n我知道这就是故乡的味道\n无论走多远都不会忘记\n无论过多久都会想起")),
    ("truncated_output", "zh", zh(output="训练 LoRA 的步骤如下：\n1. 准备并清洗训练数据，去掉空输出和重复样本\n"
                                   "2. 根据显存和任务难度选择合适的秩和 alpha\n3. 用较小的学习率训练并观察验证集损失的变化")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "……")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "（详见论文）")),
    ("truncated_output", "zh", zh(output="先用 8，不够再加到 16，而且")),  # short
    ("truncated_output", "en", en(output="The cluster has two partitions:\n\nPartition: debug; GPUs: 2 × A100; Use for: smoke tests\n"
                                         "Partition: h100; GPUs: 8 × H100; Use for: multi-node and 70B runs, by request")),
    ("truncated_output", "zh", zh(output="过滤规则如下：\n\n规则: 输出为空; 阈值: -; 级别: reject; 说明: 包括 N/A、无这类占位\n"
                                         "规则: 控制字符; 阈值: \\x00-\\x08 等; 级别: reject; 说明: 通常是编码问题")),
    # control_characters: tabs, newlines, emoji joiners, full-width space, right-to-left text.
    ("control_characters", "en", en(output="Columns:\tname\trank\r\nrow:\tq_proj\t8.")),
    ("control_characters", "en", en(output="Great work 👩\u200d💻 on the adapter!")),
    ("control_characters", "en", en(output="In Hebrew it is \u05e9\u05dc\u05d5\u05dd \u200f(shalom).")),
    ("control_characters", "zh", zh(output="全角空格\u3000不是控制字符。")),
    ("control_characters", "zh", zh(output="中文里的制表符\t和换行\n都可以。")),
    ("control_characters", "zh", zh(output="一家人👨\u200d👩\u200d👧一起学习。")),
    ("control_characters", "zh", zh(output="逐个 token 解码时中文会出现 �：一个汉字被拆成了多个字节。")),  # a mention
    ("control_characters", "en", en(output="A lone \ufffd (U+FFFD) marks bytes that did not decode.")),
    # escaped_characters: mentions of escapes, code, paths, a bare ampersand.
    ("escaped_characters", "en", en(output="The newline character \\n ends a line.")),
    ("escaped_characters", "en", en(output="Use `\\n` to end a line and `&amp;` for an ampersand.")),
    ("escaped_characters", "en", en(output="Open C:\\new\\test.txt in Notepad.")),
    ("escaped_characters", "en", en(output="AT&T and R&D are company names.")),
    ("escaped_characters", "en", en(output='Escape quotes with \\" inside JSON strings.')),
    ("escaped_characters", "zh", zh(output="换行符是\\n。")),
    ("escaped_characters", "en", en(output="Normalise line endings: replace \\r\\n with \\n, then strip spaces.")),
    ("escaped_characters", "en", en(output="- Strip control characters such as \\x00-\\x08.\n- Each turn is <|im_start|>role\\n...<|im_end|>.")),
    ("escaped_characters", "zh", zh(output="汉字“中”写成 \\u4e2d，例如 JSON 里的转义。")),
    ("escaped_characters", "zh", zh(output="代码如下：\n```python\nprint('\\u4e2d\\n')\n```")),
    ("escaped_characters", "zh", zh(output="用 `&amp;` 表示 & 符号。")),
    # refusal: "you cannot", sympathy, emphasis, an AI professional.
    ("refusal", "en", en(output="You cannot resize a running VM; stop it first.")),
    ("refusal", "en", en(output="I'm sorry to hear that training diverged; lower the learning rate.")),
    ("refusal", "en", en(output="I cannot stress enough how important warmup is.")),
    ("refusal", "en", en(output="As an AI researcher, you should track every experiment.")),
    ("refusal", "en", en(output="I can't help but notice the loss spikes at step 300.")),
    ("refusal", "en", en(output='Avoid openers like "As an AI language model" in bot replies.')),
    ("refusal", "zh", zh(output="你不能在生产环境直接修改配置。")),
    ("refusal", "zh", zh(output="很抱歉听到这个消息，建议先检查日志。")),
    ("refusal", "zh", zh(output="作为AI从业者，我们需要关注数据质量。")),
    ("refusal", "zh", zh(output="作为人工智能研究者，我认为数据最重要。")),
    ("refusal", "zh", zh(output="我无法确定你用的是哪个版本，请先运行 --version 查看。")),
    ("refusal", "zh", zh(output="清洗时要删掉以“作为一个AI语言模型，我无法……”开头的回答。")),
    # refusal: a model spoken about, not as (3 of 3 refusals on real notes were these)
    ("refusal", "zh", zh(output="GPT-3 它只是作为一个语言模型，被训练来预测下一个词。")),
    ("refusal", "zh", zh(output="维基百科可以作为语言模型训练的数据集。")),
    ("refusal", "en", en(output="BERT was trained as a language model on books and Wikipedia.")),
    ("refusal", "en", en(instruction="Pretend to be an AI language model in the year 2100.",
                         output="As an AI language model from the year 2100, my abilities have grown a lot.")),
    # truncated_output: complete answers that end without a full stop
    ("truncated_output", "en", en(output=LONG_EN + ":\n\n$$ W' = W + \\frac{\\alpha}{r} BA $$")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "。公式如下：$W' = W + BA$")),
    ("truncated_output", "en", en(output=LONG_EN + ":\n\n```bash\n$ git status\n```\n\nsource")),
    ("truncated_output", "en", en(output=LONG_EN + ".\n\nh/t Jake Worth")),
    ("truncated_output", "en", en(output="Janet needs 44 lunches in all.\nEach lunch is $7, so the trip costs $7 * 44 = $308 total")),
    ("truncated_output", "en", en(output=LONG_EN + ". I look forward to working with you.\n\nYours sincerely,\n\nJane Austen")),
    ("truncated_output", "zh", zh(output=LONG_ZH + "。\n\nKhashabi et al., UNIFIEDQA: Crossing Format Boundaries, Findings of EMNLP 2020")),
    # input_only_attachment: a description of the picture is content
    ("input_only_attachment", "en", en(instruction="Classify the shape.", input="(Picture of a triangle)")),
    ("input_only_attachment", "zh", zh(instruction="这是什么形状？", input="图片描述：一个三条边相等的三角形。")),
]


@pytest.mark.parametrize("code, lang, fields", FLAGGED)
def test_flags(code, lang, fields):
    sample = make_sample(**fields)
    flags = check_junk([sample], CTX)
    assert codes(flags) == [code]
    sample_id, finding = flags[0]
    assert sample_id == sample.id and finding.check == "junk"
    assert finding.severity == REASON_CODES[code][0]
    assert finding.message and "\n" not in finding.message


@pytest.mark.parametrize("code, lang, fields", CLEAN)
def test_clean(code, lang, fields):
    assert check_junk([make_sample(**fields)], CTX) == []


def test_every_code_has_both_examples_in_both_languages():
    expected = {(c, lang) for c in REASON_CODES for lang in ("en", "zh")}
    assert {(c, lang) for c, lang, _ in FLAGGED} == expected
    assert {(c, lang) for c, lang, _ in CLEAN} == expected


def test_reason_codes_are_registered_and_documented():
    for code, (severity, description) in REASON_CODES.items():
        assert ALL_REASON_CODES[code] == (severity, description)
        assert description and "\n" not in description
    assert {c for c, (sev, _) in REASON_CODES.items() if sev == "warn"} == {
        "unseen_media", "truncated_output", "escaped_characters",
    }


def test_control_character_message_names_code_point_and_position():
    (_, finding), = check_junk([make_sample(**en(output="Set the rank\x07 to 8."))], CTX)
    assert "U+0007 (BEL) at character 13 of output" in finding.message


def test_control_characters_are_found_in_history_and_system():
    sample = make_sample(**zh(system="你是助手\x00。", history=[("问题", "回答\x08。")]))
    (_, finding), = check_junk([sample], CTX)
    assert "of system" in finding.message and "of history[0] assistant" in finding.message


def test_many_control_characters_are_summarised():
    (_, finding), = check_junk([make_sample(**en(output="bad \ufffd\ufffd\ufffd\ufffd\ufffd text."))], CTX)
    assert finding.message.count("U+FFFD (replacement character) at") == 3 and "2 more in output" in finding.message


def test_truncated_min_chars_comes_from_the_config():
    short = make_sample(**en(output="Start at 8 and"))
    assert check_junk([short], CTX) == []
    assert codes(check_junk([short], make_context(truncated_min_chars=10))) == ["truncated_output"]


def test_a_missing_full_stop_where_the_note_s_paragraph_ends_is_no_truncation():
    output = LONG_ZH + "，提高学习率和降低batch size可以提升稀疏模型微调效果"
    note = "## 微调\n\n" + output + "\n\n下一段。"
    sample = make_sample(**zh(output=output))
    assert codes(check_junk([sample], CTX)) == ["truncated_output"]
    with_note = CheckContext(ChecksConfig(), source_texts={sample.id: note})
    assert check_junk([sample], with_note) == []
    # the note goes on with the same sentence: the answer was cut
    cut = CheckContext(ChecksConfig(), source_texts={sample.id: note.replace("微调效果\n", "微调效果，也更稳定。\n")})
    assert codes(check_junk([sample], cut)) == ["truncated_output"]


def test_a_de_ending_is_dangling_only_without_its_predicate():
    assert "'的' with its noun missing" in truncation(LONG_ZH + "，我们使用的")
    why = truncation(LONG_ZH + "，它的持续时间和长度是无法事先知晓的")  # complete, but no full stop
    assert why.startswith("it ends without closing punctuation")


def test_a_phrasal_verb_is_no_dangling_word():
    assert "dangling" not in (truncation(LONG_EN + ". You're setting yourself up for a lock-in") or "")
    assert "dangling" not in (truncation(LONG_EN + ". Follow Twitter to see what's going on") or "")


def test_truncated_message_says_why():
    (_, finding), = check_junk([make_sample(**en(output=LONG_EN + " and the"))], CTX)
    assert "dangling word 'the'" in finding.message


@pytest.mark.parametrize("text", ["", "   ", "。", "…"])
def test_truncation_of_tiny_text_does_not_crash(text):
    truncation(text)


def test_escape_message_counts_each_kind():
    (_, finding), = check_junk([make_sample(**en(output="One.\\nTwo.\\nThree &amp; four."))], CTX)
    assert "×2" in finding.message and "&amp;" in finding.message


def test_several_codes_on_one_sample_in_a_fixed_order():
    sample = make_sample(instruction="Describe the image.", input="[image]",
                         output="As an AI language model, I cannot see images.\x07")
    assert codes(check_junk([sample], CTX)) == ["input_only_attachment", "control_characters", "refusal"]


def test_batch_keeps_sample_ids():
    good, bad = make_sample(**en()), make_sample(**zh(input="[图片]"))
    flags = check_junk([good, bad], CTX)
    assert [sid for sid, _ in flags] == [bad.id]
