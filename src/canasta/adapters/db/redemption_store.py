"""Redemption storage on one connection (the request's unit of work): points, devices, cards, entitlements due,
the redemption record that claims a client id, refused attempts, and the ledger postings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, select, update

from canasta.adapters.db import ledger_store
from canasta.adapters.db.card_tables import cards
from canasta.adapters.db.eligibility_tables import cycles, distribution_points, entitlements, programmes
from canasta.adapters.db.ledger_grants import insert_new
from canasta.adapters.db.redemption_tables import devices, redemption_failures, redemptions
from canasta.adapters.db.tables import households
from canasta.domain.ledger import Account, Transfer

__all__ = ["SqlRedemptionStore"]

Row = dict[str, Any]


def _one(connection: Connection, query: Any) -> Row | None:
    row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


class SqlRedemptionStore:
    """The redemption use cases' storage; every method runs in the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def point_by_code(self, code: str) -> Row | None:
        return _one(self.connection, select(distribution_points).where(distribution_points.c.code == code))

    def device_of_user(self, user_id: UUID) -> Row | None:
        return _one(self.connection, select(devices).where(devices.c.user_id == user_id))

    def card_by_number(self, number: str) -> Row | None:
        return _one(self.connection, select(cards).where(cards.c.card_number == number))

    def household_by_reference(self, reference: str) -> Row | None:
        return _one(
            self.connection,
            select(households.c.id, households.c.area_code, households.c.status).where(
                households.c.reference == reference
            ),
        )

    def household(self, household_id: UUID) -> Row | None:
        return _one(
            self.connection,
            select(households.c.id, households.c.area_code, households.c.status).where(households.c.id == household_id),
        )

    def entitlements_due(self, household_id: UUID, programme_code: str) -> list[Row]:
        """The household's entitlements of the programme that are open, carried over or redeemed (to say "nothing
        left" rather than "none"), oldest first, each with its cycle's state and its programme as the cycle
        pinned it."""
        query = (
            select(
                entitlements,
                programmes.c.code.label("programme_code"),
                cycles.c.state.label("cycle_state"),
                cycles.c.programme_document,
            )
            .join(programmes, programmes.c.id == entitlements.c.programme_id)
            .join(cycles, cycles.c.id == entitlements.c.cycle_id)
            .where(
                entitlements.c.household_id == household_id,
                programmes.c.code == programme_code,
                entitlements.c.state.in_(("open", "carried_over", "redeemed")),
            )
            .order_by(entitlements.c.valid_from, entitlements.c.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def claim(self, values: Mapping[str, Any]) -> bool:
        """Insert the redemption record unless its id exists; False when it does. On PostgreSQL a concurrent
        claim of the same id waits here until the other transaction ends, then sees its outcome."""
        statement = insert_new(self.connection, redemptions, ["id"]).values(**values)
        result = self.connection.execute(statement, execution_options={"preserve_rowcount": True})
        return int(result.rowcount) == 1

    def redemption(self, redemption_id: UUID) -> Row | None:
        return _one(self.connection, select(redemptions).where(redemptions.c.id == redemption_id))

    def set_receipt(self, redemption_id: UUID, receipt: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(redemptions).where(redemptions.c.id == redemption_id).values(receipt=dict(receipt))
        )

    def post(self, transfers: Sequence[Transfer], *, by: str, at: datetime) -> list[UUID]:
        return ledger_store.post(self.connection, transfers, by=by, at=at)

    def balances(self, accounts: Sequence[Account]) -> dict[Account, int]:
        return ledger_store.balances(self.connection, accounts)

    def mark_redeemed(self, entitlement_id: UUID) -> None:
        self.connection.execute(
            update(entitlements)
            .where(entitlements.c.id == entitlement_id, entitlements.c.state.in_(("open", "carried_over")))
            .values(state="redeemed")
        )

    def insert_failure(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(redemption_failures.insert().values(**values))

    def failures(self, *, household_id: UUID | None = None, since: datetime | None = None) -> list[Row]:
        conditions = []
        if household_id is not None:
            conditions.append(redemption_failures.c.household_id == household_id)
        if since is not None:
            conditions.append(redemption_failures.c.at >= since)
        query = select(redemption_failures).where(and_(*conditions)).order_by(redemption_failures.c.at)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def redemptions_of_point(self, point_id: UUID, start: date, end: date) -> list[Row]:
        query = (
            select(redemptions)
            .where(redemptions.c.point_id == point_id, redemptions.c.at >= start, redemptions.c.at < end)
            .order_by(redemptions.c.at, redemptions.c.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]
