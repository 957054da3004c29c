"""parse_pairs: each repair kind on its own, failure modes without exceptions, truncation property."""

from __future__ import annotations

import json
import random

import pytest

from factory.json_repair import ParsedPairs, parse_pairs

A = {"instruction": "Say hi", "input": "", "output": "Hi!"}
B = {"instruction": "Add", "input": "1 + 2", "output": "3"}
VALID = json.dumps([A, B])


def _ok(result: ParsedPairs, items: list[dict]) -> None:
    assert result.error is None
    assert result.items == items


def test_valid_json_needs_no_repair():
    result = parse_pairs(VALID)
    _ok(result, [A, B])
    assert result.repaired == [] and result.dropped == 0


def test_input_defaults_to_empty_string():
    result = parse_pairs('[{"instruction": "x", "output": "y"}]')
    _ok(result, [{"instruction": "x", "input": "", "output": "y"}])


@pytest.mark.parametrize("fence", ["```json", "```", "```JSON"])
def test_code_fence(fence):
    result = parse_pairs(f"{fence}\n{json.dumps([A, B], indent=2)}\n```")
    _ok(result, [A, B])
    assert result.repaired == ["code fence"]


def test_surrounding_prose():
    result = parse_pairs(f"Sure! Here are the pairs [as asked]:\n{VALID}\nLet me know if you'd like more {{or fewer}}.")
    _ok(result, [A, B])
    assert result.repaired == ["surrounding prose"]


def test_fence_and_prose():
    result = parse_pairs(f"Here you go:\n```json\n{VALID}\n```\nEnjoy!")
    _ok(result, [A, B])
    assert result.repaired == ["code fence", "surrounding prose"]


def test_fence_inside_a_string_is_content():
    item = {"instruction": "Show a fence", "input": "", "output": "```python\nprint(1)\n```"}
    result = parse_pairs("```json\n" + json.dumps([item]) + "\n```")
    _ok(result, [item])


def test_trailing_commas():
    text = '[{"instruction": "Say hi", "input": "", "output": "Hi!",}, {"instruction": "a,}", "output": "b,]"},\n]'
    result = parse_pairs(text)
    _ok(result, [A, {"instruction": "a,}", "input": "", "output": "b,]"}])
    assert result.repaired == ["trailing comma"]


def test_single_quotes():
    text = "[{'instruction': 'Don't panic', 'input': 'say \"hi\"', 'output': 'it\\'s fine, really'}]"
    result = parse_pairs(text)
    _ok(result, [{"instruction": "Don't panic", "input": 'say "hi"', "output": "it's fine, really"}])
    assert result.repaired == ["single quotes"]


def test_smart_quotes_around_keys_and_strings():
    text = '[{“instruction”: “Say hi”, “input”: “”, “output”: “Hi!”}, {"instruction": "引用“原文”", "output": "好"}]'
    result = parse_pairs(text)
    _ok(result, [A, {"instruction": "引用“原文”", "input": "", "output": "好"}])
    assert result.repaired == ["smart quotes"]


def test_smart_quoted_chinese_with_inner_quotes():
    result = parse_pairs('[{“instruction”: “他说“你好”。”, “output”: “好的”}]')
    _ok(result, [{"instruction": "他说“你好”。", "input": "", "output": "好的"}])


@pytest.mark.parametrize("key", ["pairs", "data", "items", "examples", "whatever"])
def test_unwrap_single_list_valued_key(key):
    result = parse_pairs(json.dumps({"count": 2, key: [A, B]}))
    _ok(result, [A, B])
    assert result.repaired == [f'unwrapped {{"{key}": [...]}}']


def test_single_bare_object():
    _ok(parse_pairs(json.dumps(B)), [B])


def test_json_lines():
    result = parse_pairs(json.dumps(A) + "\n" + json.dumps(B) + "\n")
    _ok(result, [A, B])
    assert result.repaired == ["JSON lines (separate objects instead of an array)"]


def test_json_lines_truncated():
    text = json.dumps(A) + "\n" + json.dumps(B) + '\n{"instruction": "cut", "outp'
    result = parse_pairs(text)
    _ok(result, [A, B])
    assert "truncated: kept 2 complete objects" in result.repaired


def test_raw_newlines_in_strings():
    result = parse_pairs('[{"instruction": "two\nlines", "output": "ok"}]')
    _ok(result, [{"instruction": "two\nlines", "input": "", "output": "ok"}])
    assert result.repaired == ["raw control characters in strings"]


@pytest.mark.parametrize(("cut_after", "kept"), [
    ('{"instruction": "Add", "inp', 4),  # mid-key
    ('{"instruction": "Add", "input": "1 +', 4),  # mid-string
    ('{"instruction": "Add", "input": "1 + 2",', 4),  # after a comma
    ('{"instruction": "Add", "input": "1 + 2", "output": "3"}', 5),  # after a complete object
    ('{"instruction": "Add", "input": "1 + 2", "output": "3"}, {"ins', 5),  # mid next object
])
def test_truncated_mid_object_or_string(cut_after, kept):
    text = json.dumps([A, A, A, A, B, A])
    cut = text[:text.index(cut_after) + len(cut_after)]
    result = parse_pairs(cut)
    _ok(result, ([A] * 4 + [B])[:kept])
    assert result.repaired == [f"truncated: kept {kept} complete objects"]


def test_truncated_inside_wrapper_object():
    text = json.dumps({"pairs": [A, B, A]})[:-12]
    result = parse_pairs(text)
    _ok(result, [A, B])
    assert result.repaired == ['unwrapped {"pairs": [...]}', "truncated: kept 2 complete objects"]


def test_truncated_in_nested_list_of_a_record_does_not_keep_it():
    record = {"instruction": "x", "output": "y", "examples": [{"a": 1}, {"b": 2}]}
    text = json.dumps([A, record])[:-15]
    _ok(parse_pairs(text), [A])


def test_truncated_before_first_complete_object():
    result = parse_pairs('```json\n[{"instruction": "Say hi", "output": "H')
    assert result.items == [] and result.error is not None


def test_truncated_single_record_is_not_kept():
    result = parse_pairs('{"instruction": "x", "output": "y", "tags": [{"a": 1}, {"b"')
    assert result.items == [] and result.error is not None


@pytest.mark.parametrize("keys", [("question", "answer"), ("prompt", "response"), ("问题", "答案"),
                                  ("Instruction", "Output"), ("query", "completion")])
def test_key_variants(keys):
    q, a = keys
    result = parse_pairs(json.dumps([{q: "Q?", a: "A."}], ensure_ascii=False))
    _ok(result, [{"instruction": "Q?", "input": "", "output": "A."}])


def test_chinese_keys_and_content():
    data = [{"指令": "把这句话翻译成英文", "输入": "今天天气很好，我们去公园吧。", "输出": "The weather is nice today; let's go to the park."},
            {"指令": "写一首关于“春天”的短诗", "输入": "", "输出": "春风拂面，\n花开满园。"}]
    result = parse_pairs("以下是生成的数据：\n```json\n" + json.dumps(data, ensure_ascii=False, indent=2) + "\n```")
    _ok(result, [{"instruction": d["指令"], "input": d["输入"], "output": d["输出"]} for d in data])
    assert "key names: 指令 -> instruction" in result.repaired
    assert "key names: 输出 -> output" in result.repaired


def test_unusable_objects_dropped_and_counted():
    data = [A, {"instruction": "no output"}, {"output": "no instruction"}, {"instruction": 1, "output": "x"},
            {"instruction": "x", "output": ["list"]}, {"instruction": "x", "input": 5, "output": "y"},
            {"instruction": "  ", "output": "empty"}, "a string", 7, None, B]
    result = parse_pairs(json.dumps(data))
    _ok(result, [A, B])
    assert result.dropped == 9


def test_nothing_usable_sets_error():
    result = parse_pairs(json.dumps([{"instruction": "no output"}]))
    assert result.items == [] and result.dropped == 1 and result.error


@pytest.mark.parametrize("text", [
    "",
    "   \n",
    "I'm sorry, but I can't help with that request.",
    "Here are some ideas: {not json} and [a list] of things.",
    "```json\n```",
    "[{]",
    "[" * 5000,
    "{" * 5000 + '"',
    '[{"instruction": "x", "output": "y"} {"instruction": ',
    "\\",
    "'",
    "“",
])
def test_never_raises(text):
    result = parse_pairs(text)
    assert isinstance(result, ParsedPairs)
    if not result.items:
        assert result.error


def test_pure_prose():
    result = parse_pairs("Sure! Instruction: say hi. Output: Hi! Let me know if you'd like more.")
    assert result.items == [] and result.error == "no JSON array or object found in the response"


def test_empty_string():
    result = parse_pairs("")
    assert result.items == [] and result.dropped == 0 and result.error


def test_huge_truncated_array_keeps_all_complete_objects():
    data = [{"instruction": f"task {i} {{[\"x\"]}}", "input": "" if i % 2 else f"in{i}", "output": f"out {i}"}
            for i in range(20000)]
    text = json.dumps(data, ensure_ascii=False)
    cut = text.index('"task 15000 ') + 8
    result = parse_pairs(text[:cut])
    _ok(result, data[:15000])
    assert result.repaired == ["truncated: kept 15000 complete objects"]


ALPHABET = list("abcXYZ 019") + list("\"'{}[],:\\/\n\t`") + ["“", "”", "‘", "’"] + list("中文数据指令输出，。！")


def _random_string(rng: random.Random, default: str = "") -> str:
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 20)))
    return text if text.strip() else default


def test_property_truncated_dump_gives_prefix_of_originals():
    rng = random.Random(1234)
    for _ in range(200):
        data = [{"instruction": _random_string(rng, "x"), "input": _random_string(rng),
                 "output": _random_string(rng, "y")} for _ in range(rng.randint(0, 8))]
        if rng.random() < 0.3:
            data = {"pairs": data}
        text = json.dumps(data, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))
        cut = text[:rng.randint(0, len(text))]
        result = parse_pairs(cut)
        records = data["pairs"] if isinstance(data, dict) else data
        assert result.items == records[:len(result.items)], cut
        assert result.dropped == 0
        assert (result.error is None) == bool(result.items)
        if cut == text:
            assert result.items == records
