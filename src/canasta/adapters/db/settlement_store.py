"""What a distribution point handed out in a period, and what the ledger says it collected and is owed.

Two independent readings that settlement holds against each other: the redemption records (with their receipts)
of the point, and the net movement of the point's co-payment and subsidy-owed accounts in the journal, per
redemption and in total.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, case, func, select

from canasta.adapters.db.eligibility_tables import distribution_points
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_transfers
from canasta.adapters.db.redemption_tables import redemptions
from canasta.domain.ledger import AccountKind

__all__ = ["SqlSettlementStore"]

SETTLED_KINDS = {"co_payment": AccountKind.CO_PAYMENTS_COLLECTED, "subsidy_owed": AccountKind.SUBSIDY_OWED}


class SqlSettlementStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def point_by_code(self, code: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(distribution_points).where(distribution_points.c.code == code)
        ).mappings().first()  # fmt: skip
        return dict(row) if row is not None else None

    def redemptions(self, point_id: UUID, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The point's redemptions in ``[start, end)``, oldest first, each with its receipt."""
        query = (
            select(redemptions.c.id, redemptions.c.at, redemptions.c.path, redemptions.c.receipt)
            .where(redemptions.c.point_id == point_id, redemptions.c.at >= start, redemptions.c.at < end)
            .order_by(redemptions.c.at, redemptions.c.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def ledger_movements(self, point_id: UUID, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Net credits to the point's co-payment and subsidy-owed accounts in ``[start, end)``, per account kind,
        asset and transfer reference (a redemption id, or what else caused them)."""
        accounts = (
            select(ledger_accounts.c.id, ledger_accounts.c.kind, ledger_accounts.c.asset)
            .where(
                ledger_accounts.c.owner_id == point_id,
                ledger_accounts.c.kind.in_([kind.value for kind in SETTLED_KINDS.values()]),
            )
            .subquery("settled")
        )
        signed = case(
            (ledger_transfers.c.credit_account_id == accounts.c.id, ledger_transfers.c.amount),
            else_=-ledger_transfers.c.amount,
        )
        query = (
            select(accounts.c.kind, accounts.c.asset, ledger_transfers.c.reference, func.sum(signed).label("net"))
            .select_from(accounts)
            .join(
                ledger_transfers,
                and_(
                    (ledger_transfers.c.credit_account_id == accounts.c.id)
                    | (ledger_transfers.c.debit_account_id == accounts.c.id),
                    ledger_transfers.c.at >= start,
                    ledger_transfers.c.at < end,
                ),
            )
            .group_by(accounts.c.kind, accounts.c.asset, ledger_transfers.c.reference)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]
