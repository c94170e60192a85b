"""Redemption storage on one connection (the request's unit of work): points, devices, cards, entitlements due,
the redemption record that claims a client id, refused attempts, and the ledger postings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, Connection, Uuid, and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from canasta.adapters.db import ledger_store
from canasta.adapters.db.card_tables import cards
from canasta.adapters.db.driver import Prebuilt, execute, fetch_all, fetch_one
from canasta.adapters.db.eligibility_tables import cycles, distribution_points, entitlements, programmes
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances
from canasta.adapters.db.redemption_tables import devices, redemption_failures, redemptions
from canasta.adapters.db.tables import households
from canasta.domain.ledger import Account, AccountKind, Transfer, benefit_asset

__all__ = ["SqlRedemptionStore"]

Row = dict[str, Any]


def _one(connection: Connection, query: Any, values: Mapping[str, Any] | None = None) -> Row | None:
    row = connection.execute(query, values).mappings().first()
    return dict(row) if row is not None else None


# The statements of every redemption are built once, with bound parameters: building a statement costs more
# Python time than SQLAlchemy's cache of compiled SQL saves, and these run for every redemption in the country.
def _context_statement() -> Any:
    point, device, card = distribution_points.c, devices.c, cards.c
    holder = households.c
    wanted = {
        "earlier_fingerprint": select(redemptions.c.fingerprint).where(redemptions.c.id == bindparam("redemption_id")),
        **{
            f"point_{name}": select(point[name]).where(point.code == bindparam("point_code"))
            for name in ("id", "code", "area_code", "status")
        },
        **{
            f"device_{name}": select(device[name]).where(device.user_id == bindparam("user_id"))
            for name in ("id", "point_id", "status", "name")
        },
        **{
            f"card_{name}": select(card[name]).where(card.card_number == bindparam("card_number"))
            for name in ("state", "household_id")
        },
        "card_household_status": select(holder.status)
        .join(cards, cards.c.household_id == holder.id)
        .where(card.card_number == bindparam("card_number")),
    }
    return select(*(inner.scalar_subquery().label(label) for label, inner in wanted.items()))


_CONTEXT = Prebuilt(_context_statement())
_CLAIM_COLUMNS = [column.name for column in redemptions.c]
_CLAIM = Prebuilt(sqlite.insert(redemptions).on_conflict_do_nothing(index_elements=["id"]), _CLAIM_COLUMNS)


def _claim_and_mark_statement() -> Any:
    """PostgreSQL: the claim and the entitlements it uses up in one statement; (claimed, marked) counts."""
    claimed = (
        postgresql.insert(redemptions)
        .values({name: bindparam(name, type_=redemptions.c[name].type) for name in _CLAIM_COLUMNS})
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(redemptions.c.id)
        .cte("claimed")
    )
    marked = (
        update(entitlements)
        .where(
            entitlements.c.id == func.any(bindparam("spent", type_=ARRAY(Uuid()))),
            entitlements.c.state.in_(("open", "carried_over")),
            select(claimed.c.id).exists(),
        )
        .values(state="redeemed")
        .returning(entitlements.c.id)
        .cte("marked")
    )
    return select(
        select(func.count()).select_from(claimed).scalar_subquery().label("claimed"),
        select(func.count()).select_from(marked).scalar_subquery().label("marked"),
    )


_CLAIM_AND_MARK = Prebuilt(_claim_and_mark_statement())
_ENTITLEMENT_ACCOUNT = ledger_accounts.alias("entitlement_account")
_ENTITLEMENTS_DUE = Prebuilt(
    select(
        entitlements,
        programmes.c.code.label("programme_code"),
        cycles.c.state.label("cycle_state"),
        cycles.c.programme_document,
        func.coalesce(ledger_balances.c.balance, 0).label("held"),
        _ENTITLEMENT_ACCOUNT.c.id.label("ledger_account_id"),
    )
    .join(programmes, programmes.c.id == entitlements.c.programme_id)
    .join(cycles, cycles.c.id == entitlements.c.cycle_id)
    .outerjoin(
        _ENTITLEMENT_ACCOUNT,
        and_(
            _ENTITLEMENT_ACCOUNT.c.owner_id == entitlements.c.id,
            _ENTITLEMENT_ACCOUNT.c.kind == AccountKind.HOUSEHOLD_ENTITLEMENT.value,
            _ENTITLEMENT_ACCOUNT.c.asset == bindparam("asset"),
        ),
    )
    .outerjoin(ledger_balances, ledger_balances.c.account_id == _ENTITLEMENT_ACCOUNT.c.id)
    .where(
        entitlements.c.household_id == bindparam("household_id"),
        programmes.c.code == bindparam("programme_code"),
        entitlements.c.state.in_(("open", "carried_over", "redeemed")),
    )
    .order_by(entitlements.c.valid_from, entitlements.c.id)
)
_MARK_REDEEMED = Prebuilt(
    update(entitlements)
    .where(entitlements.c.id == bindparam("entitlement_id"), entitlements.c.state.in_(("open", "carried_over")))
    .values(state="redeemed")
)


class SqlRedemptionStore:
    """The redemption use cases' storage; every method runs in the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def context(self, redemption_id: UUID, point_code: str, user_id: UUID, card_number: str | None = None) -> Row:
        """In one round trip: the fingerprint of an earlier redemption with this id (``earlier_fingerprint``), the
        point with that code (``point_id``, ``point_code``, ``point_area_code``, ``point_status``), the caller's
        device if it is one (``device_id``, ``device_point_id``, ``device_status``, ``device_name``) and the card
        with ``card_number`` (``card_state``, ``card_household_id``, ``card_household_status``); None where there
        is nothing."""
        values = {
            "redemption_id": redemption_id, "point_code": point_code, "user_id": user_id, "card_number": card_number,
        }  # fmt: skip
        found = fetch_one(self.connection, _CONTEXT, values)
        assert found is not None  # one row of scalar sub-queries, always
        return found

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
        asset = benefit_asset(programme_code)
        values = {"household_id": household_id, "programme_code": programme_code, "asset": asset}
        rows = fetch_all(self.connection, _ENTITLEMENTS_DUE, values)
        ledger_store.note_accounts(
            self.connection,
            {
                Account(AccountKind.HOUSEHOLD_ENTITLEMENT, asset, row["id"]): row["ledger_account_id"]
                for row in rows
                if row["ledger_account_id"] is not None
            },
        )
        return rows

    def claim(self, values: Mapping[str, Any], spent: Sequence[UUID] = ()) -> bool:
        """Insert the redemption record unless its id exists; False when it does. When it was inserted, the
        entitlements ``spent`` (used up by this redemption, if its posting goes through; otherwise the caller rolls
        back) are marked redeemed. On PostgreSQL both are one statement, and a concurrent claim of the same id
        waits here until the other transaction ends, then sees its outcome."""
        if self.connection.dialect.name == "postgresql":
            found = fetch_one(self.connection, _CLAIM_AND_MARK, {**values, "spent": list(spent)})
            return found is not None and found["claimed"] == 1
        if execute(self.connection, _CLAIM, values) != 1:
            return False
        for entitlement_id in spent:
            self.mark_redeemed(entitlement_id)
        return True

    def redemption(self, redemption_id: UUID) -> Row | None:
        return _one(self.connection, select(redemptions).where(redemptions.c.id == redemption_id))

    def post(self, transfers: Sequence[Transfer], *, by: str, at: datetime) -> list[UUID]:
        return ledger_store.post(self.connection, transfers, by=by, at=at)

    def mark_redeemed(self, entitlement_id: UUID) -> None:
        execute(self.connection, _MARK_REDEEMED, {"entitlement_id": entitlement_id})

    def insert_failure(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(redemption_failures.insert().values(**values))
