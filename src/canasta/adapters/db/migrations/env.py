"""Alembic environment: the URL comes from the caller's connection or from ``CANASTA_DATABASE_URL``."""

from __future__ import annotations

from alembic import context

from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.tables import metadata
from canasta.config import load_settings

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(load_settings().database_url)
    with engine.connect() as fresh:
        _run(fresh)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]  # alembic types this loosely
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
