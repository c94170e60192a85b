"""Throwaway databases for benchmarks: the same kind as ``CANASTA_DATABASE_URL``, never the user's own."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from canasta.adapters.db.engine import make_engine, normalise_url
from canasta.adapters.db.schema import upgrade_schema

__all__ = ["scratch_database"]


@contextmanager
def scratch_database(url: str) -> Iterator[Engine]:
    """A new, migrated, empty database beside the one ``url`` names; dropped afterwards."""
    parsed = make_url(normalise_url(url))
    if parsed.drivername.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="canasta-bench-") as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            upgrade_schema(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    name = f"canasta_bench_{secrets.token_hex(6)}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(parsed.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
