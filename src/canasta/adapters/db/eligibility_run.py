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
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql import Subquery

from canasta.adapters.db.eligibility_tables import decisions, distribution_points, entitlements
from canasta.adapters.db.facts_sql import facts_query
from canasta.adapters.db.rule_sql import pmt_score_sql, rule_to_sql
from canasta.adapters.db.sql_functions import NewUuid7
from canasta.adapters.db.tables import areas, households
from canasta.domain.cycles import DecisionReason
from canasta.domain.pmt import PmtModel
from canasta.domain.programmes import BenefitBasis, Programme
from canasta.domain.rules import Rule

__all__ = ["CycleRun", "generate_decisions", "generate_entitlements", "preview"]


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


def _insert_new(connection: Connection, table: Any, key: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` for the connection's database: rows already there are skipped
    by the unique key itself, with no anti-join for the planner to get wrong on a table it has no statistics of."""
    from sqlalchemy.dialects import postgresql, sqlite

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
        _insert_new(connection, decisions, ["cycle_id", "household_id", "version"]).from_select(columns, rows),
        execution_options={"preserve_rowcount": True},
    )
    return int(result.rowcount)


def _home_points() -> Subquery:
    """Parish code -> the active distribution point whose area is the closest above it (longest code prefix).

    A small query over the areas (one row per parish), joined to the households afterwards.
    """
    parish = areas.alias("parish")
    best = (
        select(distribution_points.c.id)
        .where(
            distribution_points.c.status == "active",
            or_(
                parish.c.code == distribution_points.c.area_code,
                parish.c.code.like(distribution_points.c.area_code + "-%"),
            ),
        )
        .order_by(func.length(distribution_points.c.area_code).desc(), distribution_points.c.code)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(parish.c.code.label("area_code"), best.label("point_id"))
        .where(parish.c.level == "parish")
        .subquery("home_points")
    )


def generate_entitlements(connection: Connection, run: CycleRun, *, now: datetime) -> int:
    """One entitlement per eligible household's latest decision, leased to its home point; returns how many."""
    latest = (
        select(decisions.c.household_id, func.max(decisions.c.version).label("version"))
        .where(decisions.c.cycle_id == run.cycle_id)
        .group_by(decisions.c.household_id)
        .subquery("latest")
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
        .join(latest, and_(latest.c.household_id == decisions.c.household_id, latest.c.version == decisions.c.version))
        .join(households, households.c.id == decisions.c.household_id)
        .outerjoin(home, home.c.area_code == households.c.area_code)
        .where(decisions.c.cycle_id == run.cycle_id, decisions.c.is_eligible, decisions.c.units > 0)
    )
    columns = ["id", "programme_id", "cycle_id", "household_id", "decision_id", "units", "unit_value", "co_payment",
               "currency", "valid_from", "valid_until", "home_point_id", "state", "created_at"]  # fmt: skip
    result = connection.execute(
        _insert_new(connection, entitlements, ["programme_id", "cycle_id", "household_id"]).from_select(columns, rows),
        execution_options={"preserve_rowcount": True},
    )
    return int(result.rowcount)
