"""Storage of programmes and cycles, and the set-path engine behind the cycle use cases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, insert, select, update

from canasta.adapters.db import eligibility_run, ledger_grants
from canasta.adapters.db.eligibility_tables import cycles, decisions, entitlements, pmt_models, programmes
from canasta.adapters.db.facts_sql import read_household_record
from canasta.adapters.db.tables import areas
from canasta.domain.facts import HouseholdRecord

__all__ = ["SqlCycleStore"]

Row = Mapping[str, Any]


class SqlCycleStore:
    """Programmes, cycles, decisions and entitlements on one connection (the unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def programme_by_code(self, code: str) -> Row | None:
        row = self.connection.execute(select(programmes).where(programmes.c.code == code)).mappings().first()
        return dict(row) if row is not None else None

    def programme(self, programme_id: UUID) -> Row | None:
        row = self.connection.execute(select(programmes).where(programmes.c.id == programme_id)).mappings().first()
        return dict(row) if row is not None else None

    def insert_programme(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(insert(programmes).values(**values))

    def insert_pmt_model(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(insert(pmt_models).values(**values))

    def pmt_model(self, name: str, version: int | None = None) -> Row | None:
        """The model ``name`` at ``version``, or its latest version when ``version`` is None."""
        query = select(pmt_models).where(pmt_models.c.name == name)
        if version is not None:
            query = query.where(pmt_models.c.version == version)
        row = self.connection.execute(query.order_by(pmt_models.c.version.desc()).limit(1)).mappings().first()
        return dict(row) if row is not None else None

    def parish_codes(self) -> list[str]:
        return list(self.connection.execute(select(areas.c.code).where(areas.c.level == "parish")).scalars())

    def cycle(self, cycle_id: UUID) -> Row | None:
        row = self.connection.execute(select(cycles).where(cycles.c.id == cycle_id)).mappings().first()
        return dict(row) if row is not None else None

    def next_cycle_number(self, programme_id: UUID) -> int:
        current = self.connection.execute(
            select(func.max(cycles.c.number)).where(cycles.c.programme_id == programme_id)
        ).scalar_one_or_none()
        return int(current or 0) + 1

    def insert_cycle(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(insert(cycles).values(**values))

    def update_cycle(self, cycle_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool:
        changed = self.connection.execute(
            update(cycles)
            .where(and_(cycles.c.id == cycle_id, cycles.c.version == expected_version))
            .values(**values, version=expected_version + 1)
        )
        return changed.rowcount == 1

    def preview(self, run: eligibility_run.CycleRun) -> dict[str, Any]:
        return eligibility_run.preview(self.connection, run)

    def generate_decisions(self, run: eligibility_run.CycleRun, *, decided_by: str, now: datetime) -> int:
        return eligibility_run.generate_decisions(self.connection, run, decided_by=decided_by, now=now)

    def generate_entitlements(self, run: eligibility_run.CycleRun, *, now: datetime) -> int:
        return eligibility_run.generate_entitlements(self.connection, run, now=now)

    def entitled_cost(self, cycle_id: UUID) -> int:
        """Units x unit value of the cycle's entitlements, in minor units."""
        total = self.connection.execute(
            select(func.coalesce(func.sum(entitlements.c.units * entitlements.c.unit_value), 0)).where(
                entitlements.c.cycle_id == cycle_id
            )
        ).scalar_one()
        return int(total)

    def decisions_of(self, household_id: UUID, cycle_id: UUID | None = None) -> list[Row]:
        # Decisions are indexed by (cycle, household, version) only: an index led by the household would take a
        # random insertion for every decision of a national run. One probe per cycle finds a household's.
        in_cycles = (
            decisions.c.cycle_id == cycle_id if cycle_id is not None else decisions.c.cycle_id.in_(select(cycles.c.id))
        )
        query = select(decisions).where(in_cycles, decisions.c.household_id == household_id)
        rows = self.connection.execute(query.order_by(decisions.c.decided_at, decisions.c.version)).mappings()
        return [dict(row) for row in rows]

    def entitlements_of(self, household_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(entitlements).where(entitlements.c.household_id == household_id).order_by(entitlements.c.valid_from)
        ).mappings()
        return [dict(row) for row in rows]

    def settle_open_entitlements(self, cycle_id: UUID, *, state: str) -> int:
        """Mark the cycle's still-open entitlements ``lapsed`` or ``carried_over``; returns how many."""
        changed = self.connection.execute(
            update(entitlements)
            .where(and_(entitlements.c.cycle_id == cycle_id, entitlements.c.state == "open"))
            .values(state=state)
        )
        return int(changed.rowcount)

    def grant_entitlements(self, cycle_id: UUID, *, by: str, at: datetime) -> int:
        return ledger_grants.grant_entitlements(self.connection, cycle_id, by=by, at=at)

    def lapse_entitlements(self, cycle_id: UUID, *, by: str, at: datetime) -> int:
        return ledger_grants.lapse_entitlements(self.connection, cycle_id, by=by, at=at)

    def household_record(self, household_id: UUID) -> HouseholdRecord | None:
        return read_household_record(self.connection, household_id)

    def count_decisions(self, cycle_id: UUID) -> dict[str, int]:
        rows = self.connection.execute(
            select(decisions.c.reason, func.count())
            .where(decisions.c.cycle_id == cycle_id)
            .group_by(decisions.c.reason)
        )
        return {reason: int(count) for reason, count in rows}
