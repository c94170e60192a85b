"""Facts: named household-level values, defined once, computed set-wise in SQL and for one household here.

A :class:`Fact` pairs a name and a description with a declarative *definition*; nothing in a definition is code:

* :class:`MemberAggregate`: ``count``, ``sum``, ``min``, ``max`` or ``any`` over the household's members that pass
  a :class:`MemberFilter` (age bounds, relationship, sex, disability, schooling, employment);
* :class:`HouseholdValue`: a column of the household row (income, assets bit set, land, dwelling, tenure, area);
* :class:`HasAsset`: whether the household holds one :class:`~canasta.domain.registry.Asset`;
* :class:`Ratio`: a sum of whole-number facts divided by another, as a decimal.

The same definition is compiled to SQL by ``canasta.adapters.db.facts_sql`` (every household at once) and computed
by :func:`compute_facts` (one household, for explanations); a property test holds both to the same values on
SQLite and PostgreSQL. The semantics both follow:

* **Members** are the household's active people born on or before the reference date (someone born later is not
  yet a member when facts are taken as of an earlier date).
* **Age** is completed years on the reference date, ``(YYYYMMDD(reference) - YYYYMMDD(birth)) // 10000``: a
  birthday counts on its date, and someone born on 29 February turns a year older on 1 March in common years.
* **Disability** follows the Washington Group cut-off: "a lot of difficulty" or "cannot do at all" (answer 3 or
  4) in at least one of the six domains. Unanswered domains count as no difficulty.
* **Missing values**: ``min``/``max`` over no members give the definition's ``empty`` value (0 by default); an
  unknown land area reads 0; an unknown dwelling type or tenure reads ``''``. Facts are never null.
* **Ratios** divide as decimals (IEEE 754 double precision in both back ends); a zero denominator counts as 1, so a
  household of dependants with no working-age member has a dependency ratio equal to its number of dependants.

Names are checked against the prohibited categories (DESIGN section 1) when a fact is defined.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from canasta.domain.errors import ValidationError
from canasta.domain.privacy import refuse_prohibited
from canasta.domain.registry import (
    WASHINGTON_GROUP_DOMAINS,
    Asset,
    Difficulty,
    Employment,
    Relationship,
    Schooling,
    Sex,
)

__all__ = [
    "BUILT_IN_FACTS",
    "RESERVED_NAMES",
    "Aggregate",
    "Fact",
    "FactDefinition",
    "FactLibrary",
    "HasAsset",
    "HouseholdColumn",
    "HouseholdRecord",
    "HouseholdValue",
    "MemberAggregate",
    "MemberFilter",
    "MemberRecord",
    "MemberValue",
    "Ratio",
    "UnknownFactError",
    "Value",
    "ValueType",
    "age_on",
    "compute_facts",
    "date_number",
]

#: a fact's (or a rule expression's) value in Python: int, float (decimal), bool or str (text)
Value = int | float | bool | str

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: words a fact may not be called: the rule language's keywords, and the facts query's key column
RESERVED_NAMES = frozenset({"and", "or", "not", "in", "true", "false", "household_id"})


class ValueType(StrEnum):
    """The type of a fact or of a rule expression."""

    INT = "int"  # whole number (64-bit in SQL)
    DECIMAL = "decimal"  # number with a fraction: IEEE 754 double in Python and in both databases
    BOOL = "bool"  # true or false
    TEXT = "text"  # text, compared exactly (code point by code point)


class UnknownFactError(ValidationError):
    """A name that is not a defined fact; ``suggestions`` holds the closest known names (possibly none)."""

    code = "unknown_fact"

    def __init__(
        self, name: str, known: Iterable[str], *, field: str = "facts", offset: int | None = None,
        line: int | None = None, column: int | None = None,
    ) -> None:  # fmt: skip
        suggestions = tuple(difflib.get_close_matches(name, list(known), n=3, cutoff=0.6))
        hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(
            f"{where}unknown fact {name!r}{hint}", field=field, name=name, suggestions=suggestions, offset=offset,
            line=line, column=column,
        )  # fmt: skip
        self.name = name
        self.suggestions = suggestions


class Aggregate(StrEnum):
    """How a :class:`MemberAggregate` folds the members that pass its filter into one value."""

    COUNT = "count"  # how many members pass (int)
    SUM = "sum"  # the sum of a member value over them (int; 0 when none)
    MIN = "min"  # the smallest member value (int; ``empty`` when none)
    MAX = "max"  # the largest member value (int; ``empty`` when none)
    ANY = "any"  # whether at least one member passes (bool)


class MemberValue(StrEnum):
    """A per-member number that ``sum``, ``min`` and ``max`` aggregate."""

    AGE = "age"  # completed years on the reference date
    DIFFICULTY = "difficulty"  # the highest Washington Group answer over the six domains (1-4; 0 when none given)


class HouseholdColumn(StrEnum):
    """A column of the household row that a fact may read."""

    MONTHLY_INCOME = "monthly_income"  # int, minor units of the household's currency
    ASSETS = "assets"  # int, the Asset bit set (rules read it through has_asset)
    LAND_M2 = "land_m2"  # int, square metres; unknown reads 0
    DWELLING_TYPE = "dwelling_type"  # text, a DwellingType value; unknown reads ''
    TENURE = "tenure"  # text, a Tenure value; unknown reads ''
    AREA_CODE = "area_code"  # text, the parish code


_COLUMN_TYPES = {
    HouseholdColumn.MONTHLY_INCOME: ValueType.INT,
    HouseholdColumn.ASSETS: ValueType.INT,
    HouseholdColumn.LAND_M2: ValueType.INT,
    HouseholdColumn.DWELLING_TYPE: ValueType.TEXT,
    HouseholdColumn.TENURE: ValueType.TEXT,
    HouseholdColumn.AREA_CODE: ValueType.TEXT,
}


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """One active member, as the facts see them (the columns of ``people`` that facts read)."""

    birth_date: date
    sex: int = Sex.NOT_KNOWN
    relationship: str = Relationship.OTHER_RELATIVE
    schooling: str | None = None
    employment: str | None = None
    wg_seeing: int | None = None
    wg_hearing: int | None = None
    wg_walking: int | None = None
    wg_cognition: int | None = None
    wg_self_care: int | None = None
    wg_communication: int | None = None

    @property
    def difficulties(self) -> tuple[int | None, ...]:
        """The six Washington Group answers, in ``WASHINGTON_GROUP_DOMAINS`` order."""
        return tuple(getattr(self, domain) for domain in WASHINGTON_GROUP_DOMAINS)

    @property
    def is_disabled(self) -> bool:
        """The Washington Group cut-off: at least a lot of difficulty in at least one domain."""
        return any(answer is not None and answer >= Difficulty.A_LOT for answer in self.difficulties)


@dataclass(frozen=True, slots=True)
class HouseholdRecord:
    """One household and its *active* members, as the facts see them."""

    area_code: str
    monthly_income: int
    assets: int = 0
    land_m2: int | None = None
    dwelling_type: str | None = None
    tenure: str | None = None
    members: tuple[MemberRecord, ...] = ()


def date_number(day: date) -> int:
    """``day`` as the integer YYYYMMDD (the form both back ends compute ages from)."""
    return day.year * 10000 + day.month * 100 + day.day


def age_on(birth_date: date, reference_date: date) -> int:
    """Completed years on ``reference_date`` (negative before birth)."""
    return (date_number(reference_date) - date_number(birth_date)) // 10000


@dataclass(frozen=True, slots=True)
class MemberFilter:
    """Which members an aggregate looks at; every condition given must hold (an empty filter takes everyone).

    ``age_at_least`` and ``age_under`` bound age in completed years (``age_at_least <= age < age_under``); the
    tuples list accepted values (empty: any); ``is_disabled`` selects by the Washington Group cut-off. A member
    whose schooling or employment is unknown never matches a schooling or employment condition.
    """

    age_at_least: int | None = None
    age_under: int | None = None
    relationships: tuple[Relationship, ...] = ()
    sexes: tuple[Sex, ...] = ()
    is_disabled: bool | None = None
    schooling: tuple[Schooling, ...] = ()
    employment: tuple[Employment, ...] = ()

    def matches(self, member: MemberRecord, age: int) -> bool:
        """Whether ``member``, ``age`` years old on the reference date, passes."""
        return (
            (self.age_at_least is None or age >= self.age_at_least)
            and (self.age_under is None or age < self.age_under)
            and (not self.relationships or member.relationship in self.relationships)
            and (not self.sexes or member.sex in self.sexes)
            and (self.is_disabled is None or member.is_disabled == self.is_disabled)
            and (not self.schooling or member.schooling in self.schooling)
            and (not self.employment or member.employment in self.employment)
        )


@dataclass(frozen=True, slots=True)
class MemberAggregate:
    """``aggregate`` over the members passing ``where``; ``value`` is what sum/min/max fold."""

    aggregate: Aggregate
    where: MemberFilter = MemberFilter()
    value: MemberValue | None = None
    empty: int = 0  # what min and max give when no member passes

    def __post_init__(self) -> None:
        needs_value = self.aggregate in (Aggregate.SUM, Aggregate.MIN, Aggregate.MAX)
        if needs_value != (self.value is not None):
            raise ValidationError(
                "sum, min and max need a member value; count and any take none", field="value", code="invalid_fact"
            )


@dataclass(frozen=True, slots=True)
class HouseholdValue:
    """A column of the household row."""

    column: HouseholdColumn


@dataclass(frozen=True, slots=True)
class HasAsset:
    """Whether the household's asset bit set includes ``asset``."""

    asset: Asset


@dataclass(frozen=True, slots=True)
class Ratio:
    """``sum(numerator facts) / sum(denominator facts)`` as a decimal; a zero denominator counts as 1."""

    numerator: tuple[str, ...]
    denominator: tuple[str, ...]


FactDefinition = MemberAggregate | HouseholdValue | HasAsset | Ratio


@dataclass(frozen=True, slots=True)
class Fact:
    """A named household-level value. Raises ``ValidationError`` (or ``ProhibitedCategoryError``) when built."""

    name: str
    definition: FactDefinition
    description: str

    def __post_init__(self) -> None:
        refuse_prohibited([self.name], where="fact")
        if _NAME.fullmatch(self.name) is None or self.name in RESERVED_NAMES:
            raise ValidationError(
                "a fact name is 1-63 characters of a-z, 0-9 and _, starting with a letter, and not a reserved word",
                field="name",
                code="invalid_fact",
                name=self.name,
            )

    @property
    def type(self) -> ValueType:
        """What the fact holds."""
        definition = self.definition
        if isinstance(definition, MemberAggregate):
            return ValueType.BOOL if definition.aggregate is Aggregate.ANY else ValueType.INT
        if isinstance(definition, HouseholdValue):
            return _COLUMN_TYPES[definition.column]
        if isinstance(definition, HasAsset):
            return ValueType.BOOL
        return ValueType.DECIMAL


class FactLibrary(Mapping[str, Fact]):
    """A validated set of facts by name: unique names; ratios over whole-number facts that are not ratios."""

    def __init__(self, facts: Iterable[Fact]) -> None:
        self._facts: dict[str, Fact] = {}
        for fact in facts:
            if fact.name in self._facts:
                raise ValidationError(f"fact {fact.name!r} is defined twice", field="name", code="invalid_fact")
            self._facts[fact.name] = fact
        for fact in self._facts.values():
            if isinstance(fact.definition, Ratio):
                for operand in (*fact.definition.numerator, *fact.definition.denominator):
                    known = self._facts.get(operand)
                    if known is None or known.type is not ValueType.INT or isinstance(known.definition, Ratio):
                        raise ValidationError(
                            f"ratio {fact.name!r} needs whole-number facts; {operand!r} is not one",
                            field="definition",
                            code="invalid_fact",
                        )

    def __getitem__(self, name: str) -> Fact:
        return self._facts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)

    def fact(self, name: str) -> Fact:
        """The fact called ``name``. Raises :class:`UnknownFactError` naming the closest known facts."""
        try:
            return self._facts[name]
        except KeyError:
            raise UnknownFactError(name, self._facts, field="facts") from None

    def extended(self, facts: Iterable[Fact]) -> FactLibrary:
        """A new library with these facts added (a deployment's own definitions beside the built-in ones)."""
        return FactLibrary([*self._facts.values(), *facts])

    def closure(self, names: Iterable[str]) -> list[Fact]:
        """The facts named and every fact their ratios read, each once, operands first.

        Raises :class:`UnknownFactError` for a name that is not defined.
        """
        ordered: dict[str, Fact] = {}
        for name in names:
            fact = self.fact(name)
            if isinstance(fact.definition, Ratio):
                for operand in (*fact.definition.numerator, *fact.definition.denominator):
                    ordered.setdefault(operand, self._facts[operand])
            ordered.setdefault(name, fact)
        return list(ordered.values())


def _member_value(value: MemberValue, member: MemberRecord, age: int) -> int:
    if value is MemberValue.AGE:
        return age
    return max((answer or 0 for answer in member.difficulties), default=0)


def _household_value(column: HouseholdColumn, household: HouseholdRecord) -> Value:
    raw: Value | None = getattr(household, column.value)
    if raw is None:
        return "" if _COLUMN_TYPES[column] is ValueType.TEXT else 0
    return raw


def compute_facts(
    household: HouseholdRecord,
    *,
    reference_date: date,
    names: Iterable[str] | None = None,
    library: FactLibrary | None = None,
) -> dict[str, Value]:
    """The named facts (all of the library's when ``names`` is None) of one household on ``reference_date``.

    The explanation path: the same values the set-wise SQL gives this household. Raises
    :class:`UnknownFactError` for a name the library does not define.
    """
    library = BUILT_IN_FACTS if library is None else library
    wanted = list(library) if names is None else list(names)
    reference = date_number(reference_date)
    members = [
        (member, (reference - date_number(member.birth_date)) // 10000)
        for member in household.members
        if date_number(member.birth_date) <= reference
    ]
    values: dict[str, Value] = {}
    for fact in library.closure(wanted):
        definition = fact.definition
        if isinstance(definition, MemberAggregate):
            chosen = [(member, age) for member, age in members if definition.where.matches(member, age)]
            if definition.aggregate is Aggregate.COUNT:
                values[fact.name] = len(chosen)
            elif definition.aggregate is Aggregate.ANY:
                values[fact.name] = bool(chosen)
            else:
                assert definition.value is not None  # checked when the definition was built
                numbers = [_member_value(definition.value, member, age) for member, age in chosen]
                if definition.aggregate is Aggregate.SUM:
                    values[fact.name] = sum(numbers)
                elif definition.aggregate is Aggregate.MIN:
                    values[fact.name] = min(numbers, default=definition.empty)
                else:
                    values[fact.name] = max(numbers, default=definition.empty)
        elif isinstance(definition, HouseholdValue):
            values[fact.name] = _household_value(definition.column, household)
        elif isinstance(definition, HasAsset):
            values[fact.name] = bool(household.assets & definition.asset)
        else:
            numerator = sum(int(values[name]) for name in definition.numerator)
            denominator = sum(int(values[name]) for name in definition.denominator)
            values[fact.name] = float(numerator) / float(denominator or 1)
    return {name: values[name] for name in wanted}


_COUNT, _ANY, _MIN, _MAX = Aggregate.COUNT, Aggregate.ANY, Aggregate.MIN, Aggregate.MAX
_AGE = MemberValue.AGE
_Filter = MemberFilter
_WORKING = (Employment.EMPLOYED, Employment.SELF_EMPLOYED)
# name, aggregate, member value, filter, description
_MEMBER_FACTS: tuple[tuple[str, Aggregate, MemberValue | None, MemberFilter, str], ...] = (
    ("members", _COUNT, None, _Filter(), "active members of the household"),
    ("children_under_5", _COUNT, None, _Filter(age_under=5), "members under 5 years old"),
    ("children_under_15", _COUNT, None, _Filter(age_under=15), "members under 15 years old"),
    ("children_under_18", _COUNT, None, _Filter(age_under=18), "members under 18 years old"),
    ("school_age_children", _COUNT, None, _Filter(age_at_least=6, age_under=18), "members aged 6 to 17"),
    ("adults", _COUNT, None, _Filter(age_at_least=18), "members aged 18 or older"),
    ("working_age_members", _COUNT, None, _Filter(age_at_least=15, age_under=65), "members aged 15 to 64"),
    ("people_over_65", _COUNT, None, _Filter(age_at_least=65), "members aged 65 or older"),
    ("disabled_members", _COUNT, None, _Filter(is_disabled=True), "members with a disability (Washington Group)"),
    ("disabled_children", _COUNT, None, _Filter(is_disabled=True, age_under=18), "members under 18 with a disability"),
    ("female_members", _COUNT, None, _Filter(sexes=(Sex.FEMALE,)), "female members"),
    ("employed_members", _COUNT, None, _Filter(employment=_WORKING), "members employed or self-employed"),
    ("unemployed_adults", _COUNT, None, _Filter(age_at_least=18, employment=(Employment.UNEMPLOYED,)),
     "members 18 or older who are unemployed"),
    ("adults_without_schooling", _COUNT, None, _Filter(age_at_least=18, schooling=(Schooling.NONE,)),
     "members 18 or older with no schooling"),
    ("has_disabled_member", _ANY, None, _Filter(is_disabled=True), "whether any member has a disability"),
    ("has_child_under_5", _ANY, None, _Filter(age_under=5), "whether any member is under 5"),
    ("female_headed", _ANY, None, _Filter(relationships=(Relationship.HEAD,), sexes=(Sex.FEMALE,)),
     "whether the head of household is female"),
    ("head_age", _MAX, _AGE, _Filter(relationships=(Relationship.HEAD,)), "age of the head of household (0 when none)"),
    ("oldest_age", _MAX, _AGE, _Filter(), "age of the oldest member (0 when none)"),
    ("youngest_age", _MIN, _AGE, _Filter(), "age of the youngest member (0 when none)"),
)  # fmt: skip
_HOUSEHOLD_FACTS: tuple[tuple[HouseholdColumn, str], ...] = (
    (HouseholdColumn.MONTHLY_INCOME, "monthly income, minor units of the household's currency"),
    (HouseholdColumn.ASSETS, "the asset bit set (rules read it with has_asset)"),
    (HouseholdColumn.LAND_M2, "land held, square metres (0 when unknown)"),
    (HouseholdColumn.DWELLING_TYPE, "dwelling type ('' when unknown)"),
    (HouseholdColumn.TENURE, "tenure of the dwelling ('' when unknown)"),
    (HouseholdColumn.AREA_CODE, "the parish the household lives in"),
)

#: the facts every deployment has; ``docs/rules.md`` lists them (a test keeps the two in step)
BUILT_IN_FACTS = FactLibrary(
    [
        *(Fact(name, MemberAggregate(kind, where, value), text) for name, kind, value, where, text in _MEMBER_FACTS),
        *(Fact(column.value, HouseholdValue(column), text) for column, text in _HOUSEHOLD_FACTS),
        *(Fact(f"has_{name}", HasAsset(asset), f"whether {name.replace('_', ' ')} is among the assets")
          for asset in Asset if asset.name and (name := asset.name.lower())),
        Fact("income_per_capita", Ratio(("monthly_income",), ("members",)),
             "monthly income per member, minor units (the whole income when there are no members)"),
        Fact("dependency_ratio", Ratio(("children_under_15", "people_over_65"), ("working_age_members",)),
             "members under 15 or 65 and older per member aged 15 to 64 (no working-age member counts as one)"),
    ]
)  # fmt: skip
