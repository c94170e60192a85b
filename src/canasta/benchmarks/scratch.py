"""Throwaway databases for benchmarks and tests: the same kind as a given URL, never the user's own."""

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

__all__ = ["empty_database", "scratch_database"]


@contextmanager
def empty_database(url: str) -> Iterator[str]:
    """The URL of a new, empty database beside the one ``url`` names (SQLite: a temporary file); dropped after."""
    parsed = make_url(normalise_url(url))
    if parsed.drivername.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="canasta-scratch-") as folder:
            yield f"sqlite:///{Path(folder) / 'scratch.db'}"
        return
    name = f"canasta_scratch_{secrets.token_hex(6)}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_database(url: str) -> Iterator[Engine]:
    """An engine on a new, migrated, empty database beside the one ``url`` names; dropped afterwards."""
    with empty_database(url) as scratch:
        engine = make_engine(scratch)
        try:
            upgrade_schema(engine)
            yield engine
        finally:
            engine.dispose()
