"""Storage of appeals, their history, and the record-path writes an upheld appeal makes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, insert, select, update

from canasta.adapters.db.eligibility_tables import appeal_events, appeals, decisions, entitlements

__all__ = ["SqlAppealStore"]

Row = Mapping[str, Any]


class SqlAppealStore:
    """Appeals on one connection (the unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def decision(self, decision_id: UUID) -> Row | None:
        row = self.connection.execute(select(decisions).where(decisions.c.id == decision_id)).mappings().first()
        return dict(row) if row is not None else None

    def latest_version(self, cycle_id: UUID, household_id: UUID) -> int:
        value = self.connection.execute(
            select(func.max(decisions.c.version)).where(
                and_(decisions.c.cycle_id == cycle_id, decisions.c.household_id == household_id)
            )
        ).scalar_one_or_none()
        return int(value or 0)

    def appeal(self, appeal_id: UUID) -> Row | None:
        row = self.connection.execute(select(appeals).where(appeals.c.id == appeal_id)).mappings().first()
        return dict(row) if row is not None else None

    def open_appeal_for(self, decision_id: UUID) -> Row | None:
        row = (
            self.connection.execute(
                select(appeals).where(
                    and_(appeals.c.decision_id == decision_id, appeals.c.state.in_(("filed", "in_review")))
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def insert(self, table: str, values: Mapping[str, Any]) -> None:
        target = {"appeals": appeals, "appeal_events": appeal_events, "decisions": decisions,
                  "entitlements": entitlements}[table]  # fmt: skip
        self.connection.execute(insert(target).values(**values))

    def update_appeal(self, appeal_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool:
        changed = self.connection.execute(
            update(appeals)
            .where(and_(appeals.c.id == appeal_id, appeals.c.version == expected_version))
            .values(**values, version=expected_version + 1)
        )
        return changed.rowcount == 1

    def has_entitlement(self, programme_id: UUID, cycle_id: UUID, household_id: UUID) -> bool:
        found = self.connection.execute(
            select(entitlements.c.id).where(
                and_(
                    entitlements.c.programme_id == programme_id,
                    entitlements.c.cycle_id == cycle_id,
                    entitlements.c.household_id == household_id,
                )
            )
        ).first()
        return found is not None

    def appeals_of(self, household_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(appeals).where(appeals.c.household_id == household_id).order_by(appeals.c.filed_at)
        ).mappings()
        return [dict(row) for row in rows]

    def events(self, appeal_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(appeal_events)
            .where(appeal_events.c.appeal_id == appeal_id)
            .order_by(appeal_events.c.at, appeal_events.c.id)
        ).mappings()
        return [dict(row) for row in rows]
