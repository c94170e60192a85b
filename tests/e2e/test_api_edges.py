"""Edges the whole-API checks found (fuzzing, scope, leaks), each pinned by a plain test, on SQLite and PostgreSQL:
a correction that clears a field every record has, a body that is not text, an unexpected error under a real
server, and SQL logging turned up."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from canasta.adapters.db.engine import make_engine
from canasta.domain.access import Role
from canasta.entrypoints.api.app import create_app
from canasta.services import registry as registry_cases
from tests.api_world import World, populate
from tests.factories import make_canasta


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    canasta = make_canasta(database_url)
    with TestClient(create_app(canasta), raise_server_exceptions=False) as client:
        yield populate(canasta, client)
    canasta.close()


@pytest.mark.parametrize(
    ("record", "field"),
    [("households", "area_code"), ("households", "monthly_income"), ("households", "currency"),
     ("people", "given_name"), ("people", "birth_date"), ("people", "sex"), ("people", "relationship")],
)  # fmt: skip
def test_a_correction_may_not_clear_a_field_every_record_has(world: World, record: str, field: str) -> None:
    name = "household_id" if record == "households" else "person_id"
    path = f"/{record}/{world.ids[name]}"
    headers = world.headers(Role.ENROLMENT_OFFICER.value)
    version = world.client.get(path, headers=headers).json()["version"]
    response = world.client.patch(path, json={"version": version, "reason": "cleared", field: None}, headers=headers)
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == ("required", field)
    assert world.client.get(path, headers=headers).json()["version"] == version  # nothing was written


def test_a_body_that_is_not_text_is_refused_naming_the_body(world: World) -> None:
    headers = {**world.headers(Role.ADMIN.value), "Content-Type": "application/json"}
    latin1 = world.client.post("/households", content='{"reference": "Peña"}'.encode("latin-1"), headers=headers)
    assert latin1.status_code == 422
    body = latin1.json()
    assert (body["code"], body["field"], body["errors"][0]["code"]) == ("invalid_request", "body", "body_unreadable")
    broken = world.client.post("/households", content=b'{"reference": ', headers=headers)  # text, but not JSON
    assert broken.status_code == 422
    body = broken.json()
    assert (body["code"], body["field"], body["errors"][0]["code"]) == ("invalid_request", "body", "json_invalid")


def test_an_unexpected_error_is_answered_and_goes_no_further(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Under a server (no test client's debug extension) the app answers the 500 problem and raises nothing, so the
    server has nothing to log with the error's message; canasta logs its type and place."""

    def fail(*_args: object, **_kwargs: object) -> None:
        raise ValueError("José Peña V-1234567")

    monkeypatch.setattr(registry_cases, "read_household", fail)
    app = world.client.app
    headers = world.headers(Role.ADMIN.value)

    async def ask() -> Any:
        transport = httpx2.ASGITransport(app=app)  # raises what the app raises, as a server would see it
        async with httpx2.AsyncClient(transport=transport, base_url="http://canasta") as client:
            return await client.get(f"/households/{world.ids['household_id']}", headers=headers)

    with caplog.at_level(logging.ERROR, logger="canasta.api"):
        response = anyio.run(ask)
    assert (response.status_code, response.json()["code"]) == (500, "internal_error")
    assert "José" not in response.text
    [record] = [record for record in caplog.records if record.name == "canasta.api"]
    assert record.getMessage().startswith("unexpected error: ValueError at ")
    assert "José" not in record.getMessage()
    # A test client still sees the crash, so that a test cannot miss one.
    with TestClient(app) as raising, pytest.raises(ValueError, match="José"):
        raising.get(f"/households/{world.ids['household_id']}", headers=headers)


def test_sql_logged_at_debug_carries_no_values(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(database_url)
    try:
        # SQLAlchemy's logger is at WARNING unless someone turns it up, as an operator chasing a problem may.
        with caplog.at_level(logging.DEBUG, logger="sqlalchemy"), engine.begin() as connection:
            connection.execute(text("CREATE TABLE leak_check (name VARCHAR(40))"))
            connection.execute(text("INSERT INTO leak_check VALUES (:name)"), {"name": "Canaria Pajaro"})
            assert connection.execute(text("SELECT name FROM leak_check")).scalar() == "Canaria Pajaro"
            connection.execute(text("DROP TABLE leak_check"))
    finally:
        engine.dispose()
    logged = [record.getMessage() for record in caplog.records if record.name.startswith("sqlalchemy")]
    assert any("INSERT INTO leak_check" in line for line in logged)  # statements are logged ...
    assert not [line for line in logged if "Canaria" in line]  # ... never the values sent or read
