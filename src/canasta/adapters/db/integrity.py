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
