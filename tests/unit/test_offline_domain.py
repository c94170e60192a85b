"""The pure rules of offline redemption: the record's canonical form and hash chain, the order a received record is
sorted in, the device's limits, the bundle's form, and what suspense posts and clears."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canasta.domain.errors import ConflictError, ValidationError
from canasta.domain.ledger import Account, AccountKind, PostedTransfer, Transfer, benefit_asset
from canasta.domain.offline import (
    GENESIS,
    ZERO_HASH,
    Bundle,
    ChainHead,
    Lease,
    LimitRefusal,
    OfflineLimits,
    OfflineRecord,
    RecordClass,
    canonical_bytes,
    check_limits,
    digest,
    screen,
)
from canasta.domain.programmes import BasketLine
from canasta.domain.redemption import EntitlementDue
from canasta.domain.suspense import check_resolution, plan_suspense, plan_write_off

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DEVICE = UUID("0a6cbeef-0000-4000-8000-00000000000f")

records = st.builds(
    OfflineRecord,
    device_id=st.uuids(),
    counter=st.integers(1, 2**53),
    prev_hash=st.binary(min_size=32, max_size=32).map(bytes.hex),
    redemption_id=st.uuids(),
    entitlement_id=st.uuids(),
    units=st.integers(1, 1_000_000),
    at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)).map(
        lambda at: at.replace(microsecond=0)
    ),
    card_number=st.text("0123456789", min_size=16, max_size=16),
)


def record(counter: int = 1, prev_hash: str = ZERO_HASH, **changes: object) -> OfflineRecord:
    base = OfflineRecord(DEVICE, counter, prev_hash, UUID(int=counter), UUID(int=99), 1, AT, card_number="1" * 16)
    return replace(base, **changes)  # type: ignore[arg-type]


@given(records)
def test_a_record_reads_back_from_its_document_and_hashes_its_canonical_bytes(original: OfflineRecord) -> None:
    document = original.to_document()
    assert OfflineRecord.from_document(document) == original
    assert original.digest() == digest(document)
    assert len(original.digest()) == 64
    assert canonical_bytes(document) == canonical_bytes(dict(reversed(list(document.items()))))


@given(records, st.sampled_from(["units", "counter", "prev_hash", "at", "card_number"]))
def test_changing_any_field_changes_the_hash(original: OfflineRecord, name: str) -> None:
    changed = {
        "units": original.units % 1_000_000 + 1, "counter": original.counter % 2**53 + 1,
        "prev_hash": ("1" if original.prev_hash[0] == "0" else "0") + original.prev_hash[1:],
        "at": original.at + timedelta(seconds=1),
        "card_number": "9" * 16 if original.card_number != "9" * 16 else "1" * 16,
    }[name]  # fmt: skip
    assert replace(original, **{name: changed}).digest() != original.digest()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"units": True}, "units"),  # a boolean is not a number, even where True == 1
        ({"units": 0}, "units"),
        ({"counter": 0}, "counter"),
        ({"device_id": str(DEVICE).upper()}, "device_id"),
        ({"prev_hash": "AB" * 32}, "prev_hash"),
        ({"at": "2026-11-29T12:00:00+00:00"}, "at"),
        ({"card_number": None}, "card_number"),
        ({"household": "H1"}, "card_number"),
        ({"card_number": None, "household": "H1"}, "reason"),
        ({"v": 2}, "v"),
        ({"extra": 1}, "record"),
    ],
)
def test_a_record_not_in_canonical_form_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        OfflineRecord.from_document({**record().to_document(), **change})
    assert refused.value.field == field


def screened(candidate: OfflineRecord, head: ChainHead = GENESIS, **given: object) -> RecordClass | None:
    options: dict[str, object] = {"device_id": DEVICE, "is_signature_valid": True, "head": head, "revoked_at": None,
                                  "is_redemption_id_used": False}  # fmt: skip
    finding = screen(candidate, **{**options, **given})  # type: ignore[arg-type]
    return finding.kind if finding is not None else None


def test_a_record_is_sorted_by_signature_then_chain_then_revocation_then_redemption_id() -> None:
    first = record(1)
    head = ChainHead(1, first.digest())
    assert screened(first) is None
    assert screened(record(2, first.digest()), head) is None
    assert screened(first, is_signature_valid=False, is_redemption_id_used=True) is RecordClass.FOREIGN_SIGNATURE
    assert screened(first, device_id=UUID(int=8)) is RecordClass.FOREIGN_SIGNATURE
    assert screened(record(1, units=2), head) is RecordClass.EDIT  # its place holds another record
    assert screened(record(2, ZERO_HASH), head) is RecordClass.EDIT  # it follows another record 1 than the chain's
    assert screened(record(3, "ab" * 32), head, is_redemption_id_used=True) is RecordClass.GAP
    revoked = {"revoked_at": AT - timedelta(seconds=1)}
    assert screened(first, **revoked, is_redemption_id_used=True) is RecordClass.REVOKED_DEVICE
    assert screened(first, revoked_at=AT) is None  # made at the moment of revocation: still the device's
    assert screened(first, is_redemption_id_used=True) is RecordClass.REPLAY


def test_limits_count_hours_redemptions_and_value_since_the_sync() -> None:
    limits = OfflineLimits(hours=72, count=2, value=60_000)
    fits = {"synced_at": AT, "now": AT + timedelta(hours=72), "count": 1, "value": 30_000, "adding": 30_000}
    assert check_limits(limits, **fits) is None  # type: ignore[arg-type]
    assert check_limits(limits, **{**fits, "now": AT + timedelta(hours=72, seconds=1)}) is LimitRefusal.SYNC_TOO_OLD  # type: ignore[arg-type]
    assert check_limits(limits, **{**fits, "now": AT - timedelta(seconds=1)}) is LimitRefusal.SYNC_TOO_OLD  # type: ignore[arg-type]
    assert check_limits(limits, **{**fits, "count": 2}) is LimitRefusal.TOO_MANY  # type: ignore[arg-type]
    assert check_limits(limits, **{**fits, "adding": 30_001}) is LimitRefusal.TOO_MUCH_VALUE  # type: ignore[arg-type]


def test_a_bundle_reads_back_from_its_document() -> None:
    lease = Lease(uuid4(), "H1", ("1" * 16,), "canasta-ninos", 2, 30000, 1000, "VES",
                  (BasketLine("rice", 2000, "g"),), date(2026, 11, 1), None)  # fmt: skip
    bundle = Bundle("DP-1", "kiosk-1", DEVICE, AT, OfflineLimits(72, 500, 10**7), ChainHead(3, "ab" * 32), (lease,),
                    b"\x01trust", b"\x02revoked")  # fmt: skip
    document = bundle.to_document()
    assert document["valid_until"] == "2026-12-02T12:00:00Z"
    assert Bundle.from_document(document) == bundle
    assert lease.is_valid_on(date(2030, 1, 1))
    assert not lease.is_valid_on(date(2026, 10, 31))
    with pytest.raises(ValidationError):
        Bundle.from_document({**document, "leases": [{"entitlement_id": "x"}]})


DUE = EntitlementDue(UUID(int=1), UUID(int=2), "canasta-ninos", "VES", 30000, 1000,
                     (BasketLine("rice", 2000, "g"), BasketLine("milk", 1, "l")))  # fmt: skip
POINT = UUID(int=3)


def nets(transfers: list[Transfer]) -> dict[tuple[AccountKind, str], int]:
    totals: dict[tuple[AccountKind, str], int] = defaultdict(int)
    for transfer in transfers:
        totals[(transfer.credit.kind, transfer.asset)] += transfer.amount
        totals[(transfer.debit.kind, transfer.asset)] -= transfer.amount
    return {key: value for key, value in totals.items() if value}


def posted(transfers: list[Transfer]) -> list[PostedTransfer]:
    return [PostedTransfer(uuid4(), t.debit, t.credit, t.amount, t.kind, t.reference, t.reason, None, AT, "test")
            for t in transfers]  # fmt: skip


@given(st.integers(1, 50), st.integers(0, 60), st.integers(0, 200_000))
def test_suspense_parks_what_was_handed_out_and_a_write_off_brings_it_back_to_zero(
    units: int, entitlement_held: int, rice_held: int
) -> None:
    parked = plan_suspense(DUE, units=units, point_id=POINT, reference="case:x", reason="conflict",
                           entitlement_held=entitlement_held, stock_held={"commodity:rice-g": rice_held})  # fmt: skip
    moved = nets(parked)
    taken = min(entitlement_held, units)
    assert moved.get((AccountKind.HOUSEHOLD_ENTITLEMENT, benefit_asset("canasta-ninos")), 0) == -taken
    assert moved.get((AccountKind.SUSPENSE, benefit_asset("canasta-ninos")), 0) == taken - units
    assert moved[(AccountKind.SUSPENSE, "commodity:rice-g")] == 2000 * units  # all the goods, from wherever
    assert moved.get((AccountKind.POINT_STOCK, "commodity:rice-g"), 0) == -min(rice_held, 2000 * units)
    assert moved[(AccountKind.SUSPENSE, "money:VES")] == 1000 * units
    assert all(account.kind is not AccountKind.SUBSIDY_OWED for t in parked for account in (t.debit, t.credit))
    cleared = plan_write_off(posted(parked), reference="case:x", reason="written off")
    suspense_after = nets(parked + cleared)
    assert not any(kind is AccountKind.SUSPENSE for kind, _ in suspense_after)


def test_an_officer_resolves_an_open_case_once_with_a_reason() -> None:
    assert check_resolution("open", "write_off", "handed out").value == "write_off"
    with pytest.raises(ValidationError):
        check_resolution("open", "filled", "only the server fills gaps")
    with pytest.raises(ValidationError):
        check_resolution("open", "dismiss", "")
    with pytest.raises(ConflictError):
        check_resolution("resolved", "dismiss", "again")
    assert Account(AccountKind.SUSPENSE, "money:VES", POINT).is_stored  # suspense keeps a stored balance
