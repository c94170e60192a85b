"""The access log through the API: every look at a record is written with the data, or the data does not leave."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from canasta.adapters.db.access_log import SqlAccessLog
from canasta.adapters.db.access_log_tables import access_log, security_alerts
from canasta.adapters.db.users import add_user, issue_token
from canasta.bootstrap import Canasta
from canasta.entrypoints.api.app import create_app
from tests.e2e.test_api import PASSWORD, household_body
from tests.factories import NOW, make_canasta, sign_in


@dataclasses.dataclass
class Api:
    client: TestClient
    canasta: Canasta
    headers: dict[str, dict[str, str]]

    def entries(self) -> list[dict[str, Any]]:
        with self.canasta.engine.connect() as connection:
            rows = connection.execute(select(access_log).order_by(access_log.c.at, access_log.c.id))
            return [dict(row._mapping) for row in rows]


def _api(database_url: str, **settings: Any) -> Iterator[Api]:
    canasta = make_canasta(database_url)
    canasta = dataclasses.replace(canasta, settings=canasta.settings.model_copy(update=settings))
    headers = sign_in(canasta, [
        ("officer", "enrolment_officer", ["VE-01"]),
        ("national", "enrolment_officer", []),
        ("manager", "programme_manager", []),
    ], password=PASSWORD)  # fmt: skip
    with TestClient(create_app(canasta), raise_server_exceptions=False) as client:
        yield Api(client, canasta, headers)
    canasta.close()


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    yield from _api(database_url, audit_seal_seconds=0)


@pytest.fixture
def strict_api(database_url: str) -> Iterator[Api]:
    yield from _api(database_url, audit_seal_seconds=0, read_quota_per_hour=3)


def _another(reference: str, national_id: str, **changes: Any) -> dict[str, Any]:
    body = household_body(reference=reference, **changes)
    body["members"] = [{**body["members"][0], "national_id": national_id}, body["members"][1]]
    return body


def _enrol(api: Api) -> str:
    created = api.client.post("/households", json=household_body(), headers=api.headers["officer"])
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_reads_writes_and_searches_are_logged_with_who_why_and_the_request(api: Api) -> None:
    household_id = _enrol(api)
    [enrolled] = api.entries()
    assert enrolled["action"] == "write"
    assert str(enrolled["household_id"]) == household_id
    assert enrolled["purpose"] == "enrolment"
    assert {"identity", "identifiers", "contact", "health", "socio_economic"} <= set(enrolled["categories"])

    read = api.client.get(
        f"/households/{household_id}", headers={**api.headers["manager"], "X-Request-ID": "case-4711-abcdef"}
    )
    assert read.status_code == 200
    assert read.headers["x-request-id"] == "case-4711-abcdef"
    entry = api.entries()[-1]
    assert entry["action"] == "read"
    assert (entry["actor_name"], entry["actor_role"], entry["actor_areas"]) == ("manager", "programme_manager", [])
    assert (entry["purpose"], entry["request_id"]) == ("case management", "case-4711-abcdef")
    assert entry["route"] == "GET /households/{household_id}"
    assert "health" in entry["categories"]
    assert "consent" in entry["categories"]

    found = api.client.get(
        "/people/search", params={"national_id": "V-1234567"}, headers=api.headers["officer"]
    ).json()["items"]
    [searched] = [entry for entry in api.entries() if entry["action"] == "search"]
    assert str(searched["person_id"]) == found[0]["id"]
    assert str(searched["household_id"]) == household_id

    person_id = found[0]["id"]
    version = api.client.get(f"/people/{person_id}", headers=api.headers["officer"]).json()["version"]
    patched = api.client.patch(
        f"/people/{person_id}", json={"version": version, "reason": "new phone", "phone": "+58 414 7654321"},
        headers=api.headers["officer"],
    )  # fmt: skip
    assert patched.status_code == 200
    write = next(entry for entry in api.entries() if entry["action"] == "write" and entry["person_id"] is not None)
    assert write["categories"] == ["contact"]
    assert write["purpose"] == "correction"
    # Nothing personal in the log itself: names, identifiers and phone numbers never appear in it.
    text = repr(api.entries())
    for canary in ("José", "Peña", "V-1234567", "4121234567", "7654321", "hipertensión"):
        assert canary not in text


def test_a_missing_or_out_of_scope_record_logs_nothing(api: Api) -> None:
    _enrol(api)
    body = _another("H-API-9", "V-7654321", area_code="VE-02-01-01")
    elsewhere = api.client.post("/households", json=body, headers=api.headers["national"])
    assert elsewhere.status_code == 201, elsewhere.text
    before = len(api.entries())
    for missing in (str(uuid4()), elsewhere.json()["id"]):
        assert api.client.get(f"/households/{missing}", headers=api.headers["officer"]).status_code == 404
    assert len(api.entries()) == before


def test_when_the_log_cannot_be_written_no_personal_data_leaves(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    household_id = _enrol(api)
    person = api.client.get("/people/search", params={"national_id": "V-1234567"}, headers=api.headers["officer"])
    person_id = person.json()["items"][0]["id"]
    version = api.client.get(f"/people/{person_id}", headers=api.headers["officer"]).json()["version"]
    before = len(api.entries())

    def broken(self: SqlAccessLog, entries: object) -> None:
        raise OSError("the log's disk is full")

    monkeypatch.setattr(SqlAccessLog, "append", broken)
    for response in (
        api.client.get(f"/households/{household_id}", headers=api.headers["officer"]),
        api.client.get(f"/people/{person_id}", headers=api.headers["officer"]),
        api.client.get("/people/search", params={"national_id": "V-1234567"}, headers=api.headers["officer"]),
        api.client.get(f"/households/{household_id}/versions", headers=api.headers["officer"]),
        api.client.patch(
            f"/people/{person_id}", json={"version": version, "reason": "typo", "given_name": "Josefa"},
            headers=api.headers["officer"],
        ),
        api.client.post("/households", json=_another("H-API-2", "V-2222222"), headers=api.headers["officer"]),
    ):  # fmt: skip
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "access_log_unavailable"
        for canary in ("José", "Josefa", "Peña", "V-1234567", "1234567", "hipertensión", "Calle Real"):
            assert canary not in response.text
    monkeypatch.undo()
    # The refused write was not committed either, and nothing was logged.
    assert api.client.get(f"/people/{person_id}", headers=api.headers["officer"]).json()["given_name"] == "José"
    assert len(api.entries()) == before + 1  # the read just above (the search below finds nobody: no entry)
    search = api.client.get("/people/search", params={"national_id": "V-2222222"}, headers=api.headers["officer"])
    assert search.json()["items"] == []  # H-API-2 was not enrolled


def test_a_commit_that_fails_answers_an_error_not_the_data(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    household_id = _enrol(api)
    from sqlalchemy.engine.base import RootTransaction

    def failing_commit(self: RootTransaction) -> None:
        raise OSError("the disk went away at commit")

    with monkeypatch.context() as patched:
        patched.setattr(RootTransaction, "_do_commit", failing_commit)
        response = api.client.get(f"/households/{household_id}", headers=api.headers["officer"])
    assert response.status_code == 500
    assert "José" not in response.text
    assert "Calle Real" not in response.text


def test_past_the_read_quota_429_and_a_security_alert(strict_api: Api) -> None:
    api = strict_api
    household_id = _enrol(api)
    statuses = [
        api.client.get(f"/households/{household_id}", headers=api.headers["manager"]).status_code for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    refused = api.client.get(f"/households/{household_id}", headers=api.headers["manager"])
    assert refused.json()["code"] == "quota_exceeded"
    assert int(refused.headers["retry-after"]) > 0
    # Another user's quota is their own; writes do not count against it.
    assert api.client.get(f"/households/{household_id}", headers=api.headers["officer"]).status_code == 200
    with api.canasta.engine.connect() as connection:
        alerts = connection.execute(select(security_alerts.c.kind, security_alerts.c.actor_name)).all()
        assert ("quota_exceeded", "manager") in [tuple(alert) for alert in alerts]
        reads = connection.execute(
            select(func.count()).where(access_log.c.actor_name == "manager", access_log.c.action == "read")
        ).scalar_one()
    assert reads == 3  # refused reads returned nothing and logged nothing


def test_a_redemption_is_logged_against_the_household(database_url: str) -> None:
    from tests.redemption_scene import build

    canasta = make_canasta(database_url)
    scene = build(canasta)
    with canasta.engine.begin() as connection:
        before = connection.execute(select(func.count()).select_from(access_log)).scalar_one()
        add_user(connection, user_id=canasta.new_ids(1)[0], name="olga", role="distribution_operator",
                 password=PASSWORD, area_codes=["VE-01"], at=NOW)  # fmt: skip
        token = issue_token(connection, token_id=canasta.new_ids(1)[0], name="olga", at=NOW,
                            lifetime=timedelta(hours=1))  # fmt: skip
    body = {"redemption_id": str(uuid4()), "point": "DP-1", "card": scene.card_text,
            "items": [{"programme": "canasta-ninos", "units": 1}]}  # fmt: skip
    client = TestClient(create_app(canasta), raise_server_exceptions=False)
    answer = client.post("/redemptions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    with canasta.engine.connect() as connection:
        entries = connection.execute(select(access_log).order_by(access_log.c.at, access_log.c.id)).all()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.household_id, entry.actor_name, entry.purpose) == (scene.household_id, "olga", "distribution")
    assert entry.categories == ["card", "entitlements"]
    canasta.close()


def test_the_server_seals_the_log_on_its_own(database_url: str) -> None:
    import time

    from canasta.adapters.db.access_log import checkpoints

    for api in _api(database_url, audit_seal_seconds=0.05):
        household_id = _enrol(api)
        assert api.client.get(f"/households/{household_id}", headers=api.headers["manager"]).status_code == 200
        deadline = time.monotonic() + 30
        found: list[Any] = []
        while time.monotonic() < deadline and not (found and found[-1].position == 2):
            time.sleep(0.05)
            with api.canasta.engine.connect() as connection:
                found = checkpoints(connection)
        assert found, "the server's sealer wrote no checkpoint"
        assert found[-1].position == 2
        assert api.canasta.verify_access_log().ok
