"""The registry API through its client, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from canasta.adapters.db.integrity import broken_references
from canasta.entrypoints.api.app import create_app
from canasta.entrypoints.api.authorisation import PUBLIC, ROUTE_ROLES
from tests.factories import make_canasta, sign_in

PASSWORD = "correct horse battery staple"


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    canasta = make_canasta(database_url)
    headers = sign_in(canasta, [
        ("officer", "enrolment_officer", []),
        ("local", "enrolment_officer", ["VE-02"]),
        ("auditor", "auditor", []),
        ("carla", "grievance_officer", []),
    ], password=PASSWORD)  # fmt: skip
    with TestClient(create_app(canasta), raise_server_exceptions=False) as client:
        yield client, headers
    with canasta.engine.connect() as connection:
        assert broken_references(connection) == {}  # every write above left its references whole
    canasta.close()


def household_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": "H-API-1",
        "area_code": "VE-01-01-01",
        "address": "Calle Real 1",
        "monthly_income": 150000,
        "currency": "VES",
        "dwelling_type": "house",
        "assets": ["refrigerator"],
        "members": [
            {"given_name": "José", "family_name": "Peña Núñez", "birth_date": "1980-03-04", "sex": 1,
             "relationship": "head", "national_id": "V-1234567", "phone": "+58 412 1234567",
             "health_needs": "hipertensión"},
            {"given_name": "María", "family_name": "Peña Núñez", "birth_date": "2015-05-06", "sex": 2,
             "relationship": "child"},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


def test_every_route_is_in_the_authorisation_table(api: Any) -> None:
    client, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    routes = {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods}
    assert routes == set(ROUTE_ROLES) | PUBLIC


def test_health_needs_no_token_but_everything_else_does(api: Any) -> None:
    client, _ = api
    assert client.get("/health").json() == {"status": "ok"}
    response = client.post("/households", json=household_body())
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"
    bad = client.get("/people/search", params={"national_id": "V-1"}, headers={"Authorization": "Bearer cnst_nope"})
    assert bad.status_code == 401


def test_create_read_update_with_versions(api: Any) -> None:
    client, headers = api
    created = client.post("/households", json=household_body(), headers=headers["officer"])
    assert created.status_code == 201, created.text
    household_id = created.json()["id"]
    household = client.get(f"/households/{household_id}", headers=headers["officer"]).json()
    head = next(member for member in household["members"] if member["relationship"] == "head")
    assert head["national_id"] == "V-1234567"
    assert head["phone"] == "+584121234567"
    assert household["assets"] == ["refrigerator"]
    assert household["version"] == 1

    patched = client.patch(
        f"/households/{household_id}",
        json={"version": 1, "reason": "income re-assessed", "monthly_income": 90000},
        headers=headers["officer"],
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["version"], patched.json()["monthly_income"]) == (2, 90000)

    stale = client.patch(
        f"/households/{household_id}",
        json={"version": 1, "reason": "a late change", "monthly_income": 1},
        headers=headers["officer"],
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"

    versions = client.get(f"/households/{household_id}/versions", headers=headers["auditor"]).json()
    assert [(v["version"], v["reason"], v["data"]["monthly_income"]) for v in versions] == [
        (1, "income re-assessed", 150000)
    ]


def test_people_are_deactivated_never_deleted(api: Any) -> None:
    client, headers = api
    household_id = client.post("/households", json=household_body(), headers=headers["officer"]).json()["id"]
    child = client.get(f"/households/{household_id}", headers=headers["officer"]).json()["members"][1]
    assert client.delete(f"/people/{child['id']}", headers=headers["officer"]).status_code == 405
    response = client.post(
        f"/people/{child['id']}/deactivate", json={"version": 1, "reason": "moved away"}, headers=headers["officer"]
    )
    assert (response.status_code, response.json()["status"]) == (202, "pending")  # a second person decides
    approved = client.post(f"/approvals/{response.json()['id']}/approve", headers=headers["carla"])
    assert approved.status_code == 200, approved.text
    person = client.get(f"/people/{child['id']}", headers=headers["officer"]).json()
    assert (person["status"], person["status_reason"]) == ("inactive", "moved away")


def test_unknown_and_prohibited_fields_get_422_naming_them(api: Any) -> None:
    client, headers = api
    unknown = client.post("/households", json=household_body(colour="blue"), headers=headers["officer"])
    assert unknown.status_code == 422
    assert (unknown.json()["code"], unknown.json()["field"]) == ("invalid_request", "colour")
    prohibited = client.post("/households", json=household_body(partido="x"), headers=headers["officer"])
    assert prohibited.status_code == 422
    assert prohibited.json()["code"] == "prohibited_category"
    assert prohibited.json()["category"] == "political opinion or party membership"
    nested = household_body()
    nested["members"][0]["religion"] = "x"
    response = client.post("/households", json=nested, headers=headers["officer"])
    assert (response.json()["code"], response.json()["field"]) == ("prohibited_category", "members.0.religion")
    custom = household_body(custom={"voto": "si"})
    response = client.post("/households", json=custom, headers=headers["officer"])
    assert (response.status_code, response.json()["code"]) == (422, "prohibited_category")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"monthly_income": -1}, "monthly_income"),
        ({"monthly_income": "lots"}, "monthly_income"),
        ({"currency": "bolivares"}, "currency"),
        ({"area_code": "VE-99-99-99"}, "area_code"),
        ({"members": []}, "members"),
    ],
)
def test_bad_bodies_get_422_with_the_field(api: Any, changes: dict[str, Any], field: str) -> None:
    client, headers = api
    response = client.post("/households", json=household_body(**changes), headers=headers["officer"])
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_a_household_needs_exactly_one_head(api: Any) -> None:
    client, headers = api
    body = household_body()
    body["members"][1]["relationship"] = "head"
    response = client.post("/households", json=body, headers=headers["officer"])
    assert (response.status_code, response.json()["code"]) == (422, "head_count")


def test_search_by_identifier_or_by_name_and_birth_date_in_an_area(api: Any) -> None:
    client, headers = api
    client.post("/households", json=household_body(), headers=headers["officer"])
    by_id = client.get("/people/search", params={"national_id": "v-1234567"}, headers=headers["officer"]).json()
    assert [item["given_name"] for item in by_id["items"]] == ["José"]
    by_name = client.get(
        "/people/search",
        params={"name": "jose pena", "birth_date": "1980-03-04", "area_code": "VE-01"},
        headers=headers["officer"],
    ).json()
    assert [item["family_name"] for item in by_name["items"]] == ["Peña Núñez"]
    too_broad = client.get("/people/search", params={"name": "jose"}, headers=headers["officer"])
    assert (too_broad.status_code, too_broad.json()["code"]) == (422, "search_too_broad")
    oversized = client.get(
        "/people/search", params={"national_id": "V-1234567", "limit": 51}, headers=headers["officer"]
    )
    assert oversized.status_code == 422


def test_objects_outside_the_scope_look_missing(api: Any) -> None:
    client, headers = api
    household_id = client.post("/households", json=household_body(), headers=headers["officer"]).json()["id"]
    outside = client.get(f"/households/{household_id}", headers=headers["local"])
    missing = client.get("/households/00000000-0000-7000-8000-000000000000", headers=headers["local"])
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    search = client.get("/people/search", params={"national_id": "V-1234567"}, headers=headers["local"]).json()
    assert search["items"] == []


def test_a_role_not_in_the_table_is_refused(api: Any) -> None:
    client, headers = api
    response = client.post("/households", json=household_body(), headers=headers["auditor"])
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_login_gives_a_token_and_a_wrong_password_does_not(api: Any) -> None:
    client, _ = api
    token = client.post("/auth/token", json={"name": "officer", "password": PASSWORD})
    assert token.status_code == 200
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/people/search", params={"national_id": "V-0000"}, headers=auth).status_code == 200
    wrong = client.post("/auth/token", json={"name": "officer", "password": "nope"})
    unknown = client.post("/auth/token", json={"name": "ghost", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_typed_identifiers_are_sealed_searchable_and_unique(api: Any) -> None:
    client, headers = api
    body = household_body()
    body["members"][1]["identifiers"] = [{"kind": "birth_certificate", "value": "ACTA-2015-0042"}]
    household_id = client.post("/households", json=body, headers=headers["officer"]).json()["id"]
    found = client.get(
        "/people/search",
        params={"identifier_kind": "birth_certificate", "identifier": "acta-2015-0042"},
        headers=headers["officer"],
    ).json()["items"]
    assert [item["given_name"] for item in found] == ["María"]
    child = client.get(f"/households/{household_id}", headers=headers["officer"]).json()["members"][1]
    assert child["identifiers"] == [{"kind": "birth_certificate", "value": "ACTA-2015-0042"}]
    clash = household_body(reference="H-API-2")
    clash["members"][0]["identifiers"] = [{"kind": "birth_certificate", "value": "ACTA-2015-0042"}]
    clash["members"][0]["national_id"] = "V-7654321"
    response = client.post("/households", json=clash, headers=headers["officer"])
    assert (response.status_code, response.json()["code"]) == (409, "identifier_taken")
    unknown_kind = household_body(reference="H-API-3")
    unknown_kind["members"][0]["identifiers"] = [{"kind": "voter_card", "value": "X-1234"}]
    response = client.post("/households", json=unknown_kind, headers=headers["officer"])
    assert response.status_code == 422


def test_consent_is_recorded_and_withdrawn_never_deleted(api: Any) -> None:
    client, headers = api
    household_id = client.post("/households", json=household_body(), headers=headers["officer"]).json()["id"]
    consent = client.post(
        f"/households/{household_id}/consents", json={"purpose": "notifications"}, headers=headers["officer"]
    )
    assert consent.status_code == 201
    consent_id = consent.json()["id"]
    withdrawn = client.post(f"/households/{household_id}/consents/{consent_id}/withdraw", headers=headers["officer"])
    assert withdrawn.status_code == 204
    again = client.post(f"/households/{household_id}/consents/{consent_id}/withdraw", headers=headers["officer"])
    assert (again.status_code, again.json()["code"]) == (409, "consent_withdrawn")
    consents = client.get(f"/households/{household_id}", headers=headers["officer"]).json()["consents"]
    assert [(c["purpose"], c["given_by"], c["withdrawn_by"]) for c in consents] == [
        ("notifications", "enrolment_officer:officer", "enrolment_officer:officer")
    ]
    prohibited = client.post(
        f"/households/{household_id}/consents", json={"purpose": "party_membership"}, headers=headers["officer"]
    )
    assert (prohibited.status_code, prohibited.json()["code"]) == (422, "prohibited_category")


def test_card_verification_answers_anything_a_camera_reads(api: Any) -> None:
    client, headers = api
    canasta = client.app.state.canasta
    from datetime import UTC, datetime

    from canasta.domain.access import Actor, Role
    from canasta.services import cards as card_cases

    admin = Actor(user_id=canasta.new_ids(1)[0], name="admin", role=Role.ADMIN)
    household_id = client.post("/households", json=household_body(), headers=headers["officer"]).json()["id"]
    with canasta.engine.begin() as connection:
        cards = canasta.cards(connection)
        card_cases.create_key(cards, admin, purpose="card")
        from uuid import UUID

        card = card_cases.issue_card(cards, admin, UUID(household_id), label="Canasta", reason="new")
        [job] = list(card_cases.print_jobs(cards, household_id=UUID(household_id)))
    valid = client.post("/cards/verify", json={"text": job.qr_text}, headers=headers["officer"])
    assert valid.status_code == 200
    body = valid.json()
    assert (body["valid"], body["card_number"], body["holder_name"]) == (True, card.card_number, "José Peña Núñez")
    assert datetime.fromisoformat(body["expires_at"]) > datetime(2029, 1, 1, tzinfo=UTC)
    for text, reason in (
        (job.qr_text[:-7], "malformed"),
        (job.qr_text.lower(), None),  # lenient on encoding: lower-case Base45 is read
        ("HC1:NCFOXN%TS3DH", "malformed"),
        ("%%%%", "malformed_base45"),
    ):
        answer = client.post("/cards/verify", json={"text": text}, headers=headers["officer"]).json()
        if reason is None:
            assert answer["valid"] is True
        else:
            assert answer["valid"] is False
            assert answer["reason"].startswith(reason)
    noise = client.post("/cards/verify", json={"text": "A" * 10_000_000}, headers=headers["officer"])
    assert (noise.status_code, noise.json()["field"]) == (422, "text")
    assert client.post("/cards/verify", json={"text": job.qr_text}, headers=headers["auditor"]).status_code == 403


def test_decisions_are_explained_and_appealed_through_the_api(api: Any) -> None:
    from datetime import date
    from uuid import UUID

    from canasta.domain.access import Actor, Role
    from canasta.services import cycles as cycle_cases

    client, headers = api
    canasta = client.app.state.canasta
    household_id = client.post("/households", json=household_body(), headers=headers["officer"]).json()["id"]
    author = Actor(user_id=UUID(int=1), name="ana", role=Role.PROGRAMME_MANAGER)
    approver = Actor(user_id=UUID(int=2), name="beto", role=Role.PROGRAMME_MANAGER)
    programme = {
        "code": "pension", "name": "Pensión", "kind": "cash", "rule": "people_over_65 >= 1",
        "formula": {"basis": "per_household", "amount": 50000}, "currency": "VES",
    }  # fmt: skip
    with canasta.engine.begin() as connection:
        eligibility = canasta.eligibility(connection)
        cycle_cases.add_programme(eligibility, author, programme)
        cycle = cycle_cases.draft_cycle(eligibility, author, "pension", period_start=date(2026, 12, 1),
                                        period_end=date(2026, 12, 31))  # fmt: skip
        cycle_cases.preview_cycle(eligibility, author, cycle)
        cycle_cases.approve_cycle(eligibility, approver, cycle)
        cycle_cases.run_cycle(eligibility, approver, cycle)
    [decision] = client.get(f"/households/{household_id}/decisions", headers=headers["officer"]).json()
    assert (decision["eligible"], decision["reason"]) == (False, "rule_not_met")
    assert decision["explanation"]["clauses"][0]["values"] == {"people_over_65": 0}
    filed = client.post(
        f"/decisions/{decision['decision_id']}/appeals", json={"grounds": "grandmother lives with us"},
        headers=headers["officer"],
    )  # fmt: skip
    assert filed.status_code == 201
    appeal_id = filed.json()["id"]
    assert client.post(f"/appeals/{appeal_id}/take", headers=headers["officer"]).status_code == 403
    assert client.post(f"/appeals/{appeal_id}/take", headers=headers["carla"]).status_code == 204
    decided = client.post(
        f"/appeals/{appeal_id}/decide", json={"upheld": False, "reason": "no member over 65 is registered"},
        headers=headers["carla"],
    )  # fmt: skip
    assert decided.json() == {"new_decision_id": None}
    [appeal] = client.get(f"/households/{household_id}/appeals", headers=headers["officer"]).json()
    assert [step["state"] for step in appeal["steps"]] == ["filed", "in_review", "rejected"]
    assert appeal["outcome_reason"] == "no member over 65 is registered"
