"""SQL functions canasta needs on both databases, compiled per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Uuid
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["NewUuid7"]


class NewUuid7(FunctionElement[Any]):
    """A fresh time-ordered UUID (version 7) per row, made by the database for set-based inserts.

    The application makes identifiers on record paths; on set paths (a cycle's decisions for a whole country) the
    database makes them in the same layout, so indexes stay local either way.
    """

    type = Uuid()
    inherit_cache = True
    name = "canasta_uuid7"


@compiles(NewUuid7, "postgresql")
def _uuid7_postgresql(_element: NewUuid7, _compiler: SQLCompiler, **_options: Any) -> str:
    # Milliseconds since the epoch over the first 48 bits of a random (version 4) UUID, whose variant bits are
    # already right; then byte 6's high nibble, the version, becomes 7 (a second random UUID gives the low nibble).
    return (
        "encode(set_byte(overlay(uuid_send(gen_random_uuid()) placing "
        "substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6), "
        "6, (get_byte(uuid_send(gen_random_uuid()), 6) & 15) | 112), 'hex')::uuid"
    )


@compiles(NewUuid7, "sqlite")
def _uuid7_sqlite(_element: NewUuid7, _compiler: SQLCompiler, **_options: Any) -> str:
    # SQLite stores UUIDs as 32 hex digits: 12 of milliseconds, '7', 3 random, a variant digit (8-b), 15 random.
    return (
        "(printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) || '7' || "
        "substr(lower(hex(randomblob(2))), 2, 3) || substr('89ab', 1 + (abs(random()) % 4), 1) || "
        "substr(lower(hex(randomblob(8))), 2, 15))"
    )
