"""Storage: tables, migrations, repositories, set-based SQL and bulk loading, on SQLite and PostgreSQL."""

from canasta.adapters.db import card_tables as card_tables  # registers the card tables on the shared metadata
