"""Facts computed set-wise in SQL agree with facts computed for one household in Python, on SQLite and PostgreSQL.

The helpers here (strategies for random households and :func:`write_households`) are shared with the rule
agreement test.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert

from canasta.adapters.db.facts_sql import facts_query, read_household_record
from canasta.adapters.db.tables import households, people
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor, Role
from canasta.domain.facts import (
    BUILT_IN_FACTS,
    Aggregate,
    Fact,
    FactLibrary,
    HouseholdRecord,
    MemberAggregate,
    MemberFilter,
    MemberRecord,
    MemberValue,
    Ratio,
    Value,
    compute_facts,
)
from canasta.domain.registry import (
    WASHINGTON_GROUP_DOMAINS,
    DwellingType,
    Employment,
    Relationship,
    Schooling,
    Sex,
    Tenure,
)
from tests.factories import NOW, make_canasta

PARISHES = ("VE-01-01-01", "VE-01-01-02", "VE-02-01-01")
LEAP_DAYS = (date(2000, 2, 29), date(2020, 2, 29), date(2024, 2, 29), date(2028, 2, 29))
AUDIT = {"version": 1, "created_at": NOW, "created_by": "test", "updated_at": NOW, "updated_by": "test",
         "change_reason": "test"}  # fmt: skip

#: definitions the built-in library does not use: sum, min of difficulty, filters on sex, schooling, employment
TEST_LIBRARY = BUILT_IN_FACTS.extended(
    [
        Fact("total_difficulty", MemberAggregate(Aggregate.SUM, MemberFilter(), MemberValue.DIFFICULTY), "test"),
        Fact("total_age_of_men", MemberAggregate(Aggregate.SUM, MemberFilter(sexes=(Sex.MALE,)), MemberValue.AGE),
             "test"),
        Fact("least_difficulty_of_adults", MemberAggregate(Aggregate.MIN, MemberFilter(age_at_least=18),
                                                            MemberValue.DIFFICULTY, empty=-1), "test"),
        Fact("youngest_worker", MemberAggregate(Aggregate.MIN, MemberFilter(employment=(Employment.EMPLOYED,)),
                                                MemberValue.AGE, empty=99), "test"),
        Fact("schooled_boys", MemberAggregate(Aggregate.COUNT, MemberFilter(
            age_under=18, sexes=(Sex.MALE,), schooling=(Schooling.PRIMARY, Schooling.SECONDARY))), "test"),
        Fact("has_able_spouse", MemberAggregate(Aggregate.ANY, MemberFilter(
            relationships=(Relationship.SPOUSE, Relationship.HEAD), is_disabled=False)), "test"),
        Fact("children_per_adult_or_elder", Ratio(("children_under_18",), ("adults", "people_over_65")), "test"),
    ]
)  # fmt: skip


@dataclass(frozen=True)
class Sample:
    """A generated household: what the facts see, plus what they must not see."""

    record: HouseholdRecord
    is_active: bool = True
    inactive_members: tuple[MemberRecord, ...] = ()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return date(day.year - years, 2, 28)


def birth_dates(reference: date) -> st.SearchStrategy[date]:
    """Any date, leap days, and dates one day either side of an age boundary on ``reference``."""
    near_boundary = st.builds(
        lambda years, shift: _years_before(reference, years) + timedelta(days=shift),
        st.sampled_from((0, 1, 4, 5, 6, 14, 15, 17, 18, 64, 65, 66)),
        st.sampled_from((-1, 0, 1)),
    )
    # The boundary twice: most members sit on or next to an age limit, where off-by-one mistakes show.
    return st.one_of(
        near_boundary, st.dates(date(1920, 1, 1), date(2031, 12, 31)), st.sampled_from(LEAP_DAYS), near_boundary
    )


def member_records(reference: date) -> st.SearchStrategy[MemberRecord]:
    difficulty = st.none() | st.integers(1, 4)
    return st.builds(
        MemberRecord,
        birth_date=birth_dates(reference),
        sex=st.sampled_from([int(sex) for sex in Sex]),
        relationship=st.sampled_from([value.value for value in Relationship]),
        schooling=st.none() | st.sampled_from([value.value for value in Schooling]),
        employment=st.none() | st.sampled_from([value.value for value in Employment]),
        **dict.fromkeys(WASHINGTON_GROUP_DOMAINS, difficulty),
    )


def samples(reference: date) -> st.SearchStrategy[Sample]:
    members = member_records(reference)
    record = st.builds(
        HouseholdRecord,
        area_code=st.sampled_from(PARISHES),
        monthly_income=st.integers(0, 5_000_000),
        assets=st.integers(0, 1023),
        land_m2=st.none() | st.integers(0, 1_000_000),
        dwelling_type=st.none() | st.sampled_from([value.value for value in DwellingType]),
        tenure=st.none() | st.sampled_from([value.value for value in Tenure]),
        members=st.lists(members, max_size=6).map(tuple),
    )
    inactive = st.lists(members, max_size=2).map(tuple)
    return st.builds(Sample, record=record, is_active=st.booleans() | st.just(True), inactive_members=inactive)


REFERENCE_DATES = st.one_of(
    st.dates(date(2000, 1, 1), date(2030, 12, 31)),
    st.sampled_from((date(2025, 2, 28), date(2025, 3, 1), *LEAP_DAYS)),
)


@st.composite
def populations(draw: st.DrawFn, max_households: int = 6) -> tuple[date, list[Sample]]:
    """A reference date and some households whose members sit on and around its age boundaries."""
    reference = draw(REFERENCE_DATES)
    return reference, draw(st.lists(samples(reference), min_size=1, max_size=max_households))


def write_households(connection: Connection, population: Sequence[Sample]) -> list[UUID]:
    """Insert the households and their people (active and not); their ids, in order."""
    ids = [uuid4() for _ in population]
    household_rows = []
    person_rows = []
    for household_id, sample in zip(ids, population, strict=True):
        record = sample.record
        household_rows.append(
            {"id": household_id, "reference": household_id.hex, "area_code": record.area_code,
             "monthly_income": record.monthly_income, "currency": "VES", "dwelling_type": record.dwelling_type,
             "tenure": record.tenure, "assets": record.assets, "land_m2": record.land_m2, "data_key": b"key",
             "status": "active" if sample.is_active else "inactive", **AUDIT}
        )  # fmt: skip
        everyone = [(member, "active") for member in record.members]
        everyone += [(member, "inactive") for member in sample.inactive_members]
        for member, status in everyone:
            person_id = uuid4()
            person_rows.append(
                {"id": person_id, "household_id": household_id, "reference": person_id.hex, "given_name": "Ana",
                 "family_name": "Pérez", "name_key": "ana perez", "birth_date": member.birth_date,
                 "sex": member.sex, "relationship": member.relationship, "schooling": member.schooling,
                 "employment": member.employment, "status": status, **AUDIT,
                 **{domain: getattr(member, domain) for domain in WASHINGTON_GROUP_DOMAINS}}
            )  # fmt: skip
    connection.execute(insert(households), household_rows)
    if person_rows:
        connection.execute(insert(people), person_rows)
    return ids


def sql_facts(
    connection: Connection,
    names: Sequence[str],
    reference: date,
    *,
    area_prefix: str | None = None,
    library: FactLibrary = BUILT_IN_FACTS,
) -> dict[UUID, dict[str, Value]]:
    """The facts query's rows by household id."""
    query = facts_query(names, reference_date=reference, area_prefix=area_prefix, library=library)
    return {row.household_id: {name: row._mapping[name] for name in names} for row in connection.execute(query)}


@pytest.fixture
def canasta(database_url: str) -> Iterator[Canasta]:
    app = make_canasta(database_url)
    yield app
    app.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(population=populations())
def test_every_fact_agrees_between_sql_and_python(canasta: Canasta, population: tuple[date, list[Sample]]) -> None:
    reference, generated = population
    names = list(TEST_LIBRARY)
    with canasta.engine.connect() as connection, connection.begin() as transaction:
        ids = write_households(connection, generated)
        computed = sql_facts(connection, names, reference, library=TEST_LIBRARY)
        transaction.rollback()
    expected = {
        household_id: compute_facts(sample.record, reference_date=reference, library=TEST_LIBRARY)
        for household_id, sample in zip(ids, generated, strict=True)
        if sample.is_active
    }
    assert computed == expected
    for values in computed.values():
        for name, value in values.items():
            assert type(value) is {"int": int, "decimal": float, "bool": bool, "text": str}[TEST_LIBRARY[name].type]


def test_ages_turn_on_the_birthday_and_leap_day_births_on_the_first_of_march(canasta: Canasta) -> None:
    born = [date(2020, 3, 1), date(2020, 3, 2), date(2020, 2, 29), date(1960, 3, 1), date(1960, 3, 2)]
    household = HouseholdRecord("VE-01-01-01", 0, members=tuple(MemberRecord(day) for day in born))
    names = ["members", "children_under_5", "children_under_18", "people_over_65", "oldest_age", "youngest_age"]
    expectations = {
        # 2025-03-01: the child born 2020-03-01 turns 5 today; the leap-day child turned 5 today too (not a leap year)
        date(2025, 3, 1): {"members": 5, "children_under_5": 1, "children_under_18": 3, "people_over_65": 1,
                           "oldest_age": 65, "youngest_age": 4},
        # 2025-02-28: the leap-day child is still 4; the 1960-03-01 person is still 64
        date(2025, 2, 28): {"members": 5, "children_under_5": 3, "children_under_18": 3, "people_over_65": 0,
                            "oldest_age": 64, "youngest_age": 4},
        # 2020-02-29: the leap-day child is born today (age 0); people born after the reference date do not count
        date(2020, 2, 29): {"members": 3, "children_under_5": 1, "children_under_18": 1, "people_over_65": 0,
                            "oldest_age": 59, "youngest_age": 0},
    }  # fmt: skip
    with canasta.engine.connect() as connection, connection.begin():
        (household_id,) = write_households(connection, [Sample(household)])
        for reference, expected in expectations.items():
            assert sql_facts(connection, names, reference)[household_id] == expected, reference
            assert compute_facts(household, reference_date=reference, names=names) == expected, reference


def test_only_active_households_and_people_of_the_area_count(canasta: Canasta) -> None:
    adult = MemberRecord(date(1980, 1, 1), sex=int(Sex.FEMALE), relationship="head")
    population = [
        Sample(HouseholdRecord("VE-01-01-01", 1000, members=(adult, adult)), inactive_members=(adult,)),
        Sample(HouseholdRecord("VE-02-01-01", 1000, members=(adult,))),
        Sample(HouseholdRecord("VE-01-01-02", 1000, members=(adult,)), is_active=False),
        Sample(HouseholdRecord("VE-01-01-02", 900, members=())),
    ]
    reference = NOW.date()
    with canasta.engine.connect() as connection, connection.begin():
        first, second, _, empty = write_households(connection, population)
        names = ["members", "income_per_capita", "dependency_ratio", "female_headed", "head_age"]
        assert sql_facts(connection, names, reference, area_prefix="VE-01") == {
            first: {"members": 2, "income_per_capita": 500.0, "dependency_ratio": 0.0, "female_headed": True,
                    "head_age": 46},
            empty: {"members": 0, "income_per_capita": 900.0, "dependency_ratio": 0.0, "female_headed": False,
                    "head_age": 0},
        }  # fmt: skip
        assert set(sql_facts(connection, ["members"], reference)) == {first, second, empty}
        assert set(sql_facts(connection, ["members"], reference, area_prefix="VE-0")) == set()
        assert set(sql_facts(connection, ["members"], reference, area_prefix="VE-02-01-01")) == {second}


def test_a_household_of_dependants_has_a_dependency_ratio_equal_to_their_number(canasta: Canasta) -> None:
    reference = date(2026, 1, 1)
    elders_and_child = (MemberRecord(date(1950, 1, 1)), MemberRecord(date(1951, 1, 1)), MemberRecord(date(2020, 1, 1)))
    record = HouseholdRecord("VE-01-01-01", 0, members=elders_and_child)
    with canasta.engine.connect() as connection, connection.begin():
        (household_id,) = write_households(connection, [Sample(record)])
        assert sql_facts(connection, ["dependency_ratio"], reference)[household_id] == {"dependency_ratio": 3.0}
    assert compute_facts(record, reference_date=reference, names=["dependency_ratio"]) == {"dependency_ratio": 3.0}


def test_an_enrolled_household_reads_back_with_the_same_facts_as_sql(canasta: Canasta) -> None:
    from canasta.services import registry as registry_cases

    admin = Actor(user_id=UUID(int=1), name="admin", role=Role.ADMIN)
    with canasta.engine.begin() as connection:
        registry = canasta.registry(connection, admin)
        household_id = registry_cases.enrol_household(
            registry, admin,
            {"reference": "H1", "area_code": "VE-01-01-02", "monthly_income": 90000, "currency": "VES",
             "assets": ["car", "television"], "dwelling_type": "informal", "land_m2": 250,
             "members": [
                 {"given_name": "Ana", "family_name": "Pérez", "birth_date": "1990-05-01", "sex": 2,
                  "relationship": "head", "employment": "unemployed"},
                 {"given_name": "Luis", "family_name": "Pérez", "birth_date": "2024-02-29", "sex": 1,
                  "relationship": "child", "wg_walking": 4},
             ]},
        )  # fmt: skip
    with canasta.engine.connect() as connection:
        record = read_household_record(connection, household_id)
        assert record is not None
        computed = sql_facts(connection, list(BUILT_IN_FACTS), NOW.date())
        assert read_household_record(connection, uuid4()) is None
    assert computed[household_id] == compute_facts(record, reference_date=NOW.date())
    assert computed[household_id]["has_car"] is True
    assert computed[household_id]["disabled_children"] == 1
    assert computed[household_id]["unemployed_adults"] == 1
    assert computed[household_id]["dwelling_type"] == "informal"
    assert computed[household_id]["income_per_capita"] == 45000.0
