"""factory/checks/formulas.py: the answer's math must be the note's, whitespace aside."""

from factory.checks import CheckContext
from factory.checks.formulas import check_formulas, differing_formulas, math_spans
from factory.config import ChecksConfig
from tests.factory.checks.sample_builders import codes, make_sample

NOTE = ("RMS Norm 的计算公式为：\n\n$$\n\\bar{a}_i = \\frac{a_i}{\\sqrt{\\frac{1}{n} \\sum_{i=1}^{n} a_i^2}} \\cdot g_i\n$$\n\n"
        "其中 $\\sqrt{\\frac{1}{n} \\sum_{i=1}^{n} a_i^2}$ 是 RMS 操作，数据集 $D=\\left\\{x^{i}\\right\\}$。")


def ctx(sample, source):
    return CheckContext(ChecksConfig(), source_texts={sample.id: source})


def test_math_spans_of_every_delimiter_outside_code():
    text = "$$ a_i $$ and $b^2$ and \\(c\\) and \\[d\\] but not `$e$` nor\n```\n$f$\n```"
    assert math_spans(text) == [" a_i ", "b^2", "c", "d"]


def test_dollars_and_prose_between_dollars_are_no_math():
    assert math_spans("It costs $5 and $10.") == []
    assert math_spans("$x$ 是输入，那要怎么算呢？ 注意到，对于最后一个时刻 $t$") == ["x", "t"]
    assert math_spans("The '^$' regex pattern matches on cells where there is the start of a line $") == []


def test_a_formula_joined_onto_one_line_is_the_same_formula():
    output = "RMS Norm: $$ \\bar{a}_i = \\frac{a_i}{\\sqrt{\\frac{1}{n} \\sum_{i=1}^{n} a_i^2}} \\cdot g_i $$"
    assert differing_formulas(output, NOTE) == []


def test_lost_underscores_and_escaped_braces_differ():
    output = ("$$ \\bar{a}i = \\frac{a_i}{\\sqrt{\\frac{1}{n} \\sum{i=1}^{n} a_i^2}} \\cdot g_i $$，"
              "数据集 $D=\\left{x^{i}\\right}$。")
    assert len(differing_formulas(output, NOTE)) == 2


def test_the_finding_names_the_formula_and_the_note():
    sample = make_sample(instruction="什么是 RMS Norm？", output="数据集 $D=\\left{x^{i}\\right}$。")
    flags = check_formulas([sample], ctx(sample, NOTE))
    assert codes(flags) == ["formula_differs_from_source"]
    assert "D=\\left{x^{i}\\right}" in flags[0][1].message and "copy the formula" in flags[0][1].message


def test_without_the_note_nothing_is_compared():
    sample = make_sample(output="数据集 $D=\\left{x^{i}\\right}$。")
    assert check_formulas([sample], CheckContext(ChecksConfig())) == []


def test_an_answer_without_math_is_fine():
    sample = make_sample(output="RMS Norm 去掉了减去均值的部分。")
    assert check_formulas([sample], ctx(sample, NOTE)) == []
