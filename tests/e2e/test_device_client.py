"""The reference offline client against the API in-process, on SQLite and PostgreSQL: sync, offline checks and
limits, crash safety of its state, refused bundles and lists, uploads, and who may call the two routes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from canasta.adapters.db.access_log_tables import access_log
from canasta.adapters.db.device_store import OfflineLimits, revoke_device
from canasta.adapters.db.users import add_user, issue_token
from canasta.adapters.device import ClientTransport, OfflineDevice, StateFile, new_state
from canasta.domain.cards import CardState
from canasta.domain.errors import AuthenticationError, ConflictError, ValidationError
from canasta.domain.offline import OfflineRefusedError
from canasta.entrypoints.api.app import create_app
from canasta.services import cards as card_cases
from tests.factories import NOW, make_canasta
from tests.offline_scene import Kit, list_key, register, stored_records
from tests.redemption_scene import ADMIN, Scene, build


@dataclass
class Setup:
    scene: Scene
    client: TestClient
    kit: Kit
    state_path: Path

    def device(self, transport: Any = None, state_file: StateFile | None = None) -> OfflineDevice:
        return OfflineDevice(state_file or StateFile(self.state_path), self.kit.signer,
                             transport or ClientTransport(self.client), clock=self.scene.app.clock)  # fmt: skip


@pytest.fixture
def setup(database_url: str, tmp_path: Path) -> Iterator[Setup]:
    app = make_canasta(database_url)
    scene = build(app)
    kit = register(app, "kiosk-1", limits=OfflineLimits(hours=72, count=3, value=10**7))
    state_path = tmp_path / "device" / "device.json"
    StateFile(state_path).save(new_state(server="http://testserver", token=kit.token, key_file="kiosk-1.key",
                                         list_key=list_key(app)))  # fmt: skip
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        yield Setup(scene, client, kit, state_path)
    app.close()


def test_a_device_syncs_redeems_offline_within_what_is_due_and_uploads(setup: Setup) -> None:
    device = setup.device()
    assert device.sync()["leases"] == 1
    handout = device.redeem(programme="canasta-ninos", units=1, card=setup.scene.card_text)
    assert handout["goods"] == [{"commodity": "rice", "quantity": 2000, "unit": "g"},
                                {"commodity": "milk", "quantity": 1, "unit": "l"}]  # fmt: skip
    assert handout["co_payment"] == 1000
    device.redeem(programme="canasta-ninos", units=1, household="H1", reason="the card is torn")
    with pytest.raises(OfflineRefusedError) as refused:  # both units are handed out, though the server knows nothing
        device.redeem(programme="canasta-ninos", units=1, household="H1", reason="the card is torn")
    assert refused.value.code == "more_than_due"
    assert device.status()["pending"] == 2
    report = device.upload()
    assert [(item["counter"], item["status"]) for item in report["results"]] == [(1, "applied"), (2, "applied")]
    assert device.status()["pending"] == 0
    with setup.scene.app.engine.connect() as connection:  # each applied record is logged against the household
        logged = connection.execute(
            select(access_log.c.household_id, access_log.c.actor_name, access_log.c.purpose).where(
                access_log.c.route == "POST /devices/uploads"
            )
        ).all()
    assert [tuple(row) for row in logged] == [(setup.scene.household_id, "kiosk-1", "offline distribution")] * 2
    device.sync()  # settled records are pruned; the new bundle has nothing left for H1
    assert device.state["records"] == []
    assert device.bundle.leases == ()
    assert device.bundle.chain.counter == 2


def test_the_offline_limits_and_the_cards_are_checked_before_anything_is_signed(setup: Setup) -> None:
    device = setup.device()
    device.sync()
    with pytest.raises(OfflineRefusedError) as garbled:
        device.redeem(programme="canasta-ninos", units=1, card="NOT-A-CARD")
    assert garbled.value.code == "card_refused"
    with pytest.raises(OfflineRefusedError) as unknown:
        device.redeem(programme="canasta-ninos", units=1, household="H9", reason="looked up")
    assert unknown.value.code == "no_entitlement"
    setup.scene.app.clock.advance(timedelta(hours=73))  # type: ignore[attr-defined]  # the tests' fixed clock
    with pytest.raises(OfflineRefusedError) as stale:
        device.redeem(programme="canasta-ninos", units=1, household="H1", reason="looked up")
    assert stale.value.code == "sync_too_old"
    assert device.state["records"] == []
    assert device.state["chain"]["counter"] == 0


def test_a_lost_card_is_refused_offline_once_the_revocation_list_says_so(setup: Setup) -> None:
    device = setup.device()
    device.sync()
    with setup.scene.app.engine.begin() as connection:
        card_cases.change_card_state(setup.scene.app.cards(connection), ADMIN, setup.scene.card_number,
                                     CardState.LOST, reason="reported lost")  # fmt: skip
    device.sync()
    with pytest.raises(OfflineRefusedError) as refused:
        device.redeem(programme="canasta-ninos", units=1, card=setup.scene.card_text)
    assert (refused.value.code, refused.value.fields["card_reason"]) == ("card_refused", "revoked")
    assert device.redeem(programme="canasta-ninos", units=1, household="H1", reason="card lost")["units"] == 1


class Replaying(ClientTransport):
    """Answers bundle downloads with the one given, whatever the server says (a tampered or replayed bundle)."""

    def __init__(self, client: TestClient, bundle: dict[str, Any]) -> None:
        super().__init__(client)
        self.answer = bundle

    def get_bundle(self, token: str) -> dict[str, Any]:
        return self.answer


def test_a_bundle_or_list_the_server_did_not_sign_now_is_refused_and_changes_nothing(setup: Setup) -> None:
    device = setup.device()
    device.sync()
    old = device.state["bundle"]
    device.sync()
    before = setup.state_path.read_bytes()
    tampered = json.loads(json.dumps(old))
    tampered["document"]["leases"][0]["units_due"] = 50
    with pytest.raises(ValidationError) as forged:
        setup.device(Replaying(setup.client, tampered)).sync()
    assert forged.value.code == "bundle_refused"
    with pytest.raises(ValidationError) as replayed:  # genuine, but its lists are older than the ones held
        setup.device(Replaying(setup.client, old)).sync()
    assert (replayed.value.code, replayed.value.fields["reason"]) == ("list_refused", "older_version")
    assert setup.state_path.read_bytes() == before


class CrashingStateFile(StateFile):
    """A state file whose next write dies before it starts, as a device losing power between signing and writing."""

    crash_next = False

    def save(self, state: dict[str, Any]) -> None:
        if self.crash_next:
            self.crash_next = False
            raise KeyboardInterrupt("power lost")
        super().save(state)


def test_a_crash_between_signing_and_writing_down_loses_only_a_record_nobody_acted_on(setup: Setup) -> None:
    state_file = CrashingStateFile(setup.state_path)
    device = setup.device(state_file=state_file)
    device.sync()
    state_file.crash_next = True
    with pytest.raises(KeyboardInterrupt):
        device.redeem(programme="canasta-ninos", units=1, household="H1", reason="card at home")
    restarted = setup.device()  # what survives is what was written down
    assert restarted.state["chain"]["counter"] == 0
    restarted.redeem(programme="canasta-ninos", units=2, household="H1", reason="card at home")
    assert restarted.upload()["results"][0]["status"] == "applied"
    assert [row["counter"] for row in stored_records(setup.scene.app)] == [1]


def test_the_state_file_is_replaced_whole_or_not_at_all(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    state_file = StateFile(setup.state_path)
    before = setup.state_path.read_bytes()
    assert setup.state_path.stat().st_mode & 0o777 == 0o600

    def power_cut(source: str, target: str) -> None:
        raise OSError("power cut during rename")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        state_file.save({**state_file.load(), "token": "changed"})
    assert setup.state_path.read_bytes() == before
    assert [path.name for path in setup.state_path.parent.iterdir()] == ["device.json"]  # no temporary file left


def test_a_lost_answer_or_a_repeated_upload_is_harmless(setup: Setup) -> None:
    class LosesAnswers(ClientTransport):
        def upload(self, token: str, body: Any) -> dict[str, Any]:
            super().upload(token, body)  # the server got it...
            raise ConnectionError("...but the answer never came back")

    device = setup.device()
    device.sync()
    device.redeem(programme="canasta-ninos", units=1, household="H1", reason="card at home")
    with pytest.raises(ConnectionError):
        setup.device(LosesAnswers(setup.client)).upload()
    assert setup.device().upload()["results"][0]["code"] == "duplicate"
    assert len(stored_records(setup.scene.app)) == 1


def test_who_may_download_a_bundle_and_upload(setup: Setup) -> None:
    app = setup.scene.app
    with app.engine.begin() as connection:
        for name, role in (("officer", "enrolment_officer"), ("olga", "distribution_operator")):
            add_user(connection, user_id=app.new_ids(1)[0], name=name, role=role, password="x" * 12,
                     area_codes=["VE-01"], at=NOW)  # fmt: skip
    tokens = {}
    with app.engine.begin() as connection:
        for name in ("officer", "olga"):
            tokens[name] = issue_token(connection, token_id=app.new_ids(1)[0], name=name, at=NOW,
                                       lifetime=timedelta(hours=1))  # fmt: skip

    def headers(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    body = {"records": [{"record": {}, "signature": "x"}]}
    assert setup.client.get("/devices/bundle", headers=headers("officer")).status_code == 403
    assert setup.client.post("/devices/uploads", json=body, headers=headers("officer")).status_code == 403
    assert setup.client.get("/devices/bundle", headers=headers("olga")).json()["code"] == "forbidden"
    nameless = setup.client.post("/devices/uploads", json=body, headers=headers("olga"))
    assert (nameless.status_code, nameless.json()["field"]) == (422, "device")
    assert setup.client.post("/devices/uploads", json={"records": []}, headers=headers("olga")).status_code == 422
    with app.engine.begin() as connection:
        revoke_device(connection, "kiosk-1", reason="stolen", by="admin:root", at=NOW)
    with pytest.raises(AuthenticationError):
        setup.device().sync()
    with pytest.raises(ConflictError):
        setup.device().redeem(programme="canasta-ninos", units=1, household="H1", reason="no bundle yet")
