"""``POST /redemptions`` through the API client, on SQLite and PostgreSQL: receipts, replays, refusals as
problem+json with stable codes, and only distribution operators may redeem."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canasta.adapters.db.redemption_tables import redemption_failures
from canasta.adapters.db.users import add_user, issue_token
from canasta.entrypoints.api.app import create_app
from tests.factories import NOW, make_canasta
from tests.redemption_scene import Scene, build

Api = tuple[TestClient, dict[str, dict[str, str]], Scene]


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    canasta = make_canasta(database_url)
    scene = build(canasta)
    headers: dict[str, dict[str, str]] = {}
    with canasta.engine.begin() as connection:
        for name, role, areas in (("olga", "distribution_operator", ["VE-01"]), ("officer", "enrolment_officer", [])):
            add_user(connection, user_id=canasta.new_ids(1)[0], name=name, role=role, password="x" * 12,
                     area_codes=areas, at=NOW)  # fmt: skip
            token = issue_token(connection, token_id=canasta.new_ids(1)[0], name=name, at=NOW,
                                lifetime=timedelta(hours=1))  # fmt: skip
            headers[name] = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(canasta), raise_server_exceptions=False) as client:
        yield client, headers, scene
    canasta.close()


def body(scene: Scene, **changes: Any) -> dict[str, Any]:
    return {"redemption_id": str(uuid4()), "point": "DP-1", "card": scene.card_text,
            "items": [{"programme": "canasta-ninos", "units": 1}], **changes}  # fmt: skip


def test_a_redemption_answers_a_signed_receipt_and_a_replay_the_same(api: Api) -> None:
    client, headers, scene = api
    request = body(scene)
    first = client.post("/redemptions", json=request, headers=headers["olga"])
    assert first.status_code == 200, first.text
    assert first.json()["document"]["items"][0]["remaining"] == 1
    again = client.post("/redemptions", json=request, headers=headers["olga"])
    assert again.json() == first.json()
    changed = client.post("/redemptions", json={**request, "point": "DP-2"}, headers=headers["olga"])
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    assert changed.json()["code"] == "redemption_id_reused"
    assert changed.json()["differs"] == ["point"]


def test_refusals_are_problems_with_stable_codes_and_are_recorded(api: Api) -> None:
    client, headers, scene = api
    answer = client.post("/redemptions", json=body(scene, card="garbage"), headers=headers["olga"])
    assert answer.status_code == 409
    assert answer.json()["code"] == "card_refused"
    assert answer.json()["card_reason"]
    too_much = client.post("/redemptions", json=body(scene, items=[{"programme": "canasta-ninos", "units": 3}]),
                           headers=headers["olga"])  # fmt: skip
    assert too_much.json()["code"] == "more_than_due"
    with scene.app.engine.connect() as connection:
        codes = sorted(connection.execute(select(redemption_failures.c.code)).scalars())
    assert codes == ["card_refused", "more_than_due"]


def test_bad_bodies_get_422_naming_the_field(api: Api) -> None:
    client, headers, scene = api
    for change, field in (
        ({"items": [{"programme": "canasta-ninos", "units": "1"}]}, "items.0.units"),
        ({"items": [{"programme": "canasta-ninos", "units": 1, "extra": 1}]}, "items.0.extra"),
        ({"redemption_id": "x"}, "redemption_id"),
    ):
        answer = client.post("/redemptions", json=body(scene, **change), headers=headers["olga"])
        assert answer.status_code == 422, answer.text
        assert field in answer.json()["field"]


def test_only_distribution_operators_redeem(api: Api) -> None:
    client, headers, scene = api
    assert client.post("/redemptions", json=body(scene), headers=headers["officer"]).status_code == 403
    assert client.post("/redemptions", json=body(scene)).status_code == 401


def test_whoami_names_the_tokens_owner_and_needs_a_token(api: Api) -> None:
    client, headers, _ = api
    assert client.get("/auth/whoami", headers=headers["olga"]).json() == {
        "name": "olga", "role": "distribution_operator", "area_codes": ["VE-01"]
    }  # fmt: skip
    assert client.get("/auth/whoami").status_code == 401
