"""Every reason code in REASON_CODES, with a positive and a negative example in English and Chinese.

Each example runs through the public `run_checks` (all checks, the whole pipeline), and the test
asserts that its code is reported for the target sample (positive) or is not (negative: a
realistic near miss). `test_every_reason_code_has_examples` fails when a reason code is added
without examples here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from factory.checks import REASON_CODES, CheckContext, run_checks
from factory.checks.length import TURN_OVERHEAD_TOKENS
from factory.config import ChecksConfig
from factory.sample import Sample
from factory.tokens import load_token_counter
from tests.factory.checks.sample_builders import make_sample

LANGS = ("en", "zh")
POLARITIES = ("positive", "negative")


@dataclass(frozen=True)
class Example:
    code: str
    lang: Literal["en", "zh"]
    polarity: Literal["positive", "negative"]
    sample: Sample  # the target: the code must (positive) or must not (negative) be reported for it
    reference: tuple[Sample, ...] = ()  # CheckContext.reference: live samples it is compared against
    config: dict[str, Any] = field(default_factory=dict)  # ChecksConfig overrides
    tokens: bool = False  # pass a token counter (trained on the fly) as CheckContext.count_tokens
    source: str | None = None  # the note text it was made from (CheckContext.source_texts)

    @property
    def id(self) -> str:
        return f"{self.code}-{self.lang}-{self.polarity}"


def pos(code, lang, reference=(), config=None, tokens=False, source=None, **fields) -> Example:
    return Example(code, lang, "positive", make_sample(**fields), tuple(reference), config or {}, tokens, source)


def neg(code, lang, reference=(), config=None, tokens=False, source=None, **fields) -> Example:
    return Example(code, lang, "negative", make_sample(**fields), tuple(reference), config or {}, tokens, source)


# --- reference samples for the duplicate codes ----------------------------------------------

KEPT_RANK_EN = make_sample(
    instruction="How do I pick the LoRA rank?",
    output="Start with rank 8 and double it if the eval loss stops improving; higher ranks cost more memory.",
)
KEPT_RANK_ZH = make_sample(
    instruction="LoRA 的秩怎么选？",
    output="先用 8，如果 eval loss 不再下降就翻倍；秩越高，显存占用越大。",
)
KEPT_CKPT_EN = make_sample(
    instruction="Why does gradient checkpointing save memory during fine-tuning?",
    output="It keeps only some activations during the forward pass and recomputes the others in the backward "
    "pass, so activation memory drops sharply at the cost of roughly one extra forward pass.",
)
KEPT_CKPT_ZH = make_sample(
    instruction="为什么梯度检查点能在微调时节省显存？",
    output="前向传播时只保存一部分激活值，反向传播时再重新计算其余的激活值，"
    "因此激活占用的显存大幅下降，代价是大约多做一次前向计算。",
)


EXAMPLES: list[Example] = [
    # --- fields: empty_instruction --------------------------------------------------------
    pos("empty_instruction", "en", instruction="   \n",
        output="Enable gradient checkpointing to trade some extra compute for a large cut in activation memory."),
    neg("empty_instruction", "en", instruction="  How do I resume training from the last checkpoint?",
        output="Pass resume_from_checkpoint=True to trainer.train() and it picks up the latest checkpoint folder."),
    pos("empty_instruction", "zh", instruction="\u3000\u3000",  # ideographic spaces only
        output="开启梯度检查点，用多一点计算换取大幅减少的激活显存。"),
    neg("empty_instruction", "zh", instruction="\u3000如何从最近的检查点继续训练？",
        output="调用 trainer.train() 时传入 resume_from_checkpoint=True，它会自动找到最新的检查点目录。"),
    # --- fields: empty_output -------------------------------------------------------------
    pos("empty_output", "en", instruction="What does the warmup ratio control in a learning-rate schedule?",
        output=" \n\t "),
    neg("empty_output", "en", instruction="Can a T4 GPU train in bf16?", output="No."),
    pos("empty_output", "zh", instruction="学习率调度里的 warmup 比例控制什么？", output="\u3000\n"),
    neg("empty_output", "zh", instruction="T4 显卡能用 bf16 训练吗？", output="不能。"),
    # --- fields: output_equals_instruction -------------------------------------------------
    pos("output_equals_instruction", "en", instruction="What is the capital of France?",
        output="what is the capital of France"),
    neg("output_equals_instruction", "en", instruction="What is the capital of France?",
        output="The capital of France is Paris."),
    pos("output_equals_instruction", "zh", instruction="什么是梯度累积？", output="什么是梯度累积"),
    neg("output_equals_instruction", "zh", instruction="什么是梯度累积？",
        output="梯度累积是把几个小批次的梯度加在一起，再统一更新一次参数，相当于用更大的批次训练。"),
    # --- fields: placeholder_output (the code is about stubs, so the positives are stubs) ---
    pos("placeholder_output", "en", instruction="Summarize the main idea of the QLoRA paper in two sentences.",
        output="TODO"),
    neg("placeholder_output", "en", instruction="Which of these models fit on a single 24 GB GPU for inference?",
        output="None of them: all three need more than 24 GB in fp16, so quantize to 4-bit first."),
    pos("placeholder_output", "zh", instruction="用两句话概括 QLoRA 论文的核心思想。", output="待补充"),
    neg("placeholder_output", "zh", instruction="这个模型自带中文分词器吗？",
        output="没有，需要自己扩充词表。"),
    # --- fields: placeholder_input ----------------------------------------------------------
    pos("placeholder_input", "en", instruction="Write a haiku about autumn leaves.", input="<noinput>",
        output="Red leaves drift and fall,\nthe maple lets go of them,\nwind carries them home."),
    neg("placeholder_input", "en", instruction="Name the chemical element with the symbol given in the input.",
        input="Na", output="Sodium."),
    pos("placeholder_input", "zh", instruction="写一首关于秋天落叶的短诗。", input="无",
        output="红叶随风落，\n枫树轻放手，\n秋风送归途。"),
    neg("placeholder_input", "zh", instruction="判断输入中的括号是否配对。", input="(()",
        output="不配对：有两个左括号，只有一个右括号。"),
    # --- junk: input_only_url ---------------------------------------------------------------
    pos("input_only_url", "en", instruction="Summarize the key points of this article.",
        input="https://example.com/blog/lora-explained",
        output="The article explains how LoRA adds small low-rank adapters to frozen weights and trains only those."),
    neg("input_only_url", "en", instruction="Extract the domain name from the URL.",
        input="https://huggingface.co/docs/peft/index", output="The domain is huggingface.co."),
    pos("input_only_url", "zh", instruction="总结这篇文章的要点。", input="链接：https://zhuanlan.zhihu.com/p/123456",
        output="文章介绍了 LoRA 如何在冻结的权重旁加入低秩适配器，并且只训练这些适配器。"),
    neg("input_only_url", "zh", instruction="解析这个网址中的查询参数。",
        input="https://example.com/search?q=lora&page=2", output="有两个参数：q 的值是 lora，page 的值是 2。"),
    # --- junk: input_only_attachment ----------------------------------------------------------
    pos("input_only_attachment", "en", instruction="What breed is the dog?", input="<image>",
        output="It is a golden retriever, judging by the long golden coat and the friendly face."),
    neg("input_only_attachment", "en", instruction="What animal is this?",
        input="[image 1] Caption: a small red-brown animal with a ringed tail, resting on a tree branch.",
        output="From the description, it is a red panda."),
    pos("input_only_attachment", "zh", instruction="这道菜叫什么名字？", input="[图片]",
        output="这是番茄炒蛋，一道很常见的家常菜。"),
    neg("input_only_attachment", "zh", instruction="这道菜叫什么名字？",
        input="[图片] 图片描述：一盘红黄相间的菜，番茄块和炒鸡蛋混在一起，旁边有一碗米饭。",
        output="根据描述，这是番茄炒蛋。"),
    # --- junk: unseen_media -------------------------------------------------------------------
    pos("unseen_media", "en", instruction="Describe the trend shown in the chart below.",
        output="Sales rise steadily from January to June and then drop sharply in July."),
    neg("unseen_media", "en", instruction="Write a short caption for an image of a cat sleeping on a sunny windowsill.",
        output="Afternoon nap, sponsored by the sun."),
    pos("unseen_media", "zh", instruction="根据下图，说明哪个季度的销售额最高。",
        output="第三季度的销售额最高，比第二季度高出大约两成。"),
    neg("unseen_media", "zh", instruction="解释一下 JPEG 图像压缩的基本原理。",
        output="JPEG 先把图像分成 8×8 的小块做离散余弦变换，再对高频系数做更粗的量化，最后用熵编码压缩。"),
    # --- junk: merged_instructions ------------------------------------------------------------
    pos("merged_instructions", "en", instruction="Name the capital of France.",
        output="The capital of France is Paris.\n\n2. Instruction: Name the capital of Germany.\nOutput: Berlin."),
    neg("merged_instructions", "en", instruction="Describe the input and output of a function that sums even numbers.",
        output="Input: a list of integers.\nOutput: the sum of the even integers in the list, or 0 if there are none."),
    pos("merged_instructions", "zh", instruction="法国的首都是哪里？",
        output="法国的首都是巴黎。\n\n2. 指令：说出德国的首都。\n输出：柏林。"),
    neg("merged_instructions", "zh", instruction="这条命令是做什么的？",
        output="这条指令的作用是把模型转换成 GGUF 格式：先运行转换脚本，再用 llama.cpp 量化。"),
    # --- junk: truncated_output (outputs of at least truncated_min_chars = 80 characters) -----
    pos("truncated_output", "en", instruction="How does LoRA reduce the memory needed for fine-tuning?",
        output="LoRA freezes the pretrained weights and inserts small low-rank adapters into the attention "
        "layers, so the optimizer only keeps state for a few million parameters, and"),
    neg("truncated_output", "en", instruction="How does LoRA reduce the memory needed for fine-tuning?",
        output="LoRA freezes the pretrained weights and inserts small low-rank adapters into the attention "
        "layers, so the optimizer only keeps state for a few million parameters."),
    pos("truncated_output", "zh", instruction="LoRA 为什么能减少微调所需的显存？",
        output="LoRA 冻结预训练模型的全部权重，只在注意力层的查询和值投影旁边插入很小的低秩适配器，"
        "训练时优化器只需要为这几百万个参数保存状态，所以显存占用大幅下降，训练速度也更快，而且"),
    neg("truncated_output", "zh", instruction="LoRA 为什么能减少微调所需的显存？",
        output="LoRA 冻结预训练模型的全部权重，只在注意力层的查询和值投影旁边插入很小的低秩适配器，"
        "训练时优化器只需要为这几百万个参数保存状态，所以显存占用大幅下降，训练速度也更快。"),
    # --- junk: control_characters -------------------------------------------------------------
    pos("control_characters", "en", instruction="Which learning rate should I start with for LoRA?",
        output="Start with a learning rate of 2e-4\u200b and warm up for the first 100 steps."),
    neg("control_characters", "en", instruction="Write a one-line congratulation for a developer whose script works.",
        output="Great job \U0001F469\u200d\U0001F4BB your script now runs on the GPU!"),  # woman technologist emoji
    pos("control_characters", "zh", instruction="这个模型支持哪些语言？",
        output="这个模型支持中文和英\ufffd\ufffd两种语言。"),  # mojibake
    neg("control_characters", "zh", instruction="解码时出现的 U+FFFD 是什么？",
        output="它是替换字符，显示为 \ufffd ，表示这里的字节无法按当前编码解码。"),
    # --- junk: escaped_characters -------------------------------------------------------------
    pos("escaped_characters", "en", instruction="How do I install the training dependencies?",
        output="First, create a virtual environment.\\nThen run pip install -r requirements.txt."),
    neg("escaped_characters", "en", instruction="How is a newline written inside a Python string literal?",
        output="Use the escape sequence \\n, for example print('one\\ntwo') prints two lines."),
    pos("escaped_characters", "zh", instruction="安装完依赖之后要做什么？",
        output="安装完成后，先重启内核。\\n然后重新运行训练脚本。"),
    neg("escaped_characters", "zh", instruction="Windows 和 Linux 的换行符有什么不同？",
        output="Windows 上的换行符是 \\r\\n，Linux 上只用 \\n。"),
    # --- junk: refusal ------------------------------------------------------------------------
    pos("refusal", "en", instruction="What will the weather be like in Berlin tomorrow?",
        output="I'm sorry, but I cannot browse the internet, so I can't check tomorrow's forecast for Berlin."),
    neg("refusal", "en", instruction="My training run crashed with an out-of-memory error. What should I do?",
        output="I'm sorry to hear that. The batch size is probably too large: halve it and enable gradient checkpointing."),
    pos("refusal", "zh", instruction="明天北京的天气怎么样？",
        output="很抱歉，我无法访问互联网，不能查询明天北京的天气预报。"),
    neg("refusal", "zh", instruction="我是 AI 研究新手，应该从哪里开始学微调？",
        output="作为 AI 研究者，你可以先从 LoRA 入手：它便宜、稳定，而且在单张显卡上就能跑。"),
    # --- questions: numbered_question ------------------------------------------------------------
    pos("numbered_question", "en", instruction="What is 4.2 Overview?",
        output="The overview section lists the three stages of the pipeline: extraction, checks and review."),
    neg("numbered_question", "en", instruction="What are 3 ways to reduce GPU memory during fine-tuning?",
        output="Use gradient checkpointing, train in bf16, and quantize the base model to 4-bit with QLoRA."),
    pos("numbered_question", "zh", instruction="什么是 3 分布式哈希表？",
        output="分布式哈希表把键值对分散存储在很多节点上，每个节点只和少数其他节点通信就能找到任意一个键。"),
    neg("numbered_question", "zh", instruction="什么是 3D 并行？",
        output="3D 并行同时使用数据并行、张量并行和流水线并行，把大模型的训练分摊到成百上千张显卡上。"),
    # --- questions: question_without_subject ---------------------------------------------------
    pos("question_without_subject", "en", instruction="What is Usage?",
        output="Run the script with the path of the dataset and it prints the number of samples it found."),
    neg("question_without_subject", "en", instruction="What is the usage of the --bf16 flag?",
        output="It makes the trainer compute in bfloat16, which halves activation memory on Ampere and newer GPUs."),
    pos("question_without_subject", "zh", instruction="什么是实验？",
        output="作者在三个数据集上比较了不同的秩，发现秩为 8 时效果和全量微调相当。"),
    neg("question_without_subject", "zh", instruction="LoRA 论文的实验结果说明了什么？",
        output="在 GPT-3 上，秩为 8 的 LoRA 和全量微调效果相当，而可训练参数只有万分之一。"),
    # --- questions: not_a_question -------------------------------------------------------------
    pos("not_a_question", "en", instruction="Transformer Architecture",
        output="A transformer stacks attention and feed-forward blocks, each wrapped in a residual connection."),
    neg("not_a_question", "en", instruction="Explain the Transformer Architecture",
        output="A transformer stacks attention and feed-forward blocks, each wrapped in a residual connection."),
    pos("not_a_question", "zh", instruction="分布式训练框架",
        output="常见的有 DeepSpeed、Megatron-LM 和 PyTorch FSDP，它们都支持把模型切分到多张显卡上训练。"),
    neg("not_a_question", "zh", instruction="常见的分布式训练框架有哪些",
        output="常见的有 DeepSpeed、Megatron-LM 和 PyTorch FSDP，它们都支持把模型切分到多张显卡上训练。"),
    # --- answers: missing_figure ----------------------------------------------------------------
    pos("missing_figure", "en", instruction="How does pipeline parallelism split a model?",
        output="As shown in the figure below, each GPU holds a contiguous block of layers and passes activations on."),
    neg("missing_figure", "en", instruction="Why do we need to figure out the batch size first?",
        output="First figure out the largest batch size that fits, then set gradient accumulation to reach the target."),
    pos("missing_figure", "zh", instruction="流水线并行是怎么切分模型的？",
        output="如下图所示，每张显卡负责一段连续的层，把激活值传给下一张显卡。"),
    neg("missing_figure", "zh", instruction="图书馆的数据能用来预训练吗？",
        output="可以，比如图书馆的公版书就是很好的长文本语料，但要先去掉扫描错误和重复的版本。"),
    # --- answers: lead_in_only -------------------------------------------------------------------
    pos("lead_in_only", "en", instruction="How do I resume a fine-tuning run?", output="The steps are as follows:"),
    neg("lead_in_only", "en", instruction="How do I resume a fine-tuning run?",
        output="The steps are as follows:\n1. Keep the output folder.\n2. Pass resume_from_checkpoint=True."),
    pos("lead_in_only", "zh", instruction="BERT 的训练目标是什么？", output="BERT的训练目标是："),
    neg("lead_in_only", "zh", instruction="BERT 的训练目标是什么？",
        output="BERT的训练目标是：掩码语言模型（预测被遮住的词）和下一句预测。"),
    # --- answers: link_only_output ---------------------------------------------------------------
    pos("link_only_output", "en", instruction="How do I pick the LoRA rank?",
        output="See [here](https://example.com/lora-rank) and source."),
    neg("link_only_output", "en", instruction="Where can I download the LLaMA weights?",
        output="https://huggingface.co/meta-llama"),
    pos("link_only_output", "zh", instruction="LoRA 的秩怎么选？", output="详见：https://zhuanlan.zhihu.com/p/123456"),
    neg("link_only_output", "zh", instruction="LoRA 的秩怎么选？",
        output="一般先用 8，效果不够再加大，详见：https://zhuanlan.zhihu.com/p/123456"),
    # --- answers: dangling_link_text -------------------------------------------------------------
    pos("dangling_link_text", "en", instruction="How do I list untracked files in git?",
        output="Run git ls-files --others --exclude-standard to list them.\n\nsource"),
    neg("dangling_link_text", "en", instruction="Where does pip install packages from?",
        output="By default from PyPI, the Python Package Index.\n\nYou can also install from a local source"),
    pos("dangling_link_text", "zh", instruction="怎么查看 git 里没有跟踪的文件？",
        output="运行 git ls-files --others --exclude-standard 就能列出它们。\n\n原文链接"),
    neg("dangling_link_text", "zh", instruction="训练数据从哪里来？",
        output="我们的训练数据主要来自内部笔记。\n\n每条数据都记录了它的来源"),
    # --- answers: code_only_output ---------------------------------------------------------------
    pos("code_only_output", "en", instruction="What is gradient accumulation?",
        output="```python\nloss = loss / accum_steps\nloss.backward()\n```"),
    neg("code_only_output", "en", instruction="Write the gradient accumulation step in PyTorch.",
        output="```python\nloss = loss / accum_steps\nloss.backward()\n```"),
    pos("code_only_output", "zh", instruction="什么是梯度累积？",
        output="```python\nloss = loss / accum_steps\nloss.backward()\n```"),
    neg("code_only_output", "zh", instruction="什么是梯度累积？",
        output="把几个小批次的梯度加起来再更新一次参数：\n\n```python\nloss = loss / accum_steps\nloss.backward()\n```"),
    # --- answers: reference_section --------------------------------------------------------------
    pos("reference_section", "en", instruction="What is InfiniBand?",
        output="References:\n\n- Sys Admin Pocket Survival Guide - InfiniBand\n- NVIDIA InfiniBand documentation"),
    neg("reference_section", "en", instruction="What is InfiniBand?",
        output="InfiniBand is a low-latency network used between GPU nodes; see the references in the NVIDIA docs."),
    pos("reference_section", "zh", instruction="什么是长度外推？",
        output="参考资料：\n\n- 让研究人员绞尽脑汁的Transformer位置编码\n- Transformer升级之路：RoPE是一种β进制编码"),
    neg("reference_section", "zh", instruction="什么是长度外推？",
        output="长度外推是指模型在比训练时更长的序列上仍然保持效果，参考资料里常用 RoPE 插值来实现。"),
    # --- formulas: formula_differs_from_source (CheckContext.source_texts holds the note's text) -
    pos("formula_differs_from_source", "en", instruction="What is RMSNorm?",
        output="RMSNorm divides by the root mean square: $\\bar{a}i = \\frac{a_i}{RMS(a)} g_i$.",
        source="RMSNorm divides by the root mean square: $\\bar{a}_i = \\frac{a_i}{RMS(a)} g_i$."),
    neg("formula_differs_from_source", "en", instruction="What is RMSNorm?",
        output="RMSNorm divides by the root mean square: $$ \\bar{a}_i = \\frac{a_i}{RMS(a)} g_i $$",
        source="RMSNorm divides by the root mean square:\n\n$$\n\\bar{a}_i = \\frac{a_i}{RMS(a)} g_i\n$$"),
    pos("formula_differs_from_source", "zh", instruction="奖励模型的数据集是什么样的？",
        output="静态数据集 $D=\\left{x^{i}, y_{w}^{i}, y_{l}^{i}\\right}_{i=1}^{N}$ 由偏好对组成。",
        source="静态数据集 $D=\\left\\{x^{i}, y_{w}^{i}, y_{l}^{i}\\right\\}_{i=1}^{N}$ 由偏好对组成。"),
    neg("formula_differs_from_source", "zh", instruction="奖励模型的数据集是什么样的？",
        output="静态数据集 $D=\\left\\{x^{i}, y_{w}^{i}, y_{l}^{i}\\right\\}_{i=1}^{N}$ 由偏好对组成。",
        source="静态数据集 $D=\\left\\{x^{i}, y_{w}^{i}, y_{l}^{i}\\right\\}_{i=1}^{N}$ 由偏好对组成。"),
    # --- markdown: markdown_residue -------------------------------------------------------------
    pos("markdown_residue", "en", instruction="Which precision should I train in on an A100?",
        output="Use **bf16** on an A100; see the [PyTorch docs](https://pytorch.org/docs/stable/amp.html) for details."),
    neg("markdown_residue", "en", instruction="Which precision should I train in?",
        output="It depends on the card:\n- bf16 on A100 and H100 cards.\n- fp16 on older V100 cards.\n"
        "See issue #1234 for the discussion."),
    pos("markdown_residue", "zh", instruction="怎么安装训练环境？",
        output="## 安装步骤\n先安装 **PyTorch**，再安装 transformers 和 peft。"),
    neg("markdown_residue", "zh", instruction="Python 里的 **kwargs 是什么意思？",
        output="`**kwargs` 用来接收任意数量的关键字参数，例如 `f(**{'lr': 2e-4})` 会把字典展开成关键字参数。"),
    # --- length: instruction_too_short (min_instruction_chars = 4) ----------------------------------
    pos("instruction_too_short", "en", instruction="Hi", output="Hello! What would you like to fine-tune today?"),
    neg("instruction_too_short", "en", instruction="Hello", output="Hi! What would you like to fine-tune today?"),
    pos("instruction_too_short", "zh", instruction="谢谢", output="不客气，祝你训练顺利！"),
    neg("instruction_too_short", "zh", instruction="谢谢你！", output="不客气，祝你训练顺利！"),
    # --- length: instruction_too_long (small explicit bounds) ---------------------------------------
    pos("instruction_too_long", "en", config={"max_instruction_chars": 120},
        instruction="I am fine-tuning a 7B model with LoRA on a single 24 GB GPU and the loss goes to NaN after "
        "about 300 steps. What are the most likely causes and how do I fix them?",
        output="Lower the learning rate, train in bf16 instead of fp16, and clip gradients to 1.0."),
    neg("instruction_too_long", "en", config={"max_instruction_chars": 120},
        instruction="My LoRA fine-tune of a 7B model goes to NaN after about 300 steps. What should I check first?",
        output="Lower the learning rate, train in bf16 instead of fp16, and clip gradients to 1.0."),
    pos("instruction_too_long", "zh", config={"max_instruction_chars": 50},
        instruction="我在一张 24 GB 的显卡上用 LoRA 微调一个 7B 模型，训练大约三百步以后 loss 变成了 NaN，"
        "最可能的原因有哪些，应该怎么解决？",
        output="降低学习率，改用 bf16 而不是 fp16，并把梯度裁剪到 1.0。"),
    neg("instruction_too_long", "zh", config={"max_instruction_chars": 50},
        instruction="用 LoRA 微调 7B 模型，三百步后 loss 变成 NaN，先检查什么？",
        output="降低学习率，改用 bf16 而不是 fp16，并把梯度裁剪到 1.0。"),
    # --- length: output_too_short (min_output_chars = 2) ----------------------------------------------
    pos("output_too_short", "en", instruction="Does the A100 support bf16? Answer Y or N.", output="Y"),
    neg("output_too_short", "en", instruction="Does the T4 support bf16? Answer yes or no.", output="No"),
    pos("output_too_short", "zh", instruction="A100 支持 bf16 吗？只回答“是”或“否”。", output="是"),
    neg("output_too_short", "zh", instruction="T4 支持 bf16 吗？只回答“是”或“否”。", output="否。"),
    # --- length: output_too_long (small explicit bounds) --------------------------------------------
    pos("output_too_long", "en", config={"max_output_chars": 200},
        instruction="What is QLoRA?",
        output="QLoRA quantizes the frozen base model to 4-bit NF4, keeps the LoRA adapters in bf16, and "
        "backpropagates through the quantized weights into the adapters. Paged optimizers absorb memory "
        "spikes, so a 65B model fits on a single 48 GB GPU."),
    neg("output_too_long", "en", config={"max_output_chars": 200},
        instruction="What is QLoRA?",
        output="QLoRA quantizes the frozen base model to 4-bit NF4 and trains LoRA adapters in bf16 on top, "
        "so a 65B model fits on a single 48 GB GPU."),
    pos("output_too_long", "zh", config={"max_output_chars": 80},
        instruction="什么是 QLoRA？",
        output="QLoRA 把冻结的基础模型量化成 4-bit NF4，LoRA 适配器保持 bf16 精度，梯度穿过量化后的权重"
        "只回传到适配器上；再配合分页优化器吸收显存峰值，一张 48 GB 的显卡就能微调 65B 的模型。"),
    neg("output_too_long", "zh", config={"max_output_chars": 80},
        instruction="什么是 QLoRA？",
        output="QLoRA 把基础模型量化成 4-bit NF4，在上面用 bf16 训练 LoRA 适配器，一张 48 GB 显卡就能微调 65B 模型。"),
    # --- length: too_many_tokens (word-level tokenizer trained on the fly, max_tokens = 48) ----------
    # A sample counts its text tokens plus TURN_OVERHEAD_TOKENS (8) for each of its two messages.
    pos("too_many_tokens", "en", config={"max_tokens": 48}, tokens=True,
        instruction="Summarize what LoRA changes in a transformer layer.",
        output="LoRA freezes the pretrained weight matrix and learns two small matrices whose product is added "
        "to it, so only a few million parameters are trained and the optimizer state stays small."),
    neg("too_many_tokens", "en", config={"max_tokens": 48}, tokens=True,
        instruction="Summarize what LoRA changes in a transformer layer.",
        output="LoRA freezes the pretrained weights and trains two small low-rank matrices added to them."),
    pos("too_many_tokens", "zh", config={"max_tokens": 48}, tokens=True,
        instruction="概括 LoRA 对 Transformer 层做了什么改动。",
        output="LoRA 冻结预训练的权重矩阵，只学习两个很小的矩阵，把它们的乘积加到原来的权重上。"),
    neg("too_many_tokens", "zh", config={"max_tokens": 48}, tokens=True,
        instruction="概括 LoRA 做了什么。",
        output="冻结原权重，只训练两个小矩阵。"),
    # --- language: unexpected_language ------------------------------------------------------------
    pos("unexpected_language", "en", config={"languages": ["zh"]},
        instruction="How many epochs should I train a LoRA adapter for?",
        output="Usually one to three; watch the eval loss and stop when it starts to rise."),
    neg("unexpected_language", "en", config={"languages": ["en"]},
        instruction="What does the Chinese character 的 mean, and how is it pronounced?",
        output="It marks possession, much like 's in English, and is usually pronounced de."),
    pos("unexpected_language", "zh", config={"languages": ["en"]},
        instruction="LoRA 适配器一般训练几个 epoch？",
        output="通常一到三个；观察 eval loss，开始上升时就停止训练。"),
    neg("unexpected_language", "zh", config={"languages": ["zh"]},
        instruction="训练时报错 CUDA out of memory 怎么办？",
        output="把 batch size 减半，打开 gradient checkpointing，必要时改用 QLoRA 的 4-bit 量化。"),
    # --- language: language_mismatch ----------------------------------------------------------------
    pos("language_mismatch", "en", instruction="How many epochs should I train a LoRA adapter for?",
        output="通常一到三个；观察 eval loss，开始上升时就停止训练。"),
    neg("language_mismatch", "en", instruction="How do I load a model in 4-bit with transformers?",
        output="Pass `load_in_4bit=True` through a BitsAndBytesConfig to `from_pretrained`."),
    pos("language_mismatch", "zh", instruction="LoRA 适配器一般训练几个 epoch？",
        output="Usually one to three; watch the eval loss and stop when it starts to rise."),
    neg("language_mismatch", "zh", instruction="怎么用 transformers 以 4-bit 加载模型？",
        output="在 `from_pretrained` 里传入 BitsAndBytesConfig(load_in_4bit=True) 就可以了。"),
    # --- exact_duplicates: exact_duplicate -----------------------------------------------------------
    pos("exact_duplicate", "en", reference=[KEPT_RANK_EN],
        instruction="how do I pick the LoRA rank",  # case and punctuation differ only
        output="Start with rank 8, and double it if the eval loss stops improving: higher ranks cost more memory."),
    neg("exact_duplicate", "en", reference=[KEPT_RANK_EN],
        instruction="How do I pick the LoRA rank?",
        output="Start with rank 16 and halve it if the model overfits; lower ranks cost less memory."),
    pos("exact_duplicate", "zh", reference=[KEPT_RANK_ZH],
        instruction="LoRA的秩怎么选?",  # no space, half-width punctuation
        output="先用 8, 如果 eval loss 不再下降就翻倍; 秩越高, 显存占用越大."),
    neg("exact_duplicate", "zh", reference=[KEPT_RANK_ZH],
        instruction="LoRA 的秩怎么选？",
        output="先用 16，如果模型过拟合就减半；秩越低，显存占用越小。"),
    # --- near_duplicates: near_duplicate --------------------------------------------------------------
    pos("near_duplicate", "en", reference=[KEPT_CKPT_EN],
        instruction="Why does gradient checkpointing save memory during fine-tuning?",
        output="It stores only some activations during the forward pass and recomputes the rest in the backward "
        "pass, so activation memory drops sharply at the cost of roughly one extra forward pass."),
    neg("near_duplicate", "en", reference=[KEPT_CKPT_EN],
        instruction="Why does gradient checkpointing save memory during fine-tuning?",
        output="Activations dominate memory for long sequences. Checkpointing discards most of them after each "
        "layer and recomputes them when the gradients are needed, trading about a third more compute for memory."),
    pos("near_duplicate", "zh", reference=[KEPT_CKPT_ZH],
        instruction="为什么梯度检查点能在微调时节省显存？",
        output="前向传播时只保留一部分激活值，反向传播时再重新计算其余的激活值，"
        "所以激活占用的显存大幅下降，代价是大约多做一次前向计算。"),
    neg("near_duplicate", "zh", reference=[KEPT_CKPT_ZH],
        instruction="为什么梯度检查点能在微调时节省显存？",
        output="长序列训练时，显存主要被激活值占用。梯度检查点在每层之后丢掉大部分激活，"
        "等需要计算梯度时再重算出来，用大约三分之一的额外计算换取显存。"),
    # --- context: context_dependent -------------------------------------------------------------
    pos("context_dependent", "en", instruction="How do I shard the optimizer state?",
        output="As mentioned in the previous section, ZeRO-1 splits the optimizer state across the data-parallel "
               "ranks, so each GPU keeps only its slice."),
    neg("context_dependent", "en", instruction="How do I shard the optimizer state?",
        output="Use ZeRO-1: it splits the optimizer state across the data-parallel ranks, so each GPU keeps only "
               "its slice, as the DeepSpeed paper describes."),
    pos("context_dependent", "zh", instruction="向量检索怎么加速？",
        output="上面提到的基于 Faiss 的方案可以换成 IVF 索引，先聚类再在少数簇里查找。"),
    neg("context_dependent", "zh", instruction="向量检索怎么加速？",
        output="可以用 Faiss 的 IVF 索引：先把向量聚成若干簇，查询时只在最近的几个簇里查找。"),
    # --- context: missing_link -------------------------------------------------------------------
    pos("missing_link", "en", instruction="How do I profile a slow training step?",
        output="Please see this very interesting PyTorch guide.",
        source="## Profiling\n\nPlease see [this very interesting PyTorch guide](https://pytorch.org/tutorials/"
               "recipes/recipes/profiler_recipe.html)."),
    neg("missing_link", "en", instruction="How do I profile a slow training step?",
        output="Wrap a few steps in torch.profiler.profile and sort the table by CUDA time to see which kernels "
               "dominate."),
    pos("missing_link", "zh", instruction="什么是向量数据库？",
        output="Pinecone 的这篇博客 What is a Vector Database 讲得很清楚。",
        source="## 向量数据库\n\nPinecone 的这篇博客 [What is a Vector Database](https://www.pinecone.io/learn/"
               "vector-database/) 讲得很清楚。"),
    neg("missing_link", "zh", instruction="什么是向量数据库？",
        output="向量数据库存储文本或图片的向量表示，并按向量之间的相似度检索最近的条目。"),
    # --- context: opens_with_connective ----------------------------------------------------------
    pos("opens_with_connective", "en", instruction="How much memory does mixed precision save?",
        output="However, the master weights stay in fp32, so the saving is mostly in activations."),
    neg("opens_with_connective", "en", instruction="How much memory does mixed precision save?",
        output="Mostly activation memory: the master weights stay in fp32, however, so the weights cost as much "
               "as before."),
    pos("opens_with_connective", "zh", instruction="什么是 Agent？",
        output="而任何一个 Agent 都由规划、记忆和工具调用三部分组成。"),
    neg("opens_with_connective", "zh", instruction="什么是 Agent？",
        output="Agent 是能自己规划步骤、调用工具并记住中间结果的大模型应用，而不是只回答一次问题的对话模型。"),
    # --- context: unfulfilled_lead_in ------------------------------------------------------------
    pos("unfulfilled_lead_in", "en", instruction="How do I count the parameters of a model?",
        output="Sum numel() over model.parameters(). Here is the script:"),
    neg("unfulfilled_lead_in", "en", instruction="How do I count the parameters of a model?",
        output="Sum numel() over the parameters. Here is the script:\n\n```python\n"
               "total = sum(p.numel() for p in model.parameters())\n```"),
    pos("unfulfilled_lead_in", "zh", instruction="如何统计模型的参数量？",
        output="对 model.parameters() 里每个张量的 numel() 求和即可，代码如下。"),
    neg("unfulfilled_lead_in", "zh", instruction="如何统计模型的参数量？",
        output="对每个参数张量的 numel() 求和即可，代码如下：\n\n```python\n"
               "total = sum(p.numel() for p in model.parameters())\n```"),
]


# --- a token counter trained on the fly -----------------------------------------------------


def _train_tokenizer():
    """Word-level: one token per whitespace-separated word and per Han character ([UNK] otherwise)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(r"[\u4e00-\u9fff]"), behavior="isolated"),
    ])
    corpus = [t for e in EXAMPLES if e.tokens for t in (e.sample.instruction, e.sample.output)]
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    return tok


@pytest.fixture(scope="module")
def count_tokens(tmp_path_factory):
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    _train_tokenizer().save(str(path))
    return load_token_counter(str(path))  # the counter the CLI loads for checks.tokenizer


# Sensible samples beyond the table that a check once got wrong.
REGRESSIONS: list[Example] = [
    # A one-letter answer to a yes/no question: "y" is a French and Spanish word, so "Y" was
    # detected as "fr" and the English sample got language_mismatch. A single letter is unknown.
    neg("language_mismatch", "en", instruction="Does the A100 support bf16? Answer Y or N.", output="Y"),
]


# --- the tests ----------------------------------------------------------------------------------


def test_every_reason_code_has_examples():
    keys = [(e.code, e.lang, e.polarity) for e in EXAMPLES]
    assert len(keys) == len(set(keys)), "an example is listed twice"
    assert set(keys) == set(itertools.product(REASON_CODES, LANGS, POLARITIES))


def test_token_examples_straddle_max_tokens(count_tokens):
    """The too_many_tokens examples are near misses of each other, not far apart."""
    for e in EXAMPLES:
        if e.tokens:
            total = sum(count_tokens([e.sample.instruction, e.sample.output])) + 2 * TURN_OVERHEAD_TOKENS
            limit = e.config["max_tokens"]
            assert (total > limit) == (e.polarity == "positive"), e.id
            assert abs(total - limit) <= 24, (e.id, total)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_reason_code(example: Example, request):
    ctx = CheckContext(
        ChecksConfig(**example.config),
        reference=example.reference,
        count_tokens=request.getfixturevalue("count_tokens") if example.tokens else None,
        source_texts={example.sample.id: example.source} if example.source is not None else {},
    )
    result = run_checks([example.sample], ctx)
    found = [f.code for f in result[example.sample.id]]
    if example.polarity == "positive":
        assert example.code in found, f"{example.id}: expected {example.code}, got {found}"
        finding = next(f for f in result[example.sample.id] if f.code == example.code)
        assert finding.severity == REASON_CODES[example.code][0]
    else:
        assert example.code not in found, f"{example.id}: {example.code} reported on a near miss ({found})"


@pytest.mark.parametrize("example", REGRESSIONS, ids=lambda e: e.id)
def test_regression(example: Example, request):
    test_reason_code(example, request)
