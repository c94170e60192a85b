"""Settling suspense cases on SQLite and PostgreSQL: a write-off clears what a conflict parked, a dismissal reverses
it, each once, with a reason, and the ledger holds throughout."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest

from canasta.adapters.db.ledger_tables import ledger_transfers
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.ledger import Account, AccountKind, benefit_asset
from canasta.domain.suspense import case_reference
from canasta.services.offline import list_cases, resolve_case
from tests.factories import make_canasta
from tests.offline_scene import Kit, assert_ledger_holds, count, register
from tests.redemption_scene import ADMIN, MILK, RICE, Scene, balance, build, redeem

BENEFIT = benefit_asset("canasta-ninos")


@pytest.fixture
def scene(database_url: str) -> Iterator[Scene]:
    app = make_canasta(database_url)
    yield build(app)
    assert_ledger_holds(app)
    app.close()


def conflict(scene: Scene) -> tuple[Kit, UUID]:
    """An online redemption of both units, then a device's offline record of one: a conflict case."""
    redeem(scene, redemption_id=str(uuid4()), point="DP-1", card=scene.card_text,
           items=[{"programme": "canasta-ninos", "units": 2}])  # fmt: skip
    kiosk = register(scene.app, "kiosk-1")
    [answer] = kiosk.upload(kiosk.signed(kiosk.next_record(scene.entitlement_id, card=scene.card_number)))["results"]
    assert answer["code"] == "conflict"
    return kiosk, UUID(answer["case_id"])


def held(scene: Scene) -> tuple[int, int, int]:
    """What the entitlement, and the point's rice and milk stock, hold."""
    entitlement = Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BENEFIT, scene.entitlement_id)
    rice, milk = (Account(AccountKind.POINT_STOCK, asset, scene.point_id) for asset in (RICE, MILK))
    return balance(scene, entitlement), balance(scene, rice), balance(scene, milk)


def test_a_write_off_clears_the_case_and_keeps_what_was_handed_out(scene: Scene) -> None:
    _, case_id = conflict(scene)
    before = held(scene)
    [case] = list_cases(scene.app.offline(), state="open")
    assert case["in_suspense"] == {BENEFIT: -1, RICE: 2000, MILK: 1, "money:VES": 1000}
    outcome = resolve_case(scene.app.offline(), ADMIN, case_id, resolution="write_off", reason="handed out in a storm")
    assert outcome == {"case_id": str(case_id), "resolution": "write_off", "transfers": 4}
    [settled] = list_cases(scene.app.offline(), state="resolved")
    assert (settled["in_suspense"], settled["resolved_by"], settled["resolution_reason"]) == (
        {}, "admin:root", "handed out in a storm"
    )  # fmt: skip
    assert held(scene) == before  # the goods stay handed out
    assert list_cases(scene.app.offline(), state="open") == []


def test_a_dismissal_reverses_everything_the_case_posted(scene: Scene) -> None:
    redeem(scene, redemption_id=str(uuid4()), point="DP-1", card=scene.card_text,
           items=[{"programme": "canasta-ninos", "units": 1}])  # fmt: skip
    before = held(scene)
    kiosk = register(scene.app, "kiosk-1")
    record = kiosk.next_record(scene.entitlement_id, card=scene.card_number, units=2)
    case_id = UUID(kiosk.upload(kiosk.signed(record))["results"][0]["case_id"])
    assert held(scene) == (0, before[1] - 4000, before[2] - 2)
    posted = count(scene.app, ledger_transfers, ledger_transfers.c.reference == case_reference(case_id))
    outcome = resolve_case(scene.app.offline(), ADMIN, case_id, resolution="dismiss", reason="nothing was handed out")
    assert outcome["transfers"] == posted
    assert held(scene) == before  # the household's last unit and the goods are back
    assert count(scene.app, ledger_transfers, ledger_transfers.c.reverses_id.is_not(None)) == posted
    [settled] = list_cases(scene.app.offline(), state="resolved")
    assert settled["in_suspense"] == {}


def test_a_case_is_settled_once_with_a_known_resolution_and_a_reason(scene: Scene) -> None:
    _, case_id = conflict(scene)
    offline = scene.app.offline()
    with pytest.raises(ValidationError) as unknown:
        resolve_case(offline, ADMIN, case_id, resolution="filled", reason="the server's own resolution")
    assert unknown.value.field == "resolution"
    with pytest.raises(ValidationError) as silent:
        resolve_case(offline, ADMIN, case_id, resolution="write_off", reason=" ")
    assert silent.value.field == "reason"
    with pytest.raises(NotFoundError):
        resolve_case(offline, ADMIN, uuid4(), resolution="dismiss", reason="no such case")
    resolve_case(offline, ADMIN, case_id, resolution="dismiss", reason="nothing was handed out")
    with pytest.raises(ConflictError) as again:
        resolve_case(offline, ADMIN, case_id, resolution="write_off", reason="changed my mind")
    assert again.value.code == "case_resolved"
    with pytest.raises(ValidationError):
        list_cases(offline, state="closed")
