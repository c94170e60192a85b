"""Storage: tables, migrations, repositories, set-based SQL and bulk loading, on SQLite and PostgreSQL."""
