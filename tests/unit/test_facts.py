"""Need facts for one household: ages and their boundaries, the disability cut-off, ratios, and definitions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from canasta.domain.errors import ProhibitedCategoryError, ValidationError
from canasta.domain.facts import (
    BUILT_IN_FACTS,
    Aggregate,
    Fact,
    FactLibrary,
    HasAsset,
    HouseholdColumn,
    HouseholdRecord,
    HouseholdValue,
    MemberAggregate,
    MemberFilter,
    MemberRecord,
    MemberValue,
    Ratio,
    UnknownFactError,
    ValueType,
    age_on,
    compute_facts,
)
from canasta.domain.privacy import PROHIBITED_CATEGORIES
from canasta.domain.registry import Asset, Employment, Relationship, Schooling, Sex
from canasta.domain.rules import FUNCTIONS

RULES_DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
REFERENCE = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2021, 11, 29), date(2026, 11, 29), 5),  # the birthday itself
        (date(2021, 11, 30), date(2026, 11, 29), 4),  # the day before it
        (date(2000, 2, 29), date(2001, 2, 28), 0),  # leap-day birth, common year: not yet on 28 February
        (date(2000, 2, 29), date(2001, 3, 1), 1),  # ... but on 1 March
        (date(2000, 2, 29), date(2004, 2, 29), 4),  # ... and on the leap day in a leap year
        (date(1999, 12, 31), date(2000, 1, 1), 0),
        (date(1960, 1, 1), date(2025, 1, 1), 65),
        (date(2026, 11, 29), date(2026, 11, 29), 0),
        (date(2026, 11, 30), date(2026, 11, 29), -1),  # not born yet
    ],
)
def test_age_is_completed_years_on_the_reference_date(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


def household(*members: MemberRecord, **values: object) -> HouseholdRecord:
    fields: dict[str, object] = {"area_code": "VE-01-01-01", "monthly_income": 120_000} | values
    return HouseholdRecord(members=members, **fields)  # type: ignore[arg-type]


def test_a_household_has_every_built_in_fact() -> None:
    record = household(
        MemberRecord(date(1958, 6, 1), sex=Sex.FEMALE, relationship="head", employment="retired", wg_walking=3),
        MemberRecord(date(1990, 1, 1), sex=Sex.MALE, relationship="child", employment="unemployed",
                     schooling="none", wg_seeing=2),
        MemberRecord(date(2022, 11, 29), sex=Sex.FEMALE, relationship="grandchild", wg_cognition=4),
        MemberRecord(date(2015, 3, 1), sex=Sex.MALE, relationship="grandchild"),
        assets=int(Asset.CAR | Asset.REFRIGERATOR), land_m2=None, dwelling_type="informal",
    )  # fmt: skip
    assert compute_facts(record, reference_date=REFERENCE) == {
        "members": 4, "children_under_5": 1, "children_under_15": 2, "children_under_18": 2,
        "school_age_children": 1, "adults": 2, "working_age_members": 1, "people_over_65": 1,
        "disabled_members": 2, "disabled_children": 1, "female_members": 2, "employed_members": 0,
        "unemployed_adults": 1, "adults_without_schooling": 1, "has_disabled_member": True, "has_child_under_5": True,
        "female_headed": True, "head_age": 68, "oldest_age": 68, "youngest_age": 4, "monthly_income": 120_000,
        "assets": 65, "land_m2": 0, "dwelling_type": "informal", "tenure": "", "area_code": "VE-01-01-01",
        "has_refrigerator": True, "has_washing_machine": False, "has_television": False, "has_computer": False,
        "has_mobile_phone": False, "has_motorcycle": False, "has_car": True, "has_livestock": False,
        "has_water_tank": False, "has_generator": False, "income_per_capita": 30_000.0, "dependency_ratio": 3.0,
    }  # fmt: skip


def test_only_the_named_facts_are_returned_in_the_order_asked() -> None:
    facts = compute_facts(household(MemberRecord(date(1980, 1, 1))), reference_date=REFERENCE,
                          names=["income_per_capita", "members"])  # fmt: skip
    assert list(facts.items()) == [("income_per_capita", 120_000.0), ("members", 1)]


def test_people_born_after_the_reference_date_are_not_yet_members() -> None:
    record = household(MemberRecord(date(1980, 1, 1)), MemberRecord(date(2026, 11, 30)))
    assert compute_facts(record, reference_date=REFERENCE, names=["members", "youngest_age"]) == {
        "members": 1,
        "youngest_age": 46,
    }


@pytest.mark.parametrize(
    ("answers", "is_disabled"),
    [
        ({}, False),
        ({"wg_seeing": 2, "wg_hearing": 2, "wg_walking": 2}, False),
        ({"wg_self_care": 3}, True),
        ({"wg_communication": 4, "wg_seeing": 1}, True),
        ({"wg_cognition": 1}, False),
    ],
)
def test_disability_follows_the_washington_group_cut_off(answers: dict[str, int], is_disabled: bool) -> None:
    member = MemberRecord(date(1980, 1, 1), **answers)
    assert member.is_disabled is is_disabled
    facts = compute_facts(
        household(member), reference_date=REFERENCE, names=["has_disabled_member", "disabled_members"]
    )
    assert facts == {"has_disabled_member": is_disabled, "disabled_members": int(is_disabled)}


def test_a_household_without_members_has_zero_counts_and_defined_ratios() -> None:
    assert compute_facts(household(), reference_date=REFERENCE, names=[
        "members", "head_age", "youngest_age", "female_headed", "income_per_capita", "dependency_ratio"
    ]) == {"members": 0, "head_age": 0, "youngest_age": 0, "female_headed": False, "income_per_capita": 120_000.0,
           "dependency_ratio": 0.0}  # fmt: skip


def test_unknown_schooling_or_employment_matches_no_condition_on_them() -> None:
    where = MemberFilter(schooling=(Schooling.NONE,), employment=(Employment.UNEMPLOYED,))
    assert not where.matches(MemberRecord(date(1980, 1, 1)), 46)
    assert where.matches(MemberRecord(date(1980, 1, 1), schooling="none", employment="unemployed"), 46)
    assert MemberFilter().matches(MemberRecord(date(1980, 1, 1)), 46)
    assert not MemberFilter(is_disabled=False).matches(MemberRecord(date(1980, 1, 1), wg_hearing=4), 46)


def test_deployment_facts_sum_and_fold_member_values() -> None:
    library = BUILT_IN_FACTS.extended(
        [
            Fact("total_difficulty", MemberAggregate(Aggregate.SUM, value=MemberValue.DIFFICULTY), "sum"),
            Fact(
                "youngest_man",
                MemberAggregate(Aggregate.MIN, MemberFilter(sexes=(Sex.MALE,)), MemberValue.AGE, empty=-1),
                "min",
            ),
            Fact("spouses", MemberAggregate(Aggregate.COUNT, MemberFilter(relationships=(Relationship.SPOUSE,))), "n"),
            Fact("has_generator_too", HasAsset(Asset.GENERATOR), "asset"),
            Fact("children_per_adult", Ratio(("children_under_18",), ("adults",)), "ratio"),
        ]
    )
    record = household(
        MemberRecord(date(1980, 1, 1), wg_walking=3, wg_seeing=2),
        MemberRecord(date(2020, 1, 1), sex=Sex.FEMALE, wg_hearing=2),
        MemberRecord(date(2019, 1, 1), sex=Sex.FEMALE),
        assets=int(Asset.GENERATOR),
    )
    names = ["total_difficulty", "youngest_man", "spouses", "has_generator_too", "children_per_adult"]
    assert compute_facts(record, reference_date=REFERENCE, names=names, library=library) == {
        "total_difficulty": 5, "youngest_man": -1, "spouses": 0, "has_generator_too": True, "children_per_adult": 2.0,
    }  # fmt: skip


def test_asking_for_an_unknown_fact_names_the_closest_ones() -> None:
    with pytest.raises(UnknownFactError) as caught:
        compute_facts(household(), reference_date=REFERENCE, names=["chilren_under_5"])
    assert caught.value.suggestions[0] == "children_under_5"
    assert (caught.value.field, caught.value.code) == ("facts", "unknown_fact")


@pytest.mark.parametrize("category", PROHIBITED_CATEGORIES, ids=lambda category: category.key)
def test_a_fact_named_after_a_prohibited_category_cannot_be_defined(category: object) -> None:
    names = {
        "political_opinion": "party_member", "voting": "voted_2024", "religion": "religion_of_head",
        "ethnicity": "head_ethnicity", "sexual_orientation": "sexual_orientation", "trade_union": "trade_union",
        "social_media": "facebook_friends",
    }  # fmt: skip
    name = names[category.key]  # type: ignore[attr-defined]
    with pytest.raises(ProhibitedCategoryError) as caught:
        Fact(name, MemberAggregate(Aggregate.COUNT), "anything")
    assert caught.value.category == category.label  # type: ignore[attr-defined]
    assert caught.value.name == name


@pytest.mark.parametrize("name", ["Members", "1st", "has-car", "", "and", "true", "household_id", "x" * 64])
def test_a_fact_name_is_snake_case_and_not_reserved(name: str) -> None:
    with pytest.raises(ValidationError, match="a fact name is 1-63 characters") as caught:
        Fact(name, MemberAggregate(Aggregate.COUNT), "anything")
    assert caught.value.code == "invalid_fact"


def test_sum_min_and_max_need_a_member_value_and_count_and_any_take_none() -> None:
    with pytest.raises(ValidationError, match="sum, min and max need a member value"):
        MemberAggregate(Aggregate.SUM)
    with pytest.raises(ValidationError, match="count and any take none"):
        MemberAggregate(Aggregate.COUNT, value=MemberValue.AGE)


def test_a_library_refuses_duplicates_and_ratios_over_anything_but_whole_number_facts() -> None:
    count = Fact("members", MemberAggregate(Aggregate.COUNT), "members")
    with pytest.raises(ValidationError, match="'members' is defined twice"):
        FactLibrary([count, count])
    text = Fact("tenure", HouseholdValue(HouseholdColumn.TENURE), "tenure")
    with pytest.raises(ValidationError, match="needs whole-number facts; 'tenure' is not one"):
        FactLibrary([count, text, Fact("odd", Ratio(("tenure",), ("members",)), "odd")])
    with pytest.raises(ValidationError, match="'missing' is not one"):
        FactLibrary([count, Fact("odd", Ratio(("members",), ("missing",)), "odd")])
    with pytest.raises(ValidationError, match="'per_member' is not one"):
        FactLibrary([count, Fact("per_member", Ratio(("members",), ("members",)), "one"),
                     Fact("odd", Ratio(("per_member",), ("members",)), "odd")])  # fmt: skip


def test_a_ratio_brings_its_operands_into_the_computation_first() -> None:
    order = [fact.name for fact in BUILT_IN_FACTS.closure(["dependency_ratio", "members", "income_per_capita"])]
    assert order == [
        "children_under_15", "people_over_65", "working_age_members", "dependency_ratio", "members", "monthly_income",
        "income_per_capita",
    ]  # fmt: skip


def test_each_built_in_fact_has_the_documented_type_and_a_description() -> None:
    for name, fact in BUILT_IN_FACTS.items():
        assert fact.description, name
        assert f"| `{name}` | {fact.type.value} |" in RULES_DOC, f"{name} is not in the docs/rules.md table"
    assert BUILT_IN_FACTS["income_per_capita"].type is ValueType.DECIMAL
    assert BUILT_IN_FACTS["female_headed"].type is ValueType.BOOL
    assert BUILT_IN_FACTS["dwelling_type"].type is ValueType.TEXT
    assert BUILT_IN_FACTS["head_age"].type is ValueType.INT


def test_every_function_of_the_rule_language_is_documented() -> None:
    for name in FUNCTIONS:
        assert f"| `{name}(" in RULES_DOC, f"{name} is not in the docs/rules.md functions table"
