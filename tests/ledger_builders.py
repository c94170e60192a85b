"""Builders for ledger tests: accounts and transfers that read like the flows they stand for, and a cycle's rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Connection, Engine, insert

from canasta.adapters.db.eligibility_tables import cycles, entitlements, programmes
from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.schema import upgrade_schema
from canasta.domain.ledger import Account, AccountKind, Transfer, TransferKind
from tests.factories import NOW

BY = "tester"


@contextmanager
def ledger_engine(database_url: str, **options: Any) -> Iterator[Engine]:
    """An engine on ``database_url`` with the schema migrated to the latest revision."""
    engine = make_engine(database_url, **options)
    upgrade_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def subsidy(programme: UUID, asset: str) -> Account:
    return Account(AccountKind.PROGRAMME_SUBSIDY, asset, programme)


def entitlement(entitlement_id: UUID, asset: str) -> Account:
    return Account(AccountKind.HOUSEHOLD_ENTITLEMENT, asset, entitlement_id)


def stock(point: UUID, asset: str) -> Account:
    return Account(AccountKind.POINT_STOCK, asset, point)


def outside(owner: UUID, asset: str) -> Account:
    return Account(AccountKind.EXTERNAL, asset, owner)


def co_payments(point: UUID, asset: str) -> Account:
    return Account(AccountKind.CO_PAYMENTS_COLLECTED, asset, point)


def subsidy_owed(point: UUID, asset: str) -> Account:
    return Account(AccountKind.SUBSIDY_OWED, asset, point)


def grant(programme: UUID, entitlement_id: UUID, asset: str, units: int, reference: str = "cycle:1") -> Transfer:
    return Transfer(subsidy(programme, asset), entitlement(entitlement_id, asset), units, TransferKind.GRANT, reference)


def redeem(point: UUID, entitlement_id: UUID, asset: str, units: int, reference: str) -> Transfer:
    """``units`` of an entitlement handed out at distribution point ``point``."""
    return Transfer(entitlement(entitlement_id, asset), outside(point, asset), units, TransferKind.REDEEM, reference)


def deliver(point: UUID, asset: str, quantity: int, reference: str = "delivery-note-1") -> Transfer:
    return Transfer(outside(point, asset), stock(point, asset), quantity, TransferKind.DELIVERY, reference)


def hand_out(point: UUID, asset: str, quantity: int, reference: str) -> Transfer:
    return Transfer(stock(point, asset), outside(point, asset), quantity, TransferKind.REDEEM, reference)


def seed_cycle(connection: Connection, *, code: str, units: list[int]) -> tuple[UUID, UUID, list[UUID]]:
    """A programme, one of its cycles and one entitlement per entry of ``units``: (programme, cycle, entitlements).

    Only the columns the ledger reads matter; the rest are plausible values.
    """
    programme_id, cycle_id = uuid4(), uuid4()
    connection.execute(
        insert(programmes).values(
            id=programme_id, code=code, name=code, kind="in_kind", document={}, version=1, status="active",
            created_at=NOW, created_by=BY, updated_at=NOW, updated_by=BY,
        )
    )  # fmt: skip
    add_cycle(connection, programme_id, cycle_id, number=1)
    entitlement_ids = add_entitlements(connection, programme_id, cycle_id, units)
    return programme_id, cycle_id, entitlement_ids


def add_cycle(connection: Connection, programme_id: UUID, cycle_id: UUID, *, number: int) -> UUID:
    connection.execute(
        insert(cycles).values(
            id=cycle_id, programme_id=programme_id, number=number, period_start=date(2026, 12, 1),
            period_end=date(2026, 12, 31), state="distributing", programme_document={}, author=BY, version=1,
            created_at=NOW, updated_at=NOW,
        )
    )  # fmt: skip
    return cycle_id


def add_entitlements(connection: Connection, programme_id: UUID, cycle_id: UUID, units: list[int]) -> list[UUID]:
    ids = [uuid4() for _ in units]
    if ids:
        connection.execute(
            insert(entitlements),
            [
                {"id": entitlement_id, "programme_id": programme_id, "cycle_id": cycle_id, "household_id": uuid4(),
                 "decision_id": uuid4(), "units": count, "unit_value": 30000, "co_payment": 1000, "currency": "VES",
                 "valid_from": date(2026, 12, 1), "valid_until": date(2026, 12, 31), "home_point_id": None,
                 "state": "open", "created_at": NOW}
                for entitlement_id, count in zip(ids, units, strict=True)
            ],
        )  # fmt: skip
    return ids
