"""The records a device uploads after redeeming offline: each sorted (:mod:`canasta.domain.offline`), stored once
and applied, held for a gap, or put in suspense with a case, in a transaction of its own.

An upload is idempotent: a record received before (body and signature) gets its stored answer and has no new
effect, so the same batch sent twice, or out of order, or in pieces, has one effect. An applied record is an
offline redemption like an online one: the same ledger transfers (``plan_transfers``), a ``redemptions`` row with
path ``offline`` and a receipt the server signs. A conflict posts what was handed out into the point's suspense
account (:func:`canasta.domain.suspense.plan_suspense`). Nothing received is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from canasta.domain.access import Actor, is_in_scope
from canasta.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from canasta.domain.ledger import Account, AccountKind, InsufficientBalanceError, benefit_asset
from canasta.domain.offline import (
    CHAINED,
    MAX_BATCH,
    MAX_RECORD_BYTES,
    Finding,
    OfflineRecord,
    RecordClass,
    RecordOutcome,
    canonical_bytes,
    digest,
    format_time,
    screen,
)
from canasta.domain.redemption import plan_transfers, stock_asset
from canasta.domain.suspense import CaseState, Resolution, case_reference, plan_suspense
from canasta.services.offline.ports import Offline, OfflineStore, OfflineUnit
from canasta.services.redemption import entitlement_due

__all__ = ["upload_records"]

Row = Mapping[str, Any]
SYSTEM = "system:offline-sync"
MAX_ATTEMPTS = 3
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Received:
    """One entry of an upload as it came: the body to store, its hash, and the record when it reads as one."""

    body: Any
    signature: str
    hash: str
    record: OfflineRecord | None
    problem: str | None

    @classmethod
    def read(cls, entry: object) -> _Received:
        if not isinstance(entry, Mapping):
            return cls({"malformed": "not an object"}, "", digest(repr(entry)[:200]), None, "not an object")
        body, signature = entry.get("record"), entry.get("signature")
        signature = signature if isinstance(signature, str) and len(signature) <= 128 else ""
        size = len(canonical_bytes(body))
        stored = body if size <= MAX_RECORD_BYTES else {"malformed": "too large", "bytes": size}
        try:
            return cls(stored, signature, digest(body), OfflineRecord.from_document(body), None)
        except ValidationError as error:
            return cls(stored, signature, digest(body), None, f"{error.field}: {error.detail}")


@dataclass(frozen=True, slots=True)
class _Decision:
    """Where a record ends: its outcome, class, place in the chain, redemption and case."""

    outcome: RecordOutcome
    kind: RecordClass
    is_chained: bool
    finding: Finding | None
    case_id: UUID | None


def upload_records(offline: Offline, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
    """Receive a batch of signed records for a device; the answer per record, in the order given.

    The caller is the device itself, or an operator naming the ``device`` (a device of a point in their areas):
    records of a revoked or broken device can be carried in by someone else, since their signatures speak for
    them. Raises :class:`ValidationError` for a batch that is not a list of 1 to ``MAX_BATCH`` entries,
    :class:`NotFoundError` for a device the caller may not upload for. See the module docstring.
    """
    entries = body.get("records")
    if not isinstance(entries, Sequence) or isinstance(entries, str) or not 0 < len(entries) <= MAX_BATCH:
        raise ValidationError(f"records must list 1 to {MAX_BATCH} signed records", field="records")
    with offline.transaction() as unit:
        device = _uploading_device(unit.store, actor, body.get("device"))
    received = [_Received.read(entry) for entry in entries]
    # Records in counter order, so that a batch shuffled on its way still applies in one pass; malformed last.
    order = sorted(range(len(received)), key=lambda i: (received[i].record is None, _counter(received[i]), i))
    answers: dict[int, tuple[UUID, bool]] = {}
    for index in order:
        answers[index] = _receive(offline, actor, device, received[index])
    _release_held(offline, device)
    with offline.transaction() as unit:
        rows = unit.store.records([record_id for record_id, _ in answers.values()])
        head = unit.store.chain_head(device["id"])
    return {
        "device": device["name"],
        "chain": head.to_document(),
        "results": [_answer(rows[answers[index][0]], is_duplicate=answers[index][1]) for index in range(len(received))],
    }


def _counter(item: _Received) -> int:
    return item.record.counter if item.record is not None else 0


def _answer(row: Row, *, is_duplicate: bool) -> dict[str, Any]:
    return {
        "counter": row["counter"], "hash": row["hash"], "status": row["outcome"],
        "code": RecordClass.DUPLICATE.value if is_duplicate else row["code"],
        "redemption_id": str(row["redemption_id"]) if row["outcome"] == RecordOutcome.APPLIED else None,
        "case_id": str(row["case_id"]) if row["outcome"] != RecordOutcome.APPLIED else None,
    }  # fmt: skip


def _uploading_device(store: OfflineStore, actor: Actor, name: object) -> Row:
    own = store.device_of_user(actor.user_id)
    if own is not None:
        if name is not None and name != own["name"]:
            raise PermissionDeniedError("a device uploads its own records; an operator names another device's")
        return own
    if not isinstance(name, str) or not name:
        raise ValidationError("name the device whose records these are", field="device")
    device = store.device_by_name(name)
    point = store.point(device["point_id"]) if device is not None else None
    if device is None or point is None or not is_in_scope(point["area_code"], actor.area_codes):
        raise NotFoundError("no device of that name in your areas", field="device")
    return device


class _RetryError(Exception):
    """A concurrent transaction changed what this one read (PostgreSQL): roll back and decide the record again."""


def _retrying(step: Callable[[], _T]) -> _T:
    """Run ``step`` (one transaction) again when a concurrent writer got in between its reads and its writes."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return step()
        except (_RetryError, InsufficientBalanceError):  # e.g. a redemption took the stock a suspense posting read
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _receive(offline: Offline, actor: Actor, device: Row, item: _Received) -> tuple[UUID, bool]:
    """Store and decide one received record in its own transaction; (its row id, whether it was a duplicate)."""

    def step() -> tuple[UUID, bool]:
        with offline.transaction() as unit:
            current = unit.store.lock_device(device["id"])
            existing = unit.store.received(device["id"], item.hash, item.signature)
            if existing is not None:
                return existing["id"], True
            record_id, now = offline.new_ids(1)[0], offline.clock.now()
            decision = _decide(offline, unit, current, item, record_id, now)
            unit.store.insert_record(
                {
                    "id": record_id, "device_id": device["id"], "counter": _counter(item) or None,
                    "prev_hash": item.record.prev_hash if item.record else None, "hash": item.hash,
                    "signature": item.signature, "body": item.body,
                    "redemption_id": item.record.redemption_id if item.record else None, "received_at": now,
                    "uploaded_by": actor.label[:64], **_columns(decision),
                }
            )  # fmt: skip
            _open_case(unit.store, current, record_id, decision, now)
            return record_id, False

    return _retrying(step)


def _release_held(offline: Offline, device: Row) -> None:
    """Decide, each in its own transaction, the held records the chain has now reached, lowest counter first."""

    def step() -> bool:
        with offline.transaction() as unit:
            current = unit.store.lock_device(device["id"])
            head = unit.store.chain_head(device["id"])
            ready = [row for row in unit.store.held(device["id"]) if row["counter"] <= head.counter + 1]
            if not ready:
                return False
            row, now = ready[0], offline.clock.now()
            item = _Received.read({"record": row["body"], "signature": row["signature"]})
            decision = _decide(offline, unit, current, item, row["id"], now)
            unit.store.update_record(row["id"], {**_columns(decision), "case_id": decision.case_id or row["case_id"]})
            gap_case = unit.store.case(row["case_id"])
            if gap_case is not None and gap_case["state"] == CaseState.OPEN:
                unit.store.resolve_case(
                    row["case_id"],
                    {"state": CaseState.RESOLVED.value, "resolved_at": now, "resolved_by": SYSTEM,
                     "resolution": Resolution.FILLED.value,
                     "resolution_reason": f"the chain reached record {row['counter']}"},
                )  # fmt: skip
            _open_case(unit.store, current, row["id"], decision, now)
            return True

    while _retrying(step):
        pass


def _columns(decision: _Decision) -> dict[str, Any]:
    return {"outcome": decision.outcome.value, "code": decision.kind.value, "is_chained": decision.is_chained,
            "case_id": decision.case_id}  # fmt: skip


def _open_case(store: OfflineStore, device: Row, record_id: UUID, decision: _Decision, now: datetime) -> None:
    if decision.case_id is None or decision.finding is None:
        return
    store.insert_case(
        {"id": decision.case_id, "kind": decision.kind.value, "device_id": device["id"], "record_id": record_id,
         "detail": decision.finding.detail[:500], "state": CaseState.OPEN.value, "created_at": now}
    )  # fmt: skip


def _decide(
    offline: Offline, unit: OfflineUnit, device: Row, item: _Received, record_id: UUID, now: datetime
) -> _Decision:
    """Sort the record and do what its class says (post it, park it, or nothing); the caller stores it."""
    store, record = unit.store, item.record
    if record is None:
        finding: Finding | None = Finding(RecordClass.MALFORMED, f"not a record: {item.problem}")
    else:
        finding = screen(
            record,
            device_id=device["id"],
            is_signature_valid=offline.verify(bytes(device["public_key"]), item.body, item.signature),
            head=store.chain_head(device["id"]),
            revoked_at=device["revoked_at"] if device["status"] == "revoked" else None,
            is_redemption_id_used=store.is_redemption_id_used(record.redemption_id, besides=record_id),
        )
        if finding is None:
            case_id = offline.new_ids(1)[0]
            finding = _apply(offline, unit, device, record, item.hash, case_id, now)
            if finding is None:
                return _Decision(RecordOutcome.APPLIED, RecordClass.APPLIED, True, None, None)
            return _Decision(RecordOutcome.SUSPENSE, finding.kind, True, finding, case_id)
    assert finding is not None
    outcome = RecordOutcome.HELD if finding.kind is RecordClass.GAP else RecordOutcome.SUSPENSE
    return _Decision(outcome, finding.kind, finding.kind in CHAINED, finding, offline.new_ids(1)[0])


def _apply(
    offline: Offline, unit: OfflineUnit, device: Row, record: OfflineRecord, hash_: str, case_id: UUID, now: datetime
) -> Finding | None:
    """Post ``record`` as an offline redemption; when the ledger cannot cover it, park it in suspense and return
    the conflict."""
    store = unit.store
    row = store.entitlement(record.entitlement_id)
    if row is None:
        return Finding(RecordClass.CONFLICT, f"no entitlement {record.entitlement_id}; nothing could be posted")
    due = entitlement_due(row)
    problems = []
    is_leased_here = row["home_point_id"] == device["point_id"]
    if not is_leased_here:
        problems.append("the entitlement is leased to another point")
    is_household = _names_household(store, record, row)
    if not is_household:
        problems.append("the card or reference is not of the entitlement's household")
    if not _is_redeemable_on(row, record):
        problems.append(f"made on {record.at.date()}, outside the entitlement's period")
    entitlement = Account(AccountKind.HOUSEHOLD_ENTITLEMENT, benefit_asset(due.programme_code), due.entitlement_id)
    held = store.balances([entitlement])[entitlement]
    if unit.record_access is not None:  # applied or parked in suspense, the household's entitlement is touched
        unit.record_access(row["household_id"])
    label = f"device:{device['name']}"[:64]
    if not problems:
        reference = str(record.redemption_id)
        try:
            store.post(plan_transfers(due, units=record.units, point_id=device["point_id"], reference=reference),
                       by=label, at=now)  # fmt: skip
        except InsufficientBalanceError as short:
            problems.append(
                f"the point's stock holds less {short.account.asset.removeprefix('commodity:')} than the basket needs"
                if short.account.kind is AccountKind.POINT_STOCK
                else f"{record.units} unit(s) handed out but the entitlement had {held} left"
            )
        else:
            _record_redemption(unit, device, record, row, hash_, held, label, now)
            return None
    stock = [Account(AccountKind.POINT_STOCK, stock_asset(line), device["point_id"]) for line in due.basket]
    stock_held = {account.asset: value for account, value in store.balances(stock).items()}
    reason = f"offline record {record.counter} of {device['name']}: {'; '.join(problems)}"
    store.post(
        plan_suspense(
            due, units=record.units, point_id=device["point_id"], reference=case_reference(case_id),
            reason=reason[:500], entitlement_held=held if is_leased_here and is_household else 0,
            stock_held=stock_held,
        ),
        by=label, at=now,
    )  # fmt: skip
    return Finding(RecordClass.CONFLICT, "; ".join(problems) + "; what was handed out is in suspense")


def _names_household(store: OfflineStore, record: OfflineRecord, row: Row) -> bool:
    if record.card_number is not None:
        card = store.card_by_number(record.card_number)
        return card is not None and bool(card["household_id"] == row["household_id"])
    return bool(record.household == row["household_reference"])


def _is_redeemable_on(row: Row, record: OfflineRecord) -> bool:
    day = record.at.date()
    if row["state"] == "lapsed" or row["cycle_state"] not in ("distributing", "closed"):
        return False
    return bool(row["valid_from"] <= day and (day <= row["valid_until"] or row["state"] == "carried_over"))


def _record_redemption(
    unit: OfflineUnit, device: Row, record: OfflineRecord, row: Row, hash_: str, held: int, label: str, now: datetime
) -> None:
    """The ``redemptions`` row of an applied record with its signed receipt (settlement reads both)."""
    store, due = unit.store, entitlement_due(row)
    point = store.point(device["point_id"])
    assert point is not None  # a device's point is a foreign key
    co_payment = due.co_payment * record.units
    receipt = {
        "redemption_id": str(record.redemption_id), "point": point["code"], "household_id": str(row["household_id"]),
        "card_number": record.card_number, "path": "offline", "device": device["name"], "counter": record.counter,
        "made_at": format_time(record.at), "at": now.isoformat(), "co_payments": {due.currency: co_payment},
        "items": [{
            "programme": due.programme_code, "entitlement_id": str(due.entitlement_id), "units": record.units,
            "remaining": held - record.units, "co_payment": co_payment, "currency": due.currency,
            "goods": [{"commodity": line.commodity, "quantity": line.quantity * record.units, "unit": line.unit}
                      for line in due.basket],
        }],
    }  # fmt: skip
    claimed = store.claim(
        {
            "id": record.redemption_id, "point_id": device["point_id"], "device_id": device["id"],
            "household_id": row["household_id"], "card_number": record.card_number, "path": "offline",
            "reason": record.reason, "fingerprint": hash_, "request": record.to_document(),
            "receipt": unit.sign(receipt), "at": now, "by": label,
        }
    )  # fmt: skip
    if not claimed:  # screened as unused in this transaction: only a concurrent online redemption gets here
        raise _RetryError("the redemption id was claimed meanwhile")
    if held == record.units:
        store.mark_redeemed(due.entitlement_id)
