"""Pairs that stand without their note: no answer that leans on the sections around it, no
pointer to a page the answer does not carry, no diary heading or reading list made into a topic,
and a short how-to note's tool named in its question."""

from __future__ import annotations

from factory.config import NotesConfig
from factory.sample import Sample
from sources.markdown_notes import extract_pairs


def extract(text: str, uri: str = "notes/n.md") -> list[Sample]:
    return extract_pairs(text, uri=uri, config=NotesConfig(), content_hash="c0ffee")


def answers(text: str, uri: str = "notes/n.md") -> dict[str, str]:
    return {s.instruction: s.output for s in extract(text, uri)}


# ---------------------------------------------------------------------------- leaning on the note


def test_a_section_that_builds_on_the_one_before_makes_no_pair() -> None:
    note = ("# 向量检索\n\n## 暴力检索\n\n最简单的做法是把查询向量和库里的每个向量都算一遍内积，再取最大的 k 个，"
            "数据量小时这样就够了，也最容易验证正确性。\n\n"
            "## 加速\n\n上面提到的基于暴力检索的方案在千万级向量上太慢，所以要换成 IVF 索引，"
            "先把向量聚成若干簇，查询时只在最近的几个簇里查找。\n")
    got = answers(note)
    assert any("内积" in a for a in got.values())
    assert not any("上面提到" in a for a in got.values())
    note = ("# Sharding\n\n## ZeRO stage 1\n\nZeRO-1 splits the optimizer state across the data-parallel ranks, so each "
            "GPU keeps only its own slice of the Adam moments and master weights.\n\n"
            "## ZeRO stage 2\n\nAs mentioned in the previous section, the optimizer state is split; stage 2 also "
            "splits the gradients, and as we saw in the previous section this halves memory again.\n")
    got = answers(note)
    assert any("Adam moments" in a for a in got.values())
    assert not any("previous section" in a for a in got.values())


def test_a_leaning_first_sentence_goes_when_the_rest_stands_alone() -> None:
    note = ("# 训练\n\n## 学习率预热\n\n这一点前面已经提过。"
            "学习率预热是在训练开始的若干步里把学习率从很小的值线性升到目标值，"
            "这样可以避免 Adam 在二阶矩估计还不准的时候迈出过大的步子，导致训练发散。"
            "常见的设置是预热总步数的百分之一到百分之五。\n")
    [answer] = answers(note).values()
    assert answer.startswith("学习率预热是在训练开始的若干步里")
    note = ("# Training\n\n## Warmup\n\nAs mentioned earlier, this matters. "
            "Learning-rate warmup raises the learning rate linearly from almost zero to its target over the first "
            "steps, so that Adam does not take large steps while its second-moment estimates are still poor. "
            "A common choice is one to five percent of the total steps.\n")
    [answer] = answers(note).values()
    assert answer.startswith("Learning-rate warmup raises")


def test_pointers_to_other_sections_go_and_the_sentence_around_them_stays() -> None:
    note = ("# 安全\n\n## 有害信息\n\n模型可能输出有害信息（详见下一节），所以上线前要做红队测试，"
            "覆盖暴力、隐私和违法建议这几类提示，并记录每一类的拒答率。详见附录 B。\n")
    [answer] = answers(note).values()
    assert "详见" not in answer and "下一节" not in answer
    assert answer.startswith("模型可能输出有害信息，所以上线前要做红队测试")
    note = ("# Checkpoints\n\n## Saving\n\nSave the optimizer state with the weights (see the following sections), "
            "or a resumed run restarts Adam from zero and the loss jumps for a few hundred steps. "
            "We will come back to async saving later in the next chapter.\n")
    [answer] = answers(note).values()
    assert "following sections" not in answer and "next chapter" not in answer
    assert answer.startswith("Save the optimizer state with the weights, or a resumed run restarts Adam")


def test_a_sentence_that_only_points_at_a_linked_page_goes() -> None:
    note = ("# 检索\n\n## 向量数据库\n\n向量数据库存储文本或图片的向量表示，并按相似度检索最近的条目，"
            "常见的有 Milvus、Qdrant 和 pgvector。"
            "Pinecone 的这篇博客 [What is a Vector Database](https://www.pinecone.io/learn/vector-database/) 讲得很清楚。\n")
    [answer] = answers(note).values()
    assert "这篇博客" not in answer and "Pinecone" not in answer
    note = ("# Debugging\n\n## Profiling\n\nWrap a few training steps in torch.profiler.profile and sort the table by "
            "CUDA time to see which kernels dominate a slow step. For more details please see "
            "[this very interesting PyTorch guide](https://pytorch.org/tutorials/recipes/recipes/profiler_recipe.html).\n")
    [answer] = answers(note).values()
    assert answer == ("Wrap a few training steps in torch.profiler.profile and sort the table by CUDA time to see "
                      "which kernels dominate a slow step.")


# ---------------------------------------------------------------------------- what is no topic


def test_dated_and_diary_headings_make_no_pairs() -> None:
    note = ("# Reading log\n\n## 2023 February\n\nFinished the FlashAttention paper and tried the Triton tutorial "
            "on fused softmax, which took most of a weekend to get running on my old GPU.\n\n"
            "## Thoughts\n\nMaybe the data loader is the bottleneck after all, I should profile it next week and "
            "see whether pinning memory changes anything at all.\n")
    assert answers(note) == {}
    note = ("# 学习记录\n\n## 2023年3月\n\n读完了 FlashAttention 的论文，又跟着 Triton 教程写了融合的 softmax，"
            "在旧显卡上跑通花了一个周末。\n\n## 碎碎念\n\n也许瓶颈其实在数据加载，下周要测一下，看看锁页内存有没有用。\n")
    assert answers(note) == {}


def test_a_reading_list_with_remarks_on_some_entries_makes_no_pair() -> None:
    note = ("# Papers\n\n## Attention\n\n"
            "- [Attention Is All You Need](https://arxiv.org/abs/1706.03762)\n"
            "- [FlashAttention](https://arxiv.org/abs/2205.14135), read this one first\n"
            "- [Ring Attention](https://arxiv.org/abs/2310.01889), for long context\n"
            "- [Longformer](https://arxiv.org/abs/2004.05150)\n")
    assert answers(note) == {}
    note = ("# 论文\n\n## 注意力\n\n"
            "- [Attention Is All You Need](https://arxiv.org/abs/1706.03762)\n"
            "- [FlashAttention](https://arxiv.org/abs/2205.14135)，建议先读\n"
            "- [Ring Attention](https://arxiv.org/abs/2310.01889)，长上下文\n"
            "- [Longformer](https://arxiv.org/abs/2004.05150)\n")
    assert answers(note) == {}


# ---------------------------------------------------------------------------- the tool in the question


def test_a_how_to_note_in_a_tool_folder_names_the_tool() -> None:
    note = ("# Toggle Syntax Highlighting\n\nRun `:syntax off` to turn highlighting off for the current buffer and "
            "`:syntax on` to turn it back on; put either in your config to make it stick.\n")
    [question] = answers(note, uri="til/vim/toggle-syntax-highlighting.md")
    assert question == "In Vim, how do I toggle syntax highlighting?"
    [question] = answers(note, uri="til/training/toggle-syntax-highlighting.md")
    assert question == "How do I toggle syntax highlighting?"  # a folder that names no tool
    note = ("# 切换语法高亮\n\n用 `:syntax off` 关闭当前缓冲区的语法高亮，用 `:syntax on` 重新打开；"
            "写进配置文件就会一直生效。\n")
    [question] = answers(note, uri="til/vim/toggle-syntax-highlighting.md")
    assert question.startswith("在 Vim 中，")


def test_a_question_that_names_a_tool_already_is_left_as_it_is() -> None:
    note = ("# Switch Branches With Git Switch\n\nUse `git switch main` to move to a branch, and `git switch -c new` to "
            "create one and move to it in one step; it replaced the branch half of checkout.\n")
    [question] = answers(note, uri="til/vim/switch-branches.md")
    assert not question.startswith("In Vim")


# ---------------------------------------------------------------------------- resource lists and recommendations


def test_a_resource_list_of_linked_names_makes_no_pair() -> None:
    note = ("# Go libraries\n\n## Test\n\n"
            "- [Endly](https://github.com/viant/endly) - End to end functional test and automation framework.\n"
            "- [Goblin](https://github.com/franela/goblin) - Minimal and Beautiful Go testing framework.\n"
            "- [is](https://github.com/matryer/is) - Professional lightweight testing mini-framework for Go.\n")
    assert answers(note) == {}
    note = ("# 向量数据库\n\n## 开源实现\n\n"
            "- [Milvus](https://github.com/milvus-io/milvus) - 云原生的开源向量数据库\n"
            "- [Qdrant](https://github.com/qdrant/qdrant) - 用 Rust 写的向量检索引擎\n"
            "- [Chroma](https://github.com/chroma-core/chroma) - 面向大模型应用的嵌入数据库\n")
    assert answers(note) == {}


def test_a_list_that_explains_its_linked_entries_is_content() -> None:
    long = "it shards the optimizer state, the gradients and at stage 3 the parameters over the data-parallel ranks, " \
           "so that a model several times larger than one GPU's memory trains with plain data parallel code"
    note = ("# Training\n\n## Sharding libraries\n\n"
            f"- [DeepSpeed ZeRO](https://www.deepspeed.ai): {long}.\n"
            f"- [PyTorch FSDP](https://pytorch.org/docs/stable/fsdp.html): the same idea inside PyTorch; {long}.\n"
            f"- [Megatron-LM](https://github.com/NVIDIA/Megatron-LM): tensor and pipeline parallelism; {long}.\n")
    [answer] = answers(note).values()
    assert "DeepSpeed ZeRO: it shards the optimizer state" in answer


def test_site_tags_after_a_link_go_and_the_description_stays() -> None:
    note = ("# Design\n\n## Fonts\n\nInter is a typeface designed for user interfaces, with a focus on legibility of "
            "small text on screens. ([Web](https://rsms.me/inter)) ([HN](https://news.ycombinator.com/item?id=1)) "
            "It has many weights and a variable version.\n")
    [answer] = answers(note).values()
    assert answer == ("Inter is a typeface designed for user interfaces, with a focus on legibility of small text on "
                      "screens. It has many weights and a variable version.")
    note = ("# 字体\n\n## 思源黑体\n\n思源黑体是 Adobe 和 Google 合作的开源中日韩字体，有七种字重，适合屏幕和印刷两用。"
            "（[Code](https://github.com/adobe-fonts/source-han-sans)）（[HN](https://news.ycombinator.com/item?id=2)）\n")
    [answer] = answers(note).values()
    assert answer == "思源黑体是 Adobe 和 Google 合作的开源中日韩字体，有七种字重，适合屏幕和印刷两用。"


def test_a_recommendation_of_a_linked_page_is_no_answer() -> None:
    note = ("# Web\n\n## Accessibility\n\n[Learn Accessibility](https://web.dev/learn/accessibility) & "
            "[Build Accessible Web Apps](https://example.com/a11y) are great intros.\n\n"
            "[Lost in Translation](https://youtube.com/watch?v=x) talk is a nice one too.\n\n"
            "## REST\n\nI prefer [tRPC](https://trpc.io) or [GraphQL](https://graphql.org).\n")
    assert answers(note) == {}
    note = ("# 检索\n\n## 向量检索\n\n[Faiss 的官方 wiki](https://github.com/facebookresearch/faiss/wiki) 写得很清楚，"
            "值得一读。\n\n[这个系列教程](https://example.com/ann) 推荐阅读。\n")
    assert answers(note) == {}


def test_a_section_of_things_found_interesting_makes_no_pair() -> None:
    note = ("# Cryptocurrencies\n\nCryptocurrencies are digital currencies secured by cryptography and recorded on a "
            "distributed ledger that no single party controls.\n\n## Interesting\n\nMonero hides the sender with ring "
            "signatures and the receiver with stealth addresses, which makes payments hard to trace.\n")
    assert list(answers(note)) == ["What are Cryptocurrencies?"]


# ---------------------------------------------------------------------------- the note as a document


def test_sentences_narrating_the_chapter_go() -> None:
    note = ("# 第12章 环境影响\n\n## 气候变化\n\n在本章中，我们将讨论大语言模型对环境的影响。气候变化的主要原因是温室气体排放，"
            "自 1900 年以来平均表面温度上升了约 1.2°C，需要控制在 1.5°C 以下。我们将在第6节对排放的估算进行详细介绍。\n")
    [answer] = answers(note).values()
    assert answer == "气候变化的主要原因是温室气体排放，自 1900 年以来平均表面温度上升了约 1.2°C，需要控制在 1.5°C 以下。"
    note = ("# Tokenizers\n\n## Byte pair encoding\n\nIn this chapter we look at tokenizers. Byte pair encoding merges "
            "the most frequent pair of symbols again and again until the vocabulary reaches its target size, see "
            "section 3.2.\n")
    [answer] = answers(note).values()
    assert answer == ("Byte pair encoding merges the most frequent pair of symbols again and again until the "
                      "vocabulary reaches its target size.")


def test_a_sentence_that_only_mentions_this_section_is_kept_when_it_explains() -> None:
    note = ("# Sharding\n\n## ZeRO-3\n\nThe configs in this section shard the parameters too: every rank gathers a "
            "layer's weights just before its forward pass and frees them right after.\n")
    [answer] = answers(note).values()
    assert answer.startswith("The configs in this section shard the parameters too")


def test_citation_markers_go_and_indexes_stay() -> None:
    note = ("# Llama\n\n## 分词\n\nLlama-1 使用 BPE [10] 算法进行分词，由 sentencepiece 实现[3][4]。"
            "数字被拆成单个的数字，未知的 UTF-8 字符回退到字节。\n")
    [answer] = answers(note).values()
    assert answer == "Llama-1 使用 BPE 算法进行分词，由 sentencepiece 实现。数字被拆成单个的数字，未知的 UTF-8 字符回退到字节。"
    note = ("# Attention\n\n## Scaled scores\n\nScores are divided by the square root of the key size [12,13], so "
            "that softmax does not saturate; the entry scores[1] of a row is the second key's score.\n")
    [answer] = answers(note).values()
    assert "[12,13]" not in answer and "scores[1]" in answer


def test_headings_written_without_a_space_are_headings() -> None:
    note = ("# Llama\n\n## 训练数据\n\nLlama 在 1.4T token 的公开数据上预训练，包括 CommonCrawl、C4、GitHub 和维基百科。\n\n"
            "##6.4 生态系统\n\nLlama 的开源催生了大量衍生模型，比如 Alpaca、Vicuna 和 Chinese-LLaMA，它们在指令数据上继续微调。\n")
    got = answers(note)
    assert not any("##" in a or "生态系统" in a for a in got.values())
    assert len(got) == 2
    note = "# Go\n\n##1 Modules\n\nA module is a tree of Go packages with a go.mod file at its root that names its path.\n"
    assert not any("#" in a for a in answers(note).values())


def test_superscripts_stay_readable() -> None:
    note = ("# 排序\n\n## 冒泡排序\n\n冒泡排序每一轮把最大的元素交换到末尾，最坏情况下比较 N<sup>2</sup>/2 次，"
            "所以时间复杂度是 O(N<sup>2</sup>)。\n")
    [answer] = answers(note).values()
    assert "O(N^2)" in answer and "N^2/2" in answer
    note = "# Sorting\n\n## Bubble sort\n\nBubble sort swaps neighbours until no swap is left, O(N<sup>2</sup>) in the worst case.\n"
    [answer] = answers(note).values()
    assert "O(N^2)" in answer
