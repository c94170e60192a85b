"""Engines for the two supported databases, configured the same way wherever they are made."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["is_sqlite", "make_engine", "normalise_url"]


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy's bare default would be psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: a committed transaction survives power loss, which matters once money moves (DESIGN section 4).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class _NoRowsLogged(logging.Filter):
    """Drops SQLAlchemy's records of rows read (written once its logger is turned up to DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


_NO_ROWS_LOGGED = _NoRowsLogged()


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout; their folder is created.

    Statements may be logged (where logging is turned up to INFO), never the values bound to them nor the rows
    read: they are personal data. ``hide_parameters`` also keeps the values out of the text of database errors.
    """
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NO_ROWS_LOGGED)  # once: a filter is added only once
    options.setdefault("hide_parameters", True)
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)
