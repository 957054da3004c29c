import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz

from factory.checks.near_duplicates import (
    check_near_duplicates,
    minhash_signatures,
    near_duplicate_pairs,
    near_duplicate_score,
    near_duplicate_text,
    sentence_orders,
    shingle_hashes,
)
from tests.factory.checks.sample_builders import codes, make_context, make_sample

REPO = Path(__file__).resolve().parents[3]

EN = make_sample(
    instruction="How should I choose the LoRA rank for a 7B model?",
    output="Start with rank 8 and alpha 16. If the eval loss stops improving, double the rank; "
    "above 64 the gains are usually small and memory grows.",
)
EN_EDITED = make_sample(
    instruction="How do I choose the LoRA rank for a 7B model?",
    output="Start with rank 8 and alpha 16. If the eval loss stops improving, double the rank; "
    "above 64 the gains are usually tiny and memory grows.",
)
EN_SAME_TOPIC = make_sample(
    instruction="How should I choose the LoRA alpha for a 7B model?",
    output="Set alpha to twice the rank. If the updates are too weak, raise alpha; above 64 it "
    "mostly acts like a larger learning rate.",
)
ZH = make_sample(
    instruction="LoRA 的秩应该怎么选？",
    output="先用秩 8、alpha 16。如果验证集损失不再下降，就把秩翻倍；超过 64 之后收益通常很小，显存却会增加。",
)
ZH_EDITED = make_sample(
    instruction="LoRA 的秩该怎么选择？",
    output="先用秩 8、alpha 16。如果验证集损失不再下降，就把秩加倍；超过 64 以后收益通常很小，显存却会增加。",
)
ZH_SAME_TOPIC = make_sample(
    instruction="LoRA 的 alpha 应该怎么选？",
    output="先把 alpha 设为秩的两倍。如果更新太弱，就调大 alpha；超过 64 之后它的作用近似于更大的学习率。",
)
EN_LR = make_sample(
    instruction="How do I pick a learning rate for LoRA fine-tuning?",
    output="Start from 2e-4 for a 7B model. Halve it if the loss spikes in the first hundred steps. Use a short "
    "warmup of about 3% of the steps. Cosine decay to zero works well for one or two epochs. Check the eval "
    "loss every few hundred steps.",
)
EN_LR_REORDERED = make_sample(  # sentences shuffled, and "spikes" became "jumps"
    instruction="How do I pick a learning rate for LoRA fine-tuning?",
    output="Use a short warmup of about 3% of the steps. Start from 2e-4 for a 7B model. Check the eval loss "
    "every few hundred steps. Halve it if the loss jumps in the first hundred steps. Cosine decay to zero "
    "works well for one or two epochs.",
)
ZH_LR = make_sample(
    instruction="LoRA 微调的学习率怎么选？",
    output="7B 模型先从 2e-4 开始。如果前一百步损失突然升高，就把学习率减半。预热大约占总步数的百分之三。"
    "训练一到两个轮次时，余弦衰减到零效果不错。每隔几百步看一次验证集损失。",
)
ZH_LR_REORDERED = make_sample(  # sentences shuffled, and one character added
    instruction="LoRA 微调的学习率怎么选？",
    output="预热大约占总步数的百分之三。每隔几百步看一次验证集损失。7B 模型先从 2e-4 开始。"
    "训练一到两个轮次时，余弦衰减到零效果也不错。如果前一百步损失突然升高，就把学习率减半。",
)
ZH_SHORT = make_sample(instruction="什么是梯度累积？", output="把几个小批次的梯度加起来再更新一次参数，相当于用更大的批次训练。")
ZH_SHORT_EDITED = make_sample(instruction="什么是梯度累积？", output="把几个小批次的梯度累起来再更新一次参数，相当于用更大的批次训练。")


@pytest.mark.parametrize("original, edited", [(EN, EN_EDITED), (ZH, ZH_EDITED)])
def test_edited_copy_in_batch_points_at_the_earlier(original, edited):
    flags = check_near_duplicates([original, edited], make_context())
    assert codes(flags) == ["near_duplicate"]
    sample_id, finding = flags[0]
    assert sample_id == edited.id and finding.related_id == original.id
    assert finding.severity == "warn" and finding.check == "near_duplicates"
    assert original.id in finding.message and "earlier sample in this batch" in finding.message


@pytest.mark.parametrize("original, edited", [(EN, EN_EDITED), (ZH, ZH_EDITED)])
def test_edited_copy_of_reference_points_at_the_reference(original, edited):
    flags = check_near_duplicates([edited], make_context(reference=[original]))
    assert [(sid, f.related_id) for sid, f in flags] == [(edited.id, original.id)]
    assert "reference sample" in flags[0][1].message


@pytest.mark.parametrize("a, b", [(EN, EN_SAME_TOPIC), (ZH, ZH_SAME_TOPIC), (EN, ZH)])
def test_different_texts_on_the_same_topic_are_not_near(a, b):
    assert check_near_duplicates([a, b], make_context()) == []
    assert check_near_duplicates([b], make_context(reference=[a])) == []


@pytest.mark.parametrize("original, edited", [(EN, EN_EDITED), (ZH, ZH_EDITED)])
def test_reference_samples_are_never_flagged(original, edited):
    assert check_near_duplicates([EN_SAME_TOPIC], make_context(reference=[original, edited])) == []


def test_exact_duplicates_are_left_to_exact_duplicate():
    copy = make_sample(instruction=EN.instruction.upper(), output=EN.output + "!")
    assert check_near_duplicates([EN, copy], make_context()) == []
    assert check_near_duplicates([copy], make_context(reference=[EN])) == []


@pytest.mark.parametrize("original, edited", [(EN, EN_EDITED), (EN_LR, EN_LR_REORDERED), (ZH_LR, ZH_LR_REORDERED)])
def test_threshold_comes_from_config(original, edited):
    score = near_duplicate_score(near_duplicate_text(original), near_duplicate_text(edited))
    assert check_near_duplicates([original, edited], make_context(near_duplicate_threshold=score))
    assert not check_near_duplicates([original, edited], make_context(near_duplicate_threshold=min(score + 0.5, 100)))
    assert f"{score:.0f}% similar" in check_near_duplicates([original, edited], make_context())[0][1].message


# --- order-robust score: reordered sentences ---------------------------------------------------

@pytest.mark.parametrize("original, reordered", [(EN_LR, EN_LR_REORDERED), (ZH_LR, ZH_LR_REORDERED)])
def test_reordered_sentences_are_near_duplicates(original, reordered):
    a, b = near_duplicate_text(original), near_duplicate_text(reordered)
    assert fuzz.ratio(a, b) < 75  # plain ratio would let the copy through
    assert near_duplicate_score(a, b) >= 95
    flags = check_near_duplicates([original, reordered], make_context())
    assert [(sid, f.related_id) for sid, f in flags] == [(reordered.id, original.id)]
    flags = check_near_duplicates([reordered], make_context(reference=[original, EN_SAME_TOPIC, ZH_SAME_TOPIC]))
    assert [(sid, f.related_id) for sid, f in flags] == [(reordered.id, original.id)]


def test_chinese_one_character_edit_is_found():
    assert fuzz.ratio(near_duplicate_text(ZH_SHORT), near_duplicate_text(ZH_SHORT_EDITED)) < 100
    flags = check_near_duplicates([ZH_SHORT, ZH_SHORT_EDITED], make_context())
    assert [(sid, f.related_id) for sid, f in flags] == [(ZH_SHORT_EDITED.id, ZH_SHORT.id)]
    zh_lr_edited = make_sample(instruction=ZH_LR.instruction, output=ZH_LR.output.replace("突然", "忽然"))
    flags = check_near_duplicates([zh_lr_edited], make_context(reference=[ZH_SHORT, ZH_LR, ZH_SAME_TOPIC]))
    assert [(sid, f.related_id) for sid, f in flags] == [(zh_lr_edited.id, ZH_LR.id)]


def test_sentence_orders_ignore_the_order_of_sentences():
    assert sentence_orders("xa. ab! mc?") == sentence_orders("mc? xa.  ab!") == ("ab! mc? xa.", "ab! xa. mc?")
    # Chinese punctuation, semicolons and line breaks end sentences too.
    assert sentence_orders("乙。甲！\n丙？丁；戊;") == sentence_orders("戊;丁；丙？\n甲！乙。")
    assert sentence_orders("one sentence") == ("one sentence", "one sentence")


def test_score_is_symmetric_and_at_least_the_ratio():
    texts = [near_duplicate_text(s) for s in (EN, EN_EDITED, EN_SAME_TOPIC, EN_LR, EN_LR_REORDERED, ZH, ZH_LR_REORDERED)]
    for a in texts:
        for b in texts:
            assert near_duplicate_score(a, b) == near_duplicate_score(b, a) >= fuzz.ratio(a, b)


def topic_corpus(n: int, seed: int) -> list[str]:
    """`n` different answers to one templated question, from one small topical vocabulary, half
    English, half Chinese: texts alike the way samples on one topic are, none a near duplicate."""
    rng = random.Random(seed)
    en_vocab = [
        "the", "a", "of", "to", "and", "is", "for", "with", "rank", "alpha", "lora", "model", "layer", "adapter",
        "learning", "rate", "loss", "eval", "memory", "gpu", "batch", "step", "epoch", "warmup", "decay", "weight",
        "update", "matrix", "low", "higher", "lower", "double", "half", "small", "large", "start", "stop", "train",
        "data", "token", "sequence", "length", "quality", "merge", "base", "quantize",
    ]
    zh_vocab = list("的了是在和把就秩模型层适配器学习率损失评估显存批次步数轮预热衰减权重更新矩阵低高大小训练数据长度质量合并量化")
    texts = []
    for k in range(n):
        if k % 2:
            sentences = [" ".join(rng.choices(en_vocab, k=rng.randint(6, 12))) + "." for _ in range(rng.randint(3, 6))]
            texts.append("how should i set the lora rank and alpha for a 7b model?\n\n" + " ".join(sentences))
        else:
            sentences = ["".join(rng.choices(zh_vocab, k=rng.randint(8, 20))) + "。" for _ in range(rng.randint(3, 6))]
            texts.append("7b 模型的 lora 秩和 alpha 应该怎么设置?\n\n" + "".join(sentences))
    return texts


def test_unrelated_texts_on_the_same_topic_are_not_paired():
    # Every text shares the question and most words with the others; sorting sentences does
    # not make different sentences alike, and the common shingles make no candidates.
    texts = topic_corpus(400, seed=5)
    assert near_duplicate_pairs(texts, 90) == []
    assert len(near_duplicate_pairs(texts, 0)) < 400  # candidates (every scored pair): few
    for a, b in zip(texts[0:40:2], texts[2:42:2]):
        assert near_duplicate_score(a, b) < 70


def test_copies_among_texts_on_the_same_topic_are_found():
    texts = topic_corpus(400, seed=6)
    sentences = texts[11].split("\n\n")[1].split(". ")
    reordered = texts[11].split("\n\n")[0] + "\n\n" + ". ".join(sentences[1:] + sentences[:1]).rstrip(".") + "."
    edited = texts[20][:30] + "量" + texts[20][31:]  # one Chinese character substituted
    texts += [reordered, edited]
    found = [(i, j) for i, j, _ in near_duplicate_pairs(texts, 90)]
    assert found == [(11, 400), (20, 401)]
    assert [(i, j) for i, j, _ in near_duplicate_pairs(texts, 90, new_from=401)] == [(20, 401)]


def test_common_shingles_are_thinned_the_same_way_in_every_text():
    # The question is common in the corpus: with skip_common each text keeps only about 16 of
    # its common shingles, so two unrelated answers to it agree in few MinHash rows. The text
    # that is the question alone, and its edited copy, keep nearly the same ones.
    texts = topic_corpus(400, seed=7)
    question = texts[1].split("\n\n")[0]
    texts += [question, question.replace("alpha", "alpha value")]
    full = minhash_signatures(texts)
    thinned = minhash_signatures(texts, skip_common=True)

    def agree(sig: np.ndarray, i: int, j: int) -> float:
        return float((sig[i] == sig[j]).mean())

    unrelated = [(k, k + 2) for k in range(1, 41, 2)]
    assert np.mean([agree(thinned, i, j) for i, j in unrelated]) < np.mean([agree(full, i, j) for i, j in unrelated]) / 3
    assert agree(thinned, 400, 401) > 0.4
    assert (400, 401) in {(i, j) for i, j, _ in near_duplicate_pairs(texts, 80)}


def test_most_similar_kept_sample_is_named():
    closer = make_sample(instruction=EN_EDITED.instruction, output=EN.output)  # one word from EN_EDITED
    flags = check_near_duplicates([EN_EDITED], make_context(reference=[EN, closer]))
    assert flags[0][1].related_id == closer.id


def test_pairs_only_from_new_texts():
    texts = [near_duplicate_text(s) for s in (EN, EN_EDITED, ZH, ZH_EDITED)]
    assert [(i, j) for i, j, _ in near_duplicate_pairs(texts, 90)] == [(0, 1), (2, 3)]
    assert [(i, j) for i, j, _ in near_duplicate_pairs(texts, 90, new_from=2)] == [(2, 3)]
    assert near_duplicate_pairs(texts, 90, new_from=4) == []


def test_signatures_do_not_depend_on_the_process():
    texts = [near_duplicate_text(s) for s in (EN, ZH)] + ["", "ok"]
    script = ("import json, sys\nfrom factory.checks.near_duplicates import minhash_signatures\n"
              "print(json.dumps(minhash_signatures(json.load(sys.stdin)).tolist()))")
    runs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), env=env,
                             capture_output=True, text=True, check=True, cwd=REPO)
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == minhash_signatures(texts).tolist()


# --- recall and precision on planted near duplicates -----------------------------------------

def planted_corpus(n: int, threshold: float, seed: int = 0) -> tuple[list[str], set[tuple[int, int]]]:
    """`n` QA texts, half English, half Chinese; about a third are edited copies of an earlier one.

    Unrelated texts share a question template and a skewed vocabulary, as texts on one topic
    do. An edit replaces, inserts or deletes a few words (Chinese: a few characters) and
    sometimes adds typos; it is planted only if the copy stays at or above `threshold`, which is
    what makes it a near duplicate. Each original gets at most one copy, so the planted pairs
    are the whole truth.
    """
    rng = random.Random(seed)
    syllables = ["ka", "to", "ri", "mo", "na", "se", "lu", "pi", "de", "ga", "vo", "ze", "shi", "ran", "tek", "bor"]
    common_en = "the a of to and is in for with on how what why does should model rank data training".split()
    en_words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(1500)] + common_en * 20
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 800)]
    zh_words = ["".join(rng.choices(han, k=rng.randint(1, 3))) for _ in range(1500)] + list("的了是在和我你他这那有") * 20

    def original(lang: str) -> list[str]:
        words = en_words if lang == "en" else zh_words
        question = ["how", "should", "i"] if lang == "en" else ["我", "应该", "怎么"]
        return question + rng.choices(words, k=rng.randint(5, 10)) + ["\n"] + rng.choices(words, k=rng.randint(15, 80))

    def join(tokens: list[str], lang: str) -> str:
        return (" " if lang == "en" else "").join(tokens)

    def edit(tokens: list[str], lang: str) -> list[str]:
        words = en_words if lang == "en" else zh_words
        tokens = list(tokens)
        for _ in range(rng.randint(1, 10)):
            i = rng.randrange(len(tokens))
            op = rng.random()
            if op < 0.5:
                tokens[i] = rng.choice(words)
            elif op < 0.75:
                tokens.insert(i, rng.choice(words))
            elif len(tokens) > 10:
                del tokens[i]
        if rng.random() < 0.3:  # typos
            i = rng.randrange(len(tokens))
            tokens[i] = tokens[i][::-1] + rng.choice("xyz的")
        return tokens

    texts: list[str] = []
    truth: set[tuple[int, int]] = set()
    originals: list[tuple[int, str, list[str]]] = []
    while len(texts) < n:
        if originals and rng.random() < 0.4:
            k = rng.randrange(len(originals))
            index, lang, tokens = originals[k]
            copy = join(edit(tokens, lang), lang)
            if fuzz.ratio(texts[index], copy) < threshold:
                continue
            originals.pop(k)
            truth.add((index, len(texts)))
            texts.append(copy)
        else:
            lang = "en" if len(texts) % 2 else "zh"
            tokens = original(lang)
            originals.append((len(texts), lang, tokens))
            texts.append(join(tokens, lang))
    return texts, truth


@pytest.mark.parametrize("threshold", [85.0, 90.0])
def test_planted_near_duplicates_recall_and_precision(threshold):
    texts, truth = planted_corpus(2000, threshold)
    assert len(truth) >= 400
    found = {(i, j) for i, j, _ in near_duplicate_pairs(texts, threshold)}
    hits = len(found & truth)
    recall, precision = hits / len(truth), hits / max(len(found), 1)
    assert recall >= 0.95, (recall, sorted(truth - found)[:10])
    assert precision >= 0.95, (precision, sorted(found - truth)[:10])


def jaccard(a: str, b: str) -> float:
    x, y = set(shingle_hashes(a).tolist()), set(shingle_hashes(b).tolist())
    return len(x & y) / len(x | y)


def typo_pairs(count: int, typos: tuple[int, int], seed: int) -> list[tuple[str, str]]:
    """Random English-like texts and copies with scattered character typos: low-Jaccard pairs."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    pairs = []
    for _ in range(count):
        text = " ".join("".join(rng.choices(letters, k=rng.randint(2, 8))) for _ in range(40))
        chars = list(text)
        for _ in range(rng.randint(*typos)):
            chars[rng.randrange(len(chars))] = rng.choice(letters)
        pairs.append((text, "".join(chars)))
    return pairs


def reordered_corpus(n: int, threshold: float, seed: int = 0) -> tuple[list[str], set[tuple[int, int]]]:
    """Multi-sentence texts, half English, half Chinese; a quarter of them are copies of an
    earlier one with the sentences reordered and up to two words (characters) replaced. A copy
    is planted if the replacements alone keep it at or above `threshold` (reordering is free)."""
    rng = random.Random(seed)
    en_words = ["".join(rng.choices("bcdfghklmnprstvz", k=2)) + rng.choice("aeiou") for _ in range(3000)]
    zh_chars = [chr(0x4E00 + k) for k in range(2000)]
    texts: list[str] = []
    truth: set[tuple[int, int]] = set()
    sources: list[tuple[int, str, list[list[str]]]] = []

    def render(lang: str, sentences: list[list[str]]) -> str:
        if lang == "en":
            return " ".join(" ".join(s) + "." for s in sentences)
        return "".join("".join(s) + "。" for s in sentences)

    while len(texts) < n:
        if sources and rng.random() < 0.25:
            index, lang, sentences = sources.pop(rng.randrange(len(sources)))
            copy = [list(s) for s in sentences]
            for _ in range(rng.randint(0, 2)):
                s = rng.choice(copy)
                s[rng.randrange(len(s))] = rng.choice(en_words if lang == "en" else zh_chars)
            if fuzz.ratio(texts[index], render(lang, copy)) < threshold:
                continue
            half = len(copy) // 2  # reversed or rotated by half: every sentence moves
            copy = copy[::-1] if rng.random() < 0.5 else copy[half:] + copy[:half]
            truth.add((index, len(texts)))
            texts.append(render(lang, copy))
        else:
            lang = "en" if len(texts) % 2 else "zh"
            vocab = en_words if lang == "en" else zh_chars
            sentences = [rng.choices(vocab, k=rng.randint(5, 12) if lang == "en" else rng.randint(8, 20))
                         for _ in range(rng.randint(3, 7))]
            sources.append((len(texts), lang, sentences))
            texts.append(render(lang, sentences))
    return texts, truth


def test_planted_reordered_copies_recall_and_precision():
    texts, truth = reordered_corpus(1200, 90.0)
    assert len(truth) >= 200
    assert sum(fuzz.ratio(texts[i], texts[j]) < 90 for i, j in truth) >= 0.8 * len(truth)  # not found by ratio
    found = {(i, j) for i, j, _ in near_duplicate_pairs(texts, 90)}
    hits = len(found & truth)
    recall, precision = hits / len(truth), hits / max(len(found), 1)
    assert recall >= 0.95, (recall, sorted(truth - found)[:10])
    assert precision >= 0.95, (precision, sorted(found - truth)[:10])


def test_minhash_estimates_jaccard():
    # Unbiased, and as close as 120 permutations allow (binomial sd ~0.045 at J=0.5).
    pairs = typo_pairs(300, (1, 40), seed=2)
    sig = minhash_signatures([t for pair in pairs for t in pair])
    error = (sig[0::2] == sig[1::2]).mean(axis=1) - np.array([jaccard(a, b) for a, b in pairs])
    assert abs(error.mean()) < 0.01
    assert np.abs(error).mean() < 0.045


def test_banding_s_curve():
    # Pairs at Jaccard 0.4-0.5 (what scattered edits leave at ratio ~85-90) become candidates
    # with probability 0.93-0.995; pairs at Jaccard ~0.1 (same topic) with about 0.04.
    # near_duplicate_pairs with threshold 0 returns every candidate pair.
    pairs = [p for p in typo_pairs(500, (20, 28), seed=3) if 0.4 <= jaccard(*p) <= 0.5][:300]
    assert len(pairs) >= 200
    texts = [t for pair in pairs for t in pair]
    found = {(i, j) for i, j, _ in near_duplicate_pairs(texts, 0)}
    assert sum((2 * k, 2 * k + 1) in found for k in range(len(pairs))) / len(pairs) >= 0.9
    far = [p for p in typo_pairs(500, (70, 90), seed=4) if 0.07 <= jaccard(*p) <= 0.13][:300]
    texts = [t for pair in far for t in pair]
    found = {(i, j) for i, j, _ in near_duplicate_pairs(texts, 0)}
    assert sum((2 * k, 2 * k + 1) in found for k in range(len(far))) / len(far) <= 0.1
