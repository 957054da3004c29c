import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from factory.checks.language import check_language, detect_language
from tests.factory.checks.sample_builders import codes, make_context, make_sample

REPO = Path(__file__).resolve().parents[3]
DATA = Path(__file__).parent / "data" / "language_short_qa.tsv"


def _load() -> list[tuple[str, str]]:
    """(label, text) rows of the hand-labelled short QA strings; "# " lines are comments."""
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("# "):
            label, text = line.split("\t", 1)
            rows.append((label, text))
    return rows


ROWS = _load()
ZH_WITH_TERMS = [(label, text) for label, text in ROWS if label == "zh" and re.search(r"[A-Za-z]", text)]


def _wrong(rows):
    return [(text, want, got) for want, text in rows if (got := detect_language(text)) != want]


# --- detect_language on the labelled set -------------------------------------------------------


def test_the_labelled_set_is_what_it_claims():
    labels = [label for label, _ in ROWS]
    assert len(ROWS) >= 400
    assert len({text for _, text in ROWS}) == len(ROWS)
    assert all(2 <= len(text) <= 120 and "\t" not in text for _, text in ROWS)
    assert set(labels) <= {"zh", "en", "ja", "ko", "fr", "de", "es", "ru", "uk", "vi", "pt", "unknown"}
    assert 0.40 <= labels.count("zh") / len(ROWS) <= 0.50 and 0.30 <= labels.count("en") / len(ROWS) <= 0.40
    assert len(ZH_WITH_TERMS) >= 100 and sum(len(text) <= 12 for _, text in ROWS) >= 100


def test_accuracy_overall():
    # 585 of 587 at the time of writing; the two misses are short ASCII strings in another
    # language whose words are in no word list ("Tente novamente.", "Stimmt."): English by rule.
    wrong = _wrong(ROWS)
    assert 1 - len(wrong) / len(ROWS) >= 0.99, wrong


def test_chinese_with_english_terms_is_always_chinese():
    assert _wrong(ZH_WITH_TERMS) == []


def test_short_strings():
    short = [(label, text) for label, text in ROWS if len(text) <= 12]
    wrong = _wrong(short)
    assert 1 - len(wrong) / len(short) >= 0.99, wrong


@pytest.mark.parametrize("label", sorted({label for label, _ in ROWS}))
def test_accuracy_per_label(label):
    # Every language must mostly come out right, or unexpected_language cannot name it.
    rows = [(lab, text) for lab, text in ROWS if lab == label]
    wrong = _wrong(rows)
    assert 1 - len(wrong) / len(rows) >= 0.9, wrong


@pytest.mark.parametrize(
    "text, lang",
    [
        ("报错 CUDA out of memory。", "zh"),  # a quoted English phrase in Chinese
        ("What does 的 mean?", "en"),  # one Chinese word in English
        ("自然言語処理研究の最新動向。", "ja"),  # kanji-heavy, one kana
        ("设定变更后需要重启。", "zh"),  # Han with no Japanese evidence
        ("Да.", "ru"),
        ("Скільки пам'яті потрібно?", "uk"),
        ("Καλημέρα σε όλους.", "el"),
        ("این مدل چگونه کار می کند؟", "fa"),
        ("यह मॉडल कैसे काम करता है?", "hi"),
        ("Jag vet inte vad som hände med modellen efter träningen igår kväll.", "sv"),  # no word list: langdetect
        ("Nie wiem, co się stało z modelem po wczorajszym treningu.", "pl"),
        ("Run `pip install peft` first, then retry.", "en"),
        ("Use bf16 — it is faster.", "en"),
    ],
)
def test_rules(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    "text",
    ["", "   ", "12345", "2e-4", "```python\nprint('hi')\n```", "https://example.com/a", "LoRA", "NF4?", "GPU OOM",
     "Qwen2.5-7B", "--load-in-4bit", "???", "3.14"],
)
def test_unknown_when_there_is_nothing_to_go_on(text):
    assert detect_language(text) == "unknown"


def test_code_and_urls_are_ignored():
    zh = "安装方法如下：\n```bash\npip install transformers peft trl bitsandbytes accelerate datasets\n```\n详见 https://github.com/huggingface/peft/blob/main/README.md"
    assert detect_language(zh) == "zh"


def test_deterministic_across_processes_and_orders():
    # Different str hashing, as between any two real runs, and a different call order: neither
    # may change an answer (langdetect's own detect samples at random).
    texts = [text for _, text in ROWS] + ["Le modèle apprend vite.", "Das ist gut so, ja.", "ok ok ok ok ok ok ok"]
    order = list(range(len(texts)))
    random.Random(1).shuffle(order)
    script = "import json, sys\nfrom factory.checks.language import detect_language\nprint(json.dumps([detect_language(t) for t in json.load(sys.stdin)]))"
    runs = []
    for hash_seed, inputs in (("1", texts), ("2", [texts[i] for i in order])):
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", script], input=json.dumps(inputs), env=env,
                             capture_output=True, text=True, check=True, cwd=REPO)
        runs.append(json.loads(out.stdout))
    unshuffled = [""] * len(texts)
    for position, i in enumerate(order):
        unshuffled[i] = runs[1][position]
    assert runs[0] == unshuffled == [detect_language(t) for t in texts]


# --- unexpected_language ---------------------------------------------------------------------

EN = {"instruction": "How do I pick the LoRA rank?", "output": "Start with 8 and double it if the eval loss stalls."}
ZH = {"instruction": "LoRA 的秩怎么选？", "output": "先用 8，如果 eval loss 不再下降就翻倍。"}
FR = {"instruction": "Comment choisir le rang de l'adaptateur ?", "output": "Commencez avec huit et doublez-le si la perte stagne."}
JA = {"instruction": "LoRAのランクはどう選びますか？", "output": "まず8で始めて、評価損失が下がらなければ倍にします。"}


@pytest.mark.parametrize(
    "fields, languages",
    [(EN, ["zh"]), (ZH, ["en"]), (FR, ["zh", "en"]), (JA, ["zh"])],
    ids=["en-not-allowed", "zh-not-allowed", "fr", "ja"],
)
def test_unexpected_language(fields, languages):
    flags = check_language([make_sample(**fields)], make_context(languages=languages))
    assert codes(flags) == ["unexpected_language"]
    assert flags[0][1].severity == "warn" and flags[0][1].check == "language"


@pytest.mark.parametrize(
    "fields, languages",
    [(EN, ["en"]), (ZH, ["zh"]), (EN, ["zh", "en"]), (ZH, ["zh", "en"]), (FR, [])],
    ids=["en", "zh", "en-of-two", "zh-of-two", "any"],
)
def test_expected_language(fields, languages):
    assert check_language([make_sample(**fields)], make_context(languages=languages)) == []


def test_a_short_instruction_takes_the_output_language():
    sample = make_sample(instruction="NF4?", output="A 4-bit data type for normally distributed weights.")
    assert detect_language(sample.instruction) == "unknown"
    assert codes(check_language([sample], make_context(languages=["zh"]))) == ["unexpected_language"]


def test_unknown_language_is_not_unexpected():
    sample = make_sample(instruction="```python\nx = 1\n```", output="`x = 2`")
    assert check_language([sample], make_context(languages=["zh"])) == []


# --- language_mismatch -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"instruction": EN["instruction"], "output": ZH["output"]},
        {"instruction": ZH["instruction"], "output": EN["output"]},
    ],
    ids=["en-asked-zh-answered", "zh-asked-en-answered"],
)
def test_language_mismatch(fields):
    flags = check_language([make_sample(**fields)], make_context())
    assert codes(flags) == ["language_mismatch"]
    assert "'en'" in flags[0][1].message and "'zh'" in flags[0][1].message


@pytest.mark.parametrize(
    "fields",
    [
        EN,
        ZH,
        {"instruction": "什么是 NF4？", "output": "NF4 (4-bit NormalFloat) 是 QLoRA 用的数据类型。"},  # English terms in Chinese
        {"instruction": "Explain QLoRA.", "output": "QLoRA trains LoRA adapters on a 4-bit NF4 base."},  # terms in English
        {"instruction": "What is NF4?", "output": "```python\nBitsAndBytesConfig(bnb_4bit_quant_type='nf4')\n```"},  # code only: unknown
    ],
    ids=["en", "zh", "zh-with-terms", "en-with-terms", "code-answer"],
)
def test_no_mismatch(fields):
    assert check_language([make_sample(**fields)], make_context()) == []
