"""The two back ends of the rule language agree: SQL over every household at once, and the interpreter for one.

Hypothesis writes random households (members on and around age boundaries, random disability, schooling,
employment, income, assets...) and random well-typed rules over the built-in facts (conditions and numbers, with
every operator and function), evaluates each rule in SQL over the whole set and with the interpreter per
household, and asserts identical results, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from canasta.adapters.db.facts_sql import facts_query
from canasta.adapters.db.rule_sql import rule_results_query, rule_to_sql
from canasta.bootstrap import Canasta
from canasta.domain.facts import BUILT_IN_FACTS, HouseholdRecord, MemberRecord, Value, ValueType, compute_facts
from canasta.domain.rules import Rule, RuleEvaluationError, RuleTypeError, check_rule, evaluate_rule
from canasta.domain.rules.types import ASSET_NAMES
from tests.factories import make_canasta
from tests.integration.test_facts_sql import Sample, populations, write_households

FACTS_BY_TYPE = {kind: [name for name, fact in BUILT_IN_FACTS.items() if fact.type is kind] for kind in ValueType}
TEXTS = ("", "house", "room", "informal", "owned", "rented", "VE-01-01-01", "VE-02-01-01", "x")
AREA_PREFIXES = ("VE", "VE-01", "VE-01-01", "VE-01-01-01", "VE-0", "VE-02-01", "ve-01")

int_literals = st.integers(-1000, 100_000).map(str) | st.sampled_from(("0", "1", "5", "18", "65", "150_000"))
decimal_literals = st.builds(lambda whole, part: f"{whole}.{part:02d}", st.integers(0, 5000), st.integers(0, 99))
numbers_leaf = st.one_of(
    st.sampled_from(FACTS_BY_TYPE[ValueType.INT]), st.sampled_from(FACTS_BY_TYPE[ValueType.DECIMAL]), int_literals,
    decimal_literals,
)  # fmt: skip


def _numbers(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from("+-*/"), inner)
    return st.one_of(
        binary,
        binary,
        inner.map(lambda a: f"-({a})"),
        inner.map(lambda a: f"abs({a})"),
        st.builds(lambda f, args: f"{f}({', '.join(args)})", st.sampled_from(("min", "max")),
                  st.lists(inner, min_size=2, max_size=3)),
    )  # fmt: skip


numbers = st.recursive(numbers_leaf, _numbers, max_leaves=6)
texts = st.sampled_from(FACTS_BY_TYPE[ValueType.TEXT]) | st.sampled_from(TEXTS).map(repr)
comparison = st.builds(
    lambda a, op, b: f"{a} {op} {b}", numbers, st.sampled_from(("==", "!=", "<", "<=", ">", ">=")), numbers
)
conditions_leaf = st.one_of(
    st.sampled_from(FACTS_BY_TYPE[ValueType.BOOL]),
    st.sampled_from(list(ASSET_NAMES)).map(lambda name: f"has_asset('{name}')"),
    st.sampled_from(AREA_PREFIXES).map(lambda prefix: f'in_area("{prefix}")'),
    st.sampled_from(("true", "false")),
    comparison,
    comparison,
    st.builds(lambda a, op, b: f"{a} {op} {b}", texts, st.sampled_from(("==", "!=")), texts),
    st.builds(lambda a, items: f"{a} in [{', '.join(items)}]", texts,
              st.lists(st.sampled_from(TEXTS).map(repr), min_size=1, max_size=3)),
    st.builds(lambda a, items: f"{a} in [{', '.join(items)}]", numbers,
              st.lists(int_literals | decimal_literals, min_size=1, max_size=4)),
)  # fmt: skip


def _conditions(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        inner.map(lambda a: f"not ({a})"),
        inner.map(lambda a: f"!({a})"),
        st.builds(lambda parts, op: f" {op} ".join(f"({part})" for part in parts),
                  st.lists(inner, min_size=2, max_size=4), st.sampled_from(("and", "or", "&&", "||"))),
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(("==", "!=")), inner),
    )  # fmt: skip


def _checked(text: str, result: ValueType | None) -> Rule | None:
    """The checked rule, or None when it divides by a literal zero (refused as a mistake, by design)."""
    try:
        return check_rule(text, result=result)
    except RuleTypeError as error:
        if "division by zero" not in error.detail:
            raise
        return None


conditions = st.recursive(conditions_leaf, _conditions, max_leaves=8)
condition_rules = conditions.map(lambda text: _checked(text, ValueType.BOOL)).filter(lambda rule: rule is not None)
number_rules = numbers.map(lambda text: _checked(text, None)).filter(lambda rule: rule is not None)
rules = st.lists(condition_rules, min_size=1, max_size=6) | st.lists(number_rules, min_size=1, max_size=3)


@pytest.fixture
def canasta(database_url: str) -> Iterator[Canasta]:
    app = make_canasta(database_url)
    yield app
    app.close()


def interpreted(rule: Rule, reference: date, record: HouseholdRecord) -> Value | None:
    """The interpreter's value, or None when a number leaves the 64-bit range (PostgreSQL refuses that too)."""
    try:
        return evaluate_rule(rule, compute_facts(record, reference_date=reference, names=rule.facts)).value
    except RuleEvaluationError:
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(population=populations(), checked=rules)
def test_sql_and_the_interpreter_agree_on_random_rules_and_households(
    canasta: Canasta, population: tuple[date, list[Sample]], checked: list[Rule]
) -> None:
    reference, generated = population
    expected = [
        [interpreted(rule, reference, sample.record) for sample in generated if sample.is_active] for rule in checked
    ]
    # A rule whose numbers overflow somewhere is left out: PostgreSQL would refuse the whole statement.
    kept = [(rule, values) for rule, values in zip(checked, expected, strict=True) if None not in values]
    needed = sorted({name for rule, _ in kept for name in rule.facts})
    with canasta.engine.connect() as connection, connection.begin() as transaction:
        ids = write_households(connection, generated)
        facts = facts_query(needed or ["members"], reference_date=reference).subquery("facts")
        columns = [rule_to_sql(rule, facts).label(f"rule_{index}") for index, (rule, _) in enumerate(kept)]
        rows = {row[0]: tuple(row[1:]) for row in connection.execute(select(facts.c.household_id, *columns))}
        transaction.rollback()
    active = [household_id for household_id, sample in zip(ids, generated, strict=True) if sample.is_active]
    assert set(rows) == set(active)
    for index, (rule, values) in enumerate(kept):
        computed = [rows[household_id][index] for household_id in active]
        assert computed == values, rule.source
        assert all(type(value) is type(expected) for value, expected in zip(computed, values, strict=True)), rule.source


def test_the_results_query_gives_each_household_its_value_and_the_facts_used(canasta: Canasta) -> None:
    head = MemberRecord(date(1950, 6, 1), sex=2, relationship="head", wg_seeing=3)
    child = MemberRecord(date(2023, 1, 1), sex=1, relationship="grandchild")
    population = [
        Sample(HouseholdRecord("VE-01-01-01", 120_000, assets=64, members=(head, child))),
        Sample(HouseholdRecord("VE-02-01-01", 900_000, members=(head,))),
    ]
    rule = check_rule(
        "(people_over_65 > 0 or has_disabled_member) and income_per_capita < 100_000 and !has_asset('television')"
    )
    reference = date(2026, 11, 29)
    with canasta.engine.connect() as connection, connection.begin():
        first, second = write_households(connection, population)
        query = rule_results_query(rule, reference_date=reference, area_prefix="VE-01", extra_facts=("members",))
        rows = [row._asdict() for row in connection.execute(query)]
    assert rows == [
        {"household_id": first, "value": True, "assets": 64, "has_disabled_member": True,
         "income_per_capita": 60000.0, "people_over_65": 1, "members": 2}
    ]  # fmt: skip
    assert second not in {row["household_id"] for row in rows}
    explanation = evaluate_rule(rule, compute_facts(population[0].record, reference_date=reference, names=rule.facts))
    assert explanation.explain() == [
        "passed: (people_over_65 > 0 or has_disabled_member) and income_per_capita < 100_000 and "
        "!has_asset('television') (people_over_65 = 1, has_disabled_member = true, income_per_capita = 60000.0, "
        "has_asset('television') = false)",
        "  passed: (people_over_65 > 0 or has_disabled_member) (people_over_65 = 1, has_disabled_member = true)",
        "    passed: people_over_65 > 0 (people_over_65 = 1)",
        "    passed: has_disabled_member (has_disabled_member = true)",
        "  passed: income_per_capita < 100_000 (income_per_capita = 60000.0)",
        "  passed: !has_asset('television') (has_asset('television') = false)",
    ]
