"""`eval`: base against tuned on held-out questions and general_eval, scores, the judge, the report."""

import json

import pytest

from factory.llm import LLMUnavailable
from tests.openai_server import malformed, status
from train.evaluate import evaluate_run, load_eval
from train.judge import judge_answers, parse_scores
from train.scoring import exact_match, rouge_l


def test_rouge_l_is_character_level_for_chinese_and_word_level_otherwise():
    assert rouge_l("量化把权重变成低比特", "量化把权重变成低比特的数。") == pytest.approx(2 * 1 * (10 / 12) / (1 + 10 / 12))
    assert rouge_l("the cat sat", "the cat sat on the mat") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert rouge_l("The, CAT sat!", "the cat sat") == 1.0 and rouge_l("dog", "the cat") == 0.0
    assert rouge_l("", "anything") == 0.0


def test_exact_match_only_where_the_reference_is_short():
    assert exact_match("Paris.", "paris") is True and exact_match("Lyon", "Paris") is False
    assert exact_match("四", "四。") is True
    assert exact_match("anything", "a reference answer that is much too long to be matched word for word") is None


def test_judge_replies_are_scores_or_nothing():
    assert parse_scores('Sure: {"domain_knowledge": 4, "style": 5, "accuracy": 3, "reason": "ok"}') == {
        "domain_knowledge": 4, "style": 5, "accuracy": 3, "reason": "ok"}
    assert parse_scores('{"domain_knowledge": 9, "style": 5, "accuracy": 3}') is None
    assert parse_scores('{"style": 5}') is None and parse_scores("no json") is None and parse_scores(None) is None


def test_a_judge_that_refuses_the_key_is_one_error_not_a_thousand_missing_scores(ws, openai_server, monkeypatch):
    monkeypatch.setenv("FACTORY_API_KEY", "sk-test-key-that-is-refused")
    monkeypatch.setenv("FACTORY_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("FACTORY_MODEL", "judge-model")
    openai_server.script(default=lambda body: status(401, echo_headers=True))
    with pytest.raises(LLMUnavailable, match="judge: .*401") as refused:
        judge_answers(ws, [("What is NF4?", "A 4-bit type.", "A 4-bit type.")] * 40)
    assert "sk-test-key-that-is-refused" not in str(refused.value)
    assert len(openai_server.chat_requests) <= 8  # those already in flight (concurrency 8), then nothing more


def test_eval_compares_base_and_tuned_on_held_out_and_general_questions(trained, facts, openai_server, monkeypatch):
    ws, version = facts
    monkeypatch.setenv("FACTORY_API_KEY", "test-key")
    monkeypatch.setenv("FACTORY_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("FACTORY_MODEL", "judge-model")

    def grade(body):  # 5s for an answer equal to the reference, 1s otherwise
        text = body["messages"][1]["content"]
        reference = text.split("Reference answer:\n")[1].split("\n\nCandidate answer:\n")[0]
        score = 5 if text.endswith(reference) else 1
        return json.dumps({"domain_knowledge": score, "style": score, "accuracy": score, "reason": "graded"})

    openai_server.script(malformed("{not json"), default=grade)  # one reply unusable: counted, not guessed
    result = evaluate_run(ws, trained.run.id, judge=True)
    assert result == load_eval(trained.run)
    evals, general = version.records("eval"), version.records("general_eval")
    assert set(result["splits"]) == {"eval", "general_eval"} and len(general) == 3
    assert [r["id"] for r in result["samples"]] == [r["id"] for r in evals + general]
    for row in result["samples"]:
        for side in ("base", "tuned"):
            assert isinstance(row[side]["answer"], str) and 0.0 <= row[side]["rouge_l"] <= 1.0
    split = result["splits"]["eval"]
    assert split["samples"] == len(evals) and split["tuned"]["exact_match_samples"] <= len(evals)
    assert split["rouge_l_gain"] == pytest.approx(split["tuned"]["rouge_l"] - split["base"]["rouge_l"], abs=1e-3)
    assert "forgetting" in result and result["judge_model"] == "judge-model"
    judged = [row[side].get("judge") for row in result["samples"] for side in ("base", "tuned")]
    assert sum(j is None for j in judged) == 1 and len(openai_server.chat_requests) == len(judged)
    assert split["tuned"]["judge"]["judged"] + split["base"]["judge"]["judged"] + \
        result["splits"]["general_eval"]["tuned"]["judge"]["judged"] + \
        result["splits"]["general_eval"]["base"]["judge"]["judged"] == len(judged) - 1
    sent = openai_server.chat_requests[0]
    assert "domain_knowledge" in sent.json["messages"][0]["content"]
    report = (trained.run.path / "eval.md").read_text()
    assert "| split | samples | ROUGE-L base |" in report and "## general_eval" in report
    for record in evals + general:
        assert record["instruction"] in report
    assert "test-key" not in report and "test-key" not in (trained.run.path / "eval.json").read_text()
    assert trained.run.summary()["evaluated"] is True
