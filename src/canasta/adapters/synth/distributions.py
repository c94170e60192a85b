"""The distributions of the synthetic population, precomputed once as tables indexed by age, sex and area kind.

Figures are rough but plausible for a middle-income Latin American country; the population module's docstring
summarises them. Everything here is computed at import time from constants (no seed), so drawing a value in the
hot loop is one ``random()`` and one ``bisect`` on a ready table.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from canasta.adapters.synth.tables import Table, normal_weights

__all__ = [
    "ADULT_AGE",
    "ASSETS",
    "BIRTH_DATES",
    "BIRTH_FIRST",
    "BIRTH_SPAN",
    "CHILD_GAPS",
    "DWELLINGS",
    "EMPLOYMENT",
    "GRANDCHILD_GAPS",
    "HEAD_AGES",
    "HEALTH_CONDITIONS",
    "HEALTH_PREVALENCE",
    "MAX_AGE",
    "MEMBER_KINDS",
    "PARENT_GAPS",
    "REFERENCE_DATE",
    "SCHOOLING",
    "SPOUSE_PROBABILITY",
    "TENURES",
    "WG_DOMAINS",
    "WG_SEVERE",
    "WG_SOME",
    "asset_probabilities",
    "household_sizes",
    "size_class",
]

#: ages and birth dates are relative to this day, never to the clock, so output is reproducible
REFERENCE_DATE = date(2026, 11, 1)
MAX_AGE = 100
ADULT_AGE = 18
_AGES = range(MAX_AGE + 1)


def _birth_dates() -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """Every date a person aged 0..MAX_AGE on the reference day can be born on, and each age's slice of it."""
    first = date(REFERENCE_DATE.year - MAX_AGE - 1, REFERENCE_DATE.month, REFERENCE_DATE.day) + timedelta(days=1)
    days = (REFERENCE_DATE - first).days + 1
    texts = tuple((first + timedelta(days=offset)).isoformat() for offset in range(days))
    starts, spans = [], []
    for age in _AGES:
        # Aged exactly ``age``: born after the (age+1)th birthday before the reference day, up to the age-th.
        latest = date(REFERENCE_DATE.year - age, REFERENCE_DATE.month, REFERENCE_DATE.day)
        earliest = date(REFERENCE_DATE.year - age - 1, REFERENCE_DATE.month, REFERENCE_DATE.day) + timedelta(days=1)
        starts.append((earliest - first).days)
        spans.append((latest - earliest).days + 1)
    return texts, tuple(starts), tuple(spans)


#: ISO dates; a person aged ``a`` is born on ``BIRTH_DATES[BIRTH_FIRST[a] + int(random() * BIRTH_SPAN[a])]``
BIRTH_DATES, BIRTH_FIRST, BIRTH_SPAN = _birth_dates()


def household_sizes(mean: float, *, largest: int = 12, dispersion: float = 3.0) -> Table[int]:
    """Household sizes 1..largest: one plus a negative binomial with the given overall mean, truncated."""
    extra = max(mean - 1.0, 0.05)
    p = dispersion / (dispersion + extra)
    weights = []
    for others in range(largest):
        log_pmf = (math.lgamma(others + dispersion) - math.lgamma(dispersion) - math.lgamma(others + 1)
                   + dispersion * math.log(p) + others * math.log(1.0 - p))  # fmt: skip
        weights.append((others + 1, math.exp(log_pmf)))
    return Table.of(weights)


def size_class(size: int) -> int:
    """0 for one person, 1 for two, 2 for three to five, 3 for six or more."""
    return 0 if size == 1 else 1 if size == 2 else 2 if size <= 5 else 3


_HEAD_RANGE = range(ADULT_AGE, 96)
#: head's age by size class: young and old people live alone, large households have middle-aged heads
HEAD_AGES: tuple[Table[int], ...] = (
    Table.of(normal_weights(_HEAD_RANGE, (0.35, 28, 7), (0.65, 66, 12))),
    Table.of(normal_weights(_HEAD_RANGE, (0.40, 30, 8), (0.60, 60, 12))),
    Table.of(normal_weights(_HEAD_RANGE, (1.0, 42, 11))),
    Table.of(normal_weights(_HEAD_RANGE, (1.0, 50, 12))),
)
#: chance that the head has a spouse, by size class (female heads: times 0.55, see the population module)
SPOUSE_PROBABILITY = (0.0, 0.60, 0.68, 0.62)
#: the parent's age when the child was born
CHILD_GAPS = Table.of(normal_weights(range(16, 46), (1.0, 26, 6)))
#: how much older the head is than a grandchild
GRANDCHILD_GAPS = Table.of(normal_weights(range(36, 76), (1.0, 50, 8)))
#: how much older a parent of the head is than the head
PARENT_GAPS = Table.of(normal_weights(range(16, 46), (1.0, 27, 6)))


def _member_kinds(head_age: int) -> Table[str]:
    return Table.of([
        ("child", 0.74),
        ("grandchild", 0.0 if head_age < 40 else 0.12 if head_age < 55 else 0.30),
        ("parent", 0.06 if head_age + 16 <= MAX_AGE - 20 else 0.0),
        ("sibling", 0.05),
        ("other_relative", 0.06),
        ("non_relative", 0.02),
    ])  # fmt: skip


#: relationship of each member beyond head and spouse, by the head's age
MEMBER_KINDS = tuple(_member_kinds(age) for age in _AGES)

_LEVELS = ("none", "preschool", "primary", "secondary", "technical", "tertiary")


def _schooling(age: int, is_urban: bool) -> Table[str]:
    if age < 3:
        return Table.of([("", 1.0)])
    if age < 6:
        return Table.of([("preschool", 0.85 if is_urban else 0.70), ("none", 0.15 if is_urban else 0.30)])
    if age < 12:
        return Table.of([("primary", 0.97), ("none", 0.03)])
    if age < 15:
        return Table.of([("none", 0.03), ("primary", 0.35), ("secondary", 0.62)])
    if age < 18:
        return Table.of([("none", 0.02), ("primary", 0.15), ("secondary", 0.83)])
    # none, preschool, primary, secondary, technical, tertiary by cohort: older cohorts had less schooling
    shares = (
        (0.02, 0, 0.10, 0.55, 0.13, 0.20) if age < 25 else
        (0.03, 0, 0.18, 0.42, 0.15, 0.22) if age < 45 else
        (0.06, 0, 0.30, 0.35, 0.12, 0.17) if age < 65 else
        (0.18, 0, 0.45, 0.22, 0.07, 0.08)
    )  # fmt: skip
    rural = (1.8, 1.0, 1.4, 1.0, 0.5, 0.5)
    return Table.of([
        (level, share if is_urban else share * factor)
        for level, share, factor in zip(_LEVELS, shares, rural, strict=True)
    ])  # fmt: skip


#: highest schooling level by [is_urban][age]: empty under 3, preschool only at 3-5, no diploma before 18
SCHOOLING = tuple(tuple(_schooling(age, is_urban) for age in _AGES) for is_urban in (False, True))


def _employment(age: int, is_female: bool) -> Table[str]:
    if age < 6:
        return Table.of([("", 1.0)])
    if age < 15:
        return Table.of([("student", 0.95), ("inactive", 0.05)])
    # student, employed, self_employed, unemployed, inactive, domestic_work, retired
    shares: tuple[float, ...]
    if age < 18:
        shares = (0.78, 0.03, 0.04, 0.03, 0.06, 0.06, 0) if is_female else (0.76, 0.07, 0.07, 0.04, 0.05, 0.01, 0)
    elif age < 25:
        shares = (0.32, 0.16, 0.10, 0.12, 0.08, 0.22, 0) if is_female else (0.28, 0.28, 0.18, 0.13, 0.10, 0.03, 0)
    elif age < 55:
        shares = (0.02, 0.32, 0.20, 0.08, 0.06, 0.32, 0) if is_female else (0.01, 0.48, 0.34, 0.09, 0.05, 0.03, 0)
    elif age < 65:
        shares = (0, 0.18, 0.20, 0.05, 0.12, 0.30, 0.15) if is_female else (0, 0.36, 0.30, 0.07, 0.08, 0.02, 0.17)
    else:
        shares = (0, 0.03, 0.07, 0, 0.18, 0.20, 0.52) if is_female else (0, 0.07, 0.14, 0, 0.18, 0.03, 0.58)
    labels = ("student", "employed", "self_employed", "unemployed", "inactive", "domestic_work", "retired")
    return Table.of(zip(labels, shares, strict=True))


#: employment by [sex - 1][age] (sex 1 male, 2 female): empty under 6, students at school age, retired from 55
EMPLOYMENT = tuple(tuple(_employment(age, is_female) for age in _AGES) for is_female in (False, True))


def _band(age: int, values: tuple[float, float, float, float, float]) -> float:
    return values[0 if age < 18 else 1 if age < 45 else 2 if age < 65 else 3 if age < 80 else 4]


#: share of people with "a lot of difficulty" or "cannot do at all" in at least one domain, by age
WG_SEVERE = tuple(0.0 if age < 2 else _band(age, (0.012, 0.02, 0.05, 0.14, 0.35)) for age in _AGES)
#: share whose worst answer is "some difficulty", by age
WG_SOME = tuple(0.0 if age < 2 else _band(age, (0.04, 0.07, 0.18, 0.32, 0.40)) for age in _AGES)


def _wg_domains(age: int) -> Table[int]:
    # seeing, hearing, walking, cognition, self_care, communication; under 5 cognition and self-care are not
    # asked (child functioning practice), so they can never be the domain with a difficulty.
    if age < 5:
        weights = (0.25, 0.20, 0.35, 0.0, 0.0, 0.20)
    elif age < 18:
        weights = (0.12, 0.10, 0.20, 0.30, 0.08, 0.20)
    elif age < 65:
        weights = (0.30, 0.15, 0.30, 0.12, 0.05, 0.08)
    else:
        weights = (0.25, 0.15, 0.35, 0.12, 0.08, 0.05)
    return Table.of(enumerate(weights))


#: which domain carries the difficulty, by age
WG_DOMAINS = tuple(_wg_domains(age) for age in _AGES)


def _health(age: int) -> Table[str]:
    pairs: tuple[tuple[str, float], ...]
    if age < 18:
        pairs = (("asma; salbutamol", 0.4), ("epilepsia; ácido valproico", 0.15), ("diabetes tipo 1; insulina", 0.1),
                 ("desnutrición; suplemento nutricional", 0.25), ("cardiopatía congénita", 0.1))  # fmt: skip
    elif age < 50:
        pairs = (("hipertensión; losartán", 0.25), ("diabetes tipo 2; metformina", 0.15), ("asma; salbutamol", 0.12),
                 ("VIH; antirretrovirales", 0.10), ("epilepsia; carbamazepina", 0.08), ("embarazo de alto riesgo", 0.1),
                 ("hipotiroidismo; levotiroxina", 0.12), ("depresión; sertralina", 0.08))  # fmt: skip
    else:
        pairs = (("hipertensión; losartán", 0.35), ("diabetes tipo 2; insulina", 0.15),
                 ("hipertensión; diabetes tipo 2; metformina", 0.12), ("insuficiencia renal; diálisis", 0.05),
                 ("cáncer de mama; quimioterapia", 0.04), ("artrosis; analgésicos", 0.1),
                 ("EPOC; oxígeno domiciliario", 0.05), ("Parkinson; levodopa", 0.04), ("Alzheimer", 0.05),
                 ("hipotiroidismo; levotiroxina", 0.05))  # fmt: skip
    return Table.of(pairs)


#: share of people with a chronic condition or medicine need written down, by age
HEALTH_PREVALENCE = tuple(0.015 if age < 18 else 0.03 if age < 50 else 0.10 if age < 65 else 0.22 for age in _AGES)
HEALTH_CONDITIONS = tuple(_health(age) for age in _AGES)

#: dwelling type by [is_urban]
DWELLINGS = (
    Table.of([("house", 0.75), ("informal", 0.15), ("room", 0.03), ("apartment", 0.02), ("collective", 0.01),
              ("other", 0.04)]),
    Table.of([("house", 0.45), ("apartment", 0.34), ("informal", 0.11), ("room", 0.07), ("collective", 0.01),
              ("other", 0.02)]),
)  # fmt: skip
#: tenure by dwelling type
TENURES = {
    "house": Table.of([("owned", 0.70), ("rented", 0.15), ("borrowed", 0.10), ("occupied", 0.03), ("other", 0.02)]),
    "apartment": Table.of([("owned", 0.55), ("rented", 0.38), ("borrowed", 0.06), ("other", 0.01)]),
    "room": Table.of([("rented", 0.70), ("borrowed", 0.25), ("other", 0.05)]),
    "informal": Table.of([("owned", 0.40), ("occupied", 0.40), ("borrowed", 0.15), ("other", 0.05)]),
    "collective": Table.of([("borrowed", 0.60), ("other", 0.40)]),
    "other": Table.of([("owned", 0.30), ("borrowed", 0.40), ("occupied", 0.20), ("other", 0.10)]),
}

#: assets in the order of docs/import.md, with their chance in rural and urban households of middle income
ASSETS = (
    ("refrigerator", 0.70, 0.88), ("washing_machine", 0.40, 0.68), ("television", 0.78, 0.90),
    ("computer", 0.10, 0.32), ("mobile_phone", 0.78, 0.92), ("motorcycle", 0.22, 0.12), ("car", 0.10, 0.20),
    ("livestock", 0.35, 0.02), ("water_tank", 0.45, 0.30), ("generator", 0.08, 0.04),
)  # fmt: skip
_ESSENTIAL = {"refrigerator", "television", "mobile_phone"}


def asset_probabilities(is_urban: bool, tier: int, farming: float) -> tuple[float, ...]:
    """Chance of each asset by income tier (0 none, 1 low, 2 middle, 3 high) and the state's farming factor."""
    scale = (0.45, 0.70, 1.0, 1.45)[tier]
    probabilities = []
    for name, rural, urban in ASSETS:
        base = urban if is_urban else rural
        if name == "livestock":
            base = min(base * farming, 0.9)
        elif name in _ESSENTIAL:
            # even poor households own the basics more often than durable goods
            base = base * (0.5 + 0.5 * scale)
        else:
            base = base * scale
        probabilities.append(min(base, 0.97))
    return tuple(probabilities)
