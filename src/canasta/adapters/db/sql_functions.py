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
    # Two 64-bit halves: milliseconds since the epoch (48 bits), the version 7, 12 random bits; then the variant
    # bits 10 and 62 random bits. random() (seeded per session from the system's strong source) is a quarter of
    # the cost of gen_random_uuid(): these ids must be unique, not secret, since every read is authorised.
    high = "(((extract(epoch from clock_timestamp()) * 1000)::bigint << 16) | 28672 | (random() * 4095)::bigint)"
    low = "(((random() * 2147483647)::bigint << 31) | (random() * 2147483647)::bigint | (-9223372036854775807 - 1))"
    return f"encode(int8send({high}) || int8send({low}), 'hex')::uuid"


@compiles(NewUuid7, "sqlite")
def _uuid7_sqlite(_element: NewUuid7, _compiler: SQLCompiler, **_options: Any) -> str:
    # SQLite stores UUIDs as 32 hex digits: 12 of milliseconds, '7', 3 random, a variant digit (8-b), 15 random.
    return (
        "(printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)) || '7' || "
        "substr(lower(hex(randomblob(2))), 2, 3) || substr('89ab', 1 + (abs(random()) % 4), 1) || "
        "substr(lower(hex(randomblob(8))), 2, 15))"
    )
