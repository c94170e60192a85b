"""Proxy means test models: validation on load, scores with each term's contribution, and fingerprints."""

from __future__ import annotations

from typing import Any

import pytest

from canasta.domain.errors import ProhibitedCategoryError
from canasta.domain.facts import UnknownFactError, Value
from canasta.domain.pmt import Contribution, PmtModelError, load_pmt_model, score_household

PARISHES = ("VE-01-01-01", "VE-01-01-02", "VE-02-01-01")


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "pmt-national",
        "version": 2,
        "intercept": 11.5,
        "coefficients": {"members": -0.25, "has_refrigerator": 0.5, "income_per_capita": 0.00001},
        "regions": {"VE-01": 0.0, "VE-02": -0.5},
        "cutoff": 10.0,
    }
    base.update(changes)
    return base


FACTS: dict[str, Value] = {
    "members": 4,
    "has_refrigerator": True,
    "income_per_capita": 50_000.0,
    "area_code": "VE-02-01-01",
}


def test_a_household_is_scored_term_by_term_and_is_eligible_at_or_below_the_cut_off() -> None:
    model = load_pmt_model(document(), areas=PARISHES)
    assert model.facts == ("area_code", "has_refrigerator", "income_per_capita", "members")
    result = score_household(model, FACTS)
    assert result.contributions == (
        Contribution("intercept", None, 1.0, 11.5),
        Contribution("members", 4, -0.25, -1.0),
        Contribution("has_refrigerator", True, 0.5, 0.5),
        Contribution("income_per_capita", 50_000.0, 0.00001, 0.5),
        Contribution("region VE-02", "VE-02-01-01", -0.5, -0.5),
    )
    assert result.score == pytest.approx(11.0)
    assert result.is_eligible is False
    poorer = score_household(model, {**FACTS, "has_refrigerator": False, "income_per_capita": 0.0})
    assert poorer.score == pytest.approx(10.0)
    assert poorer.is_eligible is True  # exactly at the cut-off counts


def test_an_area_no_region_covers_contributes_nothing() -> None:
    model = load_pmt_model(document(regions={"VE-01": 0.25}))
    result = score_household(model, {**FACTS, "area_code": "VE-03-01-01"})
    assert result.contributions[-1] == Contribution("region (none)", "VE-03-01-01", 0.0, 0.0)


def test_a_model_reads_back_from_its_document_with_the_same_fingerprint() -> None:
    model = load_pmt_model(document())
    again = load_pmt_model(model.to_document())
    assert again == model
    assert again.fingerprint == model.fingerprint
    assert len(model.fingerprint) == 64
    assert load_pmt_model(document(version=3)).fingerprint != model.fingerprint
    assert load_pmt_model(document(cutoff=10.5)).fingerprint != model.fingerprint


def test_an_unknown_fact_is_named_with_the_closest_known_ones() -> None:
    with pytest.raises(UnknownFactError) as caught:
        load_pmt_model(document(coefficients={"memebers": 1.0}))
    assert caught.value.field == "coefficients.memebers"
    assert caught.value.suggestions[0] == "members"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"coefficients": {"members": "0.5"}}, "coefficients.members", "must be a finite number, not str"),
        ({"coefficients": {"members": True}}, "coefficients.members", "must be a finite number, not bool"),
        ({"coefficients": {"members": None}}, "coefficients.members", "must be a finite number, not NoneType"),
        ({"coefficients": {"members": float("nan")}}, "coefficients.members", "must be a finite number"),
        ({"coefficients": {"dwelling_type": 1.0}}, "coefficients.dwelling_type", "dwelling_type is text"),
        ({"coefficients": {}}, "coefficients", "must map at least one fact"),
        ({"intercept": "11"}, "intercept", "must be a finite number, not str"),
        ({"cutoff": float("inf")}, "cutoff", "must be a finite number"),
        ({"version": 0}, "version", "must be a whole number, 1 or more"),
        ({"version": "2"}, "version", "must be a whole number, 1 or more"),
        ({"name": "PMT National"}, "name", "must be 1-64 characters"),
        ({"regions": {"VE 01": 0.1}}, "regions.VE 01", "an area code is letters and digits"),
        ({"regions": {"VE-01": "x"}}, "regions.VE-01", "must be a finite number, not str"),
        ({"regions": {"VE-01": 0.0, "VE-01-01": 0.1}}, "regions.VE-01-01", "overlaps region VE-01"),
        ({"regions": ["VE-01"]}, "regions", "must map area code prefixes to coefficients"),
        ({"formula": "x"}, "formula", "unknown keys: formula"),
    ],
)
def test_a_bad_model_is_refused_naming_the_field(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(PmtModelError) as caught:
        load_pmt_model(document(**changes))
    assert caught.value.field == field
    assert message in caught.value.detail
    assert caught.value.code == "invalid_pmt_model"


@pytest.mark.parametrize("key", ["name", "version", "intercept", "coefficients", "cutoff"])
def test_each_required_key_must_be_given(key: str) -> None:
    model = document()
    del model[key]
    with pytest.raises(PmtModelError) as caught:
        load_pmt_model(model)
    assert (caught.value.field, caught.value.code) == (key, "required")


def test_with_the_gazetteer_every_area_must_fall_in_a_region() -> None:
    with pytest.raises(PmtModelError) as caught:
        load_pmt_model(document(regions={"VE-01-01-01": 0.1}), areas=PARISHES)
    assert caught.value.code == "missing_regions"
    assert caught.value.fields["areas"] == ["VE-01-01-02", "VE-02-01-01"]
    assert "no region covers VE-01-01-02, VE-02-01-01" in caught.value.detail
    assert load_pmt_model(document(regions={}), areas=PARISHES).regions == ()


@pytest.mark.parametrize("name", ["religion", "party_member", "votes_cast", "facebook_likes", "etnia"])
def test_a_coefficient_on_a_prohibited_category_is_refused_with_it(name: str) -> None:
    with pytest.raises(ProhibitedCategoryError) as caught:
        load_pmt_model(document(coefficients={name: 1.0}))
    assert caught.value.name == name
    assert "PMT coefficient" in caught.value.detail


def test_a_fact_the_model_reads_must_be_given() -> None:
    model = load_pmt_model(document())
    with pytest.raises(PmtModelError, match="facts not given: area_code, members"):
        score_household(model, {"has_refrigerator": True, "income_per_capita": 1.0})
