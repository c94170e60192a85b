"""Cycles on SQLite and PostgreSQL: preview, two-person approval, idempotent set-based runs, explanations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from canasta.adapters.db.eligibility_tables import decisions, entitlements
from canasta.adapters.db.integrity import broken_references
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor, Role
from canasta.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from canasta.services import cycles as use_cases
from canasta.services import registry as registry_cases
from tests.factories import make_canasta

MANAGER = Actor(user_id=UUID(int=1), name="ana", role=Role.PROGRAMME_MANAGER)
APPROVER = Actor(user_id=UUID(int=2), name="beto", role=Role.PROGRAMME_MANAGER)

PROGRAMME = {
    "code": "canasta-ninos", "name": "Canasta para la niñez", "kind": "in_kind",
    "rule": "children_under_5 >= 1 and income_per_capita < 50000",
    "formula": {"basis": "per_eligible_member", "amount": 1, "cap": 2, "member_fact": "children_under_5"},
    "currency": "VES", "unit_value": 30000, "co_payment": 1000,
    "basket": [{"commodity": "rice", "quantity": 2000, "unit": "g"}, {"commodity": "milk", "quantity": 1, "unit": "l"}],
    "budget_per_cycle": 10_000_000,
}  # fmt: skip


def child(given: str, born: str) -> dict[str, Any]:
    return {"given_name": given, "family_name": "Peña", "birth_date": born, "sex": 2, "relationship": "child"}


def enrol(app: Canasta, reference: str, income: int, children: list[str]) -> UUID:
    with app.engine.begin() as connection:
        registry = app.registry(connection, MANAGER)
        members = [{"given_name": "José", "family_name": "Peña", "birth_date": "1985-01-01", "sex": 1,
                    "relationship": "head"}] + [child(f"Niña{i}", born) for i, born in enumerate(children)]  # fmt: skip
        return registry_cases.enrol_household(
            registry, MANAGER, {"reference": reference, "area_code": "VE-01-01-01", "monthly_income": income,
                                "currency": "VES", "members": members},
        )  # fmt: skip


@pytest.fixture
def canasta(database_url: str) -> Iterator[Canasta]:
    app = make_canasta(database_url)
    yield app
    with app.engine.connect() as connection:
        assert broken_references(connection) == {}
    app.close()


def act(app: Canasta, action: Any) -> Any:
    with app.engine.begin() as connection:
        return action(app.eligibility(connection))


def count(app: Canasta, table: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def prepared(app: Canasta) -> UUID:
    poor_three = enrol(app, "H1", income=60000, children=["2024-06-01", "2023-01-01", "2025-02-02"])
    enrol(app, "H2", income=60000, children=["2010-01-01"])  # no child under 5
    enrol(app, "H3", income=900000, children=["2024-01-01"])  # too much income per capita
    _ = poor_three
    act(app, lambda e: use_cases.add_programme(e, MANAGER, PROGRAMME))
    return act(app, lambda e: use_cases.draft_cycle(e, MANAGER, "canasta-ninos", period_start=date(2026, 12, 1),
                                                    period_end=date(2026, 12, 31)))  # fmt: skip


def test_a_cycle_goes_from_preview_to_entitlements_once(canasta: Canasta) -> None:
    cycle = prepared(canasta)
    preview = act(canasta, lambda e: use_cases.preview_cycle(e, MANAGER, cycle))
    assert (preview["households"], preview["eligible"], preview["units"]) == (3, 1, 2)  # capped at 2
    assert preview["cost"] == 60000
    assert [area["code"] for area in preview["by_area"]] == ["VE-01"]
    assert len(preview["samples"]) == 3
    with pytest.raises(PermissionDeniedError) as refused:
        act(canasta, lambda e: use_cases.approve_cycle(e, MANAGER, cycle))
    assert refused.value.code == "same_person"
    act(canasta, lambda e: use_cases.approve_cycle(e, APPROVER, cycle))
    first = act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
    assert (first["decisions"], first["entitlements"]) == (3, 1)
    again = act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
    assert (again["decisions"], again["entitlements"]) == (0, 0)
    assert (count(canasta, decisions), count(canasta, entitlements)) == (3, 1)


def test_a_cycle_cannot_run_before_approval(canasta: Canasta) -> None:
    cycle = prepared(canasta)
    with pytest.raises(ConflictError) as refused:
        act(canasta, lambda e: use_cases.run_cycle(e, MANAGER, cycle))
    assert refused.value.code == "not_approved"
    assert count(canasta, decisions) == 0


def test_a_budget_overrun_is_refused_at_approval(canasta: Canasta) -> None:
    enrol(canasta, "H1", income=1000, children=["2024-06-01"])
    act(canasta, lambda e: use_cases.add_programme(e, MANAGER, {**PROGRAMME, "budget_per_cycle": 100}))
    cycle = act(canasta, lambda e: use_cases.draft_cycle(e, MANAGER, "canasta-ninos", period_start=date(2026, 12, 1),
                                                         period_end=date(2026, 12, 31)))  # fmt: skip
    assert act(canasta, lambda e: use_cases.preview_cycle(e, MANAGER, cycle))["over_budget"] is True
    with pytest.raises(ConflictError) as refused:
        act(canasta, lambda e: use_cases.approve_cycle(e, APPROVER, cycle))
    assert refused.value.code == "over_budget"


def test_every_decision_is_explained_with_values_and_a_plain_reason(canasta: Canasta) -> None:
    cycle = prepared(canasta)
    act(canasta, lambda e: use_cases.preview_cycle(e, MANAGER, cycle))
    act(canasta, lambda e: use_cases.approve_cycle(e, APPROVER, cycle))
    act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
    rich = enrol(canasta, "H9", income=900000, children=[])
    _ = rich
    with canasta.engine.connect() as connection:
        household = (
            connection.execute(select(decisions.c.household_id).where(decisions.c.reason == "rule_not_met"))
            .scalars()
            .first()
        )
    assert household is not None
    [explained] = act(canasta, lambda e: use_cases.explain_decisions(e, household, cycle))
    assert explained["eligible"] is False
    assert explained["reason"] == "rule_not_met"
    assert "does not meet" in explained["plain_reason"]
    clauses = explained["explanation"]["clauses"]
    assert any(clause["passed"] is False for clause in clauses)
    assert all(clause["values"] for clause in clauses if clause["depth"] > 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rule": "children_under_5 >= "}, "rule"),
        ({"rule": "childrn_under_5 >= 1"}, "rule"),
        ({"rule": "voto == 1"}, "rule"),
        ({"rule": "members + 1"}, "rule"),
        ({"kind": "lottery"}, "kind"),
        ({"formula": {"basis": "per_eligible_member", "amount": 1, "member_fact": "nonsense"}}, "formula.member_fact"),
        ({"basket": []}, "basket"),
    ],
)
def test_bad_programmes_are_refused_naming_the_problem(canasta: Canasta, change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        act(canasta, lambda e: use_cases.add_programme(e, MANAGER, {**PROGRAMME, **change}))
    assert refused.value.fields.get("field") == field


def test_entitlements_are_leased_to_the_closest_distribution_point(canasta: Canasta) -> None:
    from canasta.adapters.db.eligibility_tables import distribution_points
    from tests.factories import NOW

    points = {"VE-01": UUID(int=101), "VE-01-01-01": UUID(int=102), "VE-02": UUID(int=103)}
    with canasta.engine.begin() as connection:
        for code, point_id in points.items():
            connection.execute(
                distribution_points.insert().values(
                    id=point_id, code=f"DP-{code}", name=f"Bodega {code}", kind="shop", area_code=code,
                    status="active", created_at=NOW,
                )
            )  # fmt: skip
    near = enrol(canasta, "H1", income=1000, children=["2024-06-01"])
    with canasta.engine.begin() as connection:
        registry = canasta.registry(connection, MANAGER)
        far = registry_cases.enrol_household(
            registry, MANAGER,
            {"reference": "H2", "area_code": "VE-01-01-02", "monthly_income": 1000, "currency": "VES",
             "members": [{"given_name": "Ana", "family_name": "Gil", "birth_date": "1990-01-01", "sex": 2,
                          "relationship": "head"}, child("Eva", "2024-01-01")]},
        )  # fmt: skip
    act(canasta, lambda e: use_cases.add_programme(e, MANAGER, PROGRAMME))
    cycle = act(canasta, lambda e: use_cases.draft_cycle(e, MANAGER, "canasta-ninos", period_start=date(2026, 12, 1),
                                                         period_end=date(2026, 12, 31)))  # fmt: skip
    act(canasta, lambda e: use_cases.preview_cycle(e, MANAGER, cycle))
    act(canasta, lambda e: use_cases.approve_cycle(e, APPROVER, cycle))
    act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
    with canasta.engine.connect() as connection:
        leased = dict(connection.execute(select(entitlements.c.household_id, entitlements.c.home_point_id)).all())
    assert leased == {near: points["VE-01-01-01"], far: points["VE-01"]}


OFFICER = Actor(user_id=UUID(int=3), name="carla", role=Role.GRIEVANCE_OFFICER)


def test_an_upheld_appeal_reassesses_with_corrected_data_and_grants_the_benefit(canasta: Canasta) -> None:
    from canasta.services import appeals as appeal_cases

    cycle = prepared(canasta)
    act(canasta, lambda e: use_cases.preview_cycle(e, MANAGER, cycle))
    act(canasta, lambda e: use_cases.approve_cycle(e, APPROVER, cycle))
    act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
    from canasta.adapters.db.tables import households

    with canasta.engine.connect() as connection:
        # H3 has a child under 5 but earns too much on paper; the officer corrects its income on appeal.
        h3 = connection.execute(select(households.c.id).where(households.c.reference == "H3")).scalar_one()
        decision_id = connection.execute(select(decisions.c.id).where(decisions.c.household_id == h3)).scalar_one()
        assert connection.execute(select(decisions.c.reason).where(decisions.c.id == decision_id)).scalar_one() == (
            "rule_not_met"
        )

    def with_appeals(action: Any) -> Any:
        with canasta.engine.begin() as connection:
            return action(canasta.appeals(connection))

    appeal = with_appeals(lambda a: appeal_cases.file_appeal(a, MANAGER, decision_id, grounds="income was misread"))
    with pytest.raises(ConflictError):
        with_appeals(lambda a: appeal_cases.file_appeal(a, MANAGER, decision_id, grounds="a second appeal here"))
    with pytest.raises(PermissionDeniedError) as not_independent:
        with_appeals(lambda a: appeal_cases.take_appeal(a, APPROVER, appeal))
    assert not_independent.value.code == "not_independent"
    with_appeals(lambda a: appeal_cases.take_appeal(a, OFFICER, appeal))
    with canasta.engine.begin() as connection:
        registry = canasta.registry(connection, MANAGER)
        current = registry_cases.read_household(registry, MANAGER, h3)
        registry_cases.update_household(registry, MANAGER, h3, current["version"], {"monthly_income": 1000},
                                        reason="income corrected on appeal")  # fmt: skip
    new_decision = with_appeals(
        lambda a: appeal_cases.decide_appeal(a, OFFICER, appeal, upheld=True, reason="payslip shows lower income")
    )
    with canasta.engine.connect() as connection:
        latest = connection.execute(select(decisions).where(decisions.c.id == new_decision)).mappings().one()
        granted = connection.execute(select(entitlements.c.household_id)).scalars().all()
    assert (latest["version"], latest["appeal_id"], latest["reason"], latest["units"]) == (
        2,
        appeal,
        "upheld_appeal",
        1,
    )
    assert h3 in granted
    steps = with_appeals(lambda a: appeal_cases.household_appeals(a, h3))[0]["steps"]
    assert [step["state"] for step in steps] == ["filed", "in_review", "upheld"]


PMT = {
    "name": "pmt-demo", "version": 1, "intercept": 10.0,
    "coefficients": {"members": -0.2, "income_per_capita": 0.00002},
    "regions": {"VE-01": 0.0, "VE-02": -0.3},
    "cutoff": 10.0,
}  # fmt: skip


def test_a_proxy_means_test_is_pinned_scored_in_sql_and_explained(canasta: Canasta) -> None:
    # Scores: 10 - 0.2 x members + 0.00002 x income per capita (VE-01 adds 0).
    poor = enrol(canasta, "H1", income=30000, children=["2024-06-01", "2023-01-01"])  # 3 members: 9.6 eligible
    richer = enrol(canasta, "H2", income=3_000_000, children=["2024-06-01"])  # 2 members: 9.6 + 30 = 39.6
    act(canasta, lambda e: use_cases.add_pmt_model(e, MANAGER, PMT))
    with pytest.raises(ConflictError):
        act(canasta, lambda e: use_cases.add_pmt_model(e, MANAGER, PMT))
    programme = {**PROGRAMME, "rule": "children_under_5 >= 1", "pmt_model": "pmt-demo"}
    act(canasta, lambda e: use_cases.add_programme(e, MANAGER, programme))
    cycle = act(canasta, lambda e: use_cases.draft_cycle(e, MANAGER, "canasta-ninos", period_start=date(2026, 12, 1),
                                                         period_end=date(2026, 12, 31)))  # fmt: skip
    # A later model version does not change the cycle: the version in force at the draft is pinned.
    act(canasta, lambda e: use_cases.add_pmt_model(e, MANAGER, {**PMT, "version": 2, "cutoff": 100.0}))
    act(canasta, lambda e: use_cases.preview_cycle(e, MANAGER, cycle))
    act(canasta, lambda e: use_cases.approve_cycle(e, APPROVER, cycle))
    act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
    with canasta.engine.connect() as connection:
        rows = {row.household_id: row for row in connection.execute(select(decisions))}
    assert (rows[poor].reason, rows[richer].reason) == ("eligible", "pmt_above_cutoff")
    assert rows[poor].score == pytest.approx(10.0 - 0.6 + 0.00002 * 10000)
    [explained] = act(canasta, lambda e: use_cases.explain_decisions(e, richer, cycle))
    pmt = explained["explanation"]["pmt"]
    assert (pmt["model"], pmt["passed"], pmt["cutoff"]) == ("pmt-demo v1", False, 10.0)
    assert {item["term"] for item in pmt["contributions"]} >= {"members", "income_per_capita"}
    assert sum(item["amount"] for item in pmt["contributions"]) == pytest.approx(pmt["score"])


@pytest.mark.parametrize(("unredeemed", "state"), [("lapse", "lapsed"), ("carry_over", "carried_over")])
def test_closing_a_cycle_lapses_or_carries_over_what_was_not_redeemed(
    canasta: Canasta, unredeemed: str, state: str
) -> None:
    enrol(canasta, "H1", income=1000, children=["2024-06-01"])
    act(canasta, lambda e: use_cases.add_programme(e, MANAGER, {**PROGRAMME, "unredeemed": unredeemed}))
    cycle = act(canasta, lambda e: use_cases.draft_cycle(e, MANAGER, "canasta-ninos", period_start=date(2026, 12, 1),
                                                         period_end=date(2026, 12, 31)))  # fmt: skip
    act(canasta, lambda e: use_cases.preview_cycle(e, MANAGER, cycle))
    act(canasta, lambda e: use_cases.approve_cycle(e, APPROVER, cycle))
    act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
    assert act(canasta, lambda e: use_cases.close_cycle(e, APPROVER, cycle)) == 1
    with canasta.engine.connect() as connection:
        assert connection.execute(select(entitlements.c.state)).scalars().all() == [state]
    with pytest.raises(ConflictError):
        act(canasta, lambda e: use_cases.run_cycle(e, APPROVER, cycle))
