"""``canasta bench eligibility``: a whole cycle for every household, end to end, against hand-written SQL.

Set-up (not timed): a throwaway database with ``size`` synthetic households (about 3.3 people each), imported
with canasta's own import, and a programme whose rule reads three facts. Timed: canasta's ``run_cycle`` (facts,
rule, decisions and entitlements, one transaction), and, on the same data in the same run, a hand-written SQL
baseline doing the same aggregation, rule and ``INSERT ... SELECT`` of decisions and entitlements for a second
cycle. ``ratio`` = baseline seconds / canasta seconds (1.0: the compiler's SQL is as good as a careful person's).
"""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, and_, case, false, func, insert, literal, select, text, true

from canasta.adapters.clock import SystemClock
from canasta.adapters.crypto.fields import FieldSealer
from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db.bulk import make_bulk_writer
from canasta.adapters.db.cycle_store import SqlCycleStore
from canasta.adapters.db.eligibility_run import CycleRun
from canasta.adapters.db.eligibility_tables import cycles, decisions, entitlements
from canasta.adapters.db.repositories import SqlImportJournal, load_areas, parish_codes
from canasta.adapters.db.sql_functions import NewUuid7
from canasta.adapters.db.tables import households, people
from canasta.adapters.ids import new_ids
from canasta.adapters.synth import gazetteer, write_population
from canasta.adapters.tabular import open_tabular
from canasta.benchmarks.scratch import scratch_database
from canasta.config import Settings
from canasta.domain.access import Actor, Role
from canasta.services import cycles as use_cases
from canasta.services.cycles import Eligibility
from canasta.services.importing import import_households

__all__ = ["run"]

SEED = 4
ROUNDS = 2
START = date(2026, 12, 1)
INCOME_LIMIT = 150_000
PROGRAMME = {
    "code": "bench", "name": "Benchmark basket", "kind": "in_kind",
    "rule": f"children_under_5 >= 1 and income_per_capita < {INCOME_LIMIT}",
    "formula": {"basis": "per_eligible_member", "amount": 1, "cap": 3, "member_fact": "children_under_5"},
    "currency": "VES", "unit_value": 30000, "co_payment": 1000,
    "basket": [{"commodity": "rice", "quantity": 2000, "unit": "g"}],
}  # fmt: skip
MANAGER = Actor(user_id=UUID(int=1), name="author", role=Role.PROGRAMME_MANAGER)
APPROVER = Actor(user_id=UUID(int=2), name="approver", role=Role.PROGRAMME_MANAGER)


def _load(engine: Engine, households_count: int) -> int:
    rows = [(i, [area.code, area.name, area.level, area.parent_code or ""]) for i, area in enumerate(gazetteer(), 2)]
    with engine.begin() as connection:
        load_areas(connection, rows)
        areas = parish_codes(connection)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "population.csv"
        write_population(path, households_count, SEED)
        source = open_tabular(path)
        writer = make_bulk_writer(engine)
        try:
            result = import_households(
                header=source.header, rows=source.rows(), source_name=path.name, sha256=source.sha256,
                report_path=Path(folder) / "rejected.csv", writer=writer,
                sealer=FieldSealer(KeyMaterial.generate()), journal=SqlImportJournal(engine), clock=SystemClock(),
                import_id=new_ids(1)[0], new_ids=new_ids, area_codes=areas, definitions={}, actor="bench",
            )  # fmt: skip
        finally:
            writer.close()
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return result.imported


def _eligibility(connection: Any) -> Eligibility:
    return Eligibility(SqlCycleStore(connection), SystemClock(), new_ids, make_run=CycleRun)


def _canasta_run(engine: Engine) -> tuple[float, dict[str, int], UUID]:
    with engine.begin() as connection:
        eligibility = _eligibility(connection)
        if eligibility.store.programme_by_code("bench") is None:
            use_cases.add_programme(eligibility, MANAGER, PROGRAMME)
        cycle = use_cases.draft_cycle(eligibility, MANAGER, "bench", period_start=START, period_end=date(2026, 12, 31))
        connection.execute(cycles.update().where(cycles.c.id == cycle).values(state="approved", version=2))
    started = time.perf_counter()
    with engine.begin() as connection:
        counts = use_cases.run_cycle(_eligibility(connection), APPROVER, cycle)
    return time.perf_counter() - started, counts, cycle


def _baseline_run(engine: Engine, programme_id: UUID) -> tuple[float, int, int]:
    """The same cycle written by hand: one aggregate per household, the rule inline, two INSERT ... SELECTs."""
    cycle_id = new_ids(1)[0]
    now = datetime.now(UTC)
    under_five = date(START.year - 5, START.month, START.day)
    with engine.begin() as connection:
        number = SqlCycleStore(connection).next_cycle_number(programme_id)
        connection.execute(
            cycles.insert().values(
                id=cycle_id, programme_id=programme_id, number=number, period_start=START,
                period_end=date(2026, 12, 31),
                state="approved", programme_document={}, pmt_document=None, author="bench", approved_by="other",
                approved_at=now, preview=None, version=1, created_at=now, updated_at=now,
            )
        )  # fmt: skip
    started = time.perf_counter()
    with engine.begin() as connection:
        facts = (
            select(
                households.c.id.label("household_id"),
                func.sum(case((people.c.birth_date > under_five, 1), else_=0)).label("children"),
                (households.c.monthly_income * 1.0 / func.count(people.c.id)).label("per_capita"),
            )
            .join(people, and_(people.c.household_id == households.c.id, people.c.status == "active"))
            .where(households.c.status == "active")
            .group_by(households.c.id, households.c.monthly_income)
            .subquery()
        )
        eligible = and_(facts.c.children >= 1, facts.c.per_capita < INCOME_LIMIT)
        units = case((facts.c.children > 3, 3), else_=facts.c.children)
        made = connection.execute(
            insert(decisions).from_select(
                [
                    "id",
                    "cycle_id",
                    "household_id",
                    "version",
                    "is_eligible",
                    "reason",
                    "score",
                    "units",
                    "decided_at",
                    "decided_by",
                    "appeal_id",
                ],
                select(
                    NewUuid7(),
                    literal(cycle_id),
                    facts.c.household_id,
                    literal(1),
                    case((eligible, true()), else_=false()),
                    case((eligible, literal("eligible")), else_=literal("rule_not_met")),
                    literal(None),
                    case((eligible, units), else_=literal(0)),
                    literal(now),
                    literal("bench"),
                    literal(None),
                ),
            ),
            execution_options={"preserve_rowcount": True},
        ).rowcount
        granted = connection.execute(
            insert(entitlements).from_select(
                ["id", "programme_id", "cycle_id", "household_id", "decision_id", "units", "unit_value",
                 "co_payment", "currency", "valid_from", "valid_until", "home_point_id", "state", "created_at"],
                select(
                    NewUuid7(), literal(programme_id), literal(cycle_id), decisions.c.household_id, decisions.c.id,
                    decisions.c.units, literal(30000), literal(1000), literal("VES"), literal(START),
                    literal(date(2026, 12, 31)), literal(None), literal("open"), literal(now),
                ).where(decisions.c.cycle_id == cycle_id, decisions.c.is_eligible),
            ),
            execution_options={"preserve_rowcount": True},
        ).rowcount  # fmt: skip
    return time.perf_counter() - started, int(made), int(granted)


def run(settings: Settings, size: int, **_options: Any) -> dict[str, Any]:
    """A cycle over ``size`` households: canasta's run against the hand-written SQL, in one scratch database."""
    with scratch_database(settings.database_url) as engine:
        loading = time.perf_counter()
        persons = _load(engine, size)
        load_seconds = time.perf_counter() - loading
        # Two alternating rounds, each writing its own cycle; the second round of each is reported, so both
        # run with the tables already in the cache and neither pays for the other's cold start.
        for _ in range(ROUNDS):
            seconds, counts, cycle = _canasta_run(engine)
            with engine.connect() as connection:
                programme_id = connection.execute(
                    select(cycles.c.programme_id).where(cycles.c.id == cycle)
                ).scalar_one()
            baseline_seconds, baseline_decisions, baseline_entitlements = _baseline_run(engine, programme_id)
        database = engine.dialect.name
    if (baseline_decisions, baseline_entitlements) != (counts["decisions"], counts["entitlements"]):
        raise RuntimeError(
            f"the baseline decided differently: {baseline_decisions}/{baseline_entitlements} against "
            f"{counts['decisions']}/{counts['entitlements']}"
        )
    return {
        "name": "eligibility",
        "database": database,
        "size": size,
        "persons": persons,
        "decisions": counts["decisions"],
        "entitlements": counts["entitlements"],
        "seconds": round(seconds, 3),
        "rate": round(size / seconds, 1),
        "baseline": "hand-written SQL",
        "baseline_seconds": round(baseline_seconds, 3),
        "baseline_rate": round(size / baseline_seconds, 1),
        "ratio": round(baseline_seconds / seconds, 3),
        "load_seconds": round(load_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
