"""The set path of a cycle: preview, decisions and entitlements for every household at once, in SQL.

Facts come from :func:`~canasta.adapters.db.facts_sql.facts_query`, the rule from
:func:`~canasta.adapters.db.rule_sql.rule_to_sql`; each step is one ``INSERT ... SELECT`` (or one aggregate
``SELECT``), never a Python loop over households. Every insert skips households that already have their row
(``ON CONFLICT DO NOTHING`` on the unique key), so running a step twice creates nothing twice, and a step
interrupted midway is completed by running it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.sql import Subquery

from canasta.adapters.db.eligibility_tables import cycles, decisions, distribution_points, entitlements
from canasta.adapters.db.facts_sql import facts_query
from canasta.adapters.db.rule_sql import pmt_score_sql, rule_to_sql
from canasta.adapters.db.sql_functions import NewUuid7
from canasta.adapters.db.tables import areas, households
from canasta.domain.cycles import DecisionReason
from canasta.domain.pmt import PmtModel
from canasta.domain.programmes import BenefitBasis, Programme
from canasta.domain.rules import Rule

__all__ = ["CycleRun", "generate_decisions", "generate_entitlements", "preview"]

ANALYZE_AFTER = 10_000  # decisions written in one run, above which PostgreSQL is asked to sample them at once


@dataclass(frozen=True, slots=True)
class CycleRun:
    """Everything the set path needs about one cycle (its programme pinned as it was drafted)."""

    cycle_id: UUID
    programme_id: UUID
    programme: Programme
    rule: Rule
    reference_date: date
    period_start: date
    period_end: date
    pmt: PmtModel | None = None


def _in_areas(column: Any, codes: Sequence[str]) -> ColumnElement[bool]:
    if not codes:
        return true()
    return or_(*[or_(column == code, column.like(code + "-%")) for code in codes])


@dataclass(frozen=True, slots=True)
class _Population:
    """The served households' facts, and the SQL for the rule, the PMT score, eligibility and units over them."""

    facts: Subquery
    rule: ColumnElement[bool]
    score: ColumnElement[Any]
    eligible: ColumnElement[bool]
    units: ColumnElement[int]


def _population(run: CycleRun) -> _Population:
    formula = run.programme.formula
    # area_code is a fact like the others, so the programme's areas filter the one aggregate query itself.
    names = [*run.rule.facts, "members", "area_code", *(run.pmt.facts if run.pmt else ())]
    if formula.member_fact:
        names.append(formula.member_fact)
    facts = facts_query(dict.fromkeys(names), reference_date=run.reference_date).subquery("facts")
    scoped = (
        select(facts).where(_in_areas(facts.c.area_code, run.programme.area_codes)).subquery("population")
        if run.programme.area_codes
        else facts
    )
    rule = rule_to_sql(run.rule, scoped)
    if formula.basis is BenefitBasis.PER_HOUSEHOLD:
        units: ColumnElement[int] = literal(formula.amount)
    elif formula.basis is BenefitBasis.PER_MEMBER:
        units = literal(formula.amount) * scoped.c.members
    else:
        units = literal(formula.amount) * scoped.c[formula.member_fact or ""]
    if formula.cap is not None:
        units = case((units > formula.cap, literal(formula.cap)), else_=units)
    if run.pmt is None:
        return _Population(scoped, rule, null(), and_(rule, units > 0), units)
    score = pmt_score_sql(run.pmt, scoped)
    return _Population(scoped, rule, score, and_(rule, score <= run.pmt.cutoff, units > 0), units)


def preview(connection: Connection, run: CycleRun, *, samples: int = 5) -> dict[str, Any]:
    """Counts by state, eligible households, units and cost against the budget, and sample household ids."""
    population = _population(run)
    scoped, units, eligible = population.facts, population.units, population.eligible
    parish, municipality, state = areas.alias("parish"), areas.alias("municipality"), areas.alias("state")
    by_state = (
        select(
            state.c.code,
            state.c.name,
            func.count().label("households"),
            func.sum(case((eligible, 1), else_=0)).label("eligible"),
            func.sum(case((eligible, units), else_=0)).label("units"),
        )
        .select_from(scoped)
        .join(parish, parish.c.code == scoped.c.area_code)
        .join(municipality, municipality.c.code == parish.c.parent_code)
        .join(state, state.c.code == municipality.c.parent_code)
        .group_by(state.c.code, state.c.name)
        .order_by(state.c.code)
    )
    rows = connection.execute(by_state).all()
    unit_value = run.programme.unit_value
    areas_out = [
        {
            "code": code,
            "name": name,
            "households": int(total),
            "eligible": int(chosen or 0),
            "units": int(count or 0),
            "cost": int(count or 0) * unit_value,
        }
        for code, name, total, chosen, count in rows
    ]
    total_units = sum(area["units"] for area in areas_out)
    sample_rows = {
        flag: [
            str(row[0])
            for row in connection.execute(
                select(scoped.c.household_id)
                .where(eligible if flag else ~eligible)
                .order_by(scoped.c.household_id)
                .limit(samples)
            )
        ]
        for flag in (True, False)
    }
    budget = run.programme.budget_per_cycle
    return {
        "households": sum(area["households"] for area in areas_out),
        "eligible": sum(area["eligible"] for area in areas_out),
        "units": total_units,
        "cost": total_units * unit_value,
        "currency": run.programme.currency,
        "budget": budget,
        "over_budget": budget is not None and total_units * unit_value > budget,
        "by_area": areas_out,
        "sample_eligible": sample_rows[True],
        "sample_not_eligible": sample_rows[False],
    }


def _insert_new(connection: Connection, table: Any, key: list[str], cycle_id: UUID) -> Any:
    """The ``INSERT`` for ``table``'s rows of the cycle: a plain one when the cycle has none yet (the first run),
    else ``INSERT ... ON CONFLICT (key) DO NOTHING``, so rows already there are skipped by the unique key itself,
    with no anti-join for the planner to get wrong on a table it has no statistics of.

    The cycle's row is locked first (PostgreSQL), so a second run of the same cycle waits for the first and then
    finds its rows; the conflict check, a fifth of the cost of a first run, is paid only by re-runs.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    if connection.dialect.name == "postgresql":
        connection.execute(select(cycles.c.id).where(cycles.c.id == cycle_id).with_for_update())
    if not connection.execute(select(exists().where(table.c.cycle_id == cycle_id))).scalar_one():
        return insert(table)
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=key)


def generate_decisions(connection: Connection, run: CycleRun, *, decided_by: str, now: datetime) -> int:
    """Version-1 decisions for every household served that has none yet in this cycle; returns how many."""
    population = _population(run)
    scoped, rule, units, eligible = population.facts, population.rule, population.units, population.eligible
    reasons = [(eligible, literal(DecisionReason.ELIGIBLE.value))]
    if run.pmt is not None:
        reasons.append((and_(rule, population.score > run.pmt.cutoff), literal(DecisionReason.PMT_ABOVE_CUTOFF.value)))
    reasons.append((rule, literal(DecisionReason.NO_UNITS.value)))
    reason = case(*reasons, else_=literal(DecisionReason.RULE_NOT_MET.value))
    rows = select(
        NewUuid7(),
        literal(run.cycle_id),
        scoped.c.household_id,
        literal(1),
        case((eligible, true()), else_=false()),
        reason,
        population.score,
        case((eligible, units), else_=literal(0)),
        literal(now),
        literal(decided_by),
        literal(None),
    ).where(true())  # SQLite needs a WHERE to read ON CONFLICT after INSERT ... SELECT
    columns = ["id", "cycle_id", "household_id", "version", "is_eligible", "reason", "score", "units",
               "decided_at", "decided_by", "appeal_id"]  # fmt: skip
    result = connection.execute(
        _insert_new(connection, decisions, ["cycle_id", "household_id", "version"], run.cycle_id).from_select(
            columns, rows
        ),
        execution_options={"preserve_rowcount": True},
    )
    written = int(result.rowcount)
    if connection.dialect.name == "postgresql" and written >= ANALYZE_AFTER:
        # The next statements (entitlements, counts, the budget) read these rows. Without statistics of them the
        # planner takes the cycle for empty, and a nested loop it picks on that belief can run for hours.
        connection.execute(text("ANALYZE decisions"))
    return written


def _home_points() -> Subquery:
    """Parish code -> the active distribution point whose area is the closest above it: the parish itself, else its
    municipality, else its state (the longest code prefix); among points of one area, the first by code.

    Equality joins over the area tree and one window per area, so the database computes it once per parish and
    hash-joins it to the households (a correlated "best point" subquery would run once per household).
    """
    parish, municipality = areas.alias("parish"), areas.alias("municipality")
    ranked = (
        select(
            distribution_points.c.area_code,
            distribution_points.c.id,
            func.row_number()
            .over(partition_by=distribution_points.c.area_code, order_by=distribution_points.c.code)
            .label("rank"),
        )
        .where(distribution_points.c.status == "active")
        .subquery("ranked_points")
    )
    first = select(ranked.c.area_code, ranked.c.id).where(ranked.c.rank == 1).subquery("first_points")
    at_parish, at_municipality, at_state = (
        first.alias("at_parish"),
        first.alias("at_municipality"),
        first.alias("at_state"),
    )
    return (
        select(
            parish.c.code.label("area_code"),
            func.coalesce(at_parish.c.id, at_municipality.c.id, at_state.c.id).label("point_id"),
        )
        .select_from(parish)
        .outerjoin(municipality, municipality.c.code == parish.c.parent_code)
        .outerjoin(at_parish, at_parish.c.area_code == parish.c.code)
        .outerjoin(at_municipality, at_municipality.c.area_code == municipality.c.code)
        .outerjoin(at_state, at_state.c.area_code == municipality.c.parent_code)
        .where(parish.c.level == "parish")
        .subquery("home_points")
    )


def generate_entitlements(connection: Connection, run: CycleRun, *, now: datetime) -> int:
    """One entitlement per eligible household's latest decision, leased to its home point; returns how many.

    A decision superseded by a later version (an upheld appeal) is skipped. Only appeals make later versions, so
    when the cycle has none (always on its first run) the query leaves that test out: an anti-join the planner
    may cost wrongly on rows it has no statistics of yet.
    """
    newer = decisions.alias("newer")
    appealed = select(exists().where(decisions.c.cycle_id == run.cycle_id, decisions.c.version > 1))
    current = (
        ~select(newer.c.id)
        .where(
            newer.c.cycle_id == decisions.c.cycle_id,
            newer.c.household_id == decisions.c.household_id,
            newer.c.version > decisions.c.version,
        )
        .exists()
        if connection.execute(appealed).scalar_one()
        else true()
    )
    home = _home_points()
    programme = run.programme
    rows = (
        select(
            NewUuid7(),
            literal(run.programme_id),
            literal(run.cycle_id),
            decisions.c.household_id,
            decisions.c.id,
            decisions.c.units,
            literal(programme.unit_value),
            literal(programme.co_payment),
            literal(programme.currency),
            literal(run.period_start),
            literal(run.period_end),
            home.c.point_id,
            literal("open"),
            literal(now),
        )
        .select_from(decisions)
        .join(households, households.c.id == decisions.c.household_id)
        .outerjoin(home, home.c.area_code == households.c.area_code)
        .where(decisions.c.cycle_id == run.cycle_id, decisions.c.is_eligible, decisions.c.units > 0, current)
    )
    columns = ["id", "programme_id", "cycle_id", "household_id", "decision_id", "units", "unit_value", "co_payment",
               "currency", "valid_from", "valid_until", "home_point_id", "state", "created_at"]  # fmt: skip
    result = connection.execute(
        _insert_new(connection, entitlements, ["programme_id", "cycle_id", "household_id"], run.cycle_id).from_select(
            columns, rows
        ),
        execution_options={"preserve_rowcount": True},
    )
    return int(result.rowcount)
