"""Prebuilt statements for the hottest paths (a redemption, its ledger posting, a token check), run on PostgreSQL
by the driver directly.

SQLAlchemy's execution of a statement (parameter processing, execution context, result set-up) costs more Python
time than the driver's own ``execute``, several times over for the short statements a redemption makes a dozen
of. A :class:`Prebuilt` keeps one SQLAlchemy statement, written once for both databases, and compiles it once for
PostgreSQL: its SQL text, its literal parameters (``IN`` lists included) and each parameter's bind processing
(JSON, UTC timestamps), taken from the column types. On PostgreSQL :func:`fetch_all`, :func:`fetch_one`,
:func:`execute` and :func:`execute_many` run that text on the psycopg connection under the caller's
:class:`~sqlalchemy.Connection`, inside its transaction; on SQLite they go through SQLAlchemy as before. Results
come back as plain dicts either way.

Only statements whose result columns need no result processing belong here: UUIDs, text, numbers, dates and JSON
read the same from psycopg as through SQLAlchemy. A ``UtcDateTime`` comes back aware but in the session's time
zone rather than in UTC: right to compare, not to show or store; read such columns through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql import Executable

__all__ = ["Prebuilt", "execute", "execute_many", "fetch_all", "fetch_one", "observe"]

Row = dict[str, Any]
_observers: list[tuple[Callable[[str], None], Callable[[], None]]] = []


def observe(before: Callable[[str], None], after: Callable[[], None]) -> None:
    """Call ``before(sql)`` and ``after()`` around every statement run on the driver directly, as SQLAlchemy's
    cursor events are around its own (a benchmark's profile counts both)."""
    _observers.append((before, after))


def _run(cursor: Any, sql: str, parameters: Any, *, many: bool = False) -> None:
    run = cursor.executemany if many else cursor.execute
    if not _observers:
        run(sql, parameters)
        return
    for before, _ in _observers:
        before(sql)
    try:
        run(sql, parameters)
    finally:
        for _, after in _observers:
            after()


class _Compiled:
    __slots__ = ("defaults", "names", "processors", "sql")

    def __init__(self, sql: str, defaults: dict[str, Any], processors: dict[str, Callable[[Any], Any]]) -> None:
        self.sql = sql
        self.defaults = defaults
        self.processors = processors
        self.names: list[str] | None = None  # the result's column names, read once (the driver builds them anew)

    def column_names(self, cursor: Any) -> list[str]:
        if self.names is None:
            self.names = [column.name for column in cursor.description]
        return self.names

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        parameters = {**self.defaults, **values}
        for name, process in self.processors.items():
            if name in values:
                parameters[name] = process(parameters[name])
        return parameters


class Prebuilt:
    """A statement built once with bound parameters; ``columns`` names the columns an INSERT is given (the
    compiled INSERT lists exactly those)."""

    __slots__ = ("_postgres", "columns", "statement")

    def __init__(self, statement: Executable, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._postgres: _Compiled | None = None

    def postgres(self, postgres: Dialect) -> _Compiled:
        """The statement compiled for PostgreSQL (the first time; any PostgreSQL dialect compiles it alike)."""
        if self._postgres is None:
            compiled = self.statement.compile(dialect=postgres, column_keys=self.columns)  # type: ignore[attr-defined]
            unset = {name: None for name, bind in compiled.binds.items() if bind.required}
            expanded = compiled.construct_expanded_state(unset)
            processors = {
                name: process
                for name, bind in compiled.binds.items()
                if (process := bind.type.dialect_impl(postgres).bind_processor(postgres)) is not None
            }
            self._postgres = _Compiled(expanded.statement, dict(expanded.parameters), processors)
        return self._postgres


def _driver(connection: Connection) -> Any:
    """The psycopg connection under ``connection`` (PostgreSQL), with SQLAlchemy's transaction begun; else None."""
    if connection.dialect.name != "postgresql":
        return None
    if not connection.in_transaction():
        connection.begin()  # SQLAlchemy must know of the transaction the driver is about to open, to commit it
    return connection.connection.driver_connection


def fetch_all(connection: Connection, prebuilt: Prebuilt, values: Mapping[str, Any]) -> list[Row]:
    """Every row of a query, as dicts keyed by column name."""
    driver = _driver(connection)
    if driver is None:
        return [dict(row) for row in connection.execute(prebuilt.statement, dict(values)).mappings()]
    compiled = prebuilt.postgres(connection.dialect)
    with driver.cursor() as cursor:
        _run(cursor, compiled.sql, compiled.parameters(values))
        names = compiled.column_names(cursor)
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def fetch_one(connection: Connection, prebuilt: Prebuilt, values: Mapping[str, Any]) -> Row | None:
    """The first row of a query, or None."""
    driver = _driver(connection)
    if driver is None:
        found = connection.execute(prebuilt.statement, dict(values)).mappings().first()
        return dict(found) if found is not None else None
    compiled = prebuilt.postgres(connection.dialect)
    with driver.cursor() as cursor:
        _run(cursor, compiled.sql, compiled.parameters(values))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip(compiled.column_names(cursor), row, strict=True))


def execute(connection: Connection, prebuilt: Prebuilt, values: Mapping[str, Any]) -> int:
    """Run a statement that returns no rows; how many rows it changed."""
    driver = _driver(connection)
    if driver is None:
        result = connection.execute(prebuilt.statement, dict(values), execution_options={"preserve_rowcount": True})
        return int(result.rowcount)
    compiled = prebuilt.postgres(connection.dialect)
    with driver.cursor() as cursor:
        _run(cursor, compiled.sql, compiled.parameters(values))
        return int(cursor.rowcount)


def execute_many(connection: Connection, prebuilt: Prebuilt, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run a statement once per row of parameters (an INSERT of several rows)."""
    if not rows:
        return
    driver = _driver(connection)
    if driver is None:
        connection.execute(prebuilt.statement, [dict(row) for row in rows])
        return
    compiled = prebuilt.postgres(connection.dialect)
    with driver.cursor() as cursor:
        if len(rows) == 1:
            _run(cursor, compiled.sql, compiled.parameters(rows[0]))
        else:
            _run(cursor, compiled.sql, [compiled.parameters(row) for row in rows], many=True)
