"""Questions made from headings: numbering dropped, a subject in every question, templates that
fit what the section is. Each case is a short note in the style of real course and interview notes."""

from __future__ import annotations

import pytest

from factory.config import NotesConfig
from factory.sample import Sample
from sources.markdown_notes import extract_pairs

ZH_BODY = "团队里每个工程师都需要知道这些细节，以及实际使用时需要注意的限制和默认值。"
EN_BODY = "Every engineer on the team needs to know these details and the limits that apply before using it."


def extract(text: str) -> list[Sample]:
    return extract_pairs(text, uri="notes/n.md", config=NotesConfig(), content_hash="c0ffee")


def question_for(heading_line: str, body: str, parents: str = "") -> str | None:
    """The question made for the last heading of `parents` + `heading_line`, with `body` as its text."""
    samples = extract(f"{parents}{heading_line}\n\n{body}\n")
    last = heading_line.lstrip("#").strip()
    found = [s.instruction for s in samples if s.source.locator["heading_path"][-1:] == [last]]
    return found[0] if found else None


# ---------------------------------------------------------------------------- numbering


@pytest.mark.parametrize(("heading", "expected"), [
    ("#### 4.1.7.3 分布式哈希表", "什么是分布式哈希表？"),
    ("### 1.2总结", None),  # a facet without a topic: no pair rather than "什么是 2总结？"
    ("#### （2）数据新鲜度", "什么是数据新鲜度？"),
    ("#### (3) 来源验证和可解释性", "请介绍一下来源验证和可解释性。"),
    ("### 3）关键词表索引", "什么是关键词表索引？"),
    ("## 第三章 流水并行", "什么是流水并行？"),
    ("## 一、数据并行", "什么是数据并行？"),
    ("### 7.3 LangChain 如何链接多个组件处理一个特定的下游任务？", "LangChain 如何链接多个组件处理一个特定的下游任务？"),
    ("### 📚 2.1 张量并行", "什么是张量并行？"),
])
def test_chinese_numbering_never_reaches_the_question(heading: str, expected: str | None) -> None:
    assert question_for(heading, ZH_BODY) == expected


@pytest.mark.parametrize(("heading", "expected"), [
    ("### 1.1 Gradient checkpointing", "What is gradient checkpointing?"),
    ("### Step 2: Train the adapter", "How do I train the adapter?"),
    ("### Step 1 — set up an identical stack on each GPU", "How do I set up an identical stack on each GPU?"),
    ("### A. Static batching", "What is static batching?"),
    ("### IV. Continuous batching", "What is continuous batching?"),
    ("### (1) Prefill throughput", "What is prefill throughput?"),
    ("## Chapter 3: Tensor parallelism", "What is tensor parallelism?"),
])
def test_english_numbering_never_reaches_the_question(heading: str, expected: str) -> None:
    body = "The prefill, the batching and the tensor work matter here; " + EN_BODY
    assert question_for(heading, body) == expected


# ---------------------------------------------------------------------------- the subject


def test_a_label_heading_asks_about_its_nearest_meaningful_parent_in_chinese() -> None:
    parents = "# 第4章 新的模型架构\n\n## 4.1 混合专家模型\n\n"
    assert question_for("### 4.1.3 生成器", ZH_BODY, parents) == "在混合专家模型中，生成器是什么？"
    assert question_for("### 4.1.4 实验设置", ZH_BODY, parents) == "混合专家模型的实验是怎样设置的？"
    assert question_for("#### （1）预训练", ZH_BODY, parents) == "混合专家模型是如何预训练的？"
    # a parent that is itself a label is passed over: "总结" says nothing about its subject
    assert question_for("### 1.2 优点", ZH_BODY, "# vLLM\n\n## 1. 总结\n\n") == "vLLM 有哪些优点？"


def test_a_label_heading_asks_about_its_nearest_meaningful_parent_in_english() -> None:
    parents = "# How to Choose a Cloud Provider\n\n"
    assert question_for("## Accelerators", EN_BODY, parents) == \
        "What should I know about accelerators when choosing a cloud provider?"
    assert question_for("## Overview", EN_BODY, "# vLLM\n\n") == "Can you give an overview of vLLM?"
    assert question_for("## Usage", EN_BODY, "# Ollama\n\n") == "How do I use Ollama?"
    assert question_for("## Example", EN_BODY, "# Ollama\n\n") == "Can you show an example of Ollama?"


def test_without_any_topic_a_label_heading_makes_no_pair() -> None:
    assert extract(f"## Overview\n\n{EN_BODY}\n\n## 简介\n\n{ZH_BODY}\n") == []


def test_the_file_name_is_the_topic_when_the_note_has_no_single_title() -> None:
    note = f"# 1.基本概念\n\n{ZH_BODY}\n\n# 2.RAG解决的问题\n\n{ZH_BODY}\n"
    samples = extract_pairs(note, uri="rag/检索增强生成.md", config=NotesConfig(), content_hash="c")
    assert [s.instruction for s in samples] == ["检索增强生成是如何定义的？", "RAG 解决了哪些问题？"]


# ---------------------------------------------------------------------------- templates


@pytest.mark.parametrize(("heading", "expected"), [
    ("Don't buy what you don't really need", "Why shouldn't you buy what you don't really need?"),
    ("Always plan to have more nodes than needed", "Why should you always plan to have more nodes than needed?"),
    ("Beware of hardware and software lock-in scenarios",
     "Why should you beware of hardware and software lock-in scenarios?"),
    ("Get The Size Of A Database", "How do I get the size of a database?"),
    ("Extracting Nested JSON Data", "How do I extract nested JSON data?"),
    ("Set Up GPG Signing Key", "How do I set up GPG signing key?"),
    ("Postgres Does Not Support Unsigned Integers", "Does Postgres support unsigned integers?"),
    ("Table Names Are Treated As Lower-Case By Default", "Are table names treated as lower-case by default?"),
    ("How to choose an inference framework", "How do I choose an inference framework?"),
    ("Why pay for more storage when you can clean it up", "Why pay for more storage when you can clean it up?"),
    ("Prefill and Decode", "What are prefill and decode?"),
])
def test_english_templates_fit_what_the_heading_is(heading: str, expected: str) -> None:
    body = "Postgres keeps a catalog of every database; the prefill, the decode and the nodes matter. " + EN_BODY
    assert question_for(f"# {heading}", body) == expected


@pytest.mark.parametrize(("heading", "expected"), [
    ("LayerNorm的作用", "LayerNorm 有什么作用？"),
    ("Word2Vec原理", "Word2Vec 的原理是什么？"),
    ("Word2Vec概述", "请概述一下 Word2Vec。"),
    ("Agent的挑战", "Agent 有哪些挑战？"),
    ("RAG vs. SFT", "RAG 和 SFT 有什么区别？"),
    ("减轻毒性", "如何减轻毒性？"),
    ("检索增强 LLM 解决的问题", "检索增强 LLM 解决了哪些问题？"),
    ("更大规模的数据集会缓解重复训练带来的性能下降", "更大规模的数据集会缓解重复训练带来的性能下降吗？"),
    ("将 NSP 任务换成了 SOP 任务", "为什么要将 NSP 任务换成 SOP 任务？"),
    ("为什么需要位置编码", "为什么需要位置编码？"),
    ("有了ZeRO系列，为什么还需要3D并行?", "有了ZeRO系列，为什么还需要3D并行？"),
    ("每次训练结束之后必须记录下来的全部内容。", "请介绍一下每次训练结束之后必须记录下来的全部内容。"),
])
def test_chinese_templates_fit_what_the_heading_is(heading: str, expected: str) -> None:
    assert question_for(f"## {heading}", ZH_BODY, "# 大模型\n\n") == expected


def test_chinese_questions_end_in_full_width_marks_only() -> None:
    samples = extract(f"# 微调\n\n## 学习率怎么设?\n\n{ZH_BODY}\n\n## 请介绍一下全参数微调。\n\n{ZH_BODY}\n")
    questions = [s.instruction for s in samples]
    assert questions == ["学习率怎么设？", "请介绍一下全参数微调。"]
    assert not any(q.endswith(("?", "。。")) for q in questions)


# ---------------------------------------------------------------------------- round two: what real notes wrote


@pytest.mark.parametrize(("heading", "expected"), [
    ("## Drizzle Tracks Migrations In A Log Table", "Does Drizzle track migrations in a log table?"),
    ("## Python Uses Reference Counting", "Does Python use reference counting?"),
    ("## Preferring fixed shapes to dynamic ones", "Why prefer fixed shapes to dynamic ones?"),
    ("## Key spec differences: H200 vs B200", "What is the difference between H200 and B200?"),
    ("## Approach B.1: gradient accumulation", "What is gradient accumulation?"),
    ("## From Adam Moody's team at LLNL", None),  # where a note came from, not what it says
])
def test_english_statement_and_provenance_headings(heading: str, expected: str | None) -> None:
    assert question_for(heading, EN_BODY, parents="# Training notes\n\n") == expected


@pytest.mark.parametrize(("heading", "expected"), [
    ("## 常见的并行策略", "常见的并行策略有哪些？"),
    ("## QA：什么是 KV Cache？", "什么是 KV Cache？"),
    ("## 旋转位置编码 RoPE篇", "什么是旋转位置编码 RoPE？"),
    ("## 这门课的意义", None),  # which course? only the note knows
])
def test_chinese_list_qa_and_chapter_headings(heading: str, expected: str | None) -> None:
    assert question_for(heading, ZH_BODY, parents="# 大模型笔记\n\n") == expected


def test_a_category_before_the_subject_in_a_chinese_title_is_dropped() -> None:
    samples = extract(f"# 算法 - 并查集\n\n{ZH_BODY}\n")
    assert [s.instruction for s in samples] == ["什么是并查集？"]


def test_exercise_sub_headings_ask_about_their_problem() -> None:
    note = (f"# 10.1 斐波那契数列\n\n## 题目描述\n\n求斐波那契数列的第 n 项，n <= 39，前两项是 0 和 1。\n\n"
            f"## 解题思路\n\n递归会重复计算子问题，所以用动态规划，只保存前两项，时间复杂度 O(N)。\n")
    assert [s.instruction for s in extract(note)] == ["斐波那契数列这道题要求什么？", "斐波那契数列这道题怎么解？"]
    note = (f"# 146. LRU Cache\n\n## Problem\n\n{EN_BODY}\n\n## Solution\n\nKeep a hash map from key to a node of a "
            f"doubly linked list; move a node to the front on every get and drop the tail when the cache is full.\n")
    assert [s.instruction for s in extract(note)] == ["What does the LRU cache problem ask?", "How do you solve LRU cache?"]


def test_a_generic_chinese_subject_is_replaced_by_the_topic() -> None:
    note = f"# 参数高效微调\n\n## 1.BitFit\n\n### 1.2 技术原理\n\n{ZH_BODY}\n"
    assert [s.instruction for s in extract(note)][-1] == "BitFit 的原理是什么？"


@pytest.mark.parametrize(("heading", "expected"), [
    ("## Audit Your Ruby Project For Any CVEs", "How do I audit my Ruby project for any CVEs?"),
    ("## Grow your own digital garden", "How do I grow my own digital garden?"),
    ("## Arrays and strings", "What are arrays and strings?"),  # a plural noun, no verb
    ("## Map of the territory", "What is map of the territory?"),
])
def test_a_verb_the_word_lists_do_not_know_is_told_by_its_object(heading: str, expected: str) -> None:
    assert question_for(heading, EN_BODY + " Ruby projects use it too.") == expected
