import pytest

from factory.checks.duplicates import check_exact_duplicates, duplicate_key
from tests.factory.checks.sample_builders import codes, make_context, make_sample

EN = {"instruction": "What is LoRA?", "output": "LoRA adds trainable low-rank matrices to frozen weights."}
ZH = {"instruction": "什么是 LoRA？", "output": "LoRA 在冻结的权重旁加入可训练的低秩矩阵。"}


@pytest.mark.parametrize(
    "first, second",
    [
        (EN, {"instruction": "what is LoRA", "output": "LoRA adds trainable  low-rank matrices to frozen weights"}),
        (ZH, {"instruction": "什么是LoRA?", "output": "ＬｏＲＡ在冻结的权重旁，加入可训练的低秩矩阵"}),  # full-width letters
    ],
)
def test_copy_in_batch_names_the_first(first, second):
    kept, copy = make_sample(**first), make_sample(**second)
    assert kept.id != copy.id  # different text, same key
    flags = check_exact_duplicates([kept, copy], make_context())
    assert flags == [(copy.id, flags[0][1])]
    finding = flags[0][1]
    assert finding.code == "exact_duplicate" and finding.severity == "reject" and finding.check == "exact_duplicates"
    assert finding.related_id == kept.id
    assert kept.id in finding.message and "earlier sample in this batch" in finding.message


@pytest.mark.parametrize(
    "first, second",
    [
        (EN, {"instruction": "What is QLoRA?", "output": EN["output"]}),
        (ZH, {"instruction": "什么是 QLoRA？", "output": ZH["output"]}),
        (EN, {"instruction": EN["instruction"], "output": EN["output"] + " It is cheap."}),
        (ZH, {"instruction": ZH["instruction"], "output": ZH["output"] + "它很省显存。"}),
        # The same words moved from instruction to input are a different prompt.
        ({"instruction": "Translate: hello", "output": "你好"}, {"instruction": "Translate:", "input": "hello", "output": "你好"}),
    ],
)
def test_different_samples_are_not_duplicates(first, second):
    assert check_exact_duplicates([make_sample(**first), make_sample(**second)], make_context()) == []


@pytest.mark.parametrize("fields", [EN, ZH])
def test_reference_sample_is_kept_over_batch(fields):
    approved = make_sample(**fields, status="approved")
    a = make_sample(**{k: v.upper() for k, v in fields.items()})
    b = make_sample(**{k: v + "!" for k, v in fields.items()})
    flags = check_exact_duplicates([a, b], make_context(reference=[approved]))
    assert [(sid, f.related_id) for sid, f in flags] == [(a.id, approved.id), (b.id, approved.id)]
    assert "reference sample" in flags[0][1].message


def test_reference_samples_are_never_flagged():
    ref1, ref2 = make_sample(**EN), make_sample(instruction="WHAT IS LORA", output=EN["output"])
    batch = [make_sample(**ZH)]
    assert check_exact_duplicates(batch, make_context(reference=[ref1, ref2])) == []


def test_sample_in_both_reference_and_batch_is_not_its_own_duplicate():
    sample = make_sample(**EN)
    assert check_exact_duplicates([sample], make_context(reference=[sample])) == []
    assert check_exact_duplicates([sample, sample], make_context()) == []


def test_three_copies_all_point_at_the_first():
    samples = [make_sample(instruction=EN["instruction"] + p, output=EN["output"]) for p in ("", ".", "!!")]
    flags = check_exact_duplicates(samples, make_context())
    assert codes(flags) == ["exact_duplicate"] * 2
    assert {f.related_id for _, f in flags} == {samples[0].id}


def test_key_is_stable_and_ignores_system_and_history():
    a = make_sample(**EN)
    b = make_sample(**EN, system="You are terse.")
    assert duplicate_key(a) == duplicate_key(b)
    assert len(duplicate_key(a)) == 64
