"""A household member's own view through the API, on SQLite and PostgreSQL: a PIN set at the office, signing in
with card, birth date and PIN (one answer for every failure, a lockout per card), their own household only, every
access to it, and a correction that files an appeal."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canasta.adapters.clock import FixedClock
from canasta.adapters.db.access_log_tables import access_log, security_alerts
from canasta.adapters.db.eligibility_tables import decisions
from canasta.adapters.db.tables import people
from canasta.adapters.db.users import add_user, issue_token
from canasta.domain.cards import CardState, format_card_number, make_card_number
from canasta.entrypoints.api.app import create_app
from canasta.services import cards as card_cases
from tests.e2e.test_api import PASSWORD
from tests.factories import NOW, make_canasta
from tests.redemption_scene import ADMIN, Scene, build, enrol, redeem, second_cycle

PIN = "482916"
HEAD_BORN = "1985-01-01"  # José, the head of household H1 in the redemption scene
CHILD_BORN = "2024-05-05"  # Ana, his daughter: no PIN


@dataclasses.dataclass
class World:
    client: TestClient
    scene: Scene
    headers: dict[str, dict[str, str]]
    head_id: str

    @property
    def clock(self) -> FixedClock:
        clock = self.scene.app.clock
        assert isinstance(clock, FixedClock)
        return clock

    def set_pin(self, pin: str = PIN, *, person_id: str | None = None, by: str = "marta") -> Any:
        return self.client.post(
            f"/people/{person_id or self.head_id}/citizen-pin", json={"pin": pin}, headers=self.headers[by]
        )

    def sign_in(self, pin: str = PIN, *, born: str = HEAD_BORN, card: str | None = None) -> Any:
        number = card if card is not None else format_card_number(self.scene.card_number)
        return self.client.post("/citizen/token", json={"card_number": number, "date_of_birth": born, "pin": pin})

    def citizen(self) -> dict[str, str]:
        response = self.sign_in()
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def entries(self) -> list[dict[str, Any]]:
        with self.scene.app.engine.connect() as connection:
            rows = connection.execute(select(access_log).order_by(access_log.c.at, access_log.c.id))
            return [dict(row._mapping) for row in rows]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    canasta = make_canasta(database_url)
    canasta = dataclasses.replace(canasta, settings=canasta.settings.model_copy(update={"audit_seal_seconds": 0}))
    scene = build(canasta)
    headers: dict[str, dict[str, str]] = {}
    with canasta.engine.begin() as connection:
        for name, role, areas in (
            ("marta", "enrolment_officer", ["VE-01"]),
            ("faraway", "enrolment_officer", ["VE-02"]),
            ("carla", "grievance_officer", []),
        ):
            add_user(connection, user_id=canasta.new_ids(1)[0], name=name, role=role, password=PASSWORD,
                     area_codes=areas, at=NOW)  # fmt: skip
            token = issue_token(
                connection, token_id=canasta.new_ids(1)[0], name=name, at=NOW, lifetime=timedelta(days=1)
            )
            headers[name] = {"Authorization": f"Bearer {token}"}
        head_id = connection.execute(
            select(people.c.id).where(people.c.household_id == scene.household_id, people.c.relationship == "head")
        ).scalar_one()
    with TestClient(create_app(canasta), raise_server_exceptions=False) as client:
        world = World(client, scene, headers, str(head_id))
        assert world.set_pin().status_code == 200
        yield world
    canasta.close()


def test_a_member_signs_in_with_card_birth_date_and_pin_and_sees_their_household(world: World) -> None:
    response = world.sign_in()
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 15 * 60
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert world.client.get("/auth/whoami", headers=headers).json()["role"] == "citizen"

    me = world.client.get("/me", headers=headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["person_id"] == world.head_id
    assert body["household"]["id"] == str(world.scene.household_id)
    assert sorted(member["birth_date"] for member in body["household"]["members"]) == [HEAD_BORN, CHILD_BORN]
    # Who enrolled them is shown by role: staff names stay out of a household's view.
    assert body["household"]["created_by"] == "programme_manager"
    assert ":ana" not in me.text

    # The member's own look is logged like anyone's: role citizen, purpose "own record".
    own = world.entries()[-1]
    assert (own["actor_role"], own["purpose"], own["action"]) == ("citizen", "own record", "read")
    assert own["household_id"] == world.scene.household_id

    # The 15 minutes are kept.
    world.clock.advance(timedelta(minutes=16))
    assert world.client.get("/me", headers=headers).status_code == 401


def test_every_failed_sign_in_gets_the_same_answer(world: World) -> None:
    unknown_card = format_card_number(make_card_number("123456789012345"))
    failures = [
        world.sign_in("591730"),  # a wrong PIN
        world.sign_in(born="1985-01-02"),  # nobody born that day
        world.sign_in(born=CHILD_BORN),  # a member without a PIN
        world.sign_in(card=unknown_card),  # no such card
    ]
    with world.scene.app.engine.begin() as connection:
        cards = world.scene.app.cards(connection)
        card_cases.change_card_state(cards, ADMIN, world.scene.card_number, CardState.LOST, reason="stolen at market")
    failures.append(world.sign_in())  # the right PIN, with a card reported lost
    bodies = [
        (response.status_code, response.json(), response.headers.get("www-authenticate")) for response in failures
    ]
    assert all(answer == bodies[0] for answer in bodies), bodies
    assert bodies[0][0] == 401
    assert bodies[0][1]["code"] == "unauthenticated"
    # A mistyped card number is not a guess at anything: the check digit says so at once, naming the field.
    typo = world.sign_in(card=world.scene.card_number[:-1] + str((int(world.scene.card_number[-1]) + 1) % 10))
    assert (typo.status_code, typo.json()["code"], typo.json()["field"]) == (422, "invalid_card_number", "card_number")


def test_an_expired_card_signs_nobody_in(world: World) -> None:
    world.clock.advance(timedelta(days=world.scene.app.settings.card_validity_days + 1))
    assert world.sign_in().status_code == 401


def test_five_failures_lock_the_card_for_longer_each_time(world: World) -> None:
    answers = [world.sign_in("591730").status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    locked = world.sign_in()  # even the right PIN
    assert (locked.status_code, locked.json()["code"], locked.headers["retry-after"]) == (429, "login_locked", "900")
    # The same lock whether the card exists or not; another card is not locked by this one.
    with world.scene.app.engine.connect() as connection:
        [alert] = connection.execute(select(security_alerts).where(security_alerts.c.kind == "login_locked")).all()
    assert world.scene.card_number not in alert.detail
    assert "citizen sign-in" in alert.detail

    world.clock.advance(timedelta(minutes=16))
    assert world.sign_in("591730").status_code == 401  # the lock is over; counting starts again
    answers = [world.sign_in("591730").status_code for _ in range(4)]
    assert answers[-1] == 429
    assert world.sign_in().headers["retry-after"] == str(2 * 900)  # twice as long the second time

    # A new PIN set at the office lifts the lock.
    assert world.set_pin("730594").status_code == 200
    assert world.sign_in("730594").status_code == 200


def test_a_new_pin_replaces_the_old_one_and_ends_its_sessions(world: World) -> None:
    headers = world.citizen()
    replaced = world.set_pin("730594")
    assert replaced.json() == {"person_id": world.head_id, "pin_version": 2}
    assert world.client.get("/me", headers=headers).status_code == 401
    assert world.sign_in().status_code == 401
    assert world.sign_in("730594").status_code == 200


def test_weak_pins_are_refused_naming_the_field(world: World) -> None:
    for weak in ("111111", "123456", "987654", "890123", "121212", "123123", "010185", "198501", "850101", "050524"):
        response = world.set_pin(weak)
        assert response.status_code == 422, weak
        assert (response.json()["code"], response.json()["field"]) == ("weak_pin", "pin"), weak
    for malformed in ("12345", "1234567", "12a456"):
        response = world.set_pin(malformed)
        assert (response.status_code, response.json()["field"]) == (422, "pin"), malformed
    assert world.sign_in().status_code == 200  # the PIN set first still stands


def test_only_an_enrolment_officer_or_admin_of_the_area_sets_a_pin(world: World) -> None:
    assert world.set_pin("730594", by="faraway").status_code == 404  # out of area: as if there were no such person
    assert world.set_pin("730594", by="carla").status_code == 403
    assert world.client.post(f"/people/{uuid4()}/citizen-pin", json={"pin": "730594"},
                             headers=world.headers["marta"]).status_code == 404  # fmt: skip
    [write] = [entry for entry in world.entries() if entry["purpose"] == "citizen sign-in"]
    assert (write["action"], write["actor_role"]) == ("write", "enrolment_officer")
    assert str(write["person_id"]) == world.head_id


def test_a_citizen_sees_only_their_own_household_and_reaches_no_staff_route(world: World) -> None:
    app = world.scene.app
    other = enrol(app, "H2")
    second_cycle(app)
    headers = world.citizen()
    for method, path in (
        ("GET", f"/households/{other}"),
        ("GET", f"/households/{world.scene.household_id}"),
        ("GET", f"/people/{world.head_id}"),
        ("GET", "/people/search?national_id=V-1"),
        ("GET", f"/households/{world.scene.household_id}/decisions"),
        ("POST", f"/people/{world.head_id}/citizen-pin"),
    ):
        assert world.client.request(method, path, headers=headers, json={"pin": "730594"}).status_code == 403, path
    # The household comes from the token: nothing in the request can point elsewhere.
    me = world.client.get("/me", params={"household_id": str(other)}, headers=headers).json()
    assert me["household"]["id"] == str(world.scene.household_id)
    with app.engine.connect() as connection:
        foreign = connection.execute(select(decisions.c.id).where(decisions.c.household_id == other)).scalars().first()
    assert foreign is not None
    refused = world.client.post("/me/corrections", json={"decision_id": str(foreign), "text": "This is wrong, sir."},
                                headers=headers)  # fmt: skip
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    # Staff get nothing from the citizen routes.
    for path in ("/me", "/me/access-log", "/me/entitlements"):
        assert world.client.get(path, headers=world.headers["marta"]).status_code == 403


def test_the_access_log_view_shows_who_looked_by_role_and_office_newest_first(world: World) -> None:
    headers = world.citizen()
    world.clock.advance(timedelta(minutes=5))
    household = world.client.get(f"/households/{world.scene.household_id}", headers=world.headers["marta"])
    assert household.status_code == 200
    world.clock.advance(timedelta(minutes=5))

    page = world.client.get("/me/access-log", headers=headers)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [item["at"] for item in items] == sorted((item["at"] for item in items), reverse=True)
    officer_read, sign_in, pin_set = items[0], items[1], items[2]
    assert (officer_read["role"], officer_read["office"], officer_read["purpose"]) == (
        "enrolment_officer", ["VE-01"], "case management"
    )  # fmt: skip
    assert officer_read["action"] == "read"
    assert "health" in officer_read["categories"]
    assert (officer_read["is_you"], officer_read["is_household"]) == (False, False)
    assert (sign_in["purpose"], sign_in["is_you"], sign_in["role"]) == ("sign-in", True, "citizen")
    assert (pin_set["purpose"], pin_set["action"], pin_set["office"]) == ("citizen sign-in", "write", ["VE-01"])
    assert "marta" not in page.text  # roles and offices, never a staff member's name
    # The view itself is logged (after it was read, so it shows from the next look on).
    assert world.entries()[-1]["route"] == "GET /me/access-log"

    # Pages follow each other without a gap or a repeat, entries sharing one instant included.
    everything = world.client.get("/me/access-log", headers=headers).json()["items"]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"before": cursor} if cursor else {})}
        chunk = world.client.get("/me/access-log", params=params, headers=headers).json()
        seen += [item["id"] for item in chunk["items"]]
        cursor = chunk["next_before"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    # Each page's look is logged as it is read: the walk saw everything before it, and the one look made between.
    assert {item["id"] for item in everything} <= set(seen)
    assert len(seen) == len(everything) + 1
    bad = world.client.get("/me/access-log", params={"before": "yesterday"}, headers=headers)
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (422, "invalid_cursor", "before")


def test_decisions_entitlements_and_redemptions_in_plain_words(world: World) -> None:
    headers = world.citizen()
    world.clock.advance(timedelta(minutes=1))
    redeem(world.scene, redemption_id=str(uuid4()), point="DP-1", card=world.scene.card_text,
           items=[{"programme": "canasta-ninos", "units": 1}])  # fmt: skip

    [decision] = world.client.get("/me/decisions", headers=headers).json()
    assert decision["eligible"] is True
    assert decision["plain_reason"].startswith("Your household meets")

    [entitlement] = world.client.get("/me/entitlements", headers=headers).json()
    counts = [entitlement[key] for key in ("units", "collected", "remaining", "lapsed")]
    assert counts == [2, 1, 1, 0]
    assert (entitlement["status"], entitlement["point_name"]) == ("due", "Bodega DP-1")
    assert "1 of 2 to collect at Bodega DP-1" in entitlement["plain_status"]

    page = world.client.get("/me/redemptions", headers=headers).json()
    [redemption] = page["items"]
    assert (redemption["point_name"], redemption["path"]) == ("Bodega DP-1", "card")
    assert redemption["card_last_digits"] == world.scene.card_number[-4:]
    assert redemption["items"][0]["units"] == 1
    assert {good["commodity"] for good in redemption["items"][0]["goods"]} == {"rice", "milk"}
    purposes = {(entry["route"], entry["purpose"]) for entry in world.entries() if entry["actor_role"] == "citizen"}
    assert {("GET /me/decisions", "own record"), ("GET /me/entitlements", "own record"),
            ("GET /me/redemptions", "own record")} <= purposes  # fmt: skip


def test_a_correction_files_an_appeal_of_the_latest_decision(world: World) -> None:
    headers = world.citizen()
    text = "My wife moved in with us in October; the household has three members now."
    filed = world.client.post("/me/corrections", json={"text": text}, headers=headers)
    assert filed.status_code == 201, filed.text
    appeal_id = filed.json()["id"]

    [appeal] = world.client.get("/me/appeals", headers=headers).json()
    assert (appeal["id"], appeal["state"], appeal["grounds"]) == (appeal_id, "filed", text)
    assert appeal["steps"][0]["by"] == "you"
    staff_view = world.client.get(f"/households/{world.scene.household_id}/appeals", headers=world.headers["carla"])
    assert staff_view.json()[0]["id"] == appeal_id
    assert staff_view.json()[0]["steps"][0]["by"].startswith("citizen:citizen-")

    again = world.client.post("/me/corrections", json={"text": text}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "appeal_open")
    short = world.client.post("/me/corrections", json={"text": "wrong"}, headers=headers)
    assert (short.status_code, short.json()["field"]) == (422, "text")
    prohibited = world.client.post(
        "/me/corrections", json={"text": "They cut us off because of my religion and our church."}, headers=headers
    )
    assert (prohibited.status_code, prohibited.json()["code"], prohibited.json()["field"]) == (
        422, "prohibited_category", "text"
    )  # fmt: skip
    assert "church" not in prohibited.text
    extra = world.client.post("/me/corrections", json={"text": text, "household_id": str(uuid4())}, headers=headers)
    assert extra.status_code == 422  # unknown fields are refused, never ignored
    assert UUID(appeal_id)
