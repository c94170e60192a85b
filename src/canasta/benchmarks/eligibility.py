"""``canasta bench eligibility``: a whole cycle for every household, end to end, against hand-written SQL.

Set-up (not timed): a throwaway database with ``size`` synthetic households (about 3.3 people each), imported
with canasta's own import, and a programme whose rule reads three facts. Above :data:`IMPORTED_AT_MOST`
households on PostgreSQL, that many are imported and the rest are copies of them made in SQL (new ids, shifted
in time so they stay time-ordered, and new references): a 10-million-household run then costs minutes to set up
instead of the better part of an hour, and the copies have exactly the imported population's distribution.
Timed: canasta's ``run_cycle`` (facts, rule, decisions and entitlements, one transaction), and, on the same
data in the same run, a hand-written SQL baseline doing the same aggregation, rule and ``INSERT ... SELECT`` of
decisions and entitlements for a second cycle. ``ratio`` = baseline seconds / canasta seconds (1.0: the
compiler's SQL is as good as a careful person's).
"""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, and_, case, except_, false, func, insert, literal, select, text, true

from canasta.adapters.clock import SystemClock
from canasta.adapters.crypto.fields import FieldSealer
from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db.bulk import make_bulk_writer
from canasta.adapters.db.cycle_store import SqlCycleStore
from canasta.adapters.db.eligibility_run import CycleRun
from canasta.adapters.db.eligibility_tables import cycles, decisions, distribution_points, entitlements
from canasta.adapters.db.repositories import SqlImportJournal, load_areas, parish_codes
from canasta.adapters.db.sql_functions import NewUuid7
from canasta.adapters.db.tables import areas, households, people
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
IMPORTED_AT_MOST = 1_000_000  # households; more are copied in SQL (PostgreSQL)
COPY_SHIFT_MS = 1_000_000_000  # about 11.6 days between copies' UUIDv7 times: far more than an import takes
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


def _points() -> list[dict[str, Any]]:
    """A point in every state, every other municipality and every third parish, so leases fall at all three
    levels of the area tree."""
    now = datetime.now(UTC)
    every = {"state": 1, "municipality": 2, "parish": 3}
    chosen = [area for level, step in every.items() for area in [a for a in gazetteer() if a.level == level][::step]]
    ids = new_ids(len(chosen))
    return [
        {"id": point_id, "code": f"DP-{area.code}", "name": f"Bodega {area.name}", "kind": "shop",
         "area_code": area.code, "status": "active", "created_at": now}
        for point_id, area in zip(ids, chosen, strict=True)
    ]  # fmt: skip


def _copy_households(engine: Engine, wanted: int) -> int:
    """Grow the imported population to ``wanted`` households with copies made in SQL (PostgreSQL only); returns
    the persons added. Copy ``k`` of a household or person keeps every column but its id, whose UUIDv7 time is
    moved ``k`` * :data:`COPY_SHIFT_MS` later (still time-ordered, and no two copies can meet), and its reference,
    which gets ``~k``."""

    def shifted(column: str, copy: int) -> str:
        digits = f"replace({column}::text, '-', '')"
        millis = f"('x' || substr({digits}, 1, 12))::bit(48)::bigint + {copy * COPY_SHIFT_MS}"
        return f"(lpad(to_hex({millis}), 12, '0') || substr({digits}, 13))::uuid"

    def select_list(table: Any, copy: int) -> str:
        special = {"id": shifted("id", copy), "household_id": shifted("household_id", copy)}
        special["reference"] = f"reference || '~{copy}'"
        return ", ".join(special.get(column.name, column.name) for column in table.columns)

    def copy_rows(connection: Any, table: Any, key: str, copy: int) -> int:
        names = ", ".join(column.name for column in table.columns)
        statement = f"INSERT INTO {table.name} ({names}) SELECT {select_list(table, copy)} FROM {table.name} "
        return int(connection.execute(text(statement + f"WHERE {key} IN (SELECT id FROM chosen)")).rowcount)

    added = 0
    with engine.begin() as connection:
        base = connection.execute(select(func.count()).select_from(households)).scalar_one()
        connection.execute(text("CREATE TEMPORARY TABLE base_households AS SELECT id FROM households ORDER BY id"))
        copy = 0
        while base * (copy + 1) < wanted:
            copy += 1
            take = min(base, wanted - base * copy)
            connection.execute(text(f"CREATE TEMPORARY TABLE chosen AS SELECT id FROM base_households LIMIT {take}"))
            copy_rows(connection, households, "id", copy)
            added += copy_rows(connection, people, "household_id", copy)
            connection.execute(text("DROP TABLE chosen"))
    return added


def _load(engine: Engine, households_count: int) -> int:
    rows = [(i, [area.code, area.name, area.level, area.parent_code or ""]) for i, area in enumerate(gazetteer(), 2)]
    with engine.begin() as connection:
        load_areas(connection, rows)
        areas = parish_codes(connection)
        connection.execute(distribution_points.insert(), _points())
    copies = engine.dialect.name == "postgresql" and households_count > IMPORTED_AT_MOST
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "population.csv"
        write_population(path, IMPORTED_AT_MOST if copies else households_count, SEED)
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
    persons = result.imported
    if copies:
        persons += _copy_households(engine, households_count)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return persons


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


def _baseline_run(engine: Engine, programme_id: UUID) -> tuple[float, int, int, UUID]:
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
        parish, municipality = areas.alias("parish"), areas.alias("municipality")
        at_parish, at_municipality, at_state = (distribution_points.alias(name) for name in ("p3", "p2", "p1"))
        home = (
            select(
                parish.c.code.label("area_code"),
                func.coalesce(at_parish.c.id, at_municipality.c.id, at_state.c.id).label("point_id"),
            )
            .select_from(parish)
            .join(municipality, municipality.c.code == parish.c.parent_code)
            .outerjoin(at_parish, at_parish.c.area_code == parish.c.code)
            .outerjoin(at_municipality, at_municipality.c.area_code == municipality.c.code)
            .outerjoin(at_state, at_state.c.area_code == municipality.c.parent_code)
            .where(parish.c.level == "parish")
            .subquery("home")
        )  # the bench has at most one point per area: no ranking needed
        granted = connection.execute(
            insert(entitlements).from_select(
                ["id", "programme_id", "cycle_id", "household_id", "decision_id", "units", "unit_value",
                 "co_payment", "currency", "valid_from", "valid_until", "home_point_id", "state", "created_at"],
                select(
                    NewUuid7(), literal(programme_id), literal(cycle_id), decisions.c.household_id, decisions.c.id,
                    decisions.c.units, literal(30000), literal(1000), literal("VES"), literal(START),
                    literal(date(2026, 12, 31)), home.c.point_id, literal("open"), literal(now),
                )
                .join(households, households.c.id == decisions.c.household_id)
                .outerjoin(home, home.c.area_code == households.c.area_code)
                .where(decisions.c.cycle_id == cycle_id, decisions.c.is_eligible),
            ),
            execution_options={"preserve_rowcount": True},
        ).rowcount  # fmt: skip
    return time.perf_counter() - started, int(made), int(granted), cycle_id


def _disagreements(engine: Engine, ours: UUID, theirs: UUID) -> int:
    """Rows of decisions (household, eligible, units) and entitlements (household, units, home point) that one of
    two cycles has and the other has not, counted in the database (both ways: ``EXCEPT`` each way)."""
    total = 0
    with engine.connect() as connection:
        for table, columns in (
            (decisions, ["household_id", "is_eligible", "units"]),
            (entitlements, ["household_id", "units", "home_point_id"]),
        ):

            def of(cycle: UUID, table: Any = table, columns: list[str] = columns) -> Any:
                return select(*(table.c[name] for name in columns)).where(table.c.cycle_id == cycle)

            for one, other in ((ours, theirs), (theirs, ours)):
                only = except_(of(one), of(other)).subquery("only")
                total += int(connection.execute(select(func.count()).select_from(only)).scalar_one())
    return total


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
            baseline_seconds, baseline_decisions, baseline_entitlements, baseline_cycle = _baseline_run(
                engine, programme_id
            )
        differing = _disagreements(engine, cycle, baseline_cycle)
        with engine.connect() as connection:
            leased = connection.execute(
                select(func.count()).where(entitlements.c.cycle_id == cycle, entitlements.c.home_point_id.is_not(None))
            ).scalar_one()
        database = engine.dialect.name
    if differing or (baseline_decisions, baseline_entitlements) != (counts["decisions"], counts["entitlements"]):
        raise RuntimeError(
            f"the baseline decided differently ({differing} rows differ): {baseline_decisions}/"
            f"{baseline_entitlements} against {counts['decisions']}/{counts['entitlements']}"
        )
    return {
        "name": "eligibility",
        "database": database,
        "size": size,
        "persons": persons,
        "decisions": counts["decisions"],
        "entitlements": counts["entitlements"],
        "leased": leased,
        "seconds": round(seconds, 3),
        "rate": round(size / seconds, 1),
        "baseline": "hand-written SQL",
        "baseline_seconds": round(baseline_seconds, 3),
        "baseline_rate": round(size / baseline_seconds, 1),
        "ratio": round(baseline_seconds / seconds, 3),
        "load_seconds": round(load_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
