"""Bulk loading of the registry: one transaction per batch, the fastest write each database offers.

PostgreSQL gets binary ``COPY``; SQLite gets ``executemany`` inside one ``BEGIN IMMEDIATE`` transaction. Rows
arrive as tuples in the column order of :data:`HOUSEHOLD_COLUMNS`, :data:`PERSON_COLUMNS` and
:data:`IDENTIFIER_COLUMNS`, holding Python values (``UUID``, ``date``, aware ``datetime``, ``bytes``, JSON-ready
dicts); each writer converts them to its database's own representation, so the two stay interchangeable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Engine

from canasta.adapters.db.types import sqlite_timestamp

__all__ = [
    "HOUSEHOLD_COLUMNS",
    "IDENTIFIER_COLUMNS",
    "PERSON_COLUMNS",
    "PostgresBulkWriter",
    "SqliteBulkWriter",
    "make_bulk_writer",
]

HOUSEHOLD_COLUMNS = (
    "id", "reference", "area_code", "address", "monthly_income", "currency", "dwelling_type", "tenure", "assets",
    "land_m2", "custom", "data_key", "status", "status_reason", "import_id", "version", "created_at",
    "created_by", "updated_at", "updated_by", "change_reason",
)  # fmt: skip
HOUSEHOLD_TYPES = (
    "uuid", "varchar", "varchar", "varchar", "int8", "varchar", "varchar", "varchar", "int4", "int8", "json",
    "bytea", "varchar", "varchar", "uuid", "int4", "timestamptz", "varchar", "timestamptz", "varchar", "varchar",
)  # fmt: skip
PERSON_COLUMNS = (
    "id", "household_id", "reference", "given_name", "family_name", "name_key", "birth_date", "sex",
    "relationship", "wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_self_care", "wg_communication",
    "schooling", "employment", "phone_sealed", "health_needs_sealed", "custom", "status", "status_reason",
    "import_id", "version", "created_at", "created_by", "updated_at", "updated_by", "change_reason",
)  # fmt: skip
PERSON_TYPES = (
    "uuid", "uuid", "varchar", "varchar", "varchar", "varchar", "date", "int2", "varchar", "int2", "int2",
    "int2", "int2", "int2", "int2", "varchar", "varchar", "bytea", "bytea", "json", "varchar", "varchar", "uuid",
    "int4", "timestamptz", "varchar", "timestamptz", "varchar", "varchar",
)  # fmt: skip
IDENTIFIER_COLUMNS = ("id", "person_id", "kind", "value_sealed", "blind_index", "created_at", "created_by")
IDENTIFIER_TYPES = ("uuid", "uuid", "varchar", "bytea", "bytea", "timestamptz", "varchar")

Row = Sequence[Any]


def _chunks(items: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_value(value: Any) -> Any:
    """One value as SQLAlchemy would store it in SQLite (for look-up parameters)."""
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, datetime):
        return sqlite_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


class _SqliteRows:
    """Converts rows of one table to SQLite values, touching only the columns that need it.

    Timestamps repeat within a batch (one ``now`` per batch), so their text is cached by value.
    """

    def __init__(self, types: Sequence[str]) -> None:
        self._uuids = [i for i, kind in enumerate(types) if kind == "uuid"]
        self._dates = [i for i, kind in enumerate(types) if kind == "date"]
        self._stamps = [i for i, kind in enumerate(types) if kind == "timestamptz"]
        self._json = [i for i, kind in enumerate(types) if kind == "json"]
        self._stamp_text: dict[datetime, str] = {}

    def __call__(self, row: Row) -> list[Any]:
        values = list(row)
        for i in self._uuids:
            value = values[i]
            if value is not None:
                values[i] = value.hex
        for i in self._dates:
            values[i] = values[i].isoformat()
        for i in self._stamps:
            stamp = values[i]
            text = self._stamp_text.get(stamp)
            if text is None:
                text = self._stamp_text[stamp] = sqlite_timestamp(stamp)
            values[i] = text
        for i in self._json:
            if values[i] is not None:
                values[i] = json.dumps(values[i], ensure_ascii=False)
        return values


class SqliteBulkWriter:
    """Batches through the SQLite driver's ``executemany`` on one connection."""

    def __init__(self, engine: Engine) -> None:
        self._connection = engine.raw_connection()
        self._raw: Any = cast(Any, self._connection.driver_connection)  # the DBAPI connection itself
        self._raw.isolation_level = None  # transactions are explicit below
        # A larger page cache keeps the indexes' working set in memory during a long load (64 MiB).
        self._raw.execute("PRAGMA cache_size=-65536")
        self._converters = {
            "households": _SqliteRows(HOUSEHOLD_TYPES),
            "people": _SqliteRows(PERSON_TYPES),
            "identifiers": _SqliteRows(IDENTIFIER_TYPES),
        }

    def _query(self, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(values):
            marks = ",".join("?" * len(chunk))
            rows.extend(self._raw.execute(sql.format(marks=marks), [_sqlite_value(v) for v in chunk]).fetchall())
        return rows

    def existing_households(self, references: Sequence[str]) -> dict[str, tuple[UUID, UUID | None]]:
        rows = self._query("SELECT reference, id, import_id FROM households WHERE reference IN ({marks})", references)
        return {ref: (UUID(hex=i), UUID(hex=imp) if imp else None) for ref, i, imp in rows}

    def existing_people(self, references: Sequence[str]) -> dict[str, UUID | None]:
        rows = self._query("SELECT reference, import_id FROM people WHERE reference IN ({marks})", references)
        return {ref: UUID(hex=imp) if imp else None for ref, imp in rows}

    def taken_identifiers(self, kind: str, indexes: Sequence[bytes]) -> set[bytes]:
        taken: set[bytes] = set()
        for chunk in _chunks(indexes):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT blind_index FROM identifiers WHERE kind = ? AND blind_index IN ({marks})"  # noqa: S608  # placeholders only
            taken.update(row[0] for row in self._raw.execute(sql, [kind, *chunk]))
        return taken

    def household_data_key(self, household_id: UUID) -> bytes:
        row = self._raw.execute("SELECT data_key FROM households WHERE id = ?", (household_id.hex,)).fetchone()
        return bytes(row[0])

    def write_batch(self, households: Iterable[Row], people: Iterable[Row], identifiers: Iterable[Row]) -> None:
        raw = self._raw
        raw.execute("BEGIN IMMEDIATE")
        try:
            for table, columns, rows in (
                ("households", HOUSEHOLD_COLUMNS, households),
                ("people", PERSON_COLUMNS, people),
                ("identifiers", IDENTIFIER_COLUMNS, identifiers),
            ):
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608  # fixed names
                raw.executemany(sql, map(self._converters[table], rows))
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")

    def close(self) -> None:
        self._raw.isolation_level = ""
        self._connection.close()


class PostgresBulkWriter:
    """Batches through binary ``COPY`` on one psycopg connection."""

    def __init__(self, engine: Engine) -> None:
        self._connection = engine.raw_connection()
        self._raw: Any = cast(Any, self._connection.driver_connection)  # the DBAPI connection itself
        self._raw.autocommit = False

    def existing_households(self, references: Sequence[str]) -> dict[str, tuple[UUID, UUID | None]]:
        with self._raw.cursor() as cursor:
            cursor.execute(
                "SELECT reference, id, import_id FROM households WHERE reference = ANY(%s)", (list(references),)
            )
            rows = cursor.fetchall()
        self._raw.rollback()
        return {ref: (household_id, import_id) for ref, household_id, import_id in rows}

    def existing_people(self, references: Sequence[str]) -> dict[str, UUID | None]:
        with self._raw.cursor() as cursor:
            cursor.execute("SELECT reference, import_id FROM people WHERE reference = ANY(%s)", (list(references),))
            rows = cursor.fetchall()
        self._raw.rollback()
        return dict(rows)

    def taken_identifiers(self, kind: str, indexes: Sequence[bytes]) -> set[bytes]:
        with self._raw.cursor() as cursor:
            cursor.execute(
                "SELECT blind_index FROM identifiers WHERE kind = %s AND blind_index = ANY(%s)", (kind, list(indexes))
            )
            rows = cursor.fetchall()
        self._raw.rollback()
        return {bytes(row[0]) for row in rows}

    def household_data_key(self, household_id: UUID) -> bytes:
        with self._raw.cursor() as cursor:
            cursor.execute("SELECT data_key FROM households WHERE id = %s", (household_id,))
            row = cursor.fetchone()
        self._raw.rollback()
        return bytes(row[0])

    def write_batch(self, households: Iterable[Row], people: Iterable[Row], identifiers: Iterable[Row]) -> None:
        from psycopg.types.json import Json

        try:
            with self._raw.cursor() as cursor:
                for table, columns, types, rows in (
                    ("households", HOUSEHOLD_COLUMNS, HOUSEHOLD_TYPES, households),
                    ("people", PERSON_COLUMNS, PERSON_TYPES, people),
                    ("identifiers", IDENTIFIER_COLUMNS, IDENTIFIER_TYPES, identifiers),
                ):
                    json_positions = [i for i, kind in enumerate(types) if kind == "json"]
                    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
                    with cursor.copy(statement) as copy:
                        copy.set_types(types)
                        write_row = copy.write_row
                        for row in rows:
                            if json_positions and any(row[i] is not None for i in json_positions):
                                row = list(row)
                                for i in json_positions:
                                    if row[i] is not None:
                                        row[i] = Json(row[i])
                            write_row(row)
            self._raw.commit()
        except BaseException:
            self._raw.rollback()
            raise

    def close(self) -> None:
        self._connection.close()


def make_bulk_writer(engine: Engine) -> SqliteBulkWriter | PostgresBulkWriter:
    """The bulk writer for ``engine``'s database."""
    if engine.dialect.name == "sqlite":
        return SqliteBulkWriter(engine)
    return PostgresBulkWriter(engine)
