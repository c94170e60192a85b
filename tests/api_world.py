"""A populated API for the whole-API checks (fuzzing, scope, leaks): the redemption scene (household H1 in
VE-01 with an active card, a decision and an entitlement at DP-1), a consent, an appeal and a pending approval
request on it, a user for every staff role over the whole country and one over VE-02 only, and a signed-in
household member (Rosa, added to H1 here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx2
from sqlalchemy import select

from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.adapters.db.device_store import OfflineLimits, register_device
from canasta.adapters.db.eligibility_tables import decisions
from canasta.adapters.db.tables import people
from canasta.adapters.db.users import add_user, issue_token
from canasta.bootstrap import Canasta
from canasta.domain.access import Role
from canasta.domain.cards import format_card_number
from tests.factories import NOW
from tests.redemption_scene import Scene, build

PASSWORD = "correct horse battery staple"
PIN = "482916"
#: the member who signs in: added to H1 here, so that fuzzing the head (``ids["person_id"]``) cannot sign her out
MEMBER = {"given_name": "Rosa", "family_name": "Peña", "birth_date": "1987-02-02", "sex": 2, "relationship": "spouse"}
STAFF_ROLES = tuple(role for role in Role if role is not Role.CITIZEN)
FAR = "far_"  # users named FAR + role are scoped to VE-02, where H1 is not
DEVICE_KEY = Ed25519Signer.from_private_bytes(bytes(range(32))).public_key


@dataclass
class World:
    canasta: Canasta
    client: httpx2.Client  # a TestClient, or a client of a served app
    scene: Scene
    tokens: dict[str, str] = field(default_factory=dict)  # user name (a role's value, or FAR + it) -> bearer token
    ids: dict[str, UUID] = field(default_factory=dict)  # path parameter name -> an object of H1 in VE-01

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def fresh_token(self, name: str) -> str:
        """Another token of user ``name`` (for signing out without losing the one in ``tokens``)."""
        if name == Role.CITIZEN.value:
            return str(_post(self.client, "/citizen/token", self.citizen_login(), {}, 200)["access_token"])
        with self.canasta.engine.begin() as connection:
            return issue_token(
                connection, token_id=self.canasta.new_ids(1)[0], name=name, at=NOW, lifetime=timedelta(days=1)
            )

    def citizen_login(self) -> dict[str, Any]:
        card = format_card_number(self.scene.card_number)
        return {"card_number": card, "date_of_birth": MEMBER["birth_date"], "pin": PIN}


def _post(
    client: httpx2.Client, path: str, body: dict[str, Any], headers: dict[str, str], status: int
) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == status, (path, response.text)
    answer: dict[str, Any] = response.json()
    return answer


def populate(canasta: Canasta, client: httpx2.Client) -> World:
    """Build the scene on ``canasta`` and the users, objects and tokens around it, through the API where it can."""
    world = World(canasta, client, build(canasta))
    household_id = world.scene.household_id
    with canasta.engine.begin() as connection:
        # The distribution operator is DP-1's device (so it has a bundle to download); it is scoped to VE-01.
        device = register_device(
            connection, point_code="DP-1", name=Role.DISTRIBUTION_OPERATOR.value, public_key=DEVICE_KEY,
            limits=OfflineLimits(), ids=canasta.new_ids(3), by="admin:root", at=NOW,
        )  # fmt: skip
        world.tokens[device.name] = device.token
        for role in STAFF_ROLES:
            names = [FAR + role.value] if role is Role.DISTRIBUTION_OPERATOR else [role.value, FAR + role.value]
            for name in names:
                areas = ["VE-02"] if name.startswith(FAR) else []
                add_user(connection, user_id=canasta.new_ids(1)[0], name=name, role=role.value, password=PASSWORD,
                         area_codes=areas, at=NOW)  # fmt: skip
                world.tokens[name] = issue_token(
                    connection, token_id=canasta.new_ids(1)[0], name=name, at=NOW, lifetime=timedelta(days=1)
                )
        members = {
            row.relationship: row.id
            for row in connection.execute(select(people.c.id, people.c.relationship).where(
                people.c.household_id == household_id))
        }  # fmt: skip
        decision_id = connection.execute(
            select(decisions.c.id).where(decisions.c.household_id == household_id)
        ).scalar_one()
    officer = world.headers(Role.ENROLMENT_OFFICER.value)
    consent = _post(client, f"/households/{household_id}/consents", {"purpose": "card_delivery"}, officer, 201)
    appeal = _post(client, f"/decisions/{decision_id}/appeals", {"grounds": "our income fell last month"}, officer, 201)
    approval = _post(client, f"/people/{members['child']}/deactivate", {"version": 1, "reason": "moved away"},
                     officer, 202)  # fmt: skip
    member = _post(client, f"/households/{household_id}/members", MEMBER, officer, 201)
    _post(client, f"/people/{member['id']}/citizen-pin", {"pin": PIN}, officer, 200)
    world.tokens[Role.CITIZEN.value] = world.fresh_token(Role.CITIZEN.value)
    world.ids = {
        "household_id": household_id, "person_id": members["head"], "decision_id": decision_id,
        "appeal_id": UUID(appeal["id"]), "consent_id": UUID(consent["id"]), "approval_id": UUID(approval["id"]),
    }  # fmt: skip
    return world
