"""Where a server's time goes, measured from inside one worker (benchmark profile runs only).

:func:`install` adds, to one worker process:

* an ASGI middleware that counts requests per route and names the route of the work in hand;
* SQLAlchemy cursor events that count statements per route and per statement shape (``UPDATE ledger_balances``)
  and the wall time spent waiting for each (round trip and the database's work);
* ``cProfile`` with a CPU clock on the event loop's thread and on every thread started afterwards (the thread
  pool where synchronous routes run).

When the worker exits, it writes ``sql-<pid>.json`` and ``profile-<pid>.pstats`` into the folder. Profiling
slows the worker down severalfold: a profile run shows where time goes, never how fast the server is.
"""

from __future__ import annotations

import contextlib
import contextvars
import cProfile
import functools
import json
import os
import pstats
import re
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from canasta.adapters.db import driver

__all__ = ["install", "statement_shape"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

_ROUTE: contextvars.ContextVar[str] = contextvars.ContextVar("route", default="(outside a request)")


_CHANGES = re.compile(r"\b(?:(INSERT)\s+INTO|(UPDATE)|(DELETE)\s+FROM)\s+([\w.\"]+)", re.I)
_CALL = re.compile(r"^\s*SELECT\s+(\w+)\s*\(", re.I)  # a function called for its effect: SELECT canasta_post(...)
_TARGET = re.compile(r"^\s*(?:(SELECT)\b.*?\bFROM|(INSERT)\s+INTO|(UPDATE)|(DELETE)\s+FROM)\s+([\w.\"]+)", re.I | re.S)


@functools.lru_cache(maxsize=1024)
def statement_shape(statement: str) -> str:
    """A statement named by its verb and its first table: ``SELECT users``, ``UPDATE ledger_balances``. (A
    ``SELECT`` is named after the first ``FROM`` in its text, which may be a sub-query's; a ``SELECT`` of one
    function with no ``FROM``, after the function: ``SELECT canasta_post()``; a ``WITH`` holding an ``INSERT``,
    ``UPDATE`` or ``DELETE``, after the first of them.)"""
    if statement.lstrip()[:4].upper() == "WITH":  # named after the first statement inside that changes a table
        changes = _CHANGES.search(statement)
        if changes is not None:
            verb = next(group for group in changes.groups()[:3] if group)
            return f"{verb.upper()} {changes.group(4).strip(chr(34))}"
    found = _TARGET.match(statement)
    if found is None and (called := _CALL.match(statement)) is not None:
        return f"SELECT {called.group(1)}()"
    if found is None:
        return statement.split(maxsplit=1)[0].upper() if statement.strip() else "(empty)"
    verb = next(group for group in found.groups()[:4] if group)
    return f"{verb.upper()} {found.group(5).strip(chr(34))}"


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[str, int] = defaultdict(int)
        self.statements: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.seconds: dict[str, float] = defaultdict(float)

    def document(self) -> dict[str, Any]:
        with self.lock:
            return {
                "pid": os.getpid(),
                "requests": dict(self.requests),
                "statements": {route: dict(shapes) for route, shapes in self.statements.items()},
                "statement_seconds": dict(self.seconds),
            }


def _middleware(app: Asgi, counts: _Counts) -> Asgi:
    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        route = f"{scope['method']} {scope['path']}"
        with counts.lock:
            counts.requests[route] += 1
        token = _ROUTE.set(route)  # copied into the thread pool with the rest of the context
        try:
            await app(scope, receive, send)
        finally:
            _ROUTE.reset(token)

    return counted


def _count_statements(engine: Engine, counts: _Counts) -> None:
    started = threading.local()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started.at = time.perf_counter()
        route = _ROUTE.get()
        with counts.lock:
            counts.statements[route][statement_shape(statement)] += 1

    def after(*_args: Any) -> None:
        spent = time.perf_counter() - getattr(started, "at", time.perf_counter())
        route = _ROUTE.get()
        with counts.lock:
            counts.seconds[route] += spent

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    driver.observe(lambda statement: before(None, None, statement), after)  # the prebuilt hot-path statements
    # Commits and rollbacks are statements too (one round trip each), though not cursor executions.
    for name in ("commit", "rollback", "begin"):

        def transaction(_conn: Any, verb: str = name.upper()) -> None:
            route = _ROUTE.get()
            with counts.lock:
                counts.statements[route][verb] += 1

        event.listen(engine, name, transaction)


def _profile_threads() -> list[cProfile.Profile]:
    """A profiler on this thread and on every thread started from now on, counting each thread's CPU time (waiting
    for the database or for the lock every Python thread shares costs nothing in it)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_new_thread(*_args: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread's life

    threading.setprofile(start_in_new_thread)
    main = cProfile.Profile(time.thread_time)
    profiles.append(main)
    main.enable()
    return profiles


def install(app: Any, engine: Engine, folder: Path) -> None:
    """Count and profile this worker; write the results into ``folder`` when it exits."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = _Counts()
    _count_statements(engine, counts)
    app.add_middleware(_PassThrough, wrap=lambda inner: _middleware(inner, counts))
    profiles = _profile_threads()

    def write() -> None:
        pid = os.getpid()
        (folder / f"sql-{pid}.json").write_text(json.dumps(counts.document(), indent=1))
        stats: pstats.Stats | None = None
        for profile in profiles:
            profile.create_stats()
            if not getattr(profile, "stats", None):
                continue
            if stats is None:
                stats = pstats.Stats(profile)
            else:
                stats.add(profile)
        if stats is not None:
            stats.dump_stats(str(folder / f"profile-{pid}.pstats"))

    written = threading.Event()

    def write_once() -> None:
        if not written.is_set():
            written.set()
            write()

    # uvicorn ends a worker by raising the signal it caught again once it has shut down, so neither atexit nor
    # multiprocessing's finalizers run: the results are written when the application's lifespan ends.
    original = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with original(application) as state:
            yield state
        write_once()

    app.router.lifespan_context = lifespan


class _PassThrough:
    """Starlette middleware class around a plain ASGI wrapper (``add_middleware`` takes a class)."""

    def __init__(self, app: Asgi, wrap: Callable[[Asgi], Asgi]) -> None:
        self._app = wrap(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
