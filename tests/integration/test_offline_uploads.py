"""Offline uploads on SQLite and PostgreSQL: applied records post what an online redemption posts, and every bad
input (a replayed batch, an edited record, a foreign signature, a gap, a revoked device, a conflict with an online
redemption, a malformed record) gets its precise class, is stored once with a case, and posts nothing half-way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from uuid import uuid4

import pytest

from canasta.adapters.crypto.receipts import verify_signed
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.adapters.crypto.trust import read_revocation_list, read_trust_list
from canasta.adapters.db.device_store import revoke_device
from canasta.adapters.db.integrity import broken_references
from canasta.adapters.db.ledger_tables import ledger_transfers
from canasta.adapters.db.offline_tables import offline_records, suspense_cases
from canasta.adapters.db.redemption_tables import redemptions
from canasta.adapters.db.settlement_store import SqlSettlementStore
from canasta.domain.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from canasta.domain.ledger import Account, AccountKind, benefit_asset, money_asset
from canasta.domain.offline import Bundle
from canasta.domain.suspense import case_reference
from canasta.services.offline import download_bundle, list_cases
from canasta.services.settlement import settle
from tests.factories import make_canasta
from tests.offline_scene import Kit, assert_ledger_holds, count, list_key, register, stored_records
from tests.redemption_scene import MILK, OPERATOR, RICE, Scene, balance, build, redeem

BENEFIT = benefit_asset("canasta-ninos")
VES = money_asset("VES")


@pytest.fixture
def scene(database_url: str) -> Iterator[Scene]:
    app = make_canasta(database_url)
    yield build(app)
    with app.engine.connect() as connection:
        assert broken_references(connection) == {}
    assert_ledger_holds(app)
    app.close()


@pytest.fixture
def kiosk(scene: Scene) -> Kit:
    return register(scene.app, "kiosk-1")


def entitlement_left(scene: Scene) -> int:
    return balance(scene, Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BENEFIT, scene.entitlement_id))


def stock(scene: Scene, asset: str) -> int:
    return balance(scene, Account(AccountKind.POINT_STOCK, asset, scene.point_id))


def transfers(scene: Scene, reference: str) -> int:
    return count(scene.app, ledger_transfers, ledger_transfers.c.reference == reference)


def test_a_bundle_carries_the_points_leases_and_card_lists_signed_and_no_names(scene: Scene, kiosk: Kit) -> None:
    envelope = kiosk.bundle()
    assert verify_signed(envelope, list_key(scene.app))
    bundle = Bundle.from_document(envelope["document"])
    assert (bundle.point, bundle.device, bundle.chain.counter) == ("DP-1", "kiosk-1", 0)
    [lease] = bundle.leases
    assert (lease.entitlement_id, lease.household, lease.cards) == (scene.entitlement_id, "H1", (scene.card_number,))
    assert (lease.units_due, lease.unit_value, lease.co_payment, lease.currency) == (2, 30000, 1000, "VES")
    assert [line.commodity for line in lease.basket] == ["rice", "milk"]
    text = json.dumps(envelope, ensure_ascii=False)
    assert "Peña" not in text
    assert "José" not in text
    assert "1985" not in text
    assert read_trust_list(bundle.trust_list, list_key(scene.app)).keys
    assert read_revocation_list(bundle.revocation_list, list_key(scene.app)).revoked == frozenset()
    # A device of another point gets nothing of DP-1's; a person at a counter gets no bundle at all.
    assert register(scene.app, "kiosk-2", "DP-2").bundle()["document"]["leases"] == []
    with pytest.raises(PermissionDeniedError):
        download_bundle(scene.app.offline(), OPERATOR)


def test_an_applied_record_posts_what_an_online_redemption_posts_and_settles(scene: Scene, kiosk: Kit) -> None:
    record = kiosk.next_record(scene.entitlement_id, card=scene.card_number)
    [answer] = kiosk.upload(kiosk.signed(record))["results"]
    assert (answer["status"], answer["code"], answer["case_id"]) == ("applied", "applied", None)
    assert answer["redemption_id"] == str(record.redemption_id)
    assert transfers(scene, str(record.redemption_id)) == 5  # benefit, two basket lines, co-payment, subsidy owed
    assert entitlement_left(scene) == 1
    assert (stock(scene, RICE), stock(scene, MILK)) == (2000 * 99, 99)
    assert balance(scene, Account(AccountKind.CO_PAYMENTS_COLLECTED, VES, scene.point_id)) == 1000
    assert balance(scene, Account(AccountKind.SUBSIDY_OWED, VES, scene.point_id)) == 29000
    with scene.app.engine.connect() as connection:
        [row] = connection.execute(redemptions.select()).mappings()
        report = settle(SqlSettlementStore(connection), "DP-1", "2026-11")
    assert (row["path"], row["device_id"], row["card_number"]) == ("offline", kiosk.device_id, scene.card_number)
    assert verify_signed(row["receipt"], list_key(scene.app))
    assert row["receipt"]["document"]["counter"] == 1
    assert report.reconciles
    assert report.totals["VES"] == {"redemptions": 1, "co_payment": 1000, "subsidy_owed": 29000}


def test_the_same_batch_twice_or_shuffled_has_one_effect(scene: Scene, kiosk: Kit) -> None:
    first, second = (kiosk.next_record(scene.entitlement_id, card=scene.card_number) for _ in range(2))
    batch = kiosk.signed(second, first)  # out of order on purpose: the server applies them in counter order
    answers = kiosk.upload(batch)
    assert [(item["counter"], item["status"]) for item in answers["results"]] == [(2, "applied"), (1, "applied")]
    again = kiosk.upload(batch)
    assert [(item["status"], item["code"]) for item in again["results"]] == [("applied", "duplicate")] * 2
    assert again["chain"] == {"counter": 2, "hash": second.digest()}
    assert count(scene.app, offline_records) == 2
    assert count(scene.app, redemptions) == 2
    assert transfers(scene, str(first.redemption_id)) == transfers(scene, str(second.redemption_id)) == 5
    assert entitlement_left(scene) == 0


def test_a_replayed_redemption_id_goes_to_suspense_and_posts_nothing(scene: Scene, kiosk: Kit) -> None:
    online = redeem(scene, redemption_id=str(uuid4()), point="DP-1", card=scene.card_text,
                    items=[{"programme": "canasta-ninos", "units": 1}])  # fmt: skip
    replayed = kiosk.next_record(scene.entitlement_id, card=scene.card_number,
                                 redemption_id=online["document"]["redemption_id"])  # fmt: skip
    [answer] = kiosk.upload(kiosk.signed(replayed))["results"]
    assert (answer["status"], answer["code"]) == ("suspense", "replay")
    [case] = list_cases(scene.app.offline())
    assert (case["kind"], case["counter"], case["in_suspense"]) == ("replay", 1, {})
    assert transfers(scene, case_reference(answer["case_id"])) == 0
    assert entitlement_left(scene) == 1  # only the online redemption took a unit
    # The replay holds its place in the chain: the device's next record follows it and is applied.
    following = kiosk.next_record(scene.entitlement_id, card=scene.card_number)
    assert kiosk.upload(kiosk.signed(following))["results"][0]["status"] == "applied"


def test_an_edited_record_is_caught_and_the_original_stands(scene: Scene, kiosk: Kit) -> None:
    original = kiosk.next_record(scene.entitlement_id, card=scene.card_number)
    kiosk.upload(kiosk.signed(original))
    # The same place in the chain, another content, signed by the device's own key (a device restored from an old
    # copy, or someone with its key): an edit.
    edited = type(original)(**{**{name: getattr(original, name) for name in original.__slots__}, "units": 2})
    [answer] = kiosk.upload(kiosk.signed(edited))["results"]
    assert (answer["status"], answer["code"]) == ("suspense", "edit")
    # Changing a record on its way keeps the device's signature, which no longer verifies: a foreign signature.
    tampered = kiosk.signed(original)[0]
    tampered["record"] = {**tampered["record"], "units": 2}
    [forged] = kiosk.upload([tampered])["results"]
    assert (forged["status"], forged["code"]) == ("suspense", "foreign_signature")
    assert entitlement_left(scene) == 1
    assert [(row["code"], row["is_chained"]) for row in stored_records(scene.app)] == [
        ("applied", True), ("edit", False), ("foreign_signature", False)
    ]  # fmt: skip
    assert {case["kind"] for case in list_cases(scene.app.offline(), state="open")} == {"edit", "foreign_signature"}


def test_a_record_signed_by_another_key_or_naming_another_device_is_foreign(scene: Scene, kiosk: Kit) -> None:
    other = register(scene.app, "kiosk-2")
    record = kiosk.next_record(scene.entitlement_id, card=scene.card_number)
    [by_other_key] = kiosk.upload(kiosk.signed(record, signer=Ed25519Signer.generate()))["results"]
    [for_other_device] = other.upload(kiosk.signed(record))["results"]  # kiosk-2 sends kiosk-1's record as its own
    assert by_other_key["code"] == for_other_device["code"] == "foreign_signature"
    assert count(scene.app, ledger_transfers, ledger_transfers.c.kind == "redeem") == 0
    assert count(scene.app, suspense_cases, suspense_cases.c.kind == "foreign_signature") == 2
    # The genuine record, when it comes, is applied: a forgery took no place in the chain.
    assert kiosk.upload(kiosk.signed(record))["results"][0]["status"] == "applied"


def test_a_gap_is_held_with_a_case_until_the_missing_record_arrives(scene: Scene, kiosk: Kit) -> None:
    first, second = (kiosk.next_record(scene.entitlement_id, card=scene.card_number) for _ in range(2))
    [held] = kiosk.upload(kiosk.signed(second))["results"]
    assert (held["status"], held["code"]) == ("held", "gap")
    [gap] = list_cases(scene.app.offline(), state="open")
    assert gap["kind"] == "gap"
    assert "held until record(s) 1 arrive" in gap["detail"]
    assert entitlement_left(scene) == 2
    assert count(scene.app, redemptions) == 0
    answers = kiosk.upload(kiosk.signed(first))
    assert answers["chain"]["counter"] == 2
    assert [row["outcome"] for row in stored_records(scene.app)] == ["applied", "applied"]
    [filled] = list_cases(scene.app.offline(), state="resolved")
    assert (filled["case_id"], filled["resolution"], filled["resolved_by"]) == (
        gap["case_id"], "filled", "system:offline-sync"
    )  # fmt: skip
    assert entitlement_left(scene) == 0


def test_records_made_after_a_device_was_revoked_go_to_suspense(scene: Scene, kiosk: Kit) -> None:
    app, now = scene.app, scene.app.clock.now()
    before = kiosk.next_record(scene.entitlement_id, card=scene.card_number, at=now - timedelta(hours=1))
    after = kiosk.next_record(scene.entitlement_id, card=scene.card_number, at=now + timedelta(hours=1))
    with app.engine.begin() as connection:
        revoke_device(connection, "kiosk-1", reason="stolen", by="admin:root", at=now)
    with pytest.raises(AuthenticationError):
        _ = kiosk.actor  # its token is dead: it can neither sync nor upload itself
    # An operator of the point carries its records in; the signatures speak for the device.
    answers = kiosk.upload(kiosk.signed(before, after), actor=OPERATOR, device="kiosk-1")["results"]
    assert [(item["status"], item["code"]) for item in answers] == [
        ("applied", "applied"),
        ("suspense", "revoked_device"),
    ]
    assert entitlement_left(scene) == 1
    [case] = list_cases(app.offline())
    assert case["kind"] == "revoked_device"
    assert case["in_suspense"] == {}
    assert [row["uploaded_by"] for row in stored_records(app)] == ["distribution_operator:olga"] * 2
    with pytest.raises(PermissionDeniedError):
        register(app, "kiosk-2").upload(kiosk.signed(before), device="kiosk-1")  # a device carries only its own


def test_an_operator_cannot_carry_records_of_a_device_outside_their_areas(scene: Scene, kiosk: Kit) -> None:
    outsider = OPERATOR.__class__(user_id=OPERATOR.user_id, name="otto", role=OPERATOR.role, area_codes=("VE-02",))
    record = kiosk.next_record(scene.entitlement_id, card=scene.card_number)
    with pytest.raises(NotFoundError):
        kiosk.upload(kiosk.signed(record), actor=outsider, device="kiosk-1")
    assert count(scene.app, offline_records) == 0


def test_a_conflict_with_an_online_redemption_parks_what_was_handed_out_in_suspense(scene: Scene, kiosk: Kit) -> None:
    redeem(scene, redemption_id=str(uuid4()), point="DP-1", card=scene.card_text,
           items=[{"programme": "canasta-ninos", "units": 1}])  # fmt: skip
    offline = kiosk.next_record(scene.entitlement_id, card=scene.card_number, units=2)  # one more than is left
    [answer] = kiosk.upload(kiosk.signed(offline))["results"]
    assert (answer["status"], answer["code"]) == ("suspense", "conflict")
    [case] = list_cases(scene.app.offline())
    assert "2 unit(s) handed out but the entitlement had 1 left" in case["detail"]
    # The entitlement's last unit is taken (it cannot be redeemed again), the two baskets leave the shelf, the
    # co-payment is held; the unit nobody was entitled to shows as -1 in suspense.
    assert case["in_suspense"] == {BENEFIT: -1, RICE: 4000, MILK: 2, VES: 2000}
    assert entitlement_left(scene) == 0
    assert (stock(scene, RICE), stock(scene, MILK)) == (2000 * 97, 97)
    with scene.app.engine.connect() as connection:
        assert settle(SqlSettlementStore(connection), "DP-1", "2026-11").reconciles  # suspense is not settled
    assert count(scene.app, redemptions) == 1  # the online one; the conflict is no redemption


def test_an_out_of_stock_conflict_takes_the_goods_the_ledger_did_not_know_from_outside(database_url: str) -> None:
    app = make_canasta(database_url)
    try:
        scene = build(app, stock=0)
        kiosk = register(app, "kiosk-1")
        [answer] = kiosk.upload(kiosk.signed(kiosk.next_record(scene.entitlement_id, card=scene.card_number)))[
            "results"
        ]
        assert answer["code"] == "conflict"
        [case] = list_cases(app.offline())
        assert "the point's stock holds less" in case["detail"]
        # The household was entitled: its unit moved into suspense and on to the programme (net 0 there), so it
        # cannot be redeemed a second time; the goods came from outside the ledger's stock.
        assert case["in_suspense"] == {RICE: 2000, MILK: 1, VES: 1000}
        assert entitlement_left(scene) == 1
        assert_ledger_holds(app)
    finally:
        app.close()


def test_malformed_records_are_stored_with_a_case_beside_good_ones(scene: Scene, kiosk: Kit) -> None:
    good = kiosk.signed(kiosk.next_record(scene.entitlement_id, card=scene.card_number))[0]
    as_text = {**good, "record": {**good["record"], "units": "1"}}
    extra = {**good, "record": {**good["record"], "extra": 1}}
    answers = kiosk.upload([as_text, good, extra])["results"]
    assert [(item["status"], item["code"]) for item in answers] == [
        ("suspense", "malformed"), ("applied", "applied"), ("suspense", "malformed")
    ]  # fmt: skip
    details = sorted(case["detail"] for case in list_cases(scene.app.offline()))
    assert details == ["not a record: record: a record has exactly the keys at, card_number, counter, device_id, "
                       "entitlement_id, household, prev_hash, reason, redemption_id, units, v",
                       "not a record: units: must be a whole number from 1 to 1000000"]  # fmt: skip
