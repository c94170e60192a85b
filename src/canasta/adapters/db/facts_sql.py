"""Facts for every household at once: one SELECT, grouped by household, identical on SQLite and PostgreSQL.

:func:`facts_query` compiles fact definitions (``canasta.domain.facts``) into one SQLAlchemy Core statement over
``households`` left-joined to their active ``people``: no loop over households, usable as a subquery or CTE by
eligibility runs, previews and the PMT score. The semantics are those of
:func:`canasta.domain.facts.compute_facts`, and a property test holds the two together:

* ages come from integer dates: ``YYYYMMDD(reference) - YYYYMMDD(birth_date)`` (``strftime`` on SQLite, ``to_char``
  on PostgreSQL); "at least ``k`` years old" is ``YYYYMMDD(birth_date) <= YYYYMMDD(reference) - 10000 * k``, so no
  date arithmetic differs between the databases and 29 February needs no special case;
* counts are ``SUM(CASE WHEN ... THEN 1 ELSE 0 END)``; ``min``/``max`` fall back to the definition's ``empty``;
* booleans are comparisons of 0/1 aggregates (true booleans on PostgreSQL, 0/1 on SQLite, typed ``Boolean`` so both
  read back as ``bool``); decimals are ``DOUBLE PRECISION``.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Double,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from canasta.adapters.db.tables import households, people
from canasta.domain.facts import (
    BUILT_IN_FACTS,
    Aggregate,
    Fact,
    FactLibrary,
    HasAsset,
    HouseholdRecord,
    HouseholdValue,
    MemberAggregate,
    MemberFilter,
    MemberRecord,
    MemberValue,
    Ratio,
    ValueType,
    date_number,
)
from canasta.domain.registry import WASHINGTON_GROUP_DOMAINS, Difficulty, RecordStatus

__all__ = ["FACT_SQL_TYPES", "Greatest", "Least", "facts_query", "read_household_record"]

#: the SQL type each fact type is selected as
FACT_SQL_TYPES = {ValueType.INT: BigInteger, ValueType.DECIMAL: Double, ValueType.BOOL: Boolean, ValueType.TEXT: String}


class DateNumber(FunctionElement[int]):
    """A date as the integer YYYYMMDD."""

    type = Integer()
    name = "date_number"
    inherit_cache = True


class Greatest(FunctionElement[Any]):
    """The largest of its arguments (none of which may be NULL): ``GREATEST`` or SQLite's scalar ``max``."""

    name = "greatest"
    inherit_cache = True


class Least(FunctionElement[Any]):
    """The smallest of its arguments (none of which may be NULL): ``LEAST`` or SQLite's scalar ``min``."""

    name = "least"
    inherit_cache = True


@compiles(DateNumber)
def _date_number(element: DateNumber, compiler: SQLCompiler, **options: Any) -> str:
    day = compiler.process(element.clauses, **options)
    return (
        f"CAST(EXTRACT(YEAR FROM {day}) * 10000 + EXTRACT(MONTH FROM {day}) * 100 + EXTRACT(DAY FROM {day}) AS INTEGER)"
    )


@compiles(DateNumber, "postgresql")
def _date_number_postgresql(element: DateNumber, compiler: SQLCompiler, **options: Any) -> str:
    return f"CAST(to_char({compiler.process(element.clauses, **options)}, 'YYYYMMDD') AS INTEGER)"


@compiles(DateNumber, "sqlite")
def _date_number_sqlite(element: DateNumber, compiler: SQLCompiler, **options: Any) -> str:
    # SQLite keeps a date as 'YYYY-MM-DD' text; strftime also reads any other form SQLite understands.
    return f"CAST(strftime('%Y%m%d', {compiler.process(element.clauses, **options)}) AS INTEGER)"


@compiles(Greatest)
@compiles(Least)
def _extreme(element: Greatest | Least, compiler: SQLCompiler, **options: Any) -> str:
    return f"{element.name.upper()}({compiler.process(element.clauses, **options)})"


@compiles(Greatest, "sqlite")
@compiles(Least, "sqlite")
def _extreme_sqlite(element: Greatest | Least, compiler: SQLCompiler, **options: Any) -> str:
    function = "max" if isinstance(element, Greatest) else "min"
    return f"{function}({compiler.process(element.clauses, **options)})"


def _number(value: int) -> ColumnElement[int]:
    return literal(value, BigInteger)


def born_by(reference_date: date, years: int) -> date:
    """The last birth date of someone at least ``years`` old on ``reference_date``.

    The same rule as comparing ``YYYYMMDD`` numbers: born on or before the same month and day ``years`` earlier,
    where 29 February of a common year reads as 28 February (so a leap-day birthday counts from 1 March).
    Comparing the stored date with this constant lets the database use the column as it is, instead of
    formatting every birth date as a number.
    """
    year = reference_date.year - years
    day = min(reference_date.day, monthrange(year, reference_date.month)[1])
    return date(year, reference_date.month, day)


def _member_filter(where: MemberFilter, born: ColumnElement[int], reference_date: date) -> ColumnElement[bool]:
    """The SQL form of :meth:`MemberFilter.matches`; false for the NULL row of a household with no members."""
    conditions: list[ColumnElement[bool]] = [people.c.id.is_not(None)]
    if where.age_at_least is not None:
        conditions.append(people.c.birth_date <= born_by(reference_date, where.age_at_least))
    if where.age_under is not None:
        conditions.append(people.c.birth_date > born_by(reference_date, where.age_under))
    if where.relationships:
        conditions.append(people.c.relationship.in_([value.value for value in where.relationships]))
    if where.sexes:
        conditions.append(people.c.sex.in_([int(value) for value in where.sexes]))
    if where.is_disabled is not None:
        # COALESCE: an unanswered domain is "no difficulty", so NOT below never meets a NULL.
        disabled = or_(
            *(func.coalesce(people.c[domain], 0) >= int(Difficulty.A_LOT) for domain in WASHINGTON_GROUP_DOMAINS)
        )
        conditions.append(disabled if where.is_disabled else not_(disabled))
    if where.schooling:
        conditions.append(people.c.schooling.in_([value.value for value in where.schooling]))
    if where.employment:
        conditions.append(people.c.employment.in_([value.value for value in where.employment]))
    return and_(*conditions)


def _member_value(value: MemberValue, born: ColumnElement[int], reference: int) -> ColumnElement[int]:
    if value is MemberValue.AGE:
        return cast((_number(reference) - born) // 10000, Integer)  # born <= reference: floor = truncation
    return Greatest(*(func.coalesce(people.c[domain], 0) for domain in WASHINGTON_GROUP_DOMAINS))


def _aggregate(definition: MemberAggregate, born: ColumnElement[int], reference_date: date) -> ColumnElement[Any]:
    matches = _member_filter(definition.where, born, reference_date)
    reference = date_number(reference_date)
    kind = definition.aggregate
    if kind in (Aggregate.COUNT, Aggregate.ANY):
        flags = (
            func.sum(case((matches, 1), else_=0)) if kind is Aggregate.COUNT else func.max(case((matches, 1), else_=0))
        )
        return cast(func.coalesce(flags, 0), BigInteger)
    assert definition.value is not None  # checked when the definition was built
    value = _member_value(definition.value, born, reference)
    if kind is Aggregate.SUM:
        return cast(func.coalesce(func.sum(case((matches, value), else_=0)), 0), BigInteger)
    folded = func.min(case((matches, value))) if kind is Aggregate.MIN else func.max(case((matches, value)))
    return cast(func.coalesce(folded, definition.empty), BigInteger)


def _household(fact: Fact) -> ColumnElement[Any]:
    definition = fact.definition
    if isinstance(definition, HasAsset):
        return case((households.c.assets.op("&")(int(definition.asset)) != 0, 1), else_=0)
    assert isinstance(definition, HouseholdValue)
    column = households.c[definition.column.value]
    if fact.type is ValueType.TEXT:
        return func.coalesce(column, "")
    return cast(func.coalesce(column, 0), BigInteger)


def facts_query(
    names: Iterable[str],
    *,
    reference_date: date,
    area_prefix: str | None = None,
    library: FactLibrary | None = None,
) -> Select[Any]:
    """One row per active household (of ``area_prefix`` and the areas under it, when given): ``household_id``
    then one column per named fact, typed by :data:`FACT_SQL_TYPES`, never NULL.

    Households with no active member are included (their counts are 0). Use the result as a subquery or CTE.
    Raises :class:`~canasta.domain.facts.UnknownFactError` for a name the library does not define.
    """
    library = BUILT_IN_FACTS if library is None else library
    wanted = list(dict.fromkeys(names))
    needed = library.closure(wanted)
    born = DateNumber(people.c.birth_date)  # compiled only where an age is a value (head_age, oldest_age, ...)
    base_columns: list[ColumnElement[Any]] = [households.c.id.label("household_id")]
    for fact in needed:
        if isinstance(fact.definition, MemberAggregate):
            base_columns.append(_aggregate(fact.definition, born, reference_date).label(fact.name))
        elif not isinstance(fact.definition, Ratio):
            base_columns.append(_household(fact).label(fact.name))
    membership = and_(
        people.c.household_id == households.c.id,
        people.c.status == RecordStatus.ACTIVE.value,
        people.c.birth_date <= reference_date,
    )
    base = (
        select(*base_columns)
        .select_from(households.outerjoin(people, membership))
        .where(households.c.status == RecordStatus.ACTIVE.value)
        .group_by(households.c.id)  # the primary key: every household column is functionally dependent on it
    )
    if area_prefix is not None:
        area = households.c.area_code
        base = base.where(or_(area == area_prefix, area.startswith(area_prefix + "-", autoescape=True)))
    inner = base.subquery("household_facts")
    columns: list[ColumnElement[Any]] = [inner.c.household_id]
    for name in wanted:
        fact = library.fact(name)
        definition = fact.definition
        if isinstance(definition, Ratio):
            numerator = sum(
                (inner.c[operand] for operand in definition.numerator[1:]), inner.c[definition.numerator[0]]
            )
            denominator = sum(
                (inner.c[operand] for operand in definition.denominator[1:]), inner.c[definition.denominator[0]]
            )
            whole = case((denominator == 0, 1), else_=denominator)
            column: ColumnElement[Any] = cast(numerator, Double) / cast(whole, Double)
        elif fact.type is ValueType.BOOL:
            column = type_coerce(inner.c[name] == 1, Boolean)
        else:
            column = inner.c[name]
        columns.append(column.label(name))
    return select(*columns)


def read_household_record(connection: Connection, household_id: UUID) -> HouseholdRecord | None:
    """One household and its active members as :func:`~canasta.domain.facts.compute_facts` takes them (the
    explanation path), or None when there is no such household. Reads no sealed column."""
    row = connection.execute(select(households).where(households.c.id == household_id)).mappings().first()
    if row is None:
        return None
    columns = ("birth_date", "sex", "relationship", "schooling", "employment", *WASHINGTON_GROUP_DOMAINS)
    members = connection.execute(
        select(*(people.c[name] for name in columns))
        .where(people.c.household_id == household_id, people.c.status == RecordStatus.ACTIVE.value)
        .order_by(people.c.id)
    ).mappings()
    return HouseholdRecord(
        area_code=row["area_code"], monthly_income=row["monthly_income"], assets=row["assets"],
        land_m2=row["land_m2"], dwelling_type=row["dwelling_type"], tenure=row["tenure"],
        members=tuple(MemberRecord(**member) for member in members),
    )  # fmt: skip
