"""``canasta bench redeem``: card redemptions per second through a real server on PostgreSQL, against the same
server's bare authenticated endpoint.

Set-up (not timed): a throwaway PostgreSQL database with ``size`` households (and a few more for the warm-up),
each with an active card and one unit of a two-line basket leased to its state's point, stock for all of them and
a device per point (:mod:`canasta.benchmarks.redeem_setup`). Then a server (uvicorn with ``workers`` worker
processes, on 127.0.0.1 and a free port) is started on that database and driven by :mod:`http_load` with
``concurrency`` requests always in flight: a warm-up, then one ``POST /redemptions`` by card per household, each
with its own client-made id. The baseline is the same load against the same server's bare authenticated endpoint
(``GET /auth/whoami`` where the server has it; until then ``GET /health``, which authenticates nobody, and, for
reference, ``POST /cards/verify`` with a device's token). ``ratio = rate / baseline_rate``.

Afterwards the ledger is checked (:func:`canasta.adapters.db.ledger_check.check`), and the number of stored
redemptions must equal the number of successful answers; the benchmark fails otherwise. The server is stopped and
the database dropped whatever happens. SQLite is refused: one writer for the whole file makes a server benchmark
meaningless there.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from canasta.adapters.crypto.receipts import verify_signed
from canasta.adapters.db.engine import normalise_url
from canasta.adapters.db.ledger_check import check
from canasta.adapters.db.redemption_tables import redemption_failures, redemptions
from canasta.benchmarks.http_load import Answer, Load, drive, encode_request
from canasta.benchmarks.redeem_setup import RedeemScene, prepare, server_environment
from canasta.benchmarks.scratch import scratch_database
from canasta.benchmarks.server_process import PROFILE_VARIABLE, CpuWatch, ServerProcess
from canasta.config import Settings
from canasta.domain.errors import ValidationError

__all__ = ["run"]

WHOAMI = "/auth/whoami"
DEFAULT_CONCURRENCY = 32
DEFAULT_WORKERS = 2
WARMUP_AT_MOST = 1000  # redemptions before the clock starts (more households are made for them)
SIGNATURES_CHECKED = 200  # receipts whose signature the benchmark verifies


@dataclass(frozen=True, slots=True)
class _Target:
    """The server under load and its database (an engine beside the server's, for the database's statistics)."""

    server: ServerProcess
    engine: Engine
    database: str

    def sessions(self) -> int:
        """Connections to the database ever closed (PostgreSQL counts a session when it ends)."""
        with self.engine.connect() as connection:
            found = connection.execute(
                text("SELECT sessions FROM pg_stat_database WHERE datname = :name"), {"name": self.database}
            ).scalar()
        return int(found or 0)


@dataclass(frozen=True, slots=True)
class _Phase:
    """One timed load and what the machine did meanwhile."""

    load: Load
    server_cpu: float
    database_cpu: float
    machine_busy: float  # cores busy on the whole machine (everyone's work), on average
    connections_closed: int  # database connections the server closed meanwhile (a pool too small churns them)

    def figures(self, prefix: str = "") -> dict[str, Any]:
        answered = [answer.seconds for answer in self.load.answers]
        count = len(answered)
        return {
            f"{prefix}rate": round(count / self.load.seconds, 1),
            f"{prefix}p50_ms": round(_percentile(answered, 50) * 1000, 2),
            f"{prefix}p99_ms": round(_percentile(answered, 99) * 1000, 2),
            f"{prefix}seconds": round(self.load.seconds, 3),
            f"{prefix}server_cpu_ms_per_request": round(self.server_cpu * 1000 / count, 3),
            f"{prefix}database_cpu_ms_per_request": round(self.database_cpu * 1000 / count, 3),
            f"{prefix}client_cpu_share": round(self.load.client_cpu_seconds / self.load.seconds, 3),
            f"{prefix}machine_busy_cores": round(self.machine_busy, 2),
            f"{prefix}connections_closed_per_request": round(self.connections_closed / count, 3),
        }


def _percentile(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat (zeros where there is none)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _timed(target: _Target, requests: Sequence[bytes], concurrency: int) -> _Phase:
    server = target.server
    sessions = target.sessions()
    # PostgreSQL names each backend process "postgres: user database host state"
    with CpuWatch(group=server.pid) as on_server, CpuWatch(command_contains=f" {target.database} ") as on_database:
        busy_before, total_before = _machine_ticks()
        load = drive(server.host, server.port, requests, concurrency, keep_bodies=True)
        busy_after, total_after = _machine_ticks()
    cores = os.cpu_count() or 1
    machine = (busy_after - busy_before) / (total_after - total_before) * cores if total_after > total_before else 0
    return _Phase(load, on_server.seconds, on_database.seconds, machine, target.sessions() - sessions)


def _has_route(server: ServerProcess, method: str, path: str) -> bool:
    load = drive(server.host, server.port, [encode_request("GET", "/openapi.json", host=server.host)], 1,
                 keep_bodies=True)  # fmt: skip
    document = load.answers[0].json() if load.answers[0].status == 200 else {}
    return method.lower() in document.get("paths", {}).get(path, {})


def _redemption_requests(scene: RedeemScene, host: str) -> list[bytes]:
    return [
        encode_request("POST", "/redemptions", host=host, token=scene.token_for(number, purchase.point),
                       body=purchase.body())
        for number, purchase in enumerate(scene.purchases)
    ]  # fmt: skip


def _baseline_requests(scene: RedeemScene, host: str, route: str, count: int) -> list[bytes]:
    token = next(iter(scene.tokens.values()))[0]
    if route == "GET /health":
        return [encode_request("GET", "/health", host=host)] * count
    if route == f"GET {WHOAMI}":
        return [encode_request("GET", WHOAMI, host=host, token=token)] * count
    cards = [purchase.card for purchase in scene.purchases]
    return [
        encode_request("POST", "/cards/verify", host=host, token=token, body={"text": cards[i % len(cards)]})
        for i in range(count)
    ]


def _refused(loads: Sequence[Load]) -> dict[str, int]:
    """Status and problem code (``409 out_of_stock``, ``0`` for no answer) -> count, of every answer but a 200."""
    found: dict[str, int] = {}
    for load in loads:
        for answer in load.answers:
            if answer.status != 200:
                key = f"{answer.status} {_problem_code(answer)}".strip()
                found[key] = found.get(key, 0) + 1
    return found


def _problem_code(answer: Answer) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(answer.json().get("code", ""))
    return ""


def _check_receipts(scene: RedeemScene, loads: Sequence[Load]) -> None:
    """Verify the signature of the first receipts of each load; raises RuntimeError when one does not verify."""
    for load in loads:
        for answer in load.answers[: SIGNATURES_CHECKED // len(loads)]:
            if answer.status == 200 and not verify_signed(answer.json(), scene.receipt_key):
                raise RuntimeError("a receipt's signature does not verify with the list key")


def _check_database(engine: Engine, successes: int) -> tuple[dict[str, Any], list[str]]:
    """What the database holds after the run, and what is wrong with it: the ledger must check, and every
    successful answer must have exactly one stored redemption with its receipt."""
    with engine.connect() as connection:
        report = check(connection)
        stored = connection.execute(select(func.count()).select_from(redemptions)).scalar_one()
        with_receipt = connection.execute(
            select(func.count()).select_from(redemptions).where(redemptions.c.receipt.is_not(None))
        ).scalar_one()
        failures = connection.execute(select(func.count()).select_from(redemption_failures)).scalar_one()
    problems = []
    if not report.is_consistent:
        problems.append(f"the ledger does not check: {[str(found) for found in report.discrepancies[:5]]}")
    if not stored == with_receipt == successes:
        problems.append(
            f"{successes} successful answers but {stored} stored redemptions ({with_receipt} with a receipt)"
        )
    figures = {"ledger": "consistent" if report.is_consistent else "INCONSISTENT", "transfers": report.transfers,
               "redemptions_stored": stored, "failures_recorded": failures}  # fmt: skip
    return figures, problems


def _profile_summary(folder: Path, route: str, requests: int) -> dict[str, Any]:
    """Statements per request of ``route`` from the workers' counts (see :mod:`server_profile`)."""
    shapes: dict[str, int] = {}
    seconds = 0.0
    served = 0
    for path in folder.glob("sql-*.json"):
        document = json.loads(path.read_text())
        served += int(document["requests"].get(route, 0))
        seconds += float(document["statement_seconds"].get(route, 0.0))
        for shape, count in document["statements"].get(route, {}).items():
            shapes[shape] = shapes.get(shape, 0) + int(count)
    served = served or requests
    return {
        "route": route,
        "requests": served,
        "statements_per_request": round(sum(shapes.values()) / served, 2),
        "statement_wait_ms_per_request": round(seconds * 1000 / served, 3),
        "shapes_per_request": {shape: round(count / served, 2) for shape, count in sorted(shapes.items())},
        "folder": str(folder),
    }


def run(settings: Settings, size: int, **options: Any) -> dict[str, Any]:
    """Redeem ``size`` cards through a real server and compare with its bare endpoint.

    Options: ``concurrency`` (default 32) requests in flight; ``workers`` (default 2) server processes; ``audit``
    ``on`` (default), ``off`` (a development server without the access log) or ``both``: two servers, one with and
    one without the log, loaded in turns (A B B A) in the same run, ``access_log_ratio`` = rate on / rate off;
    ``profile`` (a folder) makes the server count its SQL statements per route and profile itself, and writes both
    there (the figures of a profiled run are not the server's speed). Raises :class:`ValidationError` on SQLite and
    RuntimeError when an answer or the database after the run is wrong.
    """
    concurrency = int(options.get("concurrency") or DEFAULT_CONCURRENCY)
    workers = int(options.get("workers") or DEFAULT_WORKERS)
    if make_url(normalise_url(settings.database_url)).get_backend_name() != "postgresql":
        raise ValidationError(
            "the redeem benchmark drives a server on PostgreSQL; set CANASTA_DATABASE_URL to a postgresql:// URL "
            "(SQLite has one writer per file, so concurrent redemptions would only measure its lock)",
            field="database_url",
        )
    if concurrency < 1 or workers < 1:
        raise ValidationError("concurrency and workers must be at least 1", field="concurrency")
    warmup = min(WARMUP_AT_MOST, max(concurrency * 4, size // 10))
    started = time.perf_counter()
    profiled = Path(options["profile"]) if options.get("profile") else None
    if profiled is not None:
        profiled.mkdir(parents=True, exist_ok=True)
    audit = str(options.get("audit") or "on")
    if audit not in ("on", "off", "both"):
        raise ValidationError("must be on, off or both", field="audit")
    logged = {"on": [True], "off": [False], "both": [True, False]}[audit]
    with scratch_database(settings.database_url) as engine:
        scene = prepare(engine, (size + warmup) * len(logged))
        setup_seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="canasta-bench-redeem-") as folder, contextlib.ExitStack() as stack:
            log = Path(folder) / "server.log"
            servers = []
            for on in logged:
                environment = server_environment(scene.database_url, scene.keys)
                if not on:  # only a development server may run without the access log
                    environment.update(CANASTA_ACCESS_LOG="false", CANASTA_ENVIRONMENT="development")
                if profiled is not None:
                    environment[PROFILE_VARIABLE] = str(profiled)
                servers.append(stack.enter_context(ServerProcess(environment, workers=workers, log_path=log)))
            server = servers[0]
            host = server.host
            target = _Target(server, engine, make_url(scene.database_url).database or "")
            requests = _redemption_requests(scene, host)
            if len(requests) < (size + warmup) * len(logged):
                raise RuntimeError(f"the set-up made only {len(requests)} purchases for {size} + warm-up")
            whoami = _has_route(server, "GET", WHOAMI)
            baseline_route = f"GET {WHOAMI}" if whoami else "GET /health"
            warm_loads = []
            for number, each in enumerate(servers):
                warm_requests = requests[number * warmup : (number + 1) * warmup]
                warm_loads.append(drive(host, each.port, warm_requests, concurrency, keep_bodies=True))
            warm = _joined(warm_loads)
            timed = requests[warmup * len(servers) :]
            drive(host, server.port, _baseline_requests(scene, host, baseline_route, warmup), concurrency)
            if len(servers) == 1:
                measured = _timed(target, timed[:size], concurrency)
                unlogged = None
            else:  # A B B A: the log on and off take turns, so neither profits from the database's warming up
                quarter = size // 2
                parts: dict[bool, list[_Phase]] = {True: [], False: []}
                for turn, on in enumerate((True, False, False, True)):
                    chunk = timed[turn * quarter : (turn + 1) * quarter]
                    each = servers[0] if on else servers[1]
                    parts[on].append(_timed(_Target(each, engine, target.database), chunk, concurrency))
                measured, unlogged = _combined(parts[True]), _combined(parts[False])
            baseline = _timed(target, _baseline_requests(scene, host, baseline_route, size), concurrency)
            verify = None
            if not whoami:  # an authenticated route that exists, for reference
                verify_requests = _baseline_requests(scene, host, "POST /cards/verify", min(size, 5000))
                drive(host, server.port, verify_requests[:warmup], concurrency)
                verify = _timed(target, verify_requests, concurrency)
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        loads = [warm, measured.load] + ([unlogged.load] if unlogged is not None else [])
        refused = _refused(loads)
        answered = sum(len(load.answers) for load in loads)
        successes = sum(1 for load in loads for answer in load.answers if answer.status == 200)
        errors = answered - successes
        baseline_errors = sum(1 for answer in baseline.load.answers if answer.status != 200)
        checks, problems = _check_database(engine, successes)
        if successes:
            _check_receipts(scene, loads)
        if audit != "off":
            checks["access_log_entries"] = _access_log_entries(engine)
    result: dict[str, Any] = {
        "name": "redeem",
        "database": "postgresql",
        "size": size,
        "concurrency": concurrency,
        "workers": workers,
        "access_log": audit,
        **measured.figures(),
        "errors": errors,
        "refused": refused,
        "baseline": (
            f"{baseline_route} on the same server"
            + ("" if whoami else " (no bare authenticated endpoint yet: /health authenticates nobody)")
        ),
        **baseline.figures("baseline_"),
        "ratio": round(baseline.load.seconds / measured.load.seconds, 3),  # same count of requests: rate / rate
    }
    if unlogged is not None:
        result.update(unlogged.figures("access_log_off_"))
        # Redemptions per second with the access log on, over the same without it (each over the same count).
        result["access_log_ratio"] = round(unlogged.load.seconds / measured.load.seconds, 3)
    if verify is not None:
        result["authenticated_reference"] = "POST /cards/verify with a device token (loads keys, verifies a card)"
        result.update(verify.figures("authenticated_reference_"))
        verify_rate = len(verify.load.answers) / verify.load.seconds
        result["ratio_to_authenticated_reference"] = round(size / measured.load.seconds / verify_rate, 3)
    result.update(
        warmup=len(warm.answers), setup_seconds=round(setup_seconds, 1), setup_steps=dict(scene.seconds),
        load_average=_load_average(), **checks,
    )  # fmt: skip
    if errors or baseline_errors:
        problems.append(f"{errors} redemptions and {baseline_errors} baseline requests were not answered 200")
    if problems:
        raise RuntimeError(f"{'; '.join(problems)}; figures: {json.dumps(result)}; server log: {server_log or 'empty'}")
    if profiled is not None:
        result["profile"] = {
            "redemption": _profile_summary(profiled, "POST /redemptions", size + len(warm.answers)),
            "baseline": _profile_summary(profiled, baseline_route, size + warmup),
        }
    return result


def _joined(loads: Sequence[Load]) -> Load:
    """Several loads as one (their answers together; their times added)."""
    return Load(
        answers=tuple(answer for load in loads for answer in load.answers),
        seconds=sum(load.seconds for load in loads),
        client_cpu_seconds=sum(load.client_cpu_seconds for load in loads),
    )


def _combined(phases: Sequence[_Phase]) -> _Phase:
    """Several timed phases of one server as one."""
    return _Phase(
        _joined([phase.load for phase in phases]),
        sum(phase.server_cpu for phase in phases),
        sum(phase.database_cpu for phase in phases),
        sum(phase.machine_busy * phase.load.seconds for phase in phases) / sum(phase.load.seconds for phase in phases),
        sum(phase.connections_closed for phase in phases),
    )


def _access_log_entries(engine: Engine) -> int:
    from canasta.adapters.db.access_log_tables import access_log

    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(access_log)).scalar_one())


def _load_average() -> list[float]:
    with contextlib.suppress(OSError):
        return [round(value, 2) for value in os.getloadavg()]
    return []
