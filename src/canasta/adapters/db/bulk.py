"""Bulk loading of the registry: one transaction per batch, the fastest write each database offers.

PostgreSQL gets binary ``COPY``; SQLite gets ``executemany`` inside one ``BEGIN IMMEDIATE`` transaction. Rows
arrive as tuples in the column order of :data:`HOUSEHOLD_COLUMNS`, :data:`PERSON_COLUMNS` and
:data:`IDENTIFIER_COLUMNS`, with every value already *spelled* for the database by the writer's
:attr:`spelling` (a UUID as 32 hex digits for SQLite and as its 16 bytes for PostgreSQL, and so on). Whoever
builds the rows spells them once, possibly in another process; the writer hands them to the driver untouched, so
nothing is converted per row on the writing side. Text and integers are the same on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Engine

from canasta.adapters.db.types import sqlite_timestamp

__all__ = [
    "HOUSEHOLD_COLUMNS",
    "IDENTIFIER_COLUMNS",
    "PERSON_COLUMNS",
    "PostgresBulkWriter",
    "PostgresSpelling",
    "SqliteBulkWriter",
    "SqliteSpelling",
    "make_bulk_writer",
]

HOUSEHOLD_COLUMNS = (
    "id", "reference", "area_code", "address", "monthly_income", "currency", "dwelling_type", "tenure", "assets",
    "land_m2", "custom", "data_key", "status", "status_reason", "import_id", "version", "created_at",
    "created_by", "updated_at", "updated_by", "change_reason",
)  # fmt: skip
PERSON_COLUMNS = (
    "id", "household_id", "reference", "given_name", "family_name", "name_key", "birth_date", "sex",
    "relationship", "wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_self_care", "wg_communication",
    "schooling", "employment", "phone_sealed", "health_needs_sealed", "custom", "status", "status_reason",
    "import_id", "version", "created_at", "created_by", "updated_at", "updated_by", "change_reason",
)  # fmt: skip
IDENTIFIER_COLUMNS = ("id", "person_id", "kind", "value_sealed", "blind_index", "created_at", "created_by")

# Binary COPY sends no type with a field: the server decodes each field with its column's own binary input. So a
# uuid goes as "bytea" (its 16 bytes), a date as "int4" (days since 2000-01-01), a timestamptz as "int8"
# (microseconds since 2000-01-01 UTC) and json as "text"; the driver then only packs bytes, integers and text.
HOUSEHOLD_COPY_TYPES = (
    "bytea", "text", "text", "text", "int8", "text", "text", "text", "int4", "int8", "text", "bytea", "text",
    "text", "bytea", "int4", "int8", "text", "int8", "text", "text",
)  # fmt: skip
PERSON_COPY_TYPES = (
    "bytea", "bytea", "text", "text", "text", "text", "int4", "int2", "text", "int2", "int2", "int2", "int2",
    "int2", "int2", "text", "text", "bytea", "bytea", "text", "text", "text", "bytea", "int4", "int8", "text",
    "int8", "text", "text",
)  # fmt: skip
IDENTIFIER_COPY_TYPES = ("bytea", "bytea", "text", "bytea", "bytea", "int8", "text")

_SEPARATOR = "\x1f"  # splits the keys of a PostgreSQL look-up; see PostgresBulkWriter._lookup
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_POSTGRES_EPOCH_DAY = date(2000, 1, 1).toordinal()
_MICROSECOND = timedelta(microseconds=1)

Row = Sequence[Any]


class SqliteSpelling:
    """Values as SQLAlchemy's column types store them in SQLite, so bulk rows and ORM rows read back alike."""

    __slots__ = ()

    @staticmethod
    def uuid(value: UUID) -> str:
        return value.hex

    @staticmethod
    def uuid_bytes(value: bytes) -> str:
        return value.hex()

    @staticmethod
    def date(value: date) -> str:
        return value.isoformat()

    @staticmethod
    def timestamp(value: datetime) -> str:
        return sqlite_timestamp(value)

    @staticmethod
    def json(value: dict[str, Any] | None) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)


class PostgresSpelling:
    """Values in the shape PostgreSQL's binary input of each column expects (see the COPY types above)."""

    __slots__ = ()

    @staticmethod
    def uuid(value: UUID) -> bytes:
        return value.bytes

    @staticmethod
    def uuid_bytes(value: bytes) -> bytes:
        return value

    @staticmethod
    def date(value: date) -> int:
        return value.toordinal() - _POSTGRES_EPOCH_DAY

    @staticmethod
    def timestamp(value: datetime) -> int:
        return (value - _POSTGRES_EPOCH) // _MICROSECOND

    @staticmethod
    def json(value: dict[str, Any] | None) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)


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


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608  # fixed names


class SqliteBulkWriter:
    """Batches through the SQLite driver's ``executemany`` on one connection."""

    spelling = SqliteSpelling()

    def __init__(self, engine: Engine) -> None:
        self._connection = engine.raw_connection()
        self._raw: Any = cast(Any, self._connection.driver_connection)  # the DBAPI connection itself
        self._raw.isolation_level = None  # transactions are explicit below
        # A larger page cache keeps the indexes' working set in memory during a long load (128 MiB): the birth
        # date and blind-index indexes take keys in random order, so they are touched all over.
        self._raw.execute("PRAGMA cache_size=-131072")
        # Checkpoint every 64 MiB of log rather than every 4 MiB, so an index page changed by many batches is
        # copied into the database once per checkpoint rather than once per batch.
        self._raw.execute("PRAGMA wal_autocheckpoint=16384")
        # A lost batch is re-imported by running the file again, so the load need not sync each commit; it stays
        # atomic, and the journal's commit at the end (synchronous=FULL, on its own connection) syncs the log
        # holding every batch before the import reports success.
        self._raw.execute("PRAGMA synchronous=NORMAL")
        self._statements = (
            _insert("households", HOUSEHOLD_COLUMNS),
            _insert("people", PERSON_COLUMNS),
            _insert("identifiers", IDENTIFIER_COLUMNS),
        )

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
        """Insert spelled rows in one transaction: all of them or, on any error, none."""
        raw = self._raw
        raw.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in zip(self._statements, (households, people, identifiers), strict=True):
                raw.executemany(sql, rows)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")

    def close(self) -> None:
        # The connection goes back to the pool: leave it as every other connection is configured.
        self._raw.execute("PRAGMA synchronous=FULL")
        self._raw.execute("PRAGMA wal_autocheckpoint=1000")
        self._raw.execute("PRAGMA cache_size=-2000")
        self._raw.isolation_level = ""
        self._connection.close()


class PostgresBulkWriter:
    """Batches through binary ``COPY`` on one psycopg connection, one ``COPY`` per table per batch."""

    spelling = PostgresSpelling()

    def __init__(self, engine: Engine) -> None:
        from psycopg.adapt import PyFormat

        self._connection = engine.raw_connection()
        self._raw: Any = cast(Any, self._connection.driver_connection)  # the DBAPI connection itself
        self._raw.autocommit = False
        # COPY picks dumpers by column type, and the one registered for bytea is a pure-Python wrapper (it accepts
        # the DB-API ``Binary``); the driver's compiled dumper for ``bytes`` is several times faster. This changes
        # this connection's adapters only.
        adapters = self._raw.adapters
        adapters.register_dumper(bytes, adapters.get_dumper(bytes, PyFormat.BINARY))
        self._copies = tuple(
            (f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)", types)
            for table, columns, types in (
                ("households", HOUSEHOLD_COLUMNS, HOUSEHOLD_COPY_TYPES),
                ("people", PERSON_COLUMNS, PERSON_COPY_TYPES),
                ("identifiers", IDENTIFIER_COLUMNS, IDENTIFIER_COPY_TYPES),
            )
        )

    def _lookup(self, sql: str, kind: str | None, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` for ``keys``, sent as one text parameter split by the server.

        The driver adapts a list parameter element by element in Python, which for a batch's thousands of keys
        costs more than the look-up itself; one joined string costs nothing. Keys holding the separator (never a
        valid reference, nor hex) go as a list instead.
        """
        joined = _SEPARATOR.join(keys)
        if joined.count(_SEPARATOR) != max(len(keys) - 1, 0):
            values: Any = list(keys)
            sql = sql.replace("string_to_array(%(keys)s, E'\\x1f')", "%(keys)s")
        else:
            values = joined
        with self._raw.cursor() as cursor:
            cursor.execute(sql, {"kind": kind, "keys": values})
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        self._raw.rollback()
        return rows

    def existing_households(self, references: Sequence[str]) -> dict[str, tuple[UUID, UUID | None]]:
        rows = self._lookup(
            "SELECT reference, id, import_id FROM households"
            " WHERE reference = ANY(string_to_array(%(keys)s, E'\\x1f'))",
            None,
            references,
        )
        return {ref: (household_id, import_id) for ref, household_id, import_id in rows}

    def existing_people(self, references: Sequence[str]) -> dict[str, UUID | None]:
        rows = self._lookup(
            "SELECT reference, import_id FROM people WHERE reference = ANY(string_to_array(%(keys)s, E'\\x1f'))",
            None,
            references,
        )
        return dict(rows)

    def taken_identifiers(self, kind: str, indexes: Sequence[bytes]) -> set[bytes]:
        rows = self._lookup(
            "SELECT blind_index FROM identifiers WHERE kind = %(kind)s AND blind_index = ANY(ARRAY("
            "SELECT decode(key, 'hex') FROM unnest(string_to_array(%(keys)s, E'\\x1f')) AS key))",
            kind,
            [index.hex() for index in indexes],
        )
        return {bytes(row[0]) for row in rows}

    def household_data_key(self, household_id: UUID) -> bytes:
        with self._raw.cursor() as cursor:
            cursor.execute("SELECT data_key FROM households WHERE id = %s", (household_id,))
            row = cursor.fetchone()
        self._raw.rollback()
        return bytes(row[0])

    def write_batch(self, households: Iterable[Row], people: Iterable[Row], identifiers: Iterable[Row]) -> None:
        """Copy spelled rows in one transaction: all of them or, on any error, none."""
        try:
            with self._raw.cursor() as cursor:
                # A lost batch is re-imported by running the file again, so the load need not wait for each
                # commit's flush; it stays atomic, and the journal's synchronous commit at the end flushes the
                # write-ahead log up to it, and so every batch before it, before the import reports success.
                cursor.execute("SET LOCAL synchronous_commit = off")
                for (statement, types), rows in zip(self._copies, (households, people, identifiers), strict=True):
                    with cursor.copy(statement) as copy:
                        copy.set_types(types)
                        write_row = copy.write_row
                        for row in rows:
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
