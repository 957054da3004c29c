import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from factory.checks.language import check_language, detect_language
from tests.factory.checks.sample_builders import codes, make_context, make_sample

REPO = Path(__file__).resolve().parents[3]

# Short QA strings as they occur in SFT data, labelled by hand. Chinese with English terms and
# very short English questions are the cases plain langdetect gets wrong.
LABELLED = [
    ("What is NF4?", "en"),
    ("Why?", "en"),
    ("Explain QLoRA.", "en"),
    ("Define overfitting.", "en"),
    ("Give an example.", "en"),
    ("Yes.", "en"),
    ("Set lr to 2e-4.", "en"),
    ("Use batch size 8.", "en"),
    ("How do I pick the LoRA rank?", "en"),
    ("What does SFT mean?", "en"),
    ("Is vLLM faster than TGI?", "en"),
    ("Summarize the paper in two sentences.", "en"),
    ("Which optimizer should I use for QLoRA?", "en"),
    ("Start with r=8 and alpha=16.", "en"),
    ("It depends on the GPU memory.", "en"),
    ("Gradient checkpointing trades compute for memory.", "en"),
    ("Quantisation reduces memory.", "en"),
    ("List three uses of Python.", "en"),
    ("How many tokens fit in 24 GB?", "en"),
    ("The chat template must match the base model.", "en"),
    ("Can I merge the adapter into the base model?", "en"),
    ("No, not with a 4-bit base.", "en"),
    ("Run `pip install peft` first, then retry.", "en"),
    ("See https://huggingface.co/docs/peft for details.", "en"),
    ("What is the difference between DDP and FSDP?", "en"),
    ("Thanks!", "en"),
    ("LoRA 的秩怎么选？", "zh"),
    ("什么是 NF4？", "zh"),
    ("为什么？", "zh"),
    ("用 QLoRA 训练 LLaMA 3 8B 需要多少显存？", "zh"),
    ("先把 learning rate 设成 2e-4。", "zh"),
    ("请解释 Transformer 中的 self-attention 机制。", "zh"),
    ("vLLM 和 TGI 哪个更快？", "zh"),
    ("梯度检查点用计算换显存。", "zh"),
    ("可以，用 `merge_and_unload()` 合并 adapter。", "zh"),
    ("chat template 必须和基座模型一致。", "zh"),
    ("DDP 与 FSDP 有什么区别？", "zh"),
    ("是的。", "zh"),
    ("不行。", "zh"),
    ("参考 https://huggingface.co/docs/peft 的说明。", "zh"),
    ("batch size 设为 8 就够了", "zh"),
    ("SFT 数据要去重吗？", "zh"),
    ("把 rank 从 8 提到 16 有用吗？", "zh"),
    ("这个 GPU 支持 bf16 吗？", "zh"),
    ("模型在 eval 集上的 loss 一直不降。", "zh"),
    ("如何导出 GGUF 给 Ollama 用？", "zh"),
    ("資料集要先凍結再訓練。", "zh"),  # traditional characters
    ("謝謝！", "zh"),
    ("LoRAのランクはどう選びますか？", "ja"),
    ("このモデルは日本語に対応していますか？", "ja"),
    ("LoRA 랭크는 어떻게 고르나요?", "ko"),
    ("Comment choisir le rang de l'adaptateur pour un petit modèle ?", "fr"),
    ("Wie viel Speicher braucht das Modell beim Training?", "de"),
    ("¿Cuánta memoria necesita el modelo durante el entrenamiento?", "es"),
    ("Сколько памяти нужно модели для обучения?", "ru"),
    # Written after the detector, as a held-out check of the rules above.
    ("Does dropout help here?", "en"),
    ("Shorter prompts, fewer tokens.", "en"),
    ("Try it.", "en"),
    ("Is 4-bit enough?", "en"),
    ("Rank 16 worked best.", "en"),
    ("Eval loss went up after epoch 2.", "en"),
    ("Use bf16 on A100.", "en"),
    ("OOM at step 300.", "en"),
    ("Which tokenizer?", "en"),
    ("Hallucinations dropped noticeably.", "en"),
    ("显存不够怎么办？", "zh"),
    ("换成 4-bit 试试。", "zh"),
    ("eval loss 在第二个 epoch 后上升了。", "zh"),
    ("第 300 步 OOM 了。", "zh"),
    ("用哪个 tokenizer？", "zh"),
    ("好的", "zh"),
    ("LoRA dropout 有用吗", "zh"),
    ("bf16 还是 fp16？", "zh"),
    ("rank 16 效果最好。", "zh"),
]


def test_labelled_accuracy():
    wrong = [(text, want, got) for text, want in LABELLED if (got := detect_language(text)) != want]
    accuracy = 1 - len(wrong) / len(LABELLED)
    assert len(LABELLED) >= 40
    assert accuracy >= 0.95, wrong


@pytest.mark.parametrize("text", ["", "   ", "12345", "2e-4", "```python\nprint('hi')\n```", "https://example.com/a", "LoRA"])
def test_unknown_when_there_is_nothing_to_go_on(text):
    assert detect_language(text) == "unknown"


def test_code_and_urls_are_ignored():
    zh = "安装方法如下：\n```bash\npip install transformers peft trl bitsandbytes accelerate datasets\n```\n详见 https://github.com/huggingface/peft/blob/main/README.md"
    assert detect_language(zh) == "zh"


def test_deterministic_across_processes():
    # Ambiguous strings too: there an unseeded langdetect flips between answers.
    texts = [text for text, _ in LABELLED] + ["Le modèle apprend vite.", "Das ist gut so, ja.", "ok ok ok ok ok ok ok"]
    script = "import json, sys\nfrom factory.checks.language import detect_language\nprint(json.dumps([detect_language(t) for t in json.load(sys.stdin)]))"
    runs = []
    for hash_seed in ("1", "2"):  # different str hashing, as between any two real runs
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), env=env,
                             capture_output=True, text=True, check=True, cwd=REPO)
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == [detect_language(t) for t in texts]


# --- unexpected_language ---------------------------------------------------------------------

EN = {"instruction": "How do I pick the LoRA rank?", "output": "Start with 8 and double it if the eval loss stalls."}
ZH = {"instruction": "LoRA 的秩怎么选？", "output": "先用 8，如果 eval loss 不再下降就翻倍。"}
FR = {"instruction": "Comment choisir le rang de l'adaptateur ?", "output": "Commencez avec huit et doublez-le si la perte stagne."}


@pytest.mark.parametrize(
    "fields, languages",
    [(EN, ["zh"]), (ZH, ["en"]), (FR, ["zh", "en"])],
)
def test_unexpected_language(fields, languages):
    flags = check_language([make_sample(**fields)], make_context(languages=languages))
    assert codes(flags) == ["unexpected_language"]
    assert flags[0][1].severity == "warn" and flags[0][1].check == "language"


@pytest.mark.parametrize("fields, languages", [(EN, ["zh", "en"]), (ZH, ["zh", "en"]), (ZH, ["zh"]), (FR, [])])
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
        {"instruction": "What is NF4?", "output": "```python\nBitsAndBytesConfig(bnb_4bit_quant_type='nf4')\n```"},  # code only: unknown
    ],
)
def test_no_mismatch(fields):
    assert check_language([make_sample(**fields)], make_context()) == []
