"""Answers made from a section's text: math, tables, HTML tokens, images and links as a reader of
the rendered note would understand them, and no answer that needs the note to make sense."""

from __future__ import annotations

from factory.config import NotesConfig
from factory.sample import Sample
from sources.markdown_notes import extract_pairs


def extract(text: str, config: NotesConfig | None = None) -> list[Sample]:
    return extract_pairs(text, uri="notes/n.md", config=config or NotesConfig(), content_hash="c0ffee")


def answers(text: str, config: NotesConfig | None = None) -> dict[str, str]:
    return {s.instruction: s.output for s in extract(text, config)}


# ---------------------------------------------------------------------------- math


def test_chinese_math_is_kept_verbatim() -> None:
    note = ("# 位置编码\n\n## 三角式\n\n"
            "三角函数式位置编码的定义如下：\n\n"
            "$$\n\\left\\{\\begin{array}{l}p_{k, 2 i}=\\sin \\left(k / 10000^{2 i / d}\\right)\\end{array}\\right.\n$$\n\n"
            "其中$p_{k,2i}$,$p_{k,2i+1}$分别是位置$k$的编码向量的第$2i$,$2i+1$个分量，集合记为$\\{a\\,b\\}$，"
            "范数记为$\\|x\\|$。\n")
    [answer] = answers(note).values()
    assert "$$\n\\left\\{\\begin{array}{l}p_{k, 2 i}=\\sin \\left(k / 10000^{2 i / d}\\right)\\end{array}\\right.\n$$" in answer
    assert "其中$p_{k,2i}$,$p_{k,2i+1}$分别是位置$k$的编码向量的第$2i$,$2i+1$个分量，集合记为$\\{a\\,b\\}$，范数记为$\\|x\\|$。" in answer


def test_english_math_is_kept_verbatim_and_money_is_not_math() -> None:
    note = ("# Attention\n\n## Scaled dot-product attention\n\n"
            "The scores are $\\mathrm{softmax}(QK^T / \\sqrt{d_k})$ where $d_k$ is the key size and "
            "$W_q$, $W_k$ are learned. A run costs $5 to $10 on a rented GPU.\n")
    [answer] = answers(note).values()
    assert answer == ("The scores are $\\mathrm{softmax}(QK^T / \\sqrt{d_k})$ where $d_k$ is the key size and "
                      "$W_q$, $W_k$ are learned. A run costs $5 to $10 on a rented GPU.")


def test_a_formula_with_pipes_keeps_its_table_intact() -> None:
    note = ("# 范数\n\n## 常见范数\n\n几种常见范数的定义：\n\n"
            "| 名称 | 公式 |\n|---|---|\n| L1 范数 | $\\|x\\|_1 = \\sum_i |x_i|$ |\n| 最大范数 | $|x|_\\infty$ |\n")
    [answer] = answers(note).values()
    assert answer.endswith("| 名称 | 公式 |\n|---|---|\n| L1 范数 | $\\|x\\|_1 = \\sum_i \\|x_i\\|$ |\n"
                           "| 最大范数 | $\\|x\\|_\\infty$ |")
    note = ("# Flags\n\n## Shell operators\n\nThe operators you will meet:\n\n"
            "| Operator | Meaning |\n|:--|--:|\n| `a \\| b` | pipe |\n| `a || b` | or |\n")
    [answer] = answers(note).values()
    assert answer.endswith("| Operator | Meaning |\n|:--|--:|\n| a \\| b | pipe |\n| a \\|\\| b | or |")


# ---------------------------------------------------------------------------- HTML


def test_angle_tokens_stay_and_comments_and_images_go() -> None:
    note = ("# Tokenizer\n\n## Special tokens\n\n"
            "Each sample is wrapped as <begin> text <end>, and every speaker turn starts with <pid>; "
            "the end of text is </s>.<!-- TODO: add the image --> <img src=\"tokens.png\" width=\"300\"> "
            "The tokenizer never splits them.\n")
    [answer] = answers(note).values()
    assert answer == ("Each sample is wrapped as <begin> text <end>, and every speaker turn starts with <pid>; "
                      "the end of text is </s>. The tokenizer never splits them.")
    note = ("# 分词\n\n## 特殊符号\n\n每条样本以 <begin> 开始、以 <end> 结束，<pid> 表示说话人。\n\n"
            "<div align=\"center\"><img src=\"a.png\"/></div>\n\n<!-- 以后补充 -->\n\n分词器不会切开这些符号。\n")
    [answer] = answers(note).values()
    assert answer == "每条样本以 <begin> 开始、以 <end> 结束，<pid> 表示说话人。\n\n分词器不会切开这些符号。"


# ---------------------------------------------------------------------------- images and figures


def test_images_go_without_their_alt_text_or_the_sentences_that_point_at_them() -> None:
    note = ("# 混合专家模型\n\n## 分布式混合专家\n\n"
            "分布式混合专家把专家放在不同的节点上，每个节点只负责一部分专家的计算。其整体结构如下图所示：\n\n"
            "![dmoe](images/dmoe.png)\n\n"
            "Bing Chat 就是利用检索来增强输出的典型产品，下图展示的就是它的产品截图。\n\n"
            "从图中可以看出，专家越多，通信开销越大。\n")
    [answer] = answers(note).values()
    assert answer == ("分布式混合专家把专家放在不同的节点上，每个节点只负责一部分专家的计算。\n\n"
                      "Bing Chat 就是利用检索来增强输出的典型产品。\n\n专家越多，通信开销越大。")
    note = ("# Parallelism\n\n## Pipeline parallelism\n\n"
            "The model is cut into stages that run on different GPUs, as shown in the figure below:\n\n"
            "![pp](img/pipeline.png)\n\n"
            "As shown in the diagram above, the first stage idles while the last one works.\n")
    [answer] = answers(note).values()
    assert answer == "The model is cut into stages that run on different GPUs.\n\nThe first stage idles while the last one works."


def test_a_section_whose_content_was_the_figure_makes_no_pair() -> None:
    assert extract("# 适配\n\n## 探测\n\n整体的形式如下图所示：\n\n![probing](images/probing.png)\n") == []
    assert extract("# Results\n\n## StereoSet\n\nHere is the chart of the results:\n\n![chart](chart.png)\n") == []


def test_a_lead_in_to_a_figure_goes_with_the_figure() -> None:
    note = ("# MoE\n\n## Switch Transformer\n\nSwitch Transformer 简化了 MoE 的路由算法，每个 token 只路由到一个专家。\n\n"
            "结构如下：\n\n![switch](images/switch.png)\n\n这样做大大降低了计算和通信的开销。\n")
    [answer] = answers(note).values()
    assert answer == "Switch Transformer 简化了 MoE 的路由算法，每个 token 只路由到一个专家。\n\n这样做大大降低了计算和通信的开销。"
    note = ("# Inference\n\n## Paged attention\n\nPaged attention stores the KV cache in fixed-size blocks.\n\n"
            "The layout:\n\n![blocks](blocks.png)\n\nBlocks are allocated on demand, so little memory is wasted.\n")
    [answer] = answers(note).values()
    assert answer == ("Paged attention stores the KV cache in fixed-size blocks.\n\n"
                      "Blocks are allocated on demand, so little memory is wasted.")


def test_bare_code_answers_a_how_to_but_not_a_what_is() -> None:
    code = "```python\nresult = jieba.tokenize('永和服装饰品有限公司', mode='search')\n```"
    assert extract(f"# 分词\n\n## 搜索模式\n\n{code}\n") == []
    assert answers(f"# jieba\n\n## 安装\n\n```bash\npip install jieba\n```\n") == {
        "如何安装 jieba？": "```bash\npip install jieba\n```"}
    assert extract("# Tools\n\n## Search mode\n\n```python\nsearch(mode='fast')\n```\n") == []


def test_a_diagram_drawn_in_code_is_still_there() -> None:
    [answer] = answers("# 网络\n\n## 拓扑\n\n节点之间的连接如下图所示：\n\n```text\nA --- B\n|     |\nC --- D\n```\n").values()
    assert answer == "节点之间的连接如下图所示：\n\n```text\nA --- B\n|     |\nC --- D\n```"


# ---------------------------------------------------------------------------- links


def test_links_keep_their_url_when_their_text_means_nothing_alone() -> None:
    note = ("# DCGM\n\n## Running diagnostics\n\n"
            "DCGM is documented [here](https://docs.nvidia.com/dcgm) and ships with "
            "[the dcgmi tool](https://github.com/NVIDIA/DCGM) that finds broken GPUs in minutes.\n")
    [answer] = answers(note).values()
    assert answer == ("DCGM is documented here (https://docs.nvidia.com/dcgm) and ships with "
                      "the dcgmi tool that finds broken GPUs in minutes.")
    note = "# 分词\n\n## jieba\n\n结巴分词是一个开源的中文分词项目，具体用法见[此链接](https://github.com/fxsjy/jieba)。\n"
    [answer] = answers(note).values()
    assert answer == "结巴分词是一个开源的中文分词项目，具体用法见此链接 (https://github.com/fxsjy/jieba)。"


def test_a_sentence_that_only_sends_the_reader_to_another_note_goes() -> None:
    note = ("# NUMA\n\n## Launchers\n\nWith SLURM, srun does all the binding work for you automatically. "
            "See the full launcher [here](../launch.md).\n\n- torchrun has no such flag, I showed how to bind in "
            "[this section](#numa).\n- accelerate has had a flag for it since version 0.28.\n")
    [answer] = answers(note).values()
    assert answer == ("With SLURM, srun does all the binding work for you automatically.\n\n"
                      "- accelerate has had a flag for it since version 0.28.")
    note = "# 分词\n\n## 调整词典\n\n用 add_word 和 del_word 可以在程序中动态修改词典。详见[这里](./用法.md)。\n"
    [answer] = answers(note).values()
    assert answer == "用 add_word 和 del_word 可以在程序中动态修改词典。"


def test_a_section_that_is_only_a_list_of_links_makes_no_pair() -> None:
    note = ("# 检索增强\n\n## 相关项目\n\n- [LlamaIndex](https://github.com/jerryjliu/llama_index)\n"
            "- [LangChain](https://github.com/hwchase17/langchain)\n- [Haystack](https://github.com/deepset-ai/haystack)\n\n"
            "## Inference engines\n\n- [vLLM](https://github.com/vllm-project/vllm)\n"
            "- [TGI](https://github.com/huggingface/text-generation-inference)\n")
    assert extract(note) == []


# ---------------------------------------------------------------------------- reference sections


def test_reference_and_navigation_sections_make_no_pairs() -> None:
    note = ("# 第4章 新的模型架构\n\n## 📚 延伸阅读\n\n混合专家模型的几篇代表性论文，按发表时间排列，供进一步阅读参考。\n\n"
            "### 基于检索的模型\n\n- REALM: Retrieval-Augmented Language Model Pre-Training. Kelvin Guu. 2020.\n"
            "- RETRO: Improving language models by retrieving from trillions of tokens. 2021.\n\n"
            "## 5. 参考文献\n\n1. Vaswani 等，Attention Is All You Need，2017。\n2. Brown 等，Language Models are Few-Shot Learners，2020。\n\n"
            "## 目录\n\n- 第一节 混合专家模型的结构与训练方法\n- 第二节 基于检索的模型与它们的评测\n")
    assert extract(note) == []
    note = ("# Inference\n\n## Table of contents\n\n- Concepts and the metrics that matter for serving\n"
            "- Frameworks and how to choose between them\n\n## Further reading\n\n"
            "The papers below shaped how inference servers batch requests today and are worth reading.\n\n"
            "## References\n\n1. Kwon et al., Efficient Memory Management for LLM Serving with PagedAttention, 2023.\n\n"
            "## See also\n\nThe chapter on networking explains why all-reduce latency matters for tensor parallelism.\n")
    assert extract(note) == []


# ---------------------------------------------------------------------------- lead-ins and length


def test_a_lead_in_is_answered_with_its_sub_sections() -> None:
    note = ("# BERT\n\n## 训练目标\n\nBERT的训练目标是：\n\n"
            "### MLM\n\n随机遮住 15% 的词，让模型根据上下文预测它们。\n\n"
            "### NSP\n\n判断第二句话是不是第一句话在原文中的下一句。\n")
    samples = extract(note)
    lead = samples[0]
    assert lead.instruction == "BERT 的训练目标是什么？"
    assert lead.output == ("BERT的训练目标是：\n\nMLM\n\n随机遮住 15% 的词，让模型根据上下文预测它们。\n\n"
                           "NSP\n\n判断第二句话是不是第一句话在原文中的下一句。")
    assert lead.source.locator["lines"] == [3, 13]
    assert len(samples) == 3  # the sub-sections keep their own pairs
    note = ("# Inference\n\n## Prefill and Decode\n\nDuring inference there are two stages:\n\n"
            "### Prefill\n\nAll prompt tokens are processed at once, in parallel.\n\n"
            "### Decode\n\nOne new token is generated at a time, each step reading the KV cache.\n")
    lead = extract(note)[0]
    assert lead.instruction == "What are prefill and decode?"
    assert lead.output == ("During inference there are two stages:\n\nPrefill\n\nAll prompt tokens are processed at once, "
                           "in parallel.\n\nDecode\n\nOne new token is generated at a time, each step reading the KV cache.")


def test_a_lead_in_whose_sub_sections_do_not_fit_makes_no_pair_of_its_own() -> None:
    long_zh = "这一段很长的说明，" * 120 + "结束。"
    note = f"# BERT\n\n## 训练目标\n\nBERT的训练目标是：\n\n### MLM\n\n{long_zh}\n\n### NSP\n\n{long_zh}\n"
    assert [s.source.locator["heading_path"][-1] for s in extract(note)] == ["MLM", "NSP"]
    long_en = "This sentence explains one more detail of the stage. " * 25
    note = f"# Inference\n\n## Stages\n\nThere are two stages:\n\n### Prefill\n\n{long_en}\n\n### Decode\n\n{long_en}\n"
    assert [s.source.locator["heading_path"][-1] for s in extract(note)] == ["Prefill", "Decode"]


def test_long_answers_end_at_a_sentence_never_at_a_colon_or_inside_code() -> None:
    config = NotesConfig(answer_max_chars=200)
    intro = "流水并行把网络切成多个阶段，分发到不同的设备上。" * 3
    note = f"# 并行\n\n## 流水并行\n\n{intro}\n\n具体的切分方法如下：\n\n```python\n" + "stage = split(model)\n" * 20 + "```\n"
    [sample] = extract(note, config)
    assert sample.output == intro
    sentence = "The first stage idles while the last one works, so the bubble grows with the stage count. "
    [sample] = extract(f"# Parallelism\n\n## Pipeline parallelism\n\n{sentence * 4}\n", config)
    assert sample.output == (sentence * 2).strip() and len(sample.output) <= 200
    # a code block alone over the cap is never cut: no pair rather than broken code
    assert extract("# Ops\n\n## Restart script\n\n```bash\n" + "echo restarting the server now\n" * 20 + "```\n", config) == []


# ---------------------------------------------------------------------------- residue


def test_zero_width_characters_and_unparsed_bold_markers_are_removed() -> None:
    note = ("# 显存\n\n## 显存占用\n\n模型参数\u200b占用的显存是**“参数量×每个参数的字节数”**，"
            "这一点**非常重要**。\u2060\n")
    [answer] = answers(note).values()
    assert answer == "模型参数占用的显存是“参数量×每个参数的字节数”，这一点非常重要。"
    note = "# Memory\n\n## Weights\n\n**Note:**the weights\u200b take params × bytes, and **bold** works too.\n"
    [answer] = answers(note).values()
    assert answer == "Note:the weights take params × bytes, and bold works too."


def test_provenance_trailers_are_dropped() -> None:
    note = ("# 检索增强\n\n> 原文链接：[万字长文: 检索增强 LLM](https://mp.weixin.qq.com/s/abc)\n\n"
            "## 基本概念\n\n检索增强就是给模型提供外部数据库，在回答时先检索相关的文档片段作为上下文。\n\n"
            "归档时间: 2021-03-01\n\n参考资料：\n\n- [ACL 2023 Tutorial](https://acl2023-retrieval-lm.github.io/)\n")
    assert answers(note) == {"检索增强是如何定义的？": "检索增强就是给模型提供外部数据库，在回答时先检索相关的文档片段作为上下文。"}
    note = ("# Get The Size Of A Database\n\nUse pg_database_size() to get the size of a database in bytes.\n\n"
            "h/t Jake Worth\n\nSource: [the Postgres docs](https://www.postgresql.org/docs/)\n\n"
            "[source](https://stackoverflow.com/a/1)\n")
    assert answers(note) == {"How do I get the size of a database?": "Use pg_database_size() to get the size of a database in bytes."}


# ---------------------------------------------------------------------------- pairs that were missed


def test_a_bold_question_is_answered_by_the_sub_sections_under_it() -> None:
    note = ("# 位置编码\n\n## 面试题\n\n**Q：为什么 Transformer 需要位置编码？**\n\n"
            "### 原因一\n\n自注意力对输入的顺序不敏感，打乱词序得到的结果相同。\n\n"
            "### 原因二\n\n语言的含义依赖词序，模型必须知道每个词的位置。\n")
    qa = [s for s in extract(note) if s.source.locator["rule"] == "qa"]
    assert [(s.instruction, s.output) for s in qa] == [(
        "为什么 Transformer 需要位置编码？",
        "原因一\n\n自注意力对输入的顺序不敏感，打乱词序得到的结果相同。\n\n原因二\n\n语言的含义依赖词序，模型必须知道每个词的位置。")]
    assert qa[0].source.locator["lines"] == [5, 13]
    note = ("# Serving\n\n**Q: Why is the first request slow?**\n\n"
            "The server compiles CUDA graphs on the first request, which takes a few seconds.\n")
    [sample] = extract(note)
    assert (sample.instruction, sample.output) == (
        "Why is the first request slow?", "The server compiles CUDA graphs on the first request, which takes a few seconds.")


def test_a_heading_ending_in_wenda_with_prose_still_makes_a_pair() -> None:
    note = "# 文本理解\n\n## 1.3 机器问答\n\n问机器一些问题，希望机器能提供我们想要的答案。传统方法基于模板或知识库，范围受限。\n"
    assert [s.instruction for s in extract(note)] == ["什么是机器问答？"]
    note = "# Models\n\n## Question answering\n\nThe model reads a passage and answers questions about it in a few words.\n"
    assert [s.instruction for s in extract(note)] == ["What is question answering?"]


def test_glossary_bullets_become_definition_pairs() -> None:
    note = ("# Troubleshooting NVIDIA GPUs\n\n## Glossary\n\n- DBE: Double Bit ECC Error\n"
            "- SDC: Silent Data Corruption\n- Xid error: an error report that the NVIDIA driver writes to the kernel log.\n")
    samples = extract(note)
    assert [(s.instruction, s.output, s.source.locator["rule"]) for s in samples] == [
        ("What does DBE stand for?", "DBE stands for Double Bit ECC Error.", "definition"),
        ("What does SDC stand for?", "SDC stands for Silent Data Corruption.", "definition"),
        ("What is Xid error?", "an error report that the NVIDIA driver writes to the kernel log.", "definition")]
    assert samples[1].source.locator["lines"] == [6, 6]
    note = "# 微调\n\n## 术语表\n\n- **适配器**：插入到模型中的小型可训练模块。\n- **LoRA**：一种对权重做低秩分解的微调方法。\n"
    assert [(s.instruction, s.output) for s in extract(note)] == [
        ("什么是适配器？", "插入到模型中的小型可训练模块。"), ("什么是 LoRA？", "一种对权重做低秩分解的微调方法。")]
