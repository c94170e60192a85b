"""Two people for destructive acts through the API (on SQLite and PostgreSQL) and through the CLI (a real process):
a deactivation or a revocation is a request until a second, different user approves it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from canasta.adapters.db.integrity import broken_references
from canasta.entrypoints.api.app import create_app
from tests.factories import AREAS, make_canasta, person_row, sign_in, write_csv

PASSWORD = "correct horse battery staple"
Client = tuple[TestClient, dict[str, dict[str, str]]]


@pytest.fixture
def api(database_url: str) -> Iterator[Client]:
    canasta = make_canasta(database_url)
    headers = sign_in(canasta, [
        ("officer", "enrolment_officer", []),
        ("second", "enrolment_officer", []),
        ("local", "enrolment_officer", ["VE-02"]),
        ("auditor", "auditor", []),
        ("manager", "programme_manager", []),
    ], password=PASSWORD)  # fmt: skip
    with TestClient(create_app(canasta), raise_server_exceptions=False) as client:
        yield client, headers
    with canasta.engine.connect() as connection:
        assert broken_references(connection) == {}
    canasta.close()


def enrol(client: TestClient, headers: dict[str, dict[str, str]]) -> dict[str, Any]:
    body = {
        "reference": "H-APPROVAL", "area_code": "VE-01-01-01", "monthly_income": 150000, "currency": "VES",
        "members": [{"given_name": "José", "family_name": "Peña", "birth_date": "1980-03-04", "sex": 1,
                     "relationship": "head"}],
    }  # fmt: skip
    created = client.post("/households", json=body, headers=headers["officer"])
    assert created.status_code == 201, created.text
    return dict(client.get(f"/households/{created.json()['id']}", headers=headers["officer"]).json())


def ask(client: TestClient, headers: dict[str, dict[str, str]], household_id: str, version: int = 1) -> Any:
    response = client.post(f"/households/{household_id}/deactivate", json={"version": version, "reason": "moved away"},
                           headers=headers["officer"])  # fmt: skip
    assert response.status_code == 202, response.text
    return response.json()


def test_a_deactivation_is_a_request_until_a_second_officer_approves_it(api: Client) -> None:
    client, headers = api
    household = enrol(client, headers)
    request = ask(client, headers, household["id"])
    assert (request["status"], request["kind"], request["requested_by"]) == (
        "pending", "record_deactivate", {"name": "officer", "role": "enrolment_officer"},
    )  # fmt: skip
    assert request["payload"] == {"entity": "households", "id": household["id"], "version": 1}
    assert client.get(f"/households/{household['id']}", headers=headers["officer"]).json()["status"] == "active"

    own = client.post(f"/approvals/{request['id']}/approve", headers=headers["officer"])
    assert (own.status_code, own.json()["code"]) == (403, "same_approver")
    auditor = client.post(f"/approvals/{request['id']}/approve", headers=headers["auditor"])
    assert auditor.status_code == 403  # auditors read requests, they do not decide them
    assert client.get(f"/households/{household['id']}", headers=headers["officer"]).json()["status"] == "active"

    approved = client.post(f"/approvals/{request['id']}/approve", json={"reason": "confirmed by phone"},
                           headers=headers["second"])  # fmt: skip
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]["name"]) == ("approved", "second")
    after = client.get(f"/households/{household['id']}", headers=headers["officer"]).json()
    assert (after["status"], after["status_reason"]) == ("inactive", "moved away")
    again = client.post(f"/approvals/{request['id']}/approve", headers=headers["second"])
    assert (again.status_code, again.json()["code"]) == (409, "already_decided")
    versions = client.get(f"/households/{household['id']}/versions", headers=headers["auditor"]).json()
    assert [version["version"] for version in versions] == [1]  # done once: one replaced version


def test_requests_are_listed_in_scope_and_out_of_scope_ones_look_missing(api: Client) -> None:
    client, headers = api
    request = ask(client, headers, enrol(client, headers)["id"])
    listed = client.get("/approvals", params={"status": "pending"}, headers=headers["second"]).json()
    assert ([item["id"] for item in listed["items"]], listed["next_offset"]) == ([request["id"]], None)
    assert client.get("/approvals", headers=headers["local"]).json()["items"] == []
    assert client.get("/approvals", headers=headers["manager"]).json()["items"] == []  # not a kind she decides
    for name in ("local", "manager"):
        assert client.get(f"/approvals/{request['id']}", headers=headers[name]).status_code == 404
        assert client.post(f"/approvals/{request['id']}/approve", headers=headers[name]).status_code == 404
    missing = client.get("/approvals/01900000-0000-7000-8000-000000000000", headers=headers["second"])
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert client.get("/approvals", params={"limit": 51}, headers=headers["second"]).status_code == 422
    assert client.get("/approvals", params={"status": "maybe"}, headers=headers["second"]).status_code == 422
    shown = client.get(f"/approvals/{request['id']}", headers=headers["auditor"]).json()
    assert (shown["id"], shown["status"]) == (request["id"], "pending")


def test_a_rejected_request_is_never_carried_out(api: Client) -> None:
    client, headers = api
    household = enrol(client, headers)
    request = ask(client, headers, household["id"])
    no_reason = client.post(f"/approvals/{request['id']}/reject", json={}, headers=headers["second"])
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    rejected = client.post(f"/approvals/{request['id']}/reject", json={"reason": "she still lives there"},
                           headers=headers["second"])  # fmt: skip
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["decision_reason"]) == ("rejected", "she still lives there")
    late = client.post(f"/approvals/{request['id']}/approve", headers=headers["second"])
    assert (late.status_code, late.json()["code"]) == (409, "already_decided")
    assert client.get(f"/households/{household['id']}", headers=headers["officer"]).json()["status"] == "active"


def test_a_request_whose_record_changed_fails_cleanly(api: Client) -> None:
    client, headers = api
    household = enrol(client, headers)
    request = ask(client, headers, household["id"])
    change = {"version": 1, "reason": "new job", "monthly_income": 1}
    patched = client.patch(f"/households/{household['id']}", json=change, headers=headers["officer"])
    assert patched.status_code == 200
    failed = client.post(f"/approvals/{request['id']}/approve", headers=headers["second"])
    assert (failed.status_code, failed.json()["code"]) == (409, "approval_failed")
    shown = client.get(f"/approvals/{request['id']}", headers=headers["second"]).json()
    assert (shown["status"], shown["result"]["error"]) == ("failed", "stale_version")  # the mark was kept
    after = client.get(f"/households/{household['id']}", headers=headers["officer"]).json()
    assert (after["status"], after["version"]) == ("active", 2)
    stale = client.post(f"/households/{household['id']}/deactivate", json={"version": 1, "reason": "moved away"},
                        headers=headers["officer"])  # fmt: skip
    assert (stale.status_code, stale.json()["code"]) == (409, "stale_version")  # asked on an old read: refused now


CANASTA = [sys.executable, "-m", "canasta.entrypoints.cli"]


def test_the_cli_asks_and_another_user_approves(tmp_path: Path) -> None:
    env = {**os.environ, "CANASTA_DATABASE_URL": f"sqlite:///{tmp_path / 'canasta.db'}",
           "CANASTA_KEY_FILE": str(tmp_path / "keys.json")}  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CANASTA, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    assert run("init").returncode == 0
    areas = tmp_path / "areas.csv"
    areas.write_text("code,name,level,parent_code\n" + "".join(",".join(a) + "\n" for a in AREAS), encoding="utf-8")
    assert run("import", "areas", str(areas)).returncode == 0
    people = write_csv(tmp_path / "people.csv", [person_row("H1", "P1")])
    assert run("import", "households", str(people)).returncode == 0
    for purpose in ("card", "list"):
        assert run("keys", "create", "--purpose", purpose).returncode == 0
    assert run("cards", "issue", "--area", "VE-01").returncode == 0
    for name, role in (("ana", "enrolment_officer"), ("beto", "admin"), ("carla", "admin")):
        assert run("users", "add", name, "--role", role).returncode == 0
    engine = create_engine(env["CANASTA_DATABASE_URL"])
    with engine.connect() as connection:
        card = str(connection.execute(text("SELECT card_number FROM cards")).scalar_one())
    engine.dispose()

    unknown = run("cards", "revoke", card, "--reason", "fraud", "--actor", "nobody")
    assert (unknown.returncode, "unknown_actor" in unknown.stderr) == (2, True)
    assert run("approvals", "list", "--json").stdout.strip() == "[]"

    asked = run("cards", "revoke", card, "--reason", "card reported stolen", "--actor", "ana")
    assert asked.returncode == 0, asked.stderr
    request_id = asked.stdout.strip()
    assert "waiting for a second approver" in asked.stderr
    assert request_id in run("approvals", "list", "--pending").stdout

    own = run("approvals", "approve", request_id, "--actor", "ana")
    assert (own.returncode, "same_approver" in own.stderr, "Traceback" in own.stderr) == (5, True, False)
    done = run("approvals", "approve", request_id, "--actor", "beto")
    assert done.returncode == 0, done.stderr
    shown = run("approvals", "show", request_id)
    assert "status: approved" in shown.stdout
    assert "decided_by: beto (admin)" in shown.stdout
    twice = run("approvals", "approve", request_id, "--actor", "carla")
    assert (twice.returncode, "already_decided" in twice.stderr) == (4, True)

    change = run("users", "role", "ana", "auditor", "--actor", "beto", "--reason", "moved to audit")
    assert change.returncode == 0, change.stderr
    rejected = run("approvals", "reject", change.stdout.strip(), "--actor", "carla", "--reason", "not needed")
    assert rejected.returncode == 0, rejected.stderr
    assert "status: rejected" in run("approvals", "show", change.stdout.strip()).stdout
