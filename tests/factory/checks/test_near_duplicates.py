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
    near_duplicate_text,
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


def test_threshold_comes_from_config():
    ratio = fuzz.ratio(near_duplicate_text(EN), near_duplicate_text(EN_EDITED))
    assert check_near_duplicates([EN, EN_EDITED], make_context(near_duplicate_threshold=ratio))
    assert not check_near_duplicates([EN, EN_EDITED], make_context(near_duplicate_threshold=ratio + 0.5))


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
