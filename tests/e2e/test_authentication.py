"""Signing in through the API and the CLI, on SQLite and PostgreSQL: short-lived tokens, refused tokens (each a
401 and a security alert, never a 500), revocation on the next request, lockouts after failed sign-ins, no demo
secret outside development, and request bodies that cannot set fields the server owns."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from canasta.adapters.clock import FixedClock
from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db.alerts import recent_alerts
from canasta.adapters.db.device_store import OfflineLimits, register_device, revoke_device
from canasta.adapters.db.eligibility_tables import distribution_points
from canasta.adapters.db.login_throttle import LoginPolicy
from canasta.adapters.db.tables import users
from canasta.adapters.db.users import KNOWN_PASSWORDS, add_user, deactivate_user, issue_token, revoke_tokens
from canasta.bootstrap import Canasta, bootstrap
from canasta.config import Environment, Settings
from canasta.domain.errors import ValidationError
from canasta.entrypoints.api.app import create_app
from canasta.entrypoints.api.refusals import AlertThrottle
from canasta.entrypoints.cli.demo import DEMO_PASSWORD
from tests.factories import NOW, make_canasta

PASSWORD = "correct horse battery staple"
CANASTA = [sys.executable, "-m", "canasta.entrypoints.cli"]
ELSEWHERE = ("198.51.100.7", 40000)


@dataclasses.dataclass
class World:
    canasta: Canasta
    keys: KeyMaterial
    database_url: str

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.canasta.clock, FixedClock)
        return self.canasta.clock

    def client(self, *, address: tuple[str, int] = ("203.0.113.5", 50000), **settings: Any) -> TestClient:
        """A client of the API, from ``address``, with ``settings`` changed."""
        canasta = dataclasses.replace(self.canasta, settings=self.canasta.settings.model_copy(update=settings))
        return TestClient(create_app(canasta), raise_server_exceptions=False, client=address)

    def token(self, name: str, *, minutes: int = 60) -> dict[str, str]:
        with self.canasta.engine.begin() as connection:
            token = issue_token(connection, token_id=self.canasta.new_ids(1)[0], name=name, at=self.clock.now(),
                                lifetime=timedelta(minutes=minutes))  # fmt: skip
        return {"Authorization": f"Bearer {token}"}

    def alerts(self, kind: str) -> list[dict[str, Any]]:
        with self.canasta.engine.connect() as connection:
            return [alert for alert in recent_alerts(connection, limit=1000) if alert["kind"] == kind]

    def cli(self, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CANASTA_DATABASE_URL": self.database_url, "CANASTA_KEYS": self.keys.to_json(),
               **environment}  # fmt: skip
        return subprocess.run([*CANASTA, *args], env=env, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    keys = KeyMaterial.generate()
    canasta = make_canasta(database_url, keys=keys)
    with canasta.engine.begin() as connection:
        for name, role in (("officer", "enrolment_officer"), ("auditor", "auditor"), ("ana", "enrolment_officer")):
            add_user(connection, user_id=canasta.new_ids(1)[0], name=name, role=role, password=PASSWORD,
                     area_codes=[], at=NOW)  # fmt: skip
    yield World(canasta, keys, database_url)
    canasta.close()


def sign_in(client: TestClient, name: str = "officer", password: str = PASSWORD) -> Any:
    return client.post("/auth/token", json={"name": name, "password": password})


def assert_refused_token(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "invalid_token"


def jwt(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join((part(json.dumps(header).encode()), part(json.dumps(claims).encode()), part(signature)))


# Tokens: lifetime, sign-out, refusals


def test_a_sign_in_gives_a_short_lived_token_and_signing_out_revokes_it(world: World) -> None:
    with world.client() as client:
        issued = sign_in(client)
        assert issued.status_code == 200, issued.text
        assert issued.json()["expires_in"] == 3600
        auth = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert client.get("/auth/whoami", headers=auth).json()["name"] == "officer"
        assert client.post("/auth/logout", headers=auth).status_code == 204
        assert_refused_token(client.get("/auth/whoami", headers=auth))
        assert_refused_token(client.post("/auth/logout", headers=auth))

        later = {"Authorization": f"Bearer {sign_in(client).json()['access_token']}"}
        world.clock.advance(timedelta(minutes=59))
        assert client.get("/auth/whoami", headers=later).status_code == 200
        world.clock.advance(timedelta(minutes=1))
        assert_refused_token(client.get("/auth/whoami", headers=later))
    reasons = sorted(alert["detail"].split("reason: ")[1].split(";")[0] for alert in world.alerts("token_refused"))
    assert reasons == ["expired", "revoked"]  # the second refusal for "revoked" came within the minute


def test_the_token_lifetime_is_a_setting(world: World) -> None:
    with world.client(token_ttl_minutes=5) as client:
        assert sign_in(client).json()["expires_in"] == 300


BAD_TOKENS = {
    "unknown": "cnst_" + "A" * 43,
    "malformed": "cnst_not-long-enough",
    "jwt": jwt({"alg": "none", "typ": "JWT"}, {"sub": "officer", "role": "admin"}),
    "jwt_other_audience": jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "officer", "aud": "elsewhere"}, b"x" * 32),
    "wrong_prefix": "abcd_" + "A" * 43,
    "too_long": "cnst_" + "A" * 8000,
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_a_bad_token_is_refused_with_401_and_recorded(world: World, kind: str) -> None:
    with world.client() as client:
        for route in ("/auth/whoami", "/people/search?name=maria"):
            assert_refused_token(client.get(route, headers={"Authorization": f"Bearer {BAD_TOKENS[kind]}"}))
    alerts = world.alerts("token_refused")
    assert len(alerts) == 1  # the second refusal of the same kind from the same client came within the minute
    expected = {"jwt_other_audience": "jwt", "wrong_prefix": "malformed"}.get(kind, kind)
    assert f"reason: {expected};" in alerts[0]["detail"]
    assert BAD_TOKENS[kind][:20] not in alerts[0]["detail"]  # the token itself is never written down


def test_a_missing_token_is_401_unauthenticated(world: World) -> None:
    with world.client() as client:
        for headers in ({}, {"Authorization": "Basic b2ZmaWNlcjp4"}, {"Authorization": "Bearer "}):
            response = client.get("/auth/whoami", headers=headers)
            assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_flood_of_bad_tokens_writes_one_alert_a_minute_per_client(world: World) -> None:
    forged = {"Authorization": "Bearer cnst_" + "B" * 43}
    with world.client() as client, world.client(address=ELSEWHERE) as other:
        for _ in range(30):
            assert client.get("/auth/whoami", headers=forged).status_code == 401
        assert other.get("/auth/whoami", headers=forged).status_code == 401
        assert len(world.alerts("token_refused")) == 2  # one per client
        world.clock.advance(timedelta(seconds=61))
        assert client.get("/auth/whoami", headers=forged).status_code == 401
    alerts = world.alerts("token_refused")
    assert len(alerts) == 3
    assert "29 more like it" in alerts[0]["detail"]


def test_the_alert_throttle_forgets_old_keys_when_full() -> None:
    throttle = AlertThrottle(interval=timedelta(minutes=1), capacity=2)
    assert throttle.admit(("k", "r", "a"), NOW) == 0
    assert throttle.admit(("k", "r", "b"), NOW) == 0
    assert throttle.admit(("k", "r", "c"), NOW) == 0  # full: new clients share one key
    assert throttle.admit(("k", "r", "d"), NOW) is None
    assert throttle.admit(("k", "r", "e"), NOW + timedelta(minutes=2)) == 0  # the old keys were forgotten


def test_a_valid_token_on_a_route_of_another_role_is_403_and_recorded(world: World) -> None:
    with world.client() as client:
        response = client.post("/households", json={}, headers=world.token("auditor"))
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    [alert] = world.alerts("route_refused")
    assert alert["actor_name"] == "auditor"


# Revocation takes effect on the next request


def test_revoking_a_users_tokens_and_deactivating_a_user_take_effect_on_the_next_request(world: World) -> None:
    officer, ana = world.token("officer"), world.token("ana")
    with world.client() as client:
        assert client.get("/auth/whoami", headers=officer).status_code == 200
        assert client.get("/auth/whoami", headers=ana).status_code == 200
        with world.canasta.engine.begin() as connection:
            assert revoke_tokens(connection, name="officer", at=world.clock.now()) == 1
            assert deactivate_user(connection, name="ana", at=world.clock.now()) == 1
        assert_refused_token(client.get("/auth/whoami", headers=officer))
        assert_refused_token(client.get("/auth/whoami", headers=ana))
        assert sign_in(client, "ana").status_code == 401  # a deactivated user cannot sign in again
    with world.canasta.engine.connect() as connection:
        assert connection.execute(select(users.c.is_active).where(users.c.name == "ana")).scalar_one() is False


def test_the_cli_revokes_and_deactivates_for_the_next_request(world: World) -> None:
    officer, ana = world.token("officer"), world.token("ana")
    with world.client() as client:
        assert client.get("/auth/whoami", headers=officer).status_code == 200
        revoked = world.cli("users", "revoke", "officer")
        assert revoked.returncode == 0, revoked.stderr
        assert_refused_token(client.get("/auth/whoami", headers=officer))
        deactivated = world.cli("users", "deactivate", "ana")
        assert deactivated.returncode == 0, deactivated.stderr
        assert_refused_token(client.get("/auth/whoami", headers=ana))
    again = world.cli("users", "deactivate", "ana")
    assert (again.returncode, again.stderr.strip()) == (4, "error [already_inactive]: user 'ana' is inactive already")
    missing = world.cli("users", "deactivate", "nobody")
    assert missing.returncode == 3
    assert "Traceback" not in missing.stderr


def test_a_revoked_devices_token_is_refused_on_its_next_request(world: World) -> None:
    with world.canasta.engine.begin() as connection:
        connection.execute(
            insert(distribution_points).values(id=world.canasta.new_ids(1)[0], code="DP-1", name="Kiosco",
                                               kind="kiosk", area_code="VE-01-01-01", status="active", created_at=NOW)
        )  # fmt: skip
        device = register_device(
            connection, point_code="DP-1", name="kiosk-1", public_key=b"k" * 32, limits=OfflineLimits(),
            ids=world.canasta.new_ids(3), by="admin:root", at=NOW,
        )  # fmt: skip
    auth = {"Authorization": f"Bearer {device.token}"}
    with world.client() as client:
        assert client.get("/auth/whoami", headers=auth).json()["role"] == "distribution_operator"
        with world.canasta.engine.begin() as connection:
            revoke_device(connection, "kiosk-1", reason="stolen", by="admin:root", at=world.clock.now())
        assert_refused_token(client.get("/auth/whoami", headers=auth))
        assert_refused_token(client.get("/devices/bundle", headers=auth))
    assert "reason: revoked;" in world.alerts("token_refused")[0]["detail"]


# Failed sign-ins: backoff and lockout


def test_five_failures_lock_a_name_whatever_the_password_and_the_lock_grows(world: World) -> None:
    with world.client() as client:
        for _ in range(4):
            wrong = sign_in(client, password="not the password")
            assert (wrong.status_code, wrong.json()["code"]) == (401, "unauthenticated")
        locked = sign_in(client, password="not the password")
        assert (locked.status_code, locked.json()["code"]) == (429, "login_locked")
        assert locked.headers["retry-after"] == "900"
        assert locked.headers["content-type"] == "application/problem+json"
        right = sign_in(client)  # the right password changes nothing while locked
        assert (right.status_code, right.json()) == (429, locked.json())
        elsewhere = sign_in(world.client(address=ELSEWHERE))  # the name is locked, from any address
        assert elsewhere.status_code == 429

        world.clock.advance(timedelta(minutes=10))
        assert sign_in(client).headers["retry-after"] == "300"
        world.clock.advance(timedelta(minutes=5))
        for _ in range(5):  # the second lockout in a row lasts twice as long
            again = sign_in(client, password="not the password")
        assert (again.status_code, again.headers["retry-after"]) == (429, "1800")
        world.clock.advance(timedelta(minutes=30))
        assert sign_in(client).status_code == 200  # clears the count and the backoff
        for _ in range(4):
            assert sign_in(client, password="not the password").status_code == 401
        assert sign_in(client).status_code == 200
    alerts = world.alerts("login_locked")
    assert len(alerts) == 2  # every lockout, and nothing else
    assert {alert["actor_name"] for alert in alerts} == {"officer"}
    assert all("after 5 failed attempts" in alert["detail"] for alert in alerts)


def test_an_unknown_name_is_answered_and_locked_exactly_like_a_known_one(world: World) -> None:
    with world.client() as client:
        answers = {}
        for name in ("officer", "ghost"):
            answers[name] = [sign_in(client, name, "not the password") for _ in range(6)]
        known, unknown = answers["officer"], answers["ghost"]
        assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 4 + [429] * 2
        assert [r.json() for r in known] == [r.json() for r in unknown]
        assert known[-1].headers["retry-after"] == unknown[-1].headers["retry-after"]
    assert sorted(str(alert["actor_name"]) for alert in world.alerts("login_locked")) == ["None", "officer"]


def test_failures_from_one_address_lock_the_address_for_every_name(world: World) -> None:
    with world.client(login_max_failures_per_address=3) as client:
        for name in ("uno", "dos"):
            assert sign_in(client, name, "not the password").status_code == 401
        assert sign_in(client, "tres", "not the password").status_code == 429
        assert sign_in(client, "ana").status_code == 429  # a real user, the right password, the locked address
        with world.client(address=ELSEWHERE) as other:
            assert sign_in(other, "ana").status_code == 200
    [alert] = world.alerts("login_locked")
    assert "locked by address" in alert["detail"]
    assert alert["actor_name"] is None


def test_the_cli_unlocks_a_locked_name(world: World) -> None:
    with world.client() as client:
        for _ in range(5):
            sign_in(client, password="not the password")
        assert sign_in(client).status_code == 429
        unlocked = world.cli("users", "unlock", "officer", "--address", "203.0.113.5")
        assert unlocked.returncode == 0, unlocked.stderr
        assert "cleared (name, address)" in unlocked.stderr
        assert sign_in(client).status_code == 200
    assert [alert["actor_name"] for alert in world.alerts("login_unlocked")] == ["officer"]
    assert "was not locked" in world.cli("users", "unlock", "officer").stderr


def test_lockouts_double_up_to_the_cap() -> None:
    policy = LoginPolicy(lockout=timedelta(minutes=15), max_lockout=timedelta(hours=24))
    assert [policy.lockout_after(n) for n in (0, 1, 2)] == [timedelta(minutes=m) for m in (15, 30, 60)]
    assert policy.lockout_after(7) == policy.lockout_after(10_000) == timedelta(hours=24)


def test_the_failure_window_forgets_old_failures(world: World) -> None:
    with world.client() as client:
        for _ in range(4):
            assert sign_in(client, password="not the password").status_code == 401
        world.clock.advance(timedelta(minutes=15))
        for _ in range(4):
            assert sign_in(client, password="not the password").status_code == 401
        assert sign_in(client).status_code == 200


# No default secret outside development


def test_production_refuses_to_start_without_provided_keys(world: World, tmp_path: Path) -> None:
    missing = tmp_path / "keys.json"
    with pytest.raises(ValidationError) as refused:
        bootstrap(Settings(environment=Environment.PRODUCTION, database_url=world.database_url, key_file=missing))
    assert refused.value.code == "keys_missing"
    environment = {"CANASTA_ENVIRONMENT": "production", "CANASTA_KEYS": "", "CANASTA_KEY_FILE": str(missing)}
    for command in (("serve",), ("users", "token", "officer")):
        result = world.cli(*command, **environment)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error [keys_missing]: no keys:")
        assert "Traceback" not in result.stderr
    assert not missing.exists()  # nothing was invented


def test_production_makes_no_demo_and_refuses_the_published_password(world: World, tmp_path: Path) -> None:
    assert DEMO_PASSWORD in KNOWN_PASSWORDS
    demo = world.cli("demo", "--dir", str(tmp_path / "demo"), "--no-serve", CANASTA_ENVIRONMENT="production")
    assert demo.returncode == 2
    assert "development mode only" in demo.stderr
    assert not (tmp_path / "demo").exists()

    with world.canasta.engine.begin() as connection:  # a demo database served in production
        add_user(connection, user_id=world.canasta.new_ids(1)[0], name="admin", role="admin", password=DEMO_PASSWORD,
                 area_codes=[], at=NOW)  # fmt: skip
        add_user(connection, user_id=world.canasta.new_ids(1)[0], name="beatriz", role="admin",
                 password="contraseña de señora", area_codes=[], at=NOW)  # fmt: skip
    with world.client() as development:
        assert sign_in(development, "admin", DEMO_PASSWORD).status_code == 200
    with world.client(environment=Environment.PRODUCTION) as production:
        assert sign_in(production, "admin", DEMO_PASSWORD).status_code == 401
        assert sign_in(production).status_code == 200
        assert sign_in(production, "beatriz", "contraseña de señora").status_code == 200

    added = subprocess.run(
        [*CANASTA, "users", "add", "beto", "--role", "auditor", "--password-stdin"], input=DEMO_PASSWORD + "\n",
        env={**os.environ, "CANASTA_DATABASE_URL": world.database_url, "CANASTA_KEYS": world.keys.to_json(),
             "CANASTA_ENVIRONMENT": "production"},
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert (added.returncode, added.stderr.strip()) == (
        2, "error [weak_password]: a published password is refused outside development"
    )  # fmt: skip


# Mass assignment: bodies cannot set what the server owns

HOUSEHOLD: dict[str, Any] = {
    "area_code": "VE-01-01-01", "monthly_income": 150000, "currency": "VES",
    "members": [{"given_name": "José", "family_name": "Peña", "birth_date": "1980-03-04", "sex": 1,
                 "relationship": "head"}],
}  # fmt: skip


@pytest.mark.parametrize("field", ["role", "balance", "version_of", "created_by", "area_codes", "id", "status"])
def test_a_field_the_server_owns_is_refused_by_name(world: World, field: str) -> None:
    officer = world.token("officer")
    with world.client() as client:
        created = client.post("/households", json={**HOUSEHOLD, field: "x"}, headers=officer)
        assert (created.status_code, created.json()["code"], created.json()["field"]) == (422, "invalid_request", field)
        member = {**HOUSEHOLD["members"][0], field: "x"}
        nested = client.post("/households", json={**HOUSEHOLD, "members": [member]}, headers=officer)
        assert (nested.status_code, nested.json()["field"]) == (422, f"members.0.{field}")
        household = client.post("/households", json=HOUSEHOLD, headers=officer)
        assert household.status_code == 201, household.text
        patch = {"version": 1, "reason": "a correction", field: "x"}
        patched = client.patch(f"/households/{household.json()['id']}", json=patch, headers=officer)
        assert (patched.status_code, patched.json()["field"]) == (422, field)
        read = client.get(f"/households/{household.json()['id']}", headers=officer).json()
        person_id = read["members"][0]["id"]
        person = client.patch(f"/people/{person_id}", json=patch, headers=officer)
        assert (person.status_code, person.json()["field"]) == (422, field)
        login = client.post("/auth/token", json={"name": "officer", "password": PASSWORD, field: "admin"})
        assert (login.status_code, login.json()["field"]) == (422, field)
        assert client.get(f"/households/{household.json()['id']}", headers=officer).json()["version"] == 1
