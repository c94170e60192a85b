"""Nothing leaks (DESIGN section 1.5 and STYLE 11), on SQLite and PostgreSQL: after a realistic day of requests to
a real server, no log record, no error body, no security alert and no access-log entry holds a canary value of
personal data, a bearer token, a password or PIN, or the deployment's keys.

The app is served by uvicorn on a loopback port, as ``canasta serve`` runs it (access log off), with every log
record of the process captured at DEBUG (uvicorn's loggers left to propagate so the capture sees them). The day:
enrolment with canary values, reads, searches, corrections, bad requests carrying the canaries, refused and
revoked tokens, a wrong password and a wrong PIN, a member's own view and correction, redemptions with a card
(one refused), and two unexpected server errors provoked on purpose whose messages carry the canaries.
"""

from __future__ import annotations

import base64
import logging
import secrets
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db.access_log_tables import access_log, security_alerts
from canasta.domain.access import Role
from canasta.entrypoints.api.app import create_app
from canasta.services import registry as registry_cases
from tests.api_world import PASSWORD, PIN, World, populate
from tests.factories import make_canasta
from tests.redemption_scene import second_cycle

LOGGERS = ("", "canasta", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "fastapi", "starlette")
CLIENT_LOGGERS = ("httpx2", "httpcore2")
FORMAT = logging.Formatter("%(name)s %(levelname)s %(message)s")


def _letters(count: int) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(count))


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


class Canaries:
    """Values that exist nowhere but in this test's requests."""

    def __init__(self) -> None:
        self.given_name = "Canaria" + _letters(8)
        self.family_name = "Pajaro" + _letters(8)
        self.national_id = "CNRY-" + _digits(9)
        self.phone_digits = "4" + _digits(9)  # answered as +58 and these digits
        self.health_needs = "canary-health-" + _letters(12)
        self.correction = "canary-correction-" + _letters(12)
        self.wrong_password = "canary-password-" + _letters(12)
        self.wrong_pin = next(pin for pin in (_digits(6) for _ in range(100)) if pin != PIN and len(set(pin)) > 2)

    def personal(self) -> list[str]:
        return [self.given_name, self.family_name, self.national_id, self.phone_digits, self.health_needs,
                self.correction]  # fmt: skip

    def secrets(self) -> list[str]:
        return [self.wrong_password, self.wrong_pin, PASSWORD, PIN]


def key_forms(keys: KeyMaterial) -> list[str]:
    """Every text form a key could take in a log: base64 (as in the key file), url-safe base64, hex."""
    forms = []
    for key in (keys.kek, keys.blind_index_key):
        forms += [base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode().rstrip("="), key.hex()]
    return forms


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, as ``canasta serve`` does (no access log); its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="debug", access_log=False, log_config=None,
                            lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="leak-test-server", daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        assert server.started, "the server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Day:
    """The requests of the day, with every error answer kept."""

    def __init__(self, world: World, canaries: Canaries) -> None:
        self.world = world
        self.canaries = canaries
        self.errors: list[str] = []
        self.tokens: list[str] = list(world.tokens.values())

    def call(self, method: str, path: str, caller: str | None = None, *, status: int | None = None,
             **options: Any) -> Any:  # fmt: skip
        headers = options.pop("headers", {})
        if caller is not None:
            headers = {**headers, **self.world.headers(caller)}
        response = self.world.client.request(method, path, headers=headers, **options)
        if response.status_code >= 400:
            self.errors.append(f"{method} {path} -> {response.status_code} {response.headers} {response.text}")
        if status is not None:
            assert response.status_code == status, (method, path, response.text)
        return response

    def household(self, reference: str = "H-CANARY") -> dict[str, Any]:
        c = self.canaries
        return {
            "reference": reference, "area_code": "VE-01-01-01", "monthly_income": 90000, "currency": "VES",
            "members": [
                {"given_name": c.given_name, "family_name": c.family_name, "birth_date": "1979-09-09", "sex": 2,
                 "relationship": "head", "national_id": c.national_id, "phone": f"+58 {c.phone_digits}",
                 "health_needs": c.health_needs},
                {"given_name": "Tomas", "family_name": c.family_name, "birth_date": "2023-01-02", "sex": 1,
                 "relationship": "child"},
            ],
        }  # fmt: skip


def live_through_the_day(day: Day, monkeypatch: pytest.MonkeyPatch) -> None:
    c, world = day.canaries, day.world
    officer, far = Role.ENROLMENT_OFFICER.value, "far_" + Role.ENROLMENT_OFFICER.value
    household_id = day.call("POST", "/households", officer, json=day.household(), status=201).json()["id"]
    household = day.call("GET", f"/households/{household_id}", officer, status=200).json()
    head = next(member for member in household["members"] if member["relationship"] == "head")
    # Reads and searches, found and not (and out of scope).
    day.call("GET", f"/people/{head['id']}", officer, status=200)
    day.call("GET", f"/people/{head['id']}", far, status=404)
    day.call("GET", "/people/search", officer, params={"national_id": c.national_id}, status=200)
    day.call("GET", "/people/search", far, params={"national_id": c.national_id}, status=200)
    day.call(
        "GET",
        "/people/search",
        officer,
        status=200,
        params={"name": f"{c.given_name} {c.family_name}", "birth_date": "1979-09-09", "area_code": "VE-01"},
    )
    day.call("GET", "/people/search", officer, params={"name": c.given_name}, status=422)  # too broad
    # Corrections: one that works, one stale, one with a bad phone and one clearing a name.
    correction = {"version": 1, "reason": "new phone", "phone": f"+58 {c.phone_digits[::-1]}"}
    day.call("PATCH", f"/people/{head['id']}", officer, json=correction, status=200)
    day.call("PATCH", f"/people/{head['id']}", officer, json={**correction, "health_needs": c.health_needs},
             status=409)  # fmt: skip
    day.call(
        "PATCH",
        f"/people/{head['id']}",
        officer,
        status=422,
        json={"version": 2, "reason": "typo", "phone": f"call {c.given_name} on {c.phone_digits}x"},
    )
    day.call("PATCH", f"/people/{head['id']}", officer, json={"version": 2, "reason": "typo", "given_name": None},
             status=422)  # fmt: skip
    # Bad enrolments carrying the canaries in bad or refused fields.
    bad = day.household("H-CANARY-2")
    bad["members"][0]["national_id"] = f"{c.national_id}!{c.given_name}"
    day.call("POST", "/households", officer, json=bad, status=422)
    bad["members"][0]["national_id"] = c.national_id  # held by the head enrolled above
    day.call("POST", "/households", officer, json=bad, status=409)
    day.call("POST", "/households", officer, json={**day.household("H-3"), "colour": c.health_needs}, status=422)
    day.call("POST", "/households", officer, json={**day.household("H-3"), "religion": c.given_name}, status=422)
    day.call("POST", "/households", officer, json=day.household(), status=409)  # the same reference again
    day.call("POST", "/households", officer, content=f'{{"reference": "{c.national_id}", ', status=422,
             headers={"Content-Type": "application/json"})  # fmt: skip
    day.call("POST", "/households", officer, content=c.given_name.encode("utf-16"), status=422,
             headers={"Content-Type": "application/json"})  # fmt: skip
    # Tokens refused: unknown, a JWT, revoked by signing out; a wrong password; a wrong PIN.
    unknown = "cnst_" + secrets.token_urlsafe(32)
    jwt = "eyJhbGciOiJub25lIn0." + base64.urlsafe_b64encode(c.national_id.encode()).decode().rstrip("=") + "."
    signed_out = world.fresh_token(officer)
    day.tokens += [unknown, jwt, signed_out]
    for token in (unknown, jwt):
        day.call("GET", f"/households/{household_id}", headers={"Authorization": f"Bearer {token}"}, status=401)
    day.call("POST", "/auth/logout", headers={"Authorization": f"Bearer {signed_out}"}, status=204)
    day.call("GET", f"/households/{household_id}", headers={"Authorization": f"Bearer {signed_out}"}, status=401)
    day.call("GET", "/approvals", Role.CITIZEN.value, status=403)
    day.call("POST", "/auth/token", json={"name": officer, "password": c.wrong_password}, status=401)
    day.call("POST", "/auth/token", json={"name": c.given_name, "password": c.wrong_password}, status=401)
    signed_in = day.call("POST", "/auth/token", json={"name": officer, "password": PASSWORD}, status=200)
    day.tokens.append(signed_in.json()["access_token"])
    day.call("POST", "/citizen/token", json={**world.citizen_login(), "pin": c.wrong_pin}, status=401)
    # The member's own view, and a correction in her words.
    for path in ("/me", "/me/decisions", "/me/entitlements", "/me/redemptions", "/me/access-log"):
        day.call("GET", path, Role.CITIZEN.value, status=200)
    day.call("POST", "/me/corrections", Role.CITIZEN.value, json={"text": c.correction}, status=409)  # appealed
    second_cycle(world.canasta)  # a new decision about her household, not appealed yet
    day.call("POST", "/me/corrections", Role.CITIZEN.value, json={"text": c.correction}, status=201)
    day.call("GET", "/me/redemptions", Role.CITIZEN.value, params={"before": c.national_id}, status=422)
    # Redemptions at DP-1 with H1's card: one handed out, one refused (more than is due).
    redemption = {"redemption_id": str(uuid4()), "point": "DP-1", "card": world.scene.card_text,
                  "items": [{"programme": "canasta-ninos", "units": 1}]}  # fmt: skip
    operator = Role.DISTRIBUTION_OPERATOR.value
    day.call("POST", "/redemptions", operator, json=redemption, status=200)
    too_much = {**redemption, "redemption_id": str(uuid4()), "items": [{"programme": "canasta-ninos", "units": 9}]}
    day.call("POST", "/redemptions", operator, json=too_much, status=409)
    day.call("POST", "/cards/verify", operator, json={"text": f"HC1:{c.national_id}"}, status=200)

    # Two unexpected errors whose messages carry personal data and a token, as a driver's or a parser's may.
    def fail_with_parameters(*_args: object, **_kwargs: object) -> None:
        raise IntegrityError("INSERT INTO people", {"given_name": c.given_name, "national_id": c.national_id},
                             Exception(f"duplicate key value {c.national_id}"))  # fmt: skip

    def fail_with_message(*_args: object, **_kwargs: object) -> None:
        raise ValueError(f"cannot read {c.given_name} {c.phone_digits} with {world.tokens[officer]}")

    for failure in (fail_with_parameters, fail_with_message):
        monkeypatch.setattr(registry_cases, "read_household", failure)
        answer = day.call("GET", f"/households/{household_id}", officer, status=500)
        assert answer.json()["code"] == "internal_error"
    monkeypatch.undo()


@pytest.fixture
def keys() -> KeyMaterial:
    return KeyMaterial.generate()


def test_no_log_record_error_body_alert_or_access_entry_holds_personal_data_tokens_or_keys(
    database_url: str, keys: KeyMaterial, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    canaries = Canaries()
    canasta = make_canasta(database_url, keys=keys)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    try:
        app = create_app(canasta)
        with serving(app) as url, httpx2.Client(base_url=url, timeout=30) as client:
            world = populate(canasta, client)
            day = Day(world, canaries)
            live_through_the_day(day, monkeypatch)
        with canasta.engine.connect() as connection:
            alerts = [str(dict(row)) for row in connection.execute(select(security_alerts)).mappings()]
            entries = [str(dict(row)) for row in connection.execute(select(access_log)).mappings()]
    finally:
        canasta.close()

    # The server's records; the test's own HTTP client (httpx2, httpcore2) logs the URLs it asks for, search terms
    # included, and is no part of canasta.
    logs = [FORMAT.format(record) for record in caplog.records if not record.name.startswith(CLIENT_LOGGERS)]
    assert any("unexpected error" in line for line in logs)  # the capture saw the server's own records
    assert len(day.errors) >= 20
    assert len(alerts) >= 3  # the refused tokens and the role refused a route
    assert any(entry for entry in entries if "'action': 'read'" in entry)
    forbidden = {
        **dict.fromkeys(canaries.personal(), "personal data"),
        **dict.fromkeys(canaries.secrets(), "a password or PIN"),
        **dict.fromkeys(day.tokens, "a bearer token"),
        **dict.fromkeys(key_forms(keys), "key material"),
    }
    where = {"a log record": logs, "an error body": day.errors, "a security alert": alerts,
             "an access-log entry": entries}  # fmt: skip
    leaks = [
        f"{kind} in {place}: {text[:400]}"
        for place, texts in where.items()
        for text in texts
        for value, kind in forbidden.items()
        if value in text
    ]
    assert leaks == []
