"""Set-based integrity checks: every reference between registry rows points at a row that exists.

The bulk-loaded tables do without per-row foreign-key checks (they dominate the cost of a national import), so
integrity rests on the writers and on these checks: one anti-join per reference, run by ``canasta db check``
and by the test suite after every kind of write. Each answers how many rows break the rule; all must be 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, exists, func, select
from sqlalchemy.sql.schema import Column, Table

from canasta.adapters.db.card_tables import card_events, cards
from canasta.adapters.db.eligibility_tables import (
    appeal_events,
    appeals,
    cycles,
    decisions,
    distribution_points,
    entitlements,
    programmes,
)
from canasta.adapters.db.tables import areas, consents, households, identifiers, imports, people

__all__ = ["REFERENCES", "Reference", "broken_references"]


@dataclass(frozen=True, slots=True)
class Reference:
    """``column`` of ``table`` must match ``target_column`` of some row (NULL allowed where ``nullable``)."""

    name: str
    column: Column[object]
    target_column: Column[object]
    nullable: bool = False

    @property
    def table(self) -> Table:
        table = self.column.table
        assert isinstance(table, Table)
        return table


REFERENCES: tuple[Reference, ...] = (
    Reference("household area", households.c.area_code, areas.c.code),
    Reference("household import", households.c.import_id, imports.c.id, nullable=True),
    Reference("person household", people.c.household_id, households.c.id),
    Reference("person import", people.c.import_id, imports.c.id, nullable=True),
    Reference("identifier person", identifiers.c.person_id, people.c.id),
    Reference("consent household", consents.c.household_id, households.c.id),
    Reference("consent person", consents.c.person_id, people.c.id, nullable=True),
    Reference("card household", cards.c.household_id, households.c.id),
    Reference("card holder", cards.c.holder_id, people.c.id),
    Reference("card event card", card_events.c.card_id, cards.c.id),
    Reference("distribution point area", distribution_points.c.area_code, areas.c.code),
    Reference("cycle programme", cycles.c.programme_id, programmes.c.id),
    Reference("decision cycle", decisions.c.cycle_id, cycles.c.id),
    Reference("decision household", decisions.c.household_id, households.c.id),
    Reference("decision appeal", decisions.c.appeal_id, appeals.c.id, nullable=True),
    Reference("entitlement programme", entitlements.c.programme_id, programmes.c.id),
    Reference("entitlement cycle", entitlements.c.cycle_id, cycles.c.id),
    Reference("entitlement household", entitlements.c.household_id, households.c.id),
    Reference("entitlement decision", entitlements.c.decision_id, decisions.c.id),
    Reference("entitlement home point", entitlements.c.home_point_id, distribution_points.c.id, nullable=True),
    Reference("appeal decision", appeals.c.decision_id, decisions.c.id),
    Reference("appeal cycle", appeals.c.cycle_id, cycles.c.id),
    Reference("appeal household", appeals.c.household_id, households.c.id),
    Reference("appeal new decision", appeals.c.new_decision_id, decisions.c.id, nullable=True),
    Reference("appeal event appeal", appeal_events.c.appeal_id, appeals.c.id),
)


def broken_references(connection: Connection) -> dict[str, int]:
    """``reference name -> rows whose reference finds no row``, for every reference that is broken."""
    broken: dict[str, int] = {}
    for reference in REFERENCES:
        target = reference.target_column.table
        missing = ~exists(select(1).select_from(target).where(reference.target_column == reference.column))
        condition = and_(reference.column.is_not(None), missing) if reference.nullable else missing
        count = connection.execute(select(func.count()).select_from(reference.table).where(condition)).scalar_one()
        if count:
            broken[reference.name] = int(count)
    return broken
