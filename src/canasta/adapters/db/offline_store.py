"""Offline redemption storage on one connection (a unit of work): devices and their chains, received records,
the leases a bundle carries, suspense cases, and the redemption and ledger writes shared with online redemption.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, exists, or_, select, update

from canasta.adapters.db import ledger_store
from canasta.adapters.db.card_tables import cards
from canasta.adapters.db.eligibility_tables import cycles, distribution_points, entitlements, programmes
from canasta.adapters.db.ledger_grants import insert_new
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.adapters.db.offline_tables import offline_records, suspense_cases
from canasta.adapters.db.redemption_tables import devices, redemptions
from canasta.adapters.db.tables import households
from canasta.domain.ledger import Account, AccountKind, PostedTransfer, Transfer
from canasta.domain.offline import GENESIS, ChainHead

__all__ = ["SqlOfflineStore"]

Row = dict[str, Any]


class SqlOfflineStore:
    """The offline use cases' storage; every method runs in the caller's transaction. An applied record is written
    as online redemptions are (a ``redemptions`` row, the same ledger postings), so settlement reads both alike."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _one(self, query: Any) -> Row | None:
        row = self.connection.execute(query).mappings().first()
        return dict(row) if row is not None else None

    # --- devices and their chains ------------------------------------------------------------------------------

    def device_of_user(self, user_id: UUID) -> Row | None:
        return self._one(select(devices).where(devices.c.user_id == user_id))

    def device_by_name(self, name: str) -> Row | None:
        return self._one(select(devices).where(devices.c.name == name))

    def lock_device(self, device_id: UUID) -> Row:
        """The device's row, locked until the transaction ends: one record of a device is decided at a time."""
        row = self._one(select(devices).where(devices.c.id == device_id).with_for_update())
        if row is None:
            raise LookupError(f"device {device_id} vanished")
        return row

    def point(self, point_id: UUID) -> Row | None:
        return self._one(select(distribution_points).where(distribution_points.c.id == point_id))

    def chain_head(self, device_id: UUID) -> ChainHead:
        row = self.connection.execute(
            select(offline_records.c.counter, offline_records.c.hash)
            .where(offline_records.c.device_id == device_id, offline_records.c.is_chained)
            .order_by(offline_records.c.counter.desc())
            .limit(1)
        ).first()
        return GENESIS if row is None else ChainHead(int(row.counter), str(row.hash))

    # --- received records --------------------------------------------------------------------------------------

    def received(self, device_id: UUID, hash_: str, signature: str) -> Row | None:
        return self._one(
            select(offline_records).where(
                offline_records.c.device_id == device_id,
                offline_records.c.hash == hash_,
                offline_records.c.signature == signature,
            )
        )

    def record(self, record_id: UUID) -> Row | None:
        return self._one(select(offline_records).where(offline_records.c.id == record_id))

    def records(self, record_ids: Sequence[UUID]) -> dict[UUID, Row]:
        rows = self.connection.execute(select(offline_records).where(offline_records.c.id.in_(list(record_ids))))
        return {row["id"]: dict(row) for row in rows.mappings()}

    def held(self, device_id: UUID) -> list[Row]:
        """The device's records waiting for the ones before them, lowest counter (then first received) first."""
        query = (
            select(offline_records)
            .where(offline_records.c.device_id == device_id, offline_records.c.outcome == "held")
            .order_by(offline_records.c.counter, offline_records.c.received_at, offline_records.c.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def insert_record(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(offline_records.insert().values(**values))

    def update_record(self, record_id: UUID, values: Mapping[str, Any]) -> None:
        self.connection.execute(update(offline_records).where(offline_records.c.id == record_id).values(**values))

    def is_redemption_id_used(self, redemption_id: UUID, *, besides: UUID | None = None) -> bool:
        """True when a redemption (online or offline) or another chained record has used ``redemption_id``."""
        other = and_(offline_records.c.redemption_id == redemption_id, offline_records.c.is_chained)
        if besides is not None:
            other = and_(other, offline_records.c.id != besides)
        query = select(
            or_(exists().where(redemptions.c.id == redemption_id), exists(select(1).where(other)))
        )  # fmt: skip
        return bool(self.connection.execute(query).scalar())

    # --- entitlements and leases -------------------------------------------------------------------------------

    def entitlement(self, entitlement_id: UUID) -> Row | None:
        """An entitlement with its programme's code, its cycle's state and pinned programme, and its household's
        reference."""
        return self._one(
            select(
                entitlements,
                programmes.c.code.label("programme_code"),
                cycles.c.state.label("cycle_state"),
                cycles.c.programme_document,
                households.c.reference.label("household_reference"),
            )
            .join(programmes, programmes.c.id == entitlements.c.programme_id)
            .join(cycles, cycles.c.id == entitlements.c.cycle_id)
            .join(households, households.c.id == entitlements.c.household_id)
            .where(entitlements.c.id == entitlement_id)
        )

    def leases(self, point_id: UUID, day: date) -> list[Row]:
        """Every entitlement leased to the point that can be redeemed on ``day`` or later, with what it still holds
        (``balance``), its programme and its household's reference; one statement, oldest first."""
        balance = (
            select(ledger_balances.c.balance)
            .join(ledger_accounts, ledger_accounts.c.id == ledger_balances.c.account_id)
            .where(
                ledger_accounts.c.owner_id == entitlements.c.id,
                ledger_accounts.c.kind == AccountKind.HOUSEHOLD_ENTITLEMENT.value,
            )
            .scalar_subquery()
        )
        query = (
            select(
                entitlements,
                balance.label("balance"),
                programmes.c.code.label("programme_code"),
                cycles.c.programme_document,
                households.c.reference.label("household_reference"),
            )
            .join(programmes, programmes.c.id == entitlements.c.programme_id)
            .join(cycles, cycles.c.id == entitlements.c.cycle_id)
            .join(households, households.c.id == entitlements.c.household_id)
            .where(
                entitlements.c.home_point_id == point_id,
                households.c.status == "active",
                or_(
                    and_(entitlements.c.state == "open", cycles.c.state == "distributing",
                         entitlements.c.valid_until >= day),
                    and_(entitlements.c.state == "carried_over", cycles.c.state.in_(("distributing", "closed"))),
                ),
            )
            .order_by(entitlements.c.valid_from, entitlements.c.id)
        )  # fmt: skip
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def active_cards(self, point_id: UUID) -> dict[UUID, list[str]]:
        """The active card numbers of every household with an entitlement leased to the point."""
        leased = select(entitlements.c.household_id).where(entitlements.c.home_point_id == point_id)
        query = (
            select(cards.c.household_id, cards.c.card_number)
            .where(cards.c.state == "active", cards.c.household_id.in_(leased))
            .order_by(cards.c.card_number)
        )
        found: dict[UUID, list[str]] = {}
        for household_id, number in self.connection.execute(query):
            found.setdefault(household_id, []).append(number)
        return found

    def card_by_number(self, number: str) -> Row | None:
        return self._one(select(cards).where(cards.c.card_number == number))

    # --- suspense cases ----------------------------------------------------------------------------------------

    def insert_case(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(suspense_cases.insert().values(**values))

    def case(self, case_id: UUID, *, lock: bool = False) -> Row | None:
        query = select(suspense_cases).where(suspense_cases.c.id == case_id)
        return self._one(query.with_for_update() if lock else query)

    def resolve_case(self, case_id: UUID, values: Mapping[str, Any]) -> None:
        self.connection.execute(update(suspense_cases).where(suspense_cases.c.id == case_id).values(**values))

    def cases(self, *, state: str | None = None, point_code: str | None = None) -> list[Row]:
        """Cases with their device, point and record counter, oldest first."""
        query = (
            select(
                suspense_cases,
                devices.c.name.label("device"),
                distribution_points.c.code.label("point"),
                offline_records.c.counter,
                offline_records.c.redemption_id,
            )
            .join(devices, devices.c.id == suspense_cases.c.device_id)
            .join(distribution_points, distribution_points.c.id == devices.c.point_id)
            .join(offline_records, offline_records.c.id == suspense_cases.c.record_id)
            .order_by(suspense_cases.c.created_at, suspense_cases.c.id)
        )
        if state is not None:
            query = query.where(suspense_cases.c.state == state)
        if point_code is not None:
            query = query.where(distribution_points.c.code == point_code)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def suspense_held(self, references: Iterable[str]) -> dict[str, dict[str, int]]:
        """``reference -> {asset: net}``: what the transfers under each reference left in suspense accounts."""
        wanted = list(references)
        if not wanted:
            return {}
        suspense = ledger_accounts.alias("suspense")
        rows = self.connection.execute(
            select(ledger_transfers.c.reference, ledger_transfers.c.asset, ledger_transfers.c.amount,
                   ledger_transfers.c.credit_account_id == suspense.c.id)
            .join(suspense, or_(suspense.c.id == ledger_transfers.c.credit_account_id,
                                suspense.c.id == ledger_transfers.c.debit_account_id))
            .where(suspense.c.kind == AccountKind.SUSPENSE.value, ledger_transfers.c.reference.in_(wanted))
        )  # fmt: skip
        held: dict[str, dict[str, int]] = {}
        for reference, asset, amount, is_credit in rows:
            per_asset = held.setdefault(reference, {})
            per_asset[asset] = per_asset.get(asset, 0) + (int(amount) if is_credit else -int(amount))
        return {reference: {a: n for a, n in assets.items() if n} for reference, assets in held.items()}

    # --- redemptions and the ledger ----------------------------------------------------------------------------

    def claim(self, values: Mapping[str, Any]) -> bool:
        """Insert the redemption record unless its id exists; False when it does."""
        statement = insert_new(self.connection, redemptions, ["id"]).values(**values)
        result = self.connection.execute(statement, execution_options={"preserve_rowcount": True})
        return int(result.rowcount) == 1

    def mark_redeemed(self, entitlement_id: UUID) -> None:
        self.connection.execute(
            update(entitlements)
            .where(entitlements.c.id == entitlement_id, entitlements.c.state.in_(("open", "carried_over")))
            .values(state="redeemed")
        )

    def post(self, transfers: Sequence[Transfer], *, by: str, at: datetime) -> list[UUID]:
        return ledger_store.post(self.connection, transfers, by=by, at=at)

    def balances(self, accounts: Sequence[Account]) -> dict[Account, int]:
        return ledger_store.balances(self.connection, accounts)

    def transfers_by_reference(self, reference: str) -> list[PostedTransfer]:
        return ledger_store.transfers_by_reference(self.connection, reference)

    def reverse(self, transfer_id: UUID, *, by: str, reason: str, at: datetime) -> UUID:
        return ledger_store.reverse(self.connection, transfer_id, by=by, reason=reason, at=at)
