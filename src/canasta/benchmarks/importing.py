"""``canasta bench import``: persons per second through the whole import path, against a raw bulk write.

The full path is what ``canasta import households`` does: read the CSV, validate every row, seal identifiers,
phones and health needs under per-household keys, look up what exists, and write in batches (with the import's
own pipelining: on more than one core a worker process prepares households while this process writes). The
baseline, measured in the same run on a second throwaway database, writes the same rows (same counts, same column
values, sealed columns of the same length) with the database's raw bulk path alone: SQLite ``executemany``,
PostgreSQL binary ``COPY``. Preparing the baseline's rows is not timed; only its writes are.

Besides the figures DESIGN section 10 asks for, the result tells how the full path spent its time: batches
written, CPU seconds of this process and of the worker, and the peak memory of each.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from canasta.adapters.clock import SystemClock
from canasta.adapters.crypto.fields import FieldSealer
from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db.bulk import make_bulk_writer
from canasta.adapters.db.repositories import SqlImportJournal, load_areas, parish_codes
from canasta.adapters.db.tables import people
from canasta.adapters.ids import new_ids
from canasta.adapters.synth import gazetteer, write_population
from canasta.adapters.tabular import open_tabular
from canasta.benchmarks.scratch import scratch_database
from canasta.config import Settings
from canasta.services.importing import import_households

__all__ = ["run"]

PERSONS_PER_HOUSEHOLD = 3.3
SEED = 20261129
#: bump when the synthetic generator's output changes, so a cached population from an older generator is not reused
POPULATION_FORMAT = 2


def _population(size: int, folder: Path) -> Path:
    households = max(1, round(size / PERSONS_PER_HOUSEHOLD))
    cache = Path(os.environ.get("CANASTA_BENCH_CACHE", tempfile.gettempdir())) / "canasta-bench"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"population-v{POPULATION_FORMAT}-{households}-{SEED}.csv"
    if not path.exists():
        write_population(path, households, SEED)
    _ = folder
    return path


def _load_areas(engine: Any) -> None:
    rows = [(i, [area.code, area.name, area.level, area.parent_code or ""]) for i, area in enumerate(gazetteer(), 2)]
    with engine.begin() as connection:
        load_areas(connection, rows)


class _CountingWriter:
    """The real writer, counting the batches it writes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.spelling = inner.spelling
        self.batches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write_batch(self, households: Any, people: Any, identifiers: Any) -> None:
        self.batches += 1
        self.inner.write_batch(households, people, identifiers)


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _full_path(engine: Any, source: Any, sealer: FieldSealer, batch_size: int) -> tuple[float, int, dict[str, Any]]:
    with engine.connect() as connection:
        areas = parish_codes(connection)
    writer = _CountingWriter(make_bulk_writer(engine))
    cpu = _cpu_seconds(resource.RUSAGE_SELF)
    worker_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result = import_households(
            header=source.header, rows=source.rows(), source_name=source.path.name, sha256=source.sha256,
            report_path=Path(folder) / "rejected.csv", writer=writer, sealer=sealer,
            journal=SqlImportJournal(engine), clock=SystemClock(), import_id=new_ids(1)[0], new_ids=new_ids,
            area_codes=areas, definitions={}, actor="bench", batch_size=batch_size,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    details = {
        "households": result.households_imported,
        "batch_size": batch_size,
        "batches": writer.batches,
        "cpu_seconds": round(_cpu_seconds(resource.RUSAGE_SELF) - cpu, 3),
        # The preparing worker, when the import started one (0 on one core or for a file of one chunk).
        "worker_cpu_seconds": round(_cpu_seconds(resource.RUSAGE_CHILDREN) - worker_cpu, 3),
        "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    writer.close()
    if result.rejected:
        raise RuntimeError(f"benchmark population had {result.rejected} rejected rows: {result.reasons}")
    return seconds, result.imported, details


class _RecordingWriter:
    """Captures the rows the full path would write, batch by batch, so the baseline writes exactly those."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.spelling = inner.spelling  # the rows are recorded as the writer takes them, ready to write
        self.seconds = 0.0

    def existing_households(self, references: Any) -> dict[str, Any]:
        return {}

    def existing_people(self, references: Any) -> dict[str, Any]:
        return {}

    def taken_identifiers(self, kind: str, indexes: Any) -> set[bytes]:
        return set()

    def household_data_key(self, household_id: Any) -> bytes:
        raise AssertionError("the benchmark population has contiguous households")

    def write_batch(self, households: Any, people: Any, identifiers: Any) -> None:
        # Only the raw write is timed; preparing the rows (parsing, sealing) is the part the baseline leaves out.
        households, people, identifiers = list(households), list(people), list(identifiers)
        started = time.perf_counter()
        self.inner.write_batch(households, people, identifiers)
        self.seconds += time.perf_counter() - started

    def close(self) -> None:
        self.inner.close()


def _baseline(engine: Any, source: Any, sealer: FieldSealer, batch_size: int) -> tuple[float, int]:
    with engine.connect() as connection:
        areas = parish_codes(connection)
    writer = _RecordingWriter(make_bulk_writer(engine))
    with tempfile.TemporaryDirectory() as folder:
        result = import_households(
            header=source.header, rows=source.rows(), source_name=source.path.name, sha256=source.sha256,
            report_path=Path(folder) / "rejected.csv", writer=writer, sealer=sealer,
            journal=SqlImportJournal(engine), clock=SystemClock(), import_id=new_ids(1)[0], new_ids=new_ids,
            area_codes=areas, definitions={}, actor="bench", batch_size=batch_size,
            # Prepared in this process, between the timed writes: a worker preparing the next batches would take
            # CPU from the writes being timed and make the baseline slower than the raw path is.
            pipeline=False,
        )  # fmt: skip
    writer.close()
    return writer.seconds, result.imported


def run(settings: Settings, size: int, **_options: Any) -> dict[str, Any]:
    """Import ``size`` persons (about ``size / 3.3`` households) and compare with a raw bulk write."""
    sealer = FieldSealer(KeyMaterial.generate())
    with tempfile.TemporaryDirectory() as folder:
        source = open_tabular(_population(size, Path(folder)))
        with scratch_database(settings.database_url) as engine:
            _load_areas(engine)
            seconds, imported, details = _full_path(engine, source, sealer, settings.import_batch_size)
            with engine.connect() as connection:
                stored = connection.execute(select(func.count()).select_from(people)).scalar_one()
            if engine.dialect.name == "postgresql":
                with engine.connect() as connection:
                    connection.execute(text("CHECKPOINT"))
        with scratch_database(settings.database_url) as engine:
            _load_areas(engine)
            baseline_seconds, baseline_rows = _baseline(engine, source, sealer, settings.import_batch_size)
    rate = imported / seconds
    baseline_rate = baseline_rows / baseline_seconds
    return {
        "name": "import",
        "database": engine.dialect.name,
        "size": imported,
        "persons_stored": stored,
        "seconds": round(seconds, 3),
        "rate": round(rate, 1),
        "baseline": "executemany" if engine.dialect.name == "sqlite" else "binary COPY",
        "baseline_seconds": round(baseline_seconds, 3),
        "baseline_rate": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **details,
    }
