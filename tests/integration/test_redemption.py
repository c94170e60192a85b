"""Online redemption on SQLite and PostgreSQL: the card path, the assisted path, idempotent ids, every refusal
recorded with nothing half-posted, and a receipt anyone with the list key can check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from canasta.adapters.crypto.receipts import verify_signed
from canasta.adapters.db import ledger_check
from canasta.adapters.db.card_store import SqlCardStore
from canasta.adapters.db.eligibility_tables import entitlements
from canasta.adapters.db.integrity import broken_references
from canasta.adapters.db.ledger_tables import ledger_transfers
from canasta.adapters.db.redemption_tables import redemption_failures, redemptions
from canasta.bootstrap import Canasta
from canasta.domain.cards import CardState
from canasta.domain.errors import ConflictError, ValidationError
from canasta.domain.ledger import Account, AccountKind, benefit_asset, money_asset
from canasta.domain.redemption import RedemptionRefusedError
from canasta.services import cards as card_cases
from tests.factories import make_canasta
from tests.redemption_scene import ADMIN, MILK, OPERATOR, RICE, Scene, add_point, balance, build, deliver, redeem

BENEFIT = benefit_asset("canasta-ninos")
VES = money_asset("VES")


@pytest.fixture
def scene(database_url: str) -> Iterator[Scene]:
    app = make_canasta(database_url)
    yield build(app)
    with app.engine.connect() as connection:
        assert broken_references(connection) == {}
        report = ledger_check.check(connection)
        assert report.is_consistent, report.discrepancies
    app.close()


def count(app: Canasta, table: Any, *where: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def body(scene: Scene, units: int = 1, **overrides: Any) -> dict[str, Any]:
    return {"redemption_id": str(uuid4()), "point": "DP-1", "card": scene.card_text,
            "items": [{"programme": "canasta-ninos", "units": units}], **overrides}  # fmt: skip


def test_a_card_redemption_posts_every_part_and_signs_a_receipt(scene: Scene) -> None:
    receipt = redeem(scene, **body(scene, units=1))
    document = receipt["document"]
    assert document["point"] == "DP-1"
    assert document["path"] == "card"
    assert document["card_number"] == scene.card_number
    [item] = document["items"]
    assert (item["units"], item["remaining"], item["co_payment"]) == (1, 1, 1000)
    assert item["goods"] == [{"commodity": "rice", "quantity": 2000, "unit": "g"},
                             {"commodity": "milk", "quantity": 1, "unit": "l"}]  # fmt: skip
    with scene.app.engine.connect() as connection:
        key = SqlCardStore(connection).active_key("list")
    assert key is not None
    assert verify_signed(receipt, bytes(key["public_key"]))
    tampered = {**receipt, "document": {**document, "co_payments": {"VES": 1}}}
    assert not verify_signed(tampered, bytes(key["public_key"]))
    entitlement = Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BENEFIT, scene.entitlement_id)
    assert balance(scene, entitlement) == 1
    assert balance(scene, Account(AccountKind.POINT_STOCK, RICE, scene.point_id)) == 2000 * 99
    assert balance(scene, Account(AccountKind.POINT_STOCK, MILK, scene.point_id)) == 99
    assert balance(scene, Account(AccountKind.CO_PAYMENTS_COLLECTED, VES, scene.point_id)) == 1000
    assert balance(scene, Account(AccountKind.SUBSIDY_OWED, VES, scene.point_id)) == 29000


def test_the_last_unit_closes_the_entitlement(scene: Scene) -> None:
    redeem(scene, **body(scene, units=2))
    with scene.app.engine.connect() as connection:
        state = connection.execute(select(entitlements.c.state)).scalar_one()
    assert state == "redeemed"
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, **body(scene, units=1))
    assert refused.value.code == "more_than_due"


def test_the_same_id_and_body_get_the_same_receipt_once(scene: Scene) -> None:
    request = body(scene)
    first = redeem(scene, **request)
    again = redeem(scene, **request)
    assert again == first
    assert count(scene.app, redemptions) == 1
    assert count(scene.app, ledger_transfers, ledger_transfers.c.reference == request["redemption_id"]) == 5
    assert balance(scene, Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BENEFIT, scene.entitlement_id)) == 1


def test_the_same_id_with_another_body_is_refused_naming_the_difference(scene: Scene) -> None:
    request = body(scene)
    redeem(scene, **request)
    with pytest.raises(ConflictError) as refused:
        redeem(scene, **{**request, "items": [{"programme": "canasta-ninos", "units": 2}]})
    assert refused.value.code == "redemption_id_reused"
    assert refused.value.fields["differs"] == ["items[0].units"]
    assert balance(scene, Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BENEFIT, scene.entitlement_id)) == 1


def test_more_than_due_is_refused_with_nothing_posted_and_the_failure_recorded(scene: Scene) -> None:
    before = count(scene.app, ledger_transfers)
    request = body(scene, units=3)
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, **request)
    assert refused.value.code == "more_than_due"
    assert count(scene.app, ledger_transfers) == before
    assert count(scene.app, redemptions) == 0
    with scene.app.engine.connect() as connection:
        [failure] = connection.execute(select(redemption_failures)).mappings().all()
    assert failure["code"] == "more_than_due"
    assert failure["redemption_id"] == UUID(request["redemption_id"])
    assert failure["household_id"] == scene.household_id
    # the id was not used up: the household can still collect what is due under it
    assert redeem(scene, **{**request, "items": [{"programme": "canasta-ninos", "units": 2}]})["document"]


def test_stock_that_is_not_there_is_refused_and_the_entitlement_untouched(database_url: str) -> None:
    app = make_canasta(database_url)
    try:
        scene = build(app, stock=1)
        redeem(scene, **body(scene, units=1))
        with pytest.raises(RedemptionRefusedError) as refused:
            redeem(scene, **body(scene, units=1))
        assert refused.value.code == "out_of_stock"
        assert balance(scene, Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BENEFIT, scene.entitlement_id)) == 1
        with app.engine.connect() as connection:  # the refused redemption would have used it up: not marked
            assert connection.execute(select(entitlements.c.state)).scalar_one() == "open"
        deliver(app, scene.point_id, RICE, 2000)
        deliver(app, scene.point_id, MILK, 1)
        redeem(scene, **body(scene, units=1))
        assert balance(scene, Account(AccountKind.POINT_STOCK, RICE, scene.point_id)) == 0
    finally:
        app.close()


def test_the_assisted_path_needs_a_reason_and_is_recorded_as_an_exception(scene: Scene) -> None:
    request = body(scene, card=None, household=scene.reference)
    del request["card"]
    with pytest.raises(ValidationError) as refused:
        redeem(scene, **request)
    assert refused.value.fields["field"] == "reason"
    receipt = redeem(scene, **{**request, "reason": "card damaged by water"})
    assert receipt["document"]["path"] == "assisted"
    with scene.app.engine.connect() as connection:
        row = connection.execute(select(redemptions.c.path, redemptions.c.reason)).one()
    assert tuple(row) == ("assisted", "card damaged by water")


@pytest.mark.parametrize(("state", "reason"), [(CardState.LOST, "card_lost"), (CardState.REVOKED, "card_revoked")])
def test_a_lost_or_revoked_card_is_refused_but_the_household_is_served_by_lookup(
    scene: Scene, state: CardState, reason: str
) -> None:
    with scene.app.engine.begin() as connection:
        card_cases.change_card_state(scene.app.cards(connection), ADMIN, scene.card_number, state, reason="test")
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, **body(scene))
    assert refused.value.code == "card_refused"
    assert refused.value.fields["card_reason"] == reason
    assisted = {**body(scene), "household": scene.reference, "reason": f"card {state.value}"}
    del assisted["card"]
    assert redeem(scene, **assisted)["document"]["path"] == "assisted"
    with scene.app.engine.connect() as connection:
        codes = connection.execute(select(redemption_failures.c.code, redemption_failures.c.card_number)).all()
    assert [tuple(row) for row in codes] == [("card_refused", scene.card_number)]


def test_a_foreign_or_garbled_card_is_refused_with_the_cards_own_reason(scene: Scene) -> None:
    from canasta.adapters.crypto.claim169 import decode_credential, encode_credential
    from canasta.adapters.crypto.signing import Ed25519Signer

    foreign = encode_credential(decode_credential(scene.card_text).credential, Ed25519Signer.generate())
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, **body(scene, card=foreign))
    assert refused.value.code == "card_refused"
    assert refused.value.fields["card_reason"] == "unknown_key"
    with pytest.raises(RedemptionRefusedError) as garbled:
        redeem(scene, **body(scene, card="not a card"))
    assert garbled.value.code == "card_refused"


def test_an_entitlement_leased_to_another_point_is_refused_there(scene: Scene) -> None:
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, **body(scene, point="DP-2"))
    assert refused.value.code == "entitlement_of_another_point"
    with pytest.raises(RedemptionRefusedError) as unknown:
        redeem(scene, **body(scene, point="DP-404"))
    assert unknown.value.code == "unknown_point"


def test_an_operator_outside_the_points_area_cannot_use_it(scene: Scene) -> None:
    add_point(scene.app, "DP-9", "VE-02-01-01")
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, **body(scene, point="DP-9"))
    assert refused.value.code == "unknown_point"  # outside the operator's areas: as if it did not exist
    assert OPERATOR.area_codes == ("VE-01",)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"programme": "canasta-ninos", "units": 0}]}, "items[0].units"),
        ({"items": [{"programme": "canasta-ninos", "units": "1"}]}, "items[0].units"),
        ({"redemption_id": "not-a-uuid"}, "redemption_id"),
        ({"point": ""}, "point"),
        ({"household": "H1"}, "card"),  # both a card and a household
    ],
)
def test_malformed_requests_name_the_field(scene: Scene, change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        redeem(scene, **{**body(scene), **change})
    assert refused.value.fields["field"] == field
    assert count(scene.app, redemptions) == 0


def test_settlement_lists_each_redemption_and_reconciles_with_the_ledger(scene: Scene) -> None:
    from canasta.adapters.db import ledger_store
    from canasta.adapters.db.settlement_store import SqlSettlementStore
    from canasta.domain.ledger import Transfer, TransferKind
    from canasta.services.settlement import settle

    redeem(scene, **body(scene, units=1))
    assisted = {**body(scene, units=1), "household": scene.reference, "reason": "card left at home"}
    del assisted["card"]
    redeem(scene, **assisted)
    with scene.app.engine.connect() as connection:
        report = settle(SqlSettlementStore(connection), "DP-1", "2026-11")
        empty = settle(SqlSettlementStore(connection), "DP-1", "2026-10")
    assert report.reconciles, report.problems
    assert sorted(line.path for line in report.lines) == ["assisted", "card"]  # one clock: same time
    assert [(line.co_payment, line.subsidy_owed) for line in report.lines] == [(1000, 29000), (1000, 29000)]
    assert report.totals == {"VES": {"redemptions": 2, "co_payment": 2000, "subsidy_owed": 58000}}
    assert report.ledger == {"VES": {"co_payment": 2000, "subsidy_owed": 58000}}
    assert (empty.lines, empty.totals) == ((), {})
    # money on the point's accounts that no redemption explains breaks the reconciliation, and says so
    stray = Transfer(Account(AccountKind.EXTERNAL, VES, scene.point_id),
                     Account(AccountKind.CO_PAYMENTS_COLLECTED, VES, scene.point_id), 5, TransferKind.CO_PAYMENT,
                     reference="till-difference")  # fmt: skip
    with scene.app.engine.begin() as connection:
        ledger_store.post(connection, [stray], by="admin:root", at=scene.app.clock.now())
    with scene.app.engine.connect() as connection:
        broken = settle(SqlSettlementStore(connection), "DP-1", "2026-11")
    assert not broken.reconciles
    assert "the redemptions add up to 2000, the ledger moved 2005" in broken.problems[0]


def test_a_device_redeems_only_at_its_own_point_and_not_once_revoked(scene: Scene) -> None:
    from canasta.adapters.crypto.signing import Ed25519Signer
    from canasta.adapters.db.device_store import OfflineLimits, register_device, revoke_device
    from canasta.domain.access import Actor, Role

    app = scene.app
    with app.engine.begin() as connection:
        device = register_device(
            connection, point_code="DP-1", name="kiosk-1", public_key=Ed25519Signer.generate().public_key,
            limits=OfflineLimits(), ids=app.new_ids(3), by="admin:root", at=app.clock.now(),
        )  # fmt: skip
    with app.engine.connect() as connection:
        from canasta.adapters.db.users import authenticate_token

        kiosk = authenticate_token(connection, device.token, at=app.clock.now())
    assert (kiosk.role, kiosk.area_codes) == (Role.DISTRIBUTION_OPERATOR, ("VE-01-01-01",))
    assert redeem(scene, kiosk, **body(scene))["document"]["point"] == "DP-1"
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, Actor(kiosk.user_id, kiosk.name, kiosk.role), **body(scene, point="DP-2"))
    assert refused.value.code == "wrong_point"
    with app.engine.begin() as connection:
        revoke_device(connection, "kiosk-1", reason="stolen", by="admin:root", at=app.clock.now())
    with pytest.raises(RedemptionRefusedError) as revoked:
        redeem(scene, kiosk, **body(scene))
    assert revoked.value.code == "device_revoked"
    with app.engine.connect() as connection:
        from canasta.adapters.db.users import authenticate_token
        from canasta.domain.errors import AuthenticationError

        with pytest.raises(AuthenticationError):
            authenticate_token(connection, device.token, at=app.clock.now())


def test_closing_the_cycle_gives_back_what_was_not_collected(scene: Scene) -> None:
    from canasta.services import cycles as cycle_cases
    from tests.redemption_scene import APPROVER

    redeem(scene, **body(scene, units=1))
    with scene.app.engine.begin() as connection:
        assert cycle_cases.close_cycle(scene.app.eligibility(connection), APPROVER, scene.cycle_id) == 1
    entitlement = Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BENEFIT, scene.entitlement_id)
    assert balance(scene, entitlement) == 0
    with scene.app.engine.connect() as connection:
        kinds = sorted(connection.execute(select(ledger_transfers.c.kind).where(
            ledger_transfers.c.reference == f"cycle:{scene.cycle_id}")).scalars())  # fmt: skip
    assert kinds == ["grant", "lapse"]
    with pytest.raises(RedemptionRefusedError) as refused:
        redeem(scene, **body(scene, units=1))
    assert refused.value.code == "no_entitlement"  # lapsed with its cycle
    # closing again is refused, and lapses nothing twice
    with scene.app.engine.begin() as connection, pytest.raises(ConflictError):
        cycle_cases.close_cycle(scene.app.eligibility(connection), APPROVER, scene.cycle_id)


def test_an_assisted_reason_naming_a_prohibited_category_is_refused_and_nothing_stored(scene: Scene) -> None:
    from canasta.domain.errors import ProhibitedCategoryError

    request = {**body(scene), "household": scene.reference, "reason": "no card; votó por el partido"}
    del request["card"]
    with pytest.raises(ProhibitedCategoryError) as refused:
        redeem(scene, **request)
    assert refused.value.code == "prohibited_category"
    assert "political" in refused.value.fields["category"]
    assert count(scene.app, redemptions) == 0
