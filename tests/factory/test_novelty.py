"""ROUGE-L novelty filter: exact score equal to rouge_score's, pool decisions equal to the exhaustive loop."""

from __future__ import annotations

import random

import pytest

from factory.novelty import NoveltyPool, RougeTokenizer, rouge_l, tokens

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

EN_WORDS = [
    "write",
    "explain",
    "list",
    "describe",
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "for",
    "how",
    "what",
    "why",
    "give",
    "three",
    "short",
    "story",
    "poem",
    "email",
    "summary",
    "python",
    "function",
    "code",
    "data",
    "model",
    "list",
    "steps",
    "reasons",
    "examples",
    "about",
    "your",
    "best",
    "way",
    "make",
    "create",
    "simple",
    "new",
    "old",
    "small",
    "large",
    "good",
    "bad",
    "people",
    "city",
    "water",
    "time",
    "year",
    "day",
]
ZH_CHARS = list(
    "请写一个关于的简短故事解释为什么如何列出三种方法描述这段文字总结给我生成代码数据模型城市水时间天年人好坏新旧大小"
)


def _scorer():
    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=RougeTokenizer())


def _instruction(rng: random.Random) -> str:
    n = rng.randint(4, 25)
    if rng.random() < 0.5:
        # Zipf-ish: the first words are much more likely
        words = [
            EN_WORDS[min(int(rng.paretovariate(1.0)) - 1, len(EN_WORDS) - 1)]
            if rng.random() < 0.4
            else rng.choice(EN_WORDS)
            for _ in range(n)
        ]
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice([".", "?", ""])
    chars = [rng.choice(ZH_CHARS) for _ in range(n)]
    return "".join(chars) + rng.choice(["。", "？", ""])


def _paraphrase(rng: random.Random, text: str) -> str:
    toks = tokens(text)
    zh = bool(toks) and len(toks[0]) == 1 and not toks[0].isascii()
    for _ in range(rng.randint(0, 3)):
        op = rng.random()
        i = rng.randrange(len(toks) + 1)
        new = rng.choice(ZH_CHARS) if zh else rng.choice(EN_WORDS)
        if op < 0.4 and i < len(toks):
            toks[i] = new
        elif op < 0.7:
            toks.insert(i, new)
        elif i < len(toks) and len(toks) > 1:
            del toks[i]
    return ("" if zh else " ").join(toks).capitalize() if not zh else "".join(toks)


def test_tokens_latin_and_cjk():
    assert tokens("Write 3 Poems, about THE sea!") == [
        "write",
        "3",
        "poems",
        "about",
        "the",
        "sea",
    ]
    assert tokens("请写一首诗。") == ["请", "写", "一", "首", "诗"]
    assert tokens("用Python写hello world程序") == [
        "用",
        "python",
        "写",
        "hello",
        "world",
        "程",
        "序",
    ]
    assert tokens("…！？ ") == []


def test_chinese_scored_per_character():
    # rouge_score's default tokenizer drops non-ASCII: Chinese would score 0 against anything.
    assert (
        rouge_scorer.RougeScorer(["rougeL"])
        .score("请写一首诗", "请写一首诗")["rougeL"]
        .fmeasure
        == 0
    )
    assert rouge_l(tokens("请写一首诗"), tokens("请写一首诗")) == 1.0
    # LCS 4 of 5 and 6 characters: F = 2 * 4 / 11
    assert rouge_l(tokens("请写一首诗"), tokens("请你写一首歌")) == pytest.approx(
        8 / 11
    )


def test_rouge_l_equals_rouge_score_on_random_pairs():
    rng = random.Random(1)
    scorer = _scorer()
    for k in range(200):
        a = _instruction(rng)
        b = _paraphrase(rng, a) if k % 3 == 0 else _instruction(rng)
        expected = scorer.score(a, b)["rougeL"].fmeasure
        assert rouge_l(tokens(a), tokens(b)) == expected, (a, b)
        assert rouge_l(tokens(b), tokens(a)) == pytest.approx(expected)


def test_rouge_l_empty():
    assert rouge_l([], ["a"]) == 0.0
    assert rouge_l(["a"], []) == 0.0
    assert rouge_l(["a"], ["b"]) == 0.0


def _exhaustive_max(scorer, pool: list[str], text: str) -> tuple[float, int]:
    best, best_j = 0.0, -1
    for j, other in enumerate(pool):
        f = scorer.score(text, other)["rougeL"].fmeasure
        if f > best:
            best, best_j = f, j
    return best, best_j


def test_pool_decisions_equal_exhaustive_loop():
    rng = random.Random(7)
    base = [_instruction(rng) for _ in range(1600)]
    # planted paraphrases inside the pool too
    pool_texts = base + [_paraphrase(rng, rng.choice(base)) for _ in range(400)]
    rng.shuffle(pool_texts)
    pool = NoveltyPool(pool_texts)
    assert len(pool) == 2000
    # 40 candidates x 2,000 entries with rouge_score's pure Python LCS: a few seconds
    candidates = [_instruction(rng) for _ in range(20)] + [
        _paraphrase(rng, rng.choice(pool_texts)) for _ in range(20)
    ]
    scorer = _scorer()
    rejected = 0
    for text in candidates:
        best, best_j = _exhaustive_max(scorer, pool_texts, text)
        for threshold in (0.5, 0.7, 0.9):
            assert pool.is_novel(text, threshold) == (best <= threshold), (
                text,
                threshold,
                best,
            )
        assert pool.max_similarity(text) == (best, best_j)
        rejected += best > 0.7
    assert 12 <= rejected <= 30  # the planted paraphrases exercise both outcomes


def test_near_copy_rejected_new_accepted():
    pool = NoveltyPool(
        [
            "Write a short poem about the sea at night.",
            "Explain how a hash table handles collisions.",
            "请写一篇关于春天的短文。",
        ]
    )
    assert not pool.is_novel("Write a short poem about the sea at dawn.")
    assert not pool.is_novel("请写一篇关于秋天的短文")
    assert pool.is_novel("List three reasons to learn Rust.")
    assert pool.is_novel("给我推荐五本科幻小说。")
    score, index = pool.max_similarity("Explain how a hash table handles collisions!")
    assert (score, index) == (1.0, 1)
    assert pool.max_similarity("Zebra quantum umbrella.") == (0.0, -1)


def test_add_if_novel_and_edge_cases():
    pool = NoveltyPool()
    assert len(pool) == 0
    assert pool.is_novel("anything")
    assert pool.max_similarity("anything") == (0.0, -1)
    assert pool.add_if_novel("Write a haiku about autumn leaves.")
    assert not pool.add_if_novel("Write a haiku about autumn leaves")
    assert pool.add_if_novel("Summarise this article in two sentences.")
    assert len(pool) == 2 and pool[1] == "Summarise this article in two sentences."
    assert pool.is_novel(
        "!!!"
    )  # no tokens: scores 0 against everything, as rouge_score does
    # duplicate tokens: the bound uses multiset overlap, still exact
    pool.add("the the the cat")
    assert pool.max_similarity("the cat the the") == (
        rouge_l(tokens("the cat the the"), tokens("the the the cat")),
        2,
    )
