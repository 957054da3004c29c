"""factory/checks/questions.py: numbers left in questions, questions without a subject, and
instructions that ask nothing, in English and Chinese; the clean ones are near misses."""

import pytest

from factory.checks.questions import check_questions, missing_subject, not_a_question, numbering, split_question
from tests.factory.checks.sample_builders import codes, make_context, make_sample

CTX = make_context()


@pytest.mark.parametrize("question, number", [
    ("什么是 3 分布式哈希表？", "3"),
    ("什么是（6）Actor loss小结？", "（6）"),
    ("什么是 2总结？", "2"),
    ("4 缺点有哪些？", "4"),
    ("1 什么是 LLMs 复读机问题？", "1"),
    ("什么是 3）变换三: HyDE？", "3）"),
    ("请介绍一下 一、概述。", "一、"),
    ("What is 4.2 Overview?", "4.2"),
    ("What is 1 Introduction?", "1"),
    ("What is （2）Input Encoding?", "（2）"),
    ("What should I know about 2.3.1 Tokenization?", "2.3.1"),
])
def test_a_section_number_is_found(question, number):
    assert numbering(question) == number


@pytest.mark.parametrize("question", [
    "什么是 3D 并行？", "8 位量化是什么？", "什么是 3 个原因？", "2 的补码是什么？", "1 + 1 等于几？",
    "什么是 1维（1D）张量并行？", "3 分钟能训练完吗？", "1.5 倍学习率合适吗？", "0.75化成分数是多少？",
    "What are 3 ways to reduce GPU memory?", "What is 5G?", "What is 4-bit quantization?",
    "Should I train on 8 GPUs or 4?", "What is the difference between Tier 1 and Tier 2 clouds?",
    "4.5 gallons of coffee were divided among 18 thermoses. How many pints?", "How do I install Python 3?",
])
def test_a_number_that_belongs_to_the_subject_is_not(question):
    assert numbering(question) is None


def test_the_frame_is_split_off():
    assert split_question("什么是 3 分布式哈希表？") == ("什么是", "3 分布式哈希表")
    assert split_question("What should I know about Usage?") == ("What should I know about", "Usage")
    assert split_question("缺点有哪些？") == ("有哪些", "缺点")


@pytest.mark.parametrize("question", [
    "什么是实验？", "请介绍一下总结。", "什么是（5）总结？", "4 缺点有哪些？", "什么是参考文章？", "什么是这个？",
    "它是怎么工作的？", "What is Usage?", "What are the results?", "What should I know about debug?",
    "What is additional reading?", "How does it work?", "Are they all true?", "What is this?",
    "What is Glossary and concepts?", "什么是背景和动机？",
])
def test_a_label_or_pronoun_alone_has_no_subject(question):
    assert missing_subject(question)


@pytest.mark.parametrize("question", [
    "LoRA 的优缺点有哪些？", "实验设置中的 batch size 是多少？", "什么是实验跟踪？", "什么是梯度累积？",
    "What is the usage of the --bf16 flag?", "What are the results of the QLoRA paper?",
    "What does this SQL query return?", "When is it worth upgrading GPUs?", "Is it safe to train in fp16 on a T4?",
    "What is LoRA?", "Summarize the article.", "What is LoRA and QLoRA?",
])
def test_a_question_with_a_subject_is_fine(question):
    assert missing_subject(question) is None


@pytest.mark.parametrize("instruction, what", [
    ("Transformer Architecture", "a bare noun phrase"),
    ("The Great Gatsby", "a bare noun phrase"),
    ("分布式训练框架", "a bare noun phrase"),
    ("LoRA 原理", "a bare noun phrase"),
    ("README.md", "only a file name"),
    ("data/train.jsonl", "only a file name"),
    ("https://example.com/lora", "only a link"),
    ("[原文](https://zhuanlan.zhihu.com/p/1)", "only a link"),
])
def test_an_instruction_that_asks_nothing(instruction, what):
    assert not_a_question(instruction) == what


@pytest.mark.parametrize("instruction", [
    "Summarize", "Hello there", "Write a poem about autumn", "Explain LoRA", "Translate To French",
    "Rank The Following Items", "Python 3.11", "Lyrics", "Summarize the article.", "总结一下", "翻译成英文",
    "LoRA 是什么", "What is LoRA", "给我推荐几种快手早餐",
])
def test_a_task_or_a_question_is_not_flagged(instruction):
    assert not_a_question(instruction) is None


def test_the_word_limit_comes_from_the_config():
    long_title = "Distributed Data Parallel Training Frameworks Overview"  # 6 words
    assert not_a_question(long_title, max_words=5) is None
    assert not_a_question(long_title, max_words=6) == "a bare noun phrase"
    sample = make_sample(instruction=long_title)
    assert "not_a_question" not in codes(check_questions([sample], CTX))
    assert "not_a_question" in codes(check_questions([sample], make_context(noun_phrase_max_words=6)))


def test_a_numbered_label_gets_both_findings_and_the_messages_say_what_to_fix():
    flags = check_questions([make_sample(instruction="什么是 4 小结？")], CTX)
    assert codes(flags) == ["numbered_question", "question_without_subject"]
    assert "'4'" in flags[0][1].message and "delete the number" in flags[0][1].message
    assert "'小结'" in flags[1][1].message and "name the subject" in flags[1][1].message


def test_an_empty_instruction_is_left_to_the_fields_check():
    assert check_questions([make_sample(instruction="  ")], CTX) == []
