"""Redemption storage on one connection (the request's unit of work): points, devices, cards, entitlements due,
the redemption record that claims a client id, refused attempts, and the ledger postings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, select, update

from canasta.adapters.db import ledger_store
from canasta.adapters.db.card_tables import cards
from canasta.adapters.db.eligibility_tables import cycles, distribution_points, entitlements, programmes
from canasta.adapters.db.ledger_grants import insert_new
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances
from canasta.adapters.db.redemption_tables import devices, redemption_failures, redemptions
from canasta.adapters.db.tables import households
from canasta.domain.ledger import AccountKind, Transfer, benefit_asset

__all__ = ["SqlRedemptionStore"]

Row = dict[str, Any]


def _one(connection: Connection, query: Any) -> Row | None:
    row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


class SqlRedemptionStore:
    """The redemption use cases' storage; every method runs in the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def context(self, redemption_id: UUID, point_code: str, user_id: UUID) -> Row:
        """In one round trip: the fingerprint of an earlier redemption with this id (``earlier_fingerprint``), the
        point with that code (``point_id``, ``point_code``, ``point_area_code``, ``point_status``) and the caller's
        device if it is one (``device_id``, ``device_point_id``, ``device_status``, ``device_name``); None where
        there is nothing."""
        point = distribution_points.c
        device = devices.c
        wanted = {
            "earlier_fingerprint": select(redemptions.c.fingerprint).where(redemptions.c.id == redemption_id),
            **{
                f"point_{name}": select(point[name]).where(point.code == point_code)
                for name in ("id", "code", "area_code", "status")
            },
            **{
                f"device_{name}": select(device[name]).where(device.user_id == user_id)
                for name in ("id", "point_id", "status", "name")
            },
        }
        query = select(*(inner.scalar_subquery().label(label) for label, inner in wanted.items()))
        return dict(self.connection.execute(query).mappings().one())

    def card_holder(self, number: str) -> Row | None:
        """The card with that number and its household's status (``household_status``)."""
        query = (
            select(
                cards.c.card_number, cards.c.state, cards.c.household_id, households.c.status.label("household_status")
            )
            .join(households, households.c.id == cards.c.household_id)
            .where(cards.c.card_number == number)
        )
        return _one(self.connection, query)

    def household_by_reference(self, reference: str) -> Row | None:
        return _one(
            self.connection,
            select(households.c.id, households.c.area_code, households.c.status).where(
                households.c.reference == reference
            ),
        )

    def entitlements_due(self, household_id: UUID, programme_code: str) -> list[Row]:
        """The household's entitlements of the programme that are open, carried over or redeemed (to say "nothing
        left" rather than "none"), oldest first, each with its cycle's state, its programme as the cycle pinned it,
        and what its ledger account holds (``held``; 0 when it was never granted)."""
        account = ledger_accounts.alias("entitlement_account")
        query = (
            select(
                entitlements,
                programmes.c.code.label("programme_code"),
                cycles.c.state.label("cycle_state"),
                cycles.c.programme_document,
                func.coalesce(ledger_balances.c.balance, 0).label("held"),
            )
            .join(programmes, programmes.c.id == entitlements.c.programme_id)
            .join(cycles, cycles.c.id == entitlements.c.cycle_id)
            .outerjoin(
                account,
                and_(
                    account.c.owner_id == entitlements.c.id,
                    account.c.kind == AccountKind.HOUSEHOLD_ENTITLEMENT.value,
                    account.c.asset == benefit_asset(programme_code),
                ),
            )
            .outerjoin(ledger_balances, ledger_balances.c.account_id == account.c.id)
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

    def post(self, transfers: Sequence[Transfer], *, by: str, at: datetime) -> list[UUID]:
        return ledger_store.post(self.connection, transfers, by=by, at=at)

    def mark_redeemed(self, entitlement_id: UUID) -> None:
        self.connection.execute(
            update(entitlements)
            .where(entitlements.c.id == entitlement_id, entitlements.c.state.in_(("open", "carried_over")))
            .values(state="redeemed")
        )

    def insert_failure(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(redemption_failures.insert().values(**values))
