"""The registry's record path: one household or person at a time, inside the caller's transaction."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, insert, or_, select, update

from canasta.adapters.db.tables import areas, consents, households, identifiers, people, record_versions

__all__ = ["SqlRegistryStore"]

Row = Mapping[str, Any]


def _snapshot(row: Row) -> dict[str, Any]:
    """A JSON-ready copy of a row; sealed bytes stay sealed (base64), nothing is decrypted."""
    data: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, bytes | bytearray | memoryview):
            data[key] = base64.b64encode(bytes(value)).decode()
        elif isinstance(value, UUID):
            data[key] = str(value)
        elif isinstance(value, datetime | date):
            data[key] = value.isoformat()
        else:
            data[key] = value
    return data


def _scoped(column: Any, scopes: Sequence[str]) -> Any:
    if not scopes:
        return None
    return or_(*[or_(column == scope, column.like(scope + "-%")) for scope in scopes])


class SqlRegistryStore:
    """Reads and writes households, people and identifiers on one connection (the unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def area_level(self, code: str) -> str | None:
        return self.connection.execute(select(areas.c.level).where(areas.c.code == code)).scalar_one_or_none()

    def insert(self, table: str, values: Mapping[str, Any]) -> None:
        target = {"households": households, "people": people, "identifiers": identifiers, "consents": consents}[table]
        self.connection.execute(insert(target).values(**values))

    def household(self, household_id: UUID) -> Row | None:
        row = self.connection.execute(select(households).where(households.c.id == household_id)).mappings().first()
        return dict(row) if row is not None else None

    def household_by_reference(self, reference: str) -> Row | None:
        row = self.connection.execute(select(households).where(households.c.reference == reference)).mappings().first()
        return dict(row) if row is not None else None

    def person(self, person_id: UUID) -> Row | None:
        row = self.connection.execute(select(people).where(people.c.id == person_id)).mappings().first()
        return dict(row) if row is not None else None

    def person_reference_exists(self, reference: str) -> bool:
        found = self.connection.execute(select(people.c.id).where(people.c.reference == reference)).first()
        return found is not None

    def members(self, household_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(people).where(people.c.household_id == household_id).order_by(people.c.created_at, people.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def identifiers_of(self, person_ids: Sequence[UUID]) -> list[Row]:
        if not person_ids:
            return []
        rows = self.connection.execute(
            select(identifiers).where(identifiers.c.person_id.in_(person_ids)).order_by(identifiers.c.created_at)
        ).mappings()
        return [dict(row) for row in rows]

    def identifier_owner(self, kind: str, blind_index: bytes) -> UUID | None:
        return self.connection.execute(
            select(identifiers.c.person_id).where(
                and_(identifiers.c.kind == kind, identifiers.c.blind_index == blind_index)
            )
        ).scalar_one_or_none()

    def replace(self, table: str, record_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool:
        """Apply ``values`` and bump the version, only if the stored version is still ``expected_version``.

        Returns False (and changes nothing) when another change came first. The caller keeps the replaced row
        with :meth:`record_version` in the same transaction.
        """
        target = {"households": households, "people": people}[table]
        changed = self.connection.execute(
            update(target)
            .where(and_(target.c.id == record_id, target.c.version == expected_version))
            .values(**values, version=expected_version + 1)
        )
        return changed.rowcount == 1

    def record_version(
        self, *, version_id: UUID, entity: str, row: Row, replaced_at: datetime, replaced_by: str, reason: str
    ) -> None:
        """Keep ``row`` (the version being replaced) with who replaced it, when and why."""
        self.connection.execute(
            insert(record_versions).values(
                id=version_id, entity=entity, entity_id=row["id"], version=row["version"], data=_snapshot(row),
                replaced_at=replaced_at, replaced_by=replaced_by, reason=reason,
            )
        )  # fmt: skip

    def versions(self, entity: str, entity_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(record_versions)
            .where(and_(record_versions.c.entity == entity, record_versions.c.entity_id == entity_id))
            .order_by(record_versions.c.version)
        ).mappings()
        return [dict(row) for row in rows]

    def consents_of(self, household_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(consents).where(consents.c.household_id == household_id).order_by(consents.c.given_at, consents.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def withdraw_consent(self, consent_id: UUID, *, at: datetime, by: str) -> bool:
        """Mark a consent withdrawn; False when it was withdrawn already."""
        changed = self.connection.execute(
            update(consents)
            .where(and_(consents.c.id == consent_id, consents.c.withdrawn_at.is_(None)))
            .values(withdrawn_at=at, withdrawn_by=by)
        )
        return changed.rowcount == 1

    def search_by_identifier(self, kind: str, blind_index: bytes, scopes: Sequence[str]) -> list[Row]:
        query = (
            select(people, households.c.area_code)
            .join(identifiers, identifiers.c.person_id == people.c.id)
            .join(households, households.c.id == people.c.household_id)
            .where(and_(identifiers.c.kind == kind, identifiers.c.blind_index == blind_index))
        )
        scope = _scoped(households.c.area_code, scopes)
        if scope is not None:
            query = query.where(scope)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def search_by_name(
        self,
        *,
        name_words: Sequence[str],
        birth_date: date,
        area_code: str,
        scopes: Sequence[str],
        limit: int,
        offset: int,
    ) -> list[Row]:
        query = (
            select(people, households.c.area_code)
            .join(households, households.c.id == people.c.household_id)
            .where(people.c.birth_date == birth_date)
            .where(or_(households.c.area_code == area_code, households.c.area_code.like(area_code + "-%")))
        )
        for word in name_words:
            query = query.where(people.c.name_key.like(f"%{word}%"))
        scope = _scoped(households.c.area_code, scopes)
        if scope is not None:
            query = query.where(scope)
        query = query.order_by(people.c.name_key, people.c.id).limit(limit).offset(offset)
        return [dict(row) for row in self.connection.execute(query).mappings()]
