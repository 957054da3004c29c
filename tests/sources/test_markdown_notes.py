"""Tests for the rule-based Markdown notes extractor: one small inline note per behaviour."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from factory.config import NotesConfig
from factory.errors import BadInput
from factory.sample import Sample
from sources import markdown_notes
from sources.markdown_notes import (
    EXTRACTOR_VERSION,
    MAX_TAG_CHARS,
    MAX_TAGS,
    extract_pairs,
    iter_note_files,
    note_outline,
    read_note,
)
from tests.conftest import qa_note

CONFIG = NotesConfig()


def extract(text: str, config: NotesConfig = CONFIG, uri: str = "notes/n.md") -> list[Sample]:
    return extract_pairs(text, uri=uri, config=config, content_hash="c0ffee")


def by_question(samples: list[Sample]) -> dict[str, Sample]:
    return {s.instruction: s for s in samples}


def rules(samples: list[Sample]) -> list[str]:
    return [s.source.locator["rule"] for s in samples]


def heading_question(heading: str, body: str, title: str = "# Ollama") -> str | None:
    """The question made for `heading` when it sits under `title` with `body` as its text."""
    samples = extract(f"{title}\n\n## {heading}\n\n{body}\n")
    found = [s.instruction for s in samples if s.source.locator["heading_path"][-1:] == [heading]]
    return found[0] if found else None


EN_BODY = "Every engineer on the team needs to know these details and the limits that apply before using it."
ZH_BODY = "团队里每个工程师都需要知道这些细节，以及实际使用时需要注意的限制和默认值。"


# ---------------------------------------------------------------------------- qa


def test_qa_english_markers_lists_and_multi_paragraph_answers() -> None:
    note = (
        "# Ops\n"
        "\n"
        "Q: How do I restart the server?\n"
        "A: Run the restart script.\n"
        "\n"
        "It takes a minute.\n"
        "\n"
        "```bash\n"
        "./restart.sh --force\n"
        "```\n"
        "\n"
        "- **Q:** Where are the logs?\n"
        "  **A:** In `/var/log/app`.\n"
        "- Question: Who is on call?\n"
        "- Answer: Check the [rota](https://rota.example.com).\n"
    )
    samples = extract(note)
    assert [s.instruction for s in samples] == [
        "How do I restart the server?", "Where are the logs?", "Who is on call?"]
    assert rules(samples) == ["qa", "qa", "qa"]
    first = samples[0]
    assert first.output == "Run the restart script.\n\nIt takes a minute.\n\n```bash\n./restart.sh --force\n```"
    assert first.source.locator["lines"] == [3, 10]
    assert first.source.locator["heading_path"] == ["Ops"]
    assert samples[1].output == "In /var/log/app."
    assert samples[1].source.locator["lines"] == [12, 13]
    assert samples[2].output == "Check the rota."


def test_qa_chinese_markers_with_full_width_and_ascii_colons() -> None:
    note = "# 训练\n\n问：学习率设多少？\n答：从 2e-4 开始。\n\n问:要训练几轮？\n答:两到三轮。\n\nQ1：需要多少显存？\nA1：大约 10GB。\n"
    samples = extract(note)
    assert [(s.instruction, s.output) for s in samples] == [
        ("学习率设多少？", "从 2e-4 开始。"), ("要训练几轮？", "两到三轮。"), ("需要多少显存？", "大约 10GB。")]
    assert rules(samples) == ["qa", "qa", "qa"]
    assert samples[1].source.locator["lines"] == [6, 7]


def test_qa_answer_stops_at_next_heading_and_question_without_answer_is_skipped() -> None:
    note = ("# A\n\nQ: Orphan question?\n\nQ: Real question?\nA: Real answer.\n\n"
            "## B\n\nText under B that is long enough to count.\n")
    samples = extract(note)
    qa = [s for s in samples if s.source.locator["rule"] == "qa"]
    assert [(s.instruction, s.output) for s in qa] == [("Real question?", "Real answer.")]
    assert qa[0].source.locator["lines"] == [5, 6]


def test_qa_markers_inside_code_blocks_are_ignored() -> None:
    note = "# A\n\n```text\nQ: not a question?\nA: not an answer\n```\n"
    assert all(s.source.locator["rule"] != "qa" for s in extract(note))


def test_explicit_pairs_consume_their_lines_and_the_rest_answers_the_heading() -> None:
    note = (
        "# Serving\n\n"
        "## Why is the first request slow?\n\n"
        "The server compiles CUDA graphs on the first request.\n\n"
        "Q: Can I warm it up?\n"
        "A: Yes, send one request at start-up.\n"
    )
    samples = by_question(extract(note))
    faq = samples["Why is the first request slow?"]
    assert faq.output == "The server compiles CUDA graphs on the first request."
    assert faq.source.locator["lines"] == [3, 5]
    assert samples["Can I warm it up?"].output == "Yes, send one request at start-up."


# ---------------------------------------------------------------------------- faq


def test_faq_english_heading_question() -> None:
    note = ("# Ollama\n\n## How to pull a model\n\nUse the pull command with the model tag.\n\n"
            "## Why is it slow?\n\nIt runs on the CPU when no GPU is found.\n")
    samples = extract(note)
    assert [(s.instruction, s.source.locator["rule"]) for s in samples] == [
        ("How do I pull a model?", "faq"), ("Why is it slow?", "faq")]
    assert samples[0].output == "Use the pull command with the model tag."
    assert samples[0].source.locator["heading_path"] == ["Ollama", "How to pull a model"]
    assert samples[0].source.locator["lines"] == [3, 5]


def test_faq_chinese_heading_question() -> None:
    note = "# 微调\n\n## 为什么要冻结基座模型\n\n冻结基座可以大幅减少显存占用并避免灾难性遗忘。\n\n## 学习率怎么设\n\n一般从 2e-4 开始尝试，再根据 loss 曲线调整。\n"
    samples = extract(note)
    assert [(s.instruction, s.source.locator["rule"]) for s in samples] == [
        ("为什么要冻结基座模型？", "faq"), ("学习率怎么设？", "faq")]
    assert samples[0].output == "冻结基座可以大幅减少显存占用并避免灾难性遗忘。"


# ---------------------------------------------------------------------------- definition


def test_definition_list_english() -> None:
    note = ("# Glossary\n\nGGUF\n: A single-file format for **quantized** models.\n\n"
            "KV cache\n: Stored keys and values.\n")
    samples = extract(note)
    assert [(s.instruction, s.output) for s in samples] == [
        ("What is GGUF?", "A single-file format for quantized models."),
        ("What is KV cache?", "Stored keys and values.")]
    assert rules(samples) == ["definition", "definition"]
    assert samples[1].source.locator["lines"] == [6, 7]


def test_definition_list_chinese() -> None:
    note = "# 术语\n\n适配器\n: 插入到模型中的小型可训练模块。\n\nLoRA\n: 一种低秩适配的微调方法。\n"
    samples = extract(note)
    assert [(s.instruction, s.output) for s in samples] == [
        ("什么是适配器？", "插入到模型中的小型可训练模块。"), ("什么是 LoRA？", "一种低秩适配的微调方法。")]
    assert rules(samples) == ["definition", "definition"]


# ---------------------------------------------------------------------------- docstring

PY_BLOCK = '''```python
import functools


@functools.cache
def pull(name, *, insecure=False):
    """Download a model.

        Returns the local path.
    """


class Client:
    """Talks to the server."""

    def chat(self, messages, **options):
        """Send one chat request."""

    def _no_doc(self):
        pass
```
'''


def test_docstrings_english() -> None:
    samples = [s for s in extract("# Code\n\n" + PY_BLOCK) if s.source.locator["rule"] == "docstring"]
    assert [(s.instruction, s.output) for s in samples] == [
        ("What does `pull(name, *, insecure)` do?", "Download a model.\n\nReturns the local path."),
        ("What does the `Client` class do?", "Talks to the server."),
        ("What does `Client.chat(messages, **options)` do?", "Send one chat request."),
    ]
    # the block starts on file line 3, so code line k is file line 3 + k; the decorator is included
    assert samples[0].source.locator["lines"] == [7, 12]
    assert samples[2].source.locator["lines"] == [18, 19]


def test_docstrings_chinese_note_and_unparsable_blocks() -> None:
    note = "# 清洗\n\n这是我们团队使用的文本清洗函数，请先阅读再使用。\n\n" + PY_BLOCK + "\n```python\ndef broken(:\n    '''x'''\n```\n"
    samples = [s for s in extract(note) if s.source.locator["rule"] == "docstring"]
    assert [s.instruction for s in samples] == [
        "`pull(name, *, insecure)` 的作用是什么？", "`Client` 类的作用是什么？", "`Client.chat(messages, **options)` 的作用是什么？"]


# ---------------------------------------------------------------------------- section questions


@pytest.mark.parametrize(("heading", "expected"), [
    ("Gradient checkpointing", "What is gradient checkpointing?"),  # lower case: the body writes "gradient"
    ("LoRA adapters", "What are LoRA adapters?"),
    ("Installing CUDA drivers", "How do I install CUDA drivers?"),
    ("Training the adapter", "How do I train the adapter?"),
    ("Training data", "What is training data?"),
    ("Serving models with vLLM", "How do I serve models with vLLM?"),
    ("LoRA vs QLoRA", "What is the difference between LoRA and QLoRA?"),
    ("Installation", "How do I install Ollama?"),
    ("Usage", "How do I use Ollama?"),
    ("Common pitfalls", "What are the common pitfalls of Ollama?"),
    ("Overview", "Can you give an overview of Ollama?"),
    ("Modelfile", "What is Modelfile in Ollama?"),
    ("Latency is high but there are no errors", "What should I do when latency is high but there are no errors?"),
    ("Everything we learned while moving the cluster to the new data center",
     "What should I know about everything we learned while moving the cluster to the new data center?"),
])
def test_english_section_templates(heading: str, expected: str) -> None:
    body = "The gradient, the latency and the training data matter here; " + EN_BODY
    assert heading_question(heading, body) == expected


@pytest.mark.parametrize(("heading", "expected"), [
    ("梯度检查点", "什么是梯度检查点？"),
    ("部署步骤", "部署步骤有哪些？"),
    ("注意事项", "Ollama 的注意事项有哪些？"),
    ("梯度检查点和激活重计算的区别", "梯度检查点和激活重计算有什么区别？"),
    ("LoRA vs QLoRA", "LoRA 和 QLoRA 有什么区别？"),
    ("安装", "如何安装 Ollama？"),
    ("使用 vLLM 部署模型", "如何使用 vLLM 部署模型？"),
    ("训练数据", "什么是训练数据？"),
    ("秩", "在 Ollama 中，秩是什么？"),
    ("每次训练结束之后必须记录下来的全部内容", "请介绍一下每次训练结束之后必须记录下来的全部内容。"),
])
def test_chinese_section_templates(heading: str, expected: str) -> None:
    assert heading_question(heading, ZH_BODY) == expected


def test_latin_heading_over_chinese_body_gets_a_chinese_question() -> None:
    assert heading_question("Installation", ZH_BODY) == "如何安装 Ollama？"
    assert heading_question("Gradient checkpointing", ZH_BODY, title="# 显存") == "什么是 Gradient checkpointing？"


def test_generic_heading_uses_front_matter_title_when_there_is_no_parent() -> None:
    note = "---\ntitle: Ollama notes\n---\n## Installation\n\nRun the install script from the website.\n"
    [sample] = extract(note)
    assert sample.instruction == "How do I install Ollama?"
    assert sample.source.locator["lines"] == [4, 6]


def test_headings_that_make_no_pair() -> None:
    note = ("## Installation\n\nRun the install script from the website.\n\n"  # generic, no topic
            "# Tools\n\n## References\n\n- The official documentation site\n\n"  # a link list
            "## FAQ\n\nQuestions people asked in their first weeks here.\n\n"  # a container
            "## Short\n\nToo short.\n")  # below min_answer_chars
    assert extract(note) == []


def test_section_uses_only_its_own_text_and_min_answer_chars() -> None:
    note = ("# Ollama\n\n## Storage\n\nModels live under ~/.ollama by default.\n\n"
            "### Moving models\n\nSet OLLAMA_MODELS.\n")
    samples = extract(note, NotesConfig(min_answer_chars=5))
    storage = by_question(samples)["What is Storage in Ollama?"]
    assert storage.output == "Models live under ~/.ollama by default."
    assert storage.source.locator["heading_path"] == ["Ollama", "Storage"]
    assert storage.source.locator["lines"] == [3, 5]
    assert samples[-1].source.locator["heading_path"] == ["Ollama", "Storage", "Moving models"]
    assert extract(note, NotesConfig(min_answer_chars=100)) == []


# ---------------------------------------------------------------------------- answers


def test_code_section_keeps_the_fenced_block_intact() -> None:
    code = "```bash\ncurl -fsSL https://ollama.com/install.sh | sh\n\n# then\n    ollama serve\n```"
    [sample] = extract(f"# Ollama\n\n## Installation\n\n{code}\n")
    assert sample.output == code


def test_markdown_residue_is_stripped() -> None:
    body = ("Use **bold** and *em*, the [model card](https://x.example) and a diagram.<br>\n"
            "Run `ollama serve`, see <kbd>Ctrl</kbd>+C and [[Other note|the other note]].\n\n"
            "![the diagram](d.png)\n\n"
            "> Quoted advice stays as plain text.\n\n<div align=\"center\">Centered</div>\n")
    [sample] = extract(f"# Ollama\n\n## Tips and tricks\n\n{body}")
    for residue in ("**", "](", "<br>", "<kbd>", "<div", "`", "> ", "[[", "the diagram"):
        assert residue not in sample.output
    assert sample.output == ("Use bold and em, the model card and a diagram.\n"
                             "Run ollama serve, see Ctrl+C and the other note.\n\n"
                             "Quoted advice stays as plain text.\n\nCentered")


def test_lists_render_as_plain_lines_and_tables_stay_tables() -> None:
    body = ("1. Prepare data\n   - dedupe it\n   - clean it\n2. Train\n\n"
            "| Flag | Meaning |\n|------|---------|\n| `-v` | verbose |\n| `-q` | quiet |\n")
    [sample] = extract(f"# Ollama\n\n## Workflow steps\n\n{body}")
    assert sample.output == ("1. Prepare data\n  - dedupe it\n  - clean it\n2. Train\n\n"
                             "| Flag | Meaning |\n|---|---|\n| -v | verbose |\n| -q | quiet |")


def test_chinese_soft_line_breaks_join_without_spaces() -> None:
    [sample] = extract("# 量化\n\n## 原理\n\n量化用更少的比特\n表示权重，可以省下大量显存，\n代价是一点精度。\n")
    assert sample.output == "量化用更少的比特表示权重，可以省下大量显存，代价是一点精度。"
    assert sample.instruction == "量化的原理是什么？"


def test_long_answers_are_cut_at_a_paragraph_boundary() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 20 for i in range(5)]
    [sample] = extract("# Ollama\n\n## Notes\n\n" + "\n\n".join(paragraphs) + "\n", NotesConfig(answer_max_chars=300))
    assert len(sample.output) <= 300
    assert sample.output == "\n\n".join(p.strip() for p in paragraphs[:2])


# ---------------------------------------------------------------------------- the note as a whole


def test_sample_source_and_front_matter_tags() -> None:
    note = "---\ntitle: Ops\ntags: [serving, \"#gpu\"]\n---\nQ: Where are the logs?\nA: In /var/log.\n"
    [sample] = extract(note)
    assert sample.source.kind == "notes"
    assert sample.source.uri == "notes/n.md"
    assert sample.source.extractor_version == EXTRACTOR_VERSION == "notes-rules/3"
    assert sample.source.content_hash == "c0ffee"
    assert sample.source.locator == {"heading_path": [], "lines": [5, 6], "rule": "qa"}
    assert (sample.input, sample.lang, sample.tags) == ("", None, ["serving", "gpu"])
    comma = extract("---\ntags: serving, gpu ,serving\n---\nQ: Where are the logs?\nA: In /var/log.\n")
    assert comma[0].tags == ["serving", "gpu"]


def test_duplicate_pairs_in_one_note_are_kept_once() -> None:
    note = "# A\n\nQ: Same?\nA: Same.\n\n# B\n\nQ: Same?\nA: Same.\n\nQ: Other?\nA: Other.\n"
    samples = extract(note)
    assert [s.instruction for s in samples] == ["Same?", "Other?"]
    assert samples[0].source.locator["heading_path"] == ["A"]


def test_ids_are_stable_and_change_only_for_the_edited_section() -> None:
    note = ("# Ollama\n\n## Installation\n\nRun the install script from the website.\n\n"
            "## Usage\n\nRun ollama serve and then ollama run with a model name.\n")
    before = [s.id for s in extract(note)]
    assert before == [s.id for s in extract(note)]
    after = [s.id for s in extract(note.replace("ollama serve", "ollama serve in tmux"))]
    assert len(before) == len(after) == 2
    assert before[0] == after[0] and before[1] != after[1]


def test_crlf_and_bom_do_not_move_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_bytes(b"\xef\xbb\xbf---\r\ntags: [a]\r\n---\r\n# T\r\n\r\nQ: One?\r\nA: Two.\r\n")
    text = read_note(path, max_bytes=1000)
    assert text.startswith("---\n") and "\r" not in text
    [sample] = extract(text)
    assert sample.source.locator["lines"] == [6, 7]
    assert extract(path.read_bytes().decode("utf-8"))[0].id == sample.id


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("content", "problem"), [
    (b"# Note\n\x00\x01binary", "binary"),
    ("# 笔记\n中文内容".encode("gbk"), "not UTF-8 (byte 0xb1 at offset 2)"),
    (b"", "empty"),
    (b" \n\t\n  ", "only whitespace"),
    (b"# Big\n" + b"x" * 200, "over the 100-byte limit"),
])
def test_read_note_rejects_bad_files_in_one_line_naming_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad-note.md"
    path.write_bytes(content)
    with pytest.raises(BadInput) as info:
        read_note(path, max_bytes=100)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


@pytest.mark.parametrize(("text", "problem"), [
    ("---\ntitle: x\n# Body\n", "no closing '---'"),
    ("---\n- a\n- b\n---\n# Body\n", "expected a YAML mapping, got a list"),
    ("---\ntags: [a, b\nowner: me\n---\n# Body\n", "line 3:"),
    ("---\nbase: &b [x, y]\ntags: *b\n---\n# Body\n", "line 3: an alias (*b)"),
    ("---\ntags: " + "[" * 3000 + "]" * 3000 + "\n---\n# Body\n", "nested too deep"),
])
def test_broken_front_matter_names_the_note(text: str, problem: str) -> None:
    with pytest.raises(BadInput) as info:
        extract(text, uri="team/broken.md")
    message = str(info.value)
    assert message.startswith("team/broken.md: broken front matter: ") and problem in message and "\n" not in message


def test_iter_note_files_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    for name in ("b.md", "a/z.markdown", "a/y.MD", "a/.draft.md", ".git/x.md", ".factory/c.md", "a/.obsidian/d.md",
                 "notes.txt", "a/deep/c.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# x\n", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_note_files(tmp_path)]
    assert found == ["a/deep/c.md", "a/y.MD", "a/z.markdown", "b.md"]
    with pytest.raises(BadInput):
        iter_note_files(tmp_path / "missing")


def test_names_keep_their_capital_letter_and_common_words_lose_it() -> None:
    note = ("# Ollama\n\nWe run ollama serve on every box; start with Ollama before vLLM.\n\n"
            "## Installation\n\nRun the install script from the website.\n\n"
            "## Gradient checkpointing\n\nTrades compute for memory: the gradient is recomputed.\n")
    questions = [s.instruction for s in extract(note)]
    assert questions == ["What is Ollama?", "How do I install Ollama?", "What is gradient checkpointing?"]


def test_read_note_refuses_what_is_not_a_regular_file_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(BadInput) as info:
            read_note(path, max_bytes=100, name="notes/x.md")
        assert str(info.value).startswith("notes/x.md: not a regular file (a ") and "\n" not in str(info.value)


# ---------------------------------------------------------------------------- hostile notes


@pytest.mark.parametrize("template", ["{x}\n", "Q: Why {x}?\nA: Because of the depth.\n", "| a |\n|---|\n| {x} |\n"],
                         ids=["paragraph", "question", "table"])
def test_emphasis_nested_thousands_deep_renders_its_text(template: str) -> None:
    deep = "*" * 2000 + "a deeply emphasised sentence" + "*" * 2000
    samples = extract("# Emphasis\n\n" + template.format(x=deep))
    assert samples and all("a deeply emphasised sentence" in s.instruction + s.output for s in samples)
    assert all("**" not in s.instruction + s.output for s in samples)


@pytest.mark.parametrize("deep", ["x=" + "+".join(["1"] * 6000), "x=" + "-" * 10_000 + "1", "x=" + "-" * 200_000 + "1"],
                         ids=["recursion", "parser-stack", "huge"])
def test_python_blocks_the_parser_cannot_take_give_no_docstring_pair(deep: str) -> None:
    note = f'# Helpers\n\n```python\ndef f():\n    """Adds ones to the total."""\n\n{deep}\n```\n'
    assert rules(extract(note)) == []  # no docstring, and a code block over the cap is never cut into an answer


def test_a_parser_failure_is_bad_input_naming_the_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the cheap defences miss (a stack or memory limit deep in a library) skips the note, named."""
    def overflow(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(markdown_notes._MD, "parse", overflow)
    for read in (lambda: extract("# T\n\nQ: One?\nA: Two.\n", uri="team/deep.md"),
                 lambda: note_outline("# T\n\nText.\n", uri="team/deep.md")):
        with pytest.raises(BadInput) as info:
            read()
        message = str(info.value)
        assert message.startswith("team/deep.md: ") and "RecursionError" in message and "\n" not in message


def test_front_matter_tags_are_capped_in_count_and_length_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    tags = ["x" * 500, [1, 2], {"a": "b"}, "ok", *(f"t{i}" for i in range(100))]
    note = f"---\ntags: {json.dumps(tags)}\n---\n# T\n\nQ: One?\nA: Two.\n"
    with caplog.at_level(logging.WARNING):
        [sample] = extract(note, uri="team/tags.md")
    assert sample.tags == ["ok", *(f"t{i}" for i in range(MAX_TAGS - 1))]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(w.startswith("team/tags.md: ") and "\n" not in w for w in warnings)
    assert any(str(MAX_TAG_CHARS) in w for w in warnings) and any(str(MAX_TAGS) in w for w in warnings)


def many_pairs(n: int) -> str:
    return qa_note(*((f"What does setting {i} control?", f"Setting {i} controls knob {i}.") for i in range(n)))


def python_calls(run: Callable[[], object]) -> int:
    """Python function calls (generator steps included) made by `run()`: work, counted the same on any machine."""
    calls = 0

    def count(frame, event, arg) -> None:
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def test_extraction_work_grows_linearly_with_the_pairs_of_a_note() -> None:
    small, large = many_pairs(500), many_pairs(2000)
    assert len(extract(small)) == 500  # also warms up regex and import caches before counting
    ratio = python_calls(lambda: extract(large)) / python_calls(lambda: extract(small))
    assert ratio < 4 * 1.15, f"4x the pairs took {ratio:.1f}x the work"
