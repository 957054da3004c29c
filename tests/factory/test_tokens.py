"""factory/tokens.py with a tiny tokenizer trained on the fly, and too_many_tokens with it."""

import pickle
import sys

import pytest

from factory.checks import CheckContext, run_checks
from factory.checks.length import TURN_OVERHEAD_TOKENS, check_length
from factory.config import ChecksConfig
from factory.errors import BadInput
from factory.tokens import load_token_counter
from tests.factory.checks.sample_builders import codes, make_sample

CORPUS = [
    "the rank sets how many directions the update can change",
    "start at rank 8 and double it",
    "低秩适配只训练很少的参数",
    "先用八再翻倍",
]


def train_tokenizer():
    """Word-level: one token per whitespace-separated word and per Han character ([UNK] otherwise).
    Saved with truncation and a [CLS] … [SEP] post-processor, which counting must ignore."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(r"[\u4e00-\u9fff]"), behavior="isolated"),
    ])
    tok.train_from_iterator(CORPUS, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[CLS]", "[SEP]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))]
    )
    tok.enable_truncation(max_length=3)
    return tok


@pytest.fixture
def tokenizer_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    train_tokenizer().save(str(path))
    return path


@pytest.fixture
def no_transformers(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` raises ImportError


TEXTS = ["start at rank 8", "the update can change", "低秩适配", "先用八。", "", "unknown words count too"]
COUNTS = [4, 4, 4, 4, 0, 4]


def test_counts_a_tokenizer_json_file(tokenizer_file):
    count = load_token_counter(str(tokenizer_file))
    assert count(TEXTS) == COUNTS  # not capped at the saved truncation, no [CLS]/[SEP]
    assert count([]) == []


def test_counts_a_folder_with_tokenizer_json(tokenizer_file, no_transformers):
    assert load_token_counter(str(tokenizer_file.parent))(TEXTS) == COUNTS


def test_counter_pickles_for_worker_processes(tokenizer_file):
    count = pickle.loads(pickle.dumps(load_token_counter(str(tokenizer_file))))
    assert count(TEXTS) == COUNTS


@pytest.mark.parametrize(
    "fields, text_tokens",
    [
        ({"instruction": "start at rank 8", "output": "the update can change and double it"}, 11),
        ({"instruction": "低秩适配", "input": "先用八", "output": "只训练很少的参数。"}, 16),
    ],
    ids=["en", "zh"],
)
def test_too_many_tokens_around_max_tokens(tokenizer_file, fields, text_tokens):
    count = load_token_counter(str(tokenizer_file))
    sample = make_sample(**fields)
    total = text_tokens + 2 * TURN_OVERHEAD_TOKENS  # one user and one assistant message
    at_limit = CheckContext(ChecksConfig(max_tokens=total), count_tokens=count)
    over = CheckContext(ChecksConfig(max_tokens=total - 1), count_tokens=count)
    assert codes(check_length([sample], at_limit)) == []
    flags = check_length([sample], over)
    assert codes(flags) == ["too_many_tokens"]
    assert f"about {total} tokens" in flags[0][1].message and f"max_tokens is {total - 1}" in flags[0][1].message


def test_run_checks_with_a_token_counter(tokenizer_file):
    ctx = CheckContext(ChecksConfig(max_tokens=10), count_tokens=load_token_counter(str(tokenizer_file)))
    long, short = make_sample(instruction="start at rank 8 please", output="double it"), make_sample()
    result = run_checks([long, short], CheckContext(ChecksConfig(max_tokens=10_000), count_tokens=ctx.count_tokens),
                        names=["length"])
    assert result == {long.id: [], short.id: []}
    assert [f.code for f in run_checks([long], ctx, names=["length"])[long.id]] == ["too_many_tokens"]


def _bad(spec):
    with pytest.raises(BadInput) as err:
        load_token_counter(spec)
    message = str(err.value)
    assert "checks.tokenizer" in message and "\n" not in message
    return message


def test_missing_file_names_the_spec(tmp_path):
    spec = str(tmp_path / "nope" / "tokenizer.json")
    message = _bad(spec)
    assert repr(spec) in message and "no such file" in message


def test_malformed_tokenizer_json_names_the_spec(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"not": "a tokenizer"}', encoding="utf-8")
    assert repr(str(path)) in _bad(str(path))


def test_folder_without_tokenizer_json_names_the_spec(tmp_path, no_transformers):
    message = _bad(str(tmp_path))
    assert repr(str(tmp_path)) in message and "no tokenizer.json" in message


def test_hub_id_without_transformers_says_it_is_needed(no_transformers):
    message = _bad("Qwen/Qwen2.5-7B-Instruct")
    assert "'Qwen/Qwen2.5-7B-Instruct'" in message and "needs transformers" in message


def test_empty_spec():
    assert "checks.tokenizer is empty" in _bad("  ")
