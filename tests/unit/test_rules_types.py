"""The rule type checker: result types, ill-typed rules refused with a position, unknown facts with suggestions."""

from __future__ import annotations

import pytest

from canasta.domain.errors import ValidationError
from canasta.domain.facts import BUILT_IN_FACTS, Fact, FactLibrary, HouseholdColumn, HouseholdValue, UnknownFactError
from canasta.domain.facts import ValueType as T
from canasta.domain.rules import FUNCTIONS, RuleTypeError, check_rule
from canasta.domain.rules.ast import Binary, ListLiteral


@pytest.mark.parametrize(
    ("source", "result"),
    [
        ("members + 1", T.INT),
        ("members * -2 - head_age", T.INT),
        ("members + 0.5", T.DECIMAL),
        ("members / 2", T.DECIMAL),
        ("income_per_capita", T.DECIMAL),
        ("-members", T.INT),
        ("-dependency_ratio", T.DECIMAL),
        ("min(1, members)", T.INT),
        ("max(1, members, 2.5)", T.DECIMAL),
        ("abs(-income_per_capita)", T.DECIMAL),
        ("abs(land_m2 - 100)", T.INT),
        ("dwelling_type", T.TEXT),
        ("has_asset('car')", T.BOOL),
        ("in_area('VE-01')", T.BOOL),
        ("members in [1, 2.5]", T.BOOL),
        ("(members > 1) == has_car", T.BOOL),
        ("'a' != tenure", T.BOOL),
    ],
)
def test_each_expression_has_one_type(source: str, result: T) -> None:
    assert check_rule(source, result=None).type is result


def test_every_node_of_the_checked_tree_is_typed() -> None:
    rule = check_rule("members in [1, 2.5] and dwelling_type == 'room'")
    stack = [rule.tree]
    while stack:
        node = stack.pop()
        assert node.type is not None, node
        stack.extend(getattr(node, "operands", ()) or ())
        if isinstance(node, Binary):
            stack.extend((node.left, node.right))
    membership = rule.tree.operands[0]  # type: ignore[union-attr]
    assert isinstance(membership.right, ListLiteral)
    assert membership.right.type is T.DECIMAL  # an int compared with a list holding a decimal: compared as decimals


def test_a_rule_lists_the_facts_it_reads_including_those_behind_functions() -> None:
    rule = check_rule("members > 2 and (has_asset('car') or in_area('VE-01')) and members < 9")
    assert rule.facts == ("area_code", "assets", "members")


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ("members + true > 1", 11, "'+' needs a number, found true/false"),
        ("'a' * 2 > 1", 1, "'*' needs a number, found text"),
        ("-has_car", 2, "'-' needs a number, found true/false"),
        ("dwelling_type == 3", 1, "cannot compare text with a whole number"),
        ("has_car != 1", 1, "cannot compare true/false with a whole number"),
        ("dwelling_type < 'room'", 1, "'<' compares numbers, found text (compare it with == or !=)"),
        ("has_car >= false", 1, "'>=' compares numbers, found true/false"),
        ("not members", 5, "'not' needs true/false, found a whole number"),
        ("members and true", 1, "'and' needs true/false, found a whole number"),
        ("has_car || income_per_capita", 12, "'or' needs true/false, found a decimal number"),
        ("members in ['a', 'b']", 13, "cannot compare a whole number with text"),
        ("dwelling_type in ['room', 1]", 27, "cannot compare text with a whole number"),
        ("members in members", 12, "'in' needs a list written out"),
        ("members in []", 12, "an empty list matches nothing"),
        ("[1, 2] == [1]", 1, "a list can only follow 'in'"),
        ("members / 0 > 1", 11, "division by zero"),
        ("members / -0.0 > 1", 11, "division by zero"),
        ("min(members) > 1", 1, "wrong number of arguments: min(a, b, ...)"),
        ("abs(1, 2) > 1", 1, "wrong number of arguments: abs(x)"),
        ("max(members, has_car) > 1", 14, "max() needs a number, found true/false"),
        ("has_asset(car)", 1, "has_asset takes one text written out"),
        ("has_asset('car', 'tv')", 1, "has_asset takes one text written out"),
        ("has_asset('boat')", 11, "unknown asset 'boat'; known: refrigerator"),
        ("has_asset('cars')", 11, "unknown asset 'cars'; did you mean car?"),
        ("in_area('VE 01')", 9, "an area code is letters and digits in parts joined by '-'"),
        ("in_area('VE-01-')", 9, "an area code is letters and digits"),
        ("frobnicate(1) > 1", 1, "unknown function 'frobnicate'; the functions are min, max, abs"),
        ("mn(1, 2) > 1", 1, "unknown function 'mn'; did you mean min?"),
        ("members(1) > 1", 1, "members is a fact, not a function"),
        ("min > 1", 1, "min is a function; call it with brackets"),
        ("members", 1, "the rule must give true/false, but it gives a whole number"),
        ("(members > 1) + 1 > 0", 1, "'+' needs a number, found true/false"),
        ("99_999_999_999_999_999_999 > 1", 1, "a whole number must lie between -2^63 and 2^63 - 1"),
    ],
)
def test_an_ill_typed_rule_is_refused_naming_the_position_and_the_problem(
    source: str, column: int, message: str
) -> None:
    with pytest.raises(RuleTypeError) as caught:
        check_rule(source)
    error = caught.value
    assert error.position.column == column, error.detail
    assert message in error.detail
    assert error.detail.startswith(f"line 1, column {column}: ")
    assert (error.field, error.code) == ("rule", "rule_type")
    assert isinstance(error, ValidationError)


def test_the_expected_result_type_is_enforced_and_a_whole_number_serves_as_a_decimal() -> None:
    assert check_rule("members * 2", result=T.DECIMAL).type is T.INT
    assert check_rule("members * 2.0", result=T.DECIMAL).type is T.DECIMAL
    with pytest.raises(RuleTypeError, match="must give a whole number, but it gives a decimal number"):
        check_rule("members * 2.0", result=T.INT)
    with pytest.raises(RuleTypeError, match="must give text, but it gives true/false"):
        check_rule("has_car", result=T.TEXT)


@pytest.mark.parametrize(
    ("source", "name", "column", "suggestions"),
    [
        ("memebers > 1", "memebers", 1, ("members",)),
        ("members > 1 and childern_under_5 > 0", "childern_under_5", 17, ("children_under_5", "children_under_15")),
        ("income_per_capital < 100", "income_per_capital", 1, ("income_per_capita",)),
        ("has_cars", "has_cars", 1, ("has_car",)),
        ("salary > 1", "salary", 1, ()),
    ],
)
def test_an_unknown_fact_is_refused_with_the_closest_known_names(
    source: str, name: str, column: int, suggestions: tuple[str, ...]
) -> None:
    with pytest.raises(UnknownFactError) as caught:
        check_rule(source)
    error = caught.value
    assert error.name == name
    assert error.suggestions[: len(suggestions)] == suggestions
    assert not suggestions or set(error.suggestions) <= set(BUILT_IN_FACTS)
    assert (error.fields["line"], error.fields["column"]) == (1, column)
    assert (error.field, error.code) == ("rule", "unknown_fact")
    hint = f"; did you mean {' or '.join(error.suggestions)}?" if suggestions else ""
    assert error.detail == f"line 1, column {column}: unknown fact {name!r}{hint}"


def test_a_rule_is_checked_against_the_library_it_is_given() -> None:
    only_income = FactLibrary([Fact("monthly_income", HouseholdValue(HouseholdColumn.MONTHLY_INCOME), "income")])
    assert check_rule("monthly_income < 100", facts=only_income).facts == ("monthly_income",)
    with pytest.raises(UnknownFactError, match="unknown fact 'members'"):
        check_rule("members > 1", facts=only_income)
    with pytest.raises(UnknownFactError, match="unknown fact 'assets'"):
        check_rule("has_asset('car')", facts=only_income)


def test_the_functions_are_the_documented_few() -> None:
    assert list(FUNCTIONS) == ["min", "max", "abs", "has_asset", "in_area"]
