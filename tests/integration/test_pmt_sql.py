"""PMT scores computed in SQL for every household agree with the per-household score, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from canasta.adapters.db.facts_sql import facts_query
from canasta.adapters.db.rule_sql import pmt_score_sql
from canasta.bootstrap import Canasta
from canasta.domain.facts import BUILT_IN_FACTS, HouseholdRecord, MemberRecord, ValueType, compute_facts
from canasta.domain.pmt import PmtModel, load_pmt_model, score_household
from tests.factories import make_canasta
from tests.integration.test_facts_sql import Sample, populations, write_households

SCORED = sorted(name for name, fact in BUILT_IN_FACTS.items() if fact.type is not ValueType.TEXT)
REGION_SETS = ({}, {"VE-01": 0.0, "VE-02": -0.35}, {"VE-01-01-01": 0.1, "VE-01-01-02": 0.2, "VE-02": -0.3},
               {"VE-01": 0.4})  # fmt: skip
coefficients = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)

models = st.builds(
    lambda terms, intercept, regions, cutoff: load_pmt_model(
        {"name": "test", "version": 1, "intercept": intercept, "coefficients": terms, "regions": regions,
         "cutoff": cutoff}
    ),
    st.dictionaries(st.sampled_from(SCORED), coefficients, min_size=1, max_size=8),
    st.floats(5.0, 15.0),
    st.sampled_from(REGION_SETS),
    st.floats(-1e6, 1e6),
)  # fmt: skip


@pytest.fixture
def canasta(database_url: str) -> Iterator[Canasta]:
    app = make_canasta(database_url)
    yield app
    app.close()


def sql_scores(canasta: Canasta, model: PmtModel, reference: date, generated: list[Sample]) -> dict[Any, float]:
    with canasta.engine.connect() as connection, connection.begin() as transaction:
        ids = write_households(connection, generated)
        facts = facts_query(model.facts, reference_date=reference).subquery("facts")
        rows = connection.execute(select(facts.c.household_id, pmt_score_sql(model, facts).label("score"))).all()
        transaction.rollback()
    by_id = {row.household_id: row.score for row in rows}
    return {index: by_id[household_id] for index, household_id in enumerate(ids) if household_id in by_id}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(population=populations(), model=models)
def test_sql_and_python_scores_agree(canasta: Canasta, population: tuple[date, list[Sample]], model: PmtModel) -> None:
    reference, generated = population
    computed = sql_scores(canasta, model, reference, generated)
    assert set(computed) == {index for index, sample in enumerate(generated) if sample.is_active}
    for index, score in computed.items():
        facts = compute_facts(generated[index].record, reference_date=reference, names=model.facts)
        expected = score_household(model, facts)
        assert type(score) is float
        assert math.isclose(score, expected.score, rel_tol=1e-12, abs_tol=1e-9), (score, expected)
        if abs(expected.score - model.cutoff) > 1e-6:
            assert (score <= model.cutoff) is expected.is_eligible


def test_a_regional_term_applies_by_area_prefix(canasta: Canasta) -> None:
    model = load_pmt_model(
        {"name": "regional", "version": 1, "intercept": 10.0, "coefficients": {"members": -0.5, "has_car": 1.0},
         "regions": {"VE-01-01-01": 0.25, "VE-02": -1.0}, "cutoff": 9.0},
    )  # fmt: skip
    adult = MemberRecord(date(1980, 1, 1))
    generated = [
        Sample(HouseholdRecord("VE-01-01-01", 0, assets=64, members=(adult, adult))),
        Sample(HouseholdRecord("VE-01-01-02", 0, members=(adult,))),
        Sample(HouseholdRecord("VE-02-01-01", 0, members=(adult, adult, adult))),
    ]
    assert sql_scores(canasta, model, date(2026, 1, 1), generated) == {0: 10.25, 1: 9.5, 2: 7.5}
