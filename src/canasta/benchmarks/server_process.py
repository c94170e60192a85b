"""A real canasta API server in child processes, for benchmarks and end-to-end tests.

:func:`make_app` is the application factory uvicorn runs (``--factory``), so that one server can have several
worker processes; it builds canasta from the ``CANASTA_*`` environment exactly as ``canasta serve`` does, but
leaves the schema alone (the database is migrated before the server starts, and several workers must not race to
migrate it). :class:`ServerProcess` starts such a server on 127.0.0.1 and a free port in a process group of its
own, waits until it answers, reads its CPU time from ``/proc``, and stops it (gracefully, or with SIGKILL to
simulate a crash).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "POOL_VARIABLE",
    "PROFILE_VARIABLE",
    "CpuWatch",
    "ServerProcess",
    "free_port",
    "make_app",
    "process_cpu_seconds",
]

#: when set to a directory, each worker counts SQL statements per route and profiles itself, and writes both there
PROFILE_VARIABLE = "CANASTA_BENCH_PROFILE"
#: for experiments only: a connection pool of this size per worker instead of the engine's default
POOL_VARIABLE = "CANASTA_BENCH_POOL_SIZE"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def make_app() -> FastAPI:
    """The API over canasta built from the environment (uvicorn's ``--factory`` target)."""
    from canasta.adapters.db.engine import make_engine
    from canasta.bootstrap import bootstrap
    from canasta.config import load_settings
    from canasta.entrypoints.api.app import create_app

    settings = load_settings()
    pool_size = os.environ.get(POOL_VARIABLE)
    engine = make_engine(settings.database_url, pool_size=int(pool_size)) if pool_size else None
    canasta = bootstrap(settings, engine=engine)
    app = create_app(canasta)
    folder = os.environ.get(PROFILE_VARIABLE)
    if folder:
        from canasta.benchmarks.server_profile import install

        install(app, canasta.engine, Path(folder))
    return app


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at this moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # after "pid (name) ": state is field 0, utime 11, stime 12


def _cpu_by_process(group: int | None, command_contains: str | None, matches: dict[int, bool]) -> dict[int, float]:
    """CPU seconds of each live process in ``group`` or whose command line contains ``command_contains``;
    ``matches`` remembers which processes' command lines matched, so each is read once."""
    found: dict[int, float] = {}
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat_fields(pid)
        if fields is None:
            continue
        if group is not None and int(fields[2]) != group:
            continue
        if command_contains is not None:
            if pid not in matches:
                try:
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                matches[pid] = command_contains in command
            if not matches[pid]:
                continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    return found


def process_cpu_seconds(*, group: int | None = None, command_contains: str | None = None) -> float:
    """User + system CPU seconds of the live processes in process ``group``, or whose command line contains
    ``command_contains`` (Linux ``/proc``; 0.0 elsewhere)."""
    return sum(_cpu_by_process(group, command_contains, {}).values())


class CpuWatch:
    """CPU seconds that matching processes (as in :func:`process_cpu_seconds`) used while the watch ran.

    ``/proc`` is read every ``interval`` seconds meanwhile, so that processes that start and end during the watch
    (a database connection opened for one request) are counted up to their last reading; a process that lives
    less than one interval is missed.
    """

    def __init__(self, *, group: int | None = None, command_contains: str | None = None, interval: float = 0.25):
        self._group, self._command, self._interval = group, command_contains, interval
        self._matches: dict[int, bool] = {}
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self.seconds = 0.0

    def _read(self) -> dict[int, float]:
        return _cpu_by_process(self._group, self._command, self._matches)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self._last.update(self._read())

    def __enter__(self) -> CpuWatch:
        self._first = self._read()
        self._last = dict(self._first)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._read())
        self.seconds = sum(cpu - self._first.get(pid, 0.0) for pid, cpu in self._last.items())


class ServerProcess:
    """``uvicorn --factory canasta.benchmarks.server_process:make_app`` with ``workers`` workers, in its own process
    group; a context manager that always stops it."""

    def __init__(
        self,
        environment: Mapping[str, str],
        *,
        workers: int = 1,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.environment = dict(environment)
        self.workers = workers
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    def start(self, *, timeout: float = 60.0) -> ServerProcess:
        """Start the server and wait until ``GET /health`` answers; raises RuntimeError with its log otherwise."""
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "canasta.benchmarks.server_process:make_app",
            "--host", self.host, "--port", str(self.port), "--workers", str(self.workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        log = self.log_path.open("ab") if self.log_path is not None else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(  # noqa: S603  # our own interpreter and module, no shell
                command, env={**os.environ, **self.environment}, stdout=log, stderr=log, start_new_session=True
            )
        finally:
            if self.log_path is not None and not isinstance(log, int):
                log.close()
        deadline = time.monotonic() + timeout
        while not self._answers_health():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the server did not start (exit {self._process.returncode}); {self._log_tail()}")
            time.sleep(0.1)
        return self

    def _answers_health(self) -> bool:
        request = f"GET /health HTTP/1.1\r\nhost: {self.host}\r\nconnection: close\r\n\r\n".encode()
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as connection:
                connection.sendall(request)
                return connection.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "no log kept"
        return "log ends: " + self.log_path.read_text(errors="replace")[-2000:]

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server's live processes (the supervisor and its workers)."""
        return process_cpu_seconds(group=self.pid)

    def stop(self, *, timeout: float = 20.0) -> None:
        """Shut down gracefully (SIGTERM: workers finish their requests), then SIGKILL whatever is left."""
        if self._process is None or self._process.poll() is not None:
            self._reap()
            return
        self._process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash: nothing gets to finish or clean up)."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # it had ended already
            os.killpg(self._process.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self._process is not None:
            self._process.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
