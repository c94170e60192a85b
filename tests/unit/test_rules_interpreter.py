"""The interpreter: values by the documented semantics, and explanations a household can read."""

from __future__ import annotations

import pytest

from canasta.domain.facts import Value
from canasta.domain.rules import Clause, RuleEvaluationError, check_rule, evaluate_rule

FACTS: dict[str, Value] = {
    "members": 4,
    "children_under_5": 1,
    "people_over_65": 0,
    "head_age": 38,
    "monthly_income": 200_000,
    "income_per_capita": 50_000.0,
    "dependency_ratio": 0.5,
    "has_disabled_member": False,
    "female_headed": True,
    "dwelling_type": "informal",
    "area_code": "VE-01-01-02",
    "assets": 64 | 4,  # car, television
    "land_m2": 0,
}


def value(source: str) -> Value:
    return evaluate_rule(check_rule(source, result=None), FACTS).value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("members + children_under_5 * 2", 6),
        ("members - 10", -6),
        ("members / 8", 0.5),
        ("7 / 2", 3.5),
        ("members / people_over_65", 0.0),
        ("members / (members - 4)", 0.0),
        ("income_per_capita * 2", 100_000.0),
        ("members + 0.25", 4.25),
        ("-members", -4),
        ("abs(land_m2 - members)", 4),
        ("abs(-dependency_ratio)", 0.5),
        ("min(members, 9, 2)", 2),
        ("max(members, 4.5)", 4.5),
        ("min(members, 4.0)", 4.0),
        ("members == 4.0", True),
        ("members in [1, 4.0]", True),
        ("members in [1, 2, 3]", False),
        ("dwelling_type in ['room', 'informal']", True),
        ("dwelling_type == 'Informal'", False),
        ("has_asset('car') and has_asset('television') and not has_asset('refrigerator')", True),
        ("in_area('VE-01')", True),
        ("in_area('VE-01-01-02')", True),
        ("in_area('VE-0')", False),
        ("in_area('ve-01')", False),
        ("in_area('VE-01-01-0')", False),
        ("(members > 3) == female_headed", True),
        ("!female_headed || members >= 4 && has_disabled_member", False),
        ("not female_headed or members >= 4 and not has_disabled_member", True),
    ],
)
def test_values_follow_the_documented_semantics(source: str, expected: Value) -> None:
    result = value(source)
    assert result == expected
    assert type(result) is type(expected)


def test_whole_numbers_stay_within_64_bits() -> None:
    rule = check_rule("monthly_income * monthly_income * monthly_income * monthly_income > 0")
    with pytest.raises(RuleEvaluationError, match=r"column 1: a whole-number result does not fit in 64 bits") as caught:
        evaluate_rule(rule, FACTS)
    assert (caught.value.field, caught.value.code) == ("rule", "rule_evaluation")
    assert evaluate_rule(check_rule("-9_223_372_036_854_775_807 - 1 < 0"), {}).value is True
    with pytest.raises(RuleEvaluationError):
        evaluate_rule(check_rule("-9_223_372_036_854_775_807 - 2 < 0"), {})


def test_a_decimal_result_beyond_double_range_is_an_error() -> None:
    huge = "1" + "0" * 300 + ".0"
    rule = check_rule(f"income_per_capita * {huge} * {huge} > 0")
    with pytest.raises(RuleEvaluationError, match="too large"):
        evaluate_rule(rule, FACTS)


def test_a_fact_the_rule_needs_must_be_given() -> None:
    with pytest.raises(RuleEvaluationError, match=r"line 1, column 17: fact head_age was not given"):
        evaluate_rule(check_rule("members > 1 and head_age > 60"), {"members": 2})
    with pytest.raises(RuleEvaluationError, match=r"fact assets was not given"):
        evaluate_rule(check_rule("has_asset('car')"), {})


def test_every_clause_is_explained_with_the_values_it_used_even_after_a_failure() -> None:
    rule = check_rule("members >= 5 and (children_under_5 > 0 or has_disabled_member) and not in_area('VE-02')")
    evaluation = evaluate_rule(rule, FACTS)
    assert evaluation.value is False
    assert not evaluation.passed
    assert evaluation.clauses[1] == Clause(
        text="members >= 5", passed=False, values=(("members", 4),), depth=1, start=0, end=12
    )
    assert evaluation.explain() == [
        "failed: members >= 5 and (children_under_5 > 0 or has_disabled_member) and not in_area('VE-02') "
        "(members = 4, children_under_5 = 1, has_disabled_member = false, in_area('VE-02') = false)",
        "  failed: members >= 5 (members = 4)",
        "  passed: (children_under_5 > 0 or has_disabled_member) (children_under_5 = 1, has_disabled_member = false)",
        "    passed: children_under_5 > 0 (children_under_5 = 1)",
        "    failed: has_disabled_member (has_disabled_member = false)",
        "  passed: not in_area('VE-02') (in_area('VE-02') = false)",
    ]


def test_an_explanation_shows_text_and_decimal_values_as_written_in_rules() -> None:
    rule = check_rule("dwelling_type in ['informal', 'room'] and income_per_capita / members < 20_000.5")
    assert evaluate_rule(rule, FACTS).explain() == [
        "passed: dwelling_type in ['informal', 'room'] and income_per_capita / members < 20_000.5 "
        "(dwelling_type = 'informal', income_per_capita = 50000.0, members = 4)",
        "  passed: dwelling_type in ['informal', 'room'] (dwelling_type = 'informal')",
        "  passed: income_per_capita / members < 20_000.5 (income_per_capita = 50000.0, members = 4)",
    ]


def test_a_numeric_rule_has_a_value_and_no_pass() -> None:
    evaluation = evaluate_rule(check_rule("members * 2", result=None), FACTS)
    assert (evaluation.value, evaluation.passed, evaluation.clauses) == (8, False, ())
