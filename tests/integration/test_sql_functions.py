"""Ids the database makes on set paths are real UUIDv7s: version 7, RFC 4122 variant, unique, and time-ordered
by the millisecond they were made."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import Integer, column, select, table, text

from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.sql_functions import NewUuid7

COUNT = 5000


def test_set_path_ids_are_unique_time_ordered_uuid7(database_url: str) -> None:
    engine = make_engine(database_url)
    numbers = table("numbers", column("n", Integer))
    before = int(time.time() * 1000)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TEMPORARY TABLE numbers (n INTEGER)"))
            connection.execute(numbers.insert(), [{"n": n} for n in range(COUNT)])
            made = connection.execute(select(NewUuid7(), numbers.c.n)).all()
    finally:
        engine.dispose()
    after = int(time.time() * 1000)
    ids = [value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)) for value, _ in made]
    assert len(ids) == COUNT
    assert len(set(ids)) == COUNT
    assert {value.version for value in ids} == {7}
    assert {value.variant for value in ids} == {uuid.RFC_4122}
    stamps = [value.int >> 80 for value in ids]
    assert all(before - 1 <= stamp <= after + 1 for stamp in stamps)
    # 74 random bits: no two ids share them, and every one of those bits varies across the set
    randoms = [value.int & ((1 << 62) - 1) | ((value.int >> 64) & 0xFFF) << 62 for value in ids]
    assert len(set(randoms)) == COUNT
    assert all(any(r >> bit & 1 for r in randoms) and not all(r >> bit & 1 for r in randoms) for bit in range(74))
