"""A seeded synthetic population, household by household, in the columns of ``docs/import.md``.

Each household is drawn from one ``random.Random(seed)`` in a fixed order, so a seed always gives the same people;
nothing reads the clock (ages are relative to :data:`REFERENCE_DATE`) or iterates a hash-ordered set.

Distributions (figures in ``distributions.py``):

* **Where.** A parish of the built-in gazetteer, weighted by population (Zipf-like within each state: capitals
  are largest). Municipalities are urban or rural; states differ in urbanisation, income and household size.
* **Household size.** 1 + a negative binomial (dispersion 3), truncated at 12; mean 3.0 in urban and 3.7 in
  rural parishes, shifted by the state (-0.35 in the metropolitan district to +0.6 in the riverine south):
  about 3.3 nationally.
* **Composition.** One ``head`` (18-95; one-person households skew old or young, large ones middle-aged;
  female for 55% of people living alone and 40% of other heads). A ``spouse`` of the other sex, about the
  same age, in 60-68% of households of two or more (fewer with a female head). Others are ``child`` (74%:
  16-45 years younger than both parents, never less than 15), ``grandchild`` (heads over 40: 36-75 years
  younger than the head), ``parent`` (older by 16-45; at most two; heads up to 64), ``sibling`` (within 12
  years of the head), ``other_relative`` (any age) and ``non_relative`` (16-70).
* **Names.** Spanish given names by sex; two family names (paternal then maternal) for 97%. Children carry
  the father's first family name then the mother's (a single mother's children: an absent father's and hers,
  or both of hers); siblings share the head's; a parent passes on the one the head inherited.
* **Birth dates.** Uniform within the year of age, so the age in completed years on the reference day is
  exactly the age drawn.
* **Washington Group.** Most answers ``1``; a difficulty of ``3``/``4`` in some domain for 1.2% of children,
  2% of adults under 45, rising to 35% over 80; ``2`` for another 4-40% by age. Under 2 nothing is asked;
  under 5 cognition and self-care are left empty.
* **Schooling and employment** follow age (and area and sex): empty under 3 and 6 respectively, preschool only
  at 3-5, no technical or tertiary level before 18, students at school age, retirement from 55.
* **Identifiers.** Adults have a ``national_id`` (97%, ``V-`` or 3% ``E-`` with 7-8 digits, unique up to 45
  million) and 60% a mobile ``phone`` (``+58`` and an operator code, unique up to 50 million); see
  ``identifiers.py``.
* **Health needs** for 1.5% of children, 3% of adults under 50, 10% to 22% of older people.
* **Income.** Log-normal (sigma 0.85) around a median of 4,500 VES a month times the state's income factor
  (0.6-1.45), 1.2 in urban and 0.7 in rural parishes, scaled by the number of earners and pensioners; zero
  for 25% of households with neither and 1.5% of the others. Whole bolívares, written in cents (``VES``).
* **Dwelling, tenure, land and assets** by area kind and income tier: apartments are urban, rural households
  work land and keep livestock (more in farming states), richer households own more durable goods.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from canasta.adapters.synth import distributions as d
from canasta.adapters.synth.gazetteer import STATES, parishes
from canasta.adapters.synth.identifiers import NationalNumbers, PhoneNumbers
from canasta.adapters.synth.names import BUILDINGS, FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, PLACES, STREETS
from canasta.adapters.synth.tables import Table

__all__ = [
    "COLUMNS",
    "CURRENCY",
    "HOUSEHOLD_COLUMNS",
    "PERSON_COLUMNS",
    "REFERENCE_DATE",
    "GeneratedHousehold",
    "PopulationGenerator",
]

HOUSEHOLD_COLUMNS = (
    "household_ref", "area_code", "address", "monthly_income", "currency", "dwelling_type", "tenure", "assets",
    "land_m2",
)  # fmt: skip
PERSON_COLUMNS = (
    "person_ref", "given_name", "family_name", "birth_date", "sex", "relationship", "wg_seeing", "wg_hearing",
    "wg_walking", "wg_cognition", "wg_self_care", "wg_communication", "schooling", "employment", "national_id",
    "phone", "health_needs",
)  # fmt: skip
#: the header of the population file, in the order of docs/import.md
COLUMNS = HOUSEHOLD_COLUMNS + PERSON_COLUMNS
CURRENCY = "VES"
REFERENCE_DATE = d.REFERENCE_DATE
_GIVEN, _FAMILY, _BIRTH, _SEX, _EMPLOYMENT = (
    COLUMNS.index(name) for name in ("given_name", "family_name", "birth_date", "sex", "employment")
)

#: monthly household income in minor units (4,500.00 VES) before regional factors
NATIONAL_MEDIAN_INCOME = 450_000
INCOME_SIGMA = 0.85
_EARNING = frozenset({"employed", "self_employed"})
_ASSET_NAMES = tuple(name for name, _, _ in d.ASSETS)
_LIVESTOCK = _ASSET_NAMES.index("livestock")
#: median land of rural households that work some (2,500 m²) and of urban houses with a plot (150 m²)
_LOG_FARM_PLOT, _LOG_TOWN_PLOT = math.log(2500), math.log(150)
_SMALL_DWELLINGS = frozenset({"apartment", "room", "collective"})


def _asked(age: int) -> list[str]:
    """Washington Group answers of someone without difficulty: empty where the question is not asked."""
    if age < 2:
        return [""] * 6
    if age < 5:
        return ["1", "1", "1", "", "", "1"]
    return ["1"] * 6


_NO_DIFFICULTY = tuple(_asked(age) for age in range(d.MAX_AGE + 1))


@dataclass(frozen=True, slots=True)
class _AreaKind:
    """Everything drawn per parish, resolved once."""

    code: str
    name: str
    is_urban: bool
    sizes: Table[int]
    median_income: float
    farming: float
    #: asset probabilities by income tier (0 none, 1 low, 2 middle, 3 high) and plot (see _asset_chances)
    assets: tuple[tuple[tuple[float, ...], ...], ...]


@dataclass(frozen=True, slots=True)
class GeneratedHousehold:
    """One household's rows (household columns filled on the first row only) and its members' ages.

    ``household_ref`` and ``person_ref`` are left empty: the writer numbers rows in file order.
    """

    rows: list[list[str]]
    ages: list[int]


def _asset_chances(probabilities: tuple[float, ...]) -> tuple[tuple[float, ...], ...]:
    """Asset probabilities for: no land recorded or a small plot; a rural plot of 0 m²; 5,000 m² or more."""
    without, large = list(probabilities), list(probabilities)
    without[_LIVESTOCK] = 0.0
    large[_LIVESTOCK] = min(probabilities[_LIVESTOCK] * 2.0, 0.9)
    return probabilities, tuple(without), tuple(large)


def _area_kinds() -> tuple[tuple[_AreaKind, ...], tuple[float, ...]]:
    kinds, cumulative, running = [], [], 0.0
    for parish in parishes():
        state = STATES[parish.state_index]
        mean_size = (3.0 if parish.is_urban else 3.7) + state.size_shift
        median = NATIONAL_MEDIAN_INCOME * state.income_factor * (1.2 if parish.is_urban else 0.7)
        assets = tuple(_asset_chances(d.asset_probabilities(parish.is_urban, tier, state.farming)) for tier in range(4))
        kinds.append(_AreaKind(parish.code, parish.name, parish.is_urban, d.household_sizes(mean_size), median,
                               state.farming, assets))  # fmt: skip
        running += parish.weight
        cumulative.append(running)
    cumulative[-1] = 1.0
    return tuple(kinds), tuple(cumulative)


class PopulationGenerator:
    """Draws households from one seeded generator; the same seed always yields the same households."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._kinds, self._kind_cumulative = _area_kinds()
        self._national_numbers = NationalNumbers(seed)
        self._phones = PhoneNumbers(seed)

    def households(self, count: int) -> Iterator[GeneratedHousehold]:
        """Yield ``count`` households, one at a time (memory stays flat however many are asked for)."""
        for _ in range(count):
            yield self._household()

    def _household(self) -> GeneratedHousehold:
        r = self._rng.random
        family = FAMILY_NAMES.values
        family_cumulative = FAMILY_NAMES.cumulative
        kind = self._kinds[bisect_right(self._kind_cumulative, r())]
        size = kind.sizes.values[bisect_right(kind.sizes.cumulative, r())]
        size_class = d.size_class(size)
        head_age = d.HEAD_AGES[size_class].draw(r)
        head_is_female = r() < (0.55 if size_class == 0 else 0.40)
        head_sex = 2 if head_is_female else 1
        head_paternal = family[bisect_right(family_cumulative, r())]
        head_maternal = family[bisect_right(family_cumulative, r())]
        person = self._person
        urban = kind.is_urban
        rows = [person(head_age, head_sex, "head", head_paternal, head_maternal, urban)]
        ages = [head_age]
        if size >= 2 and r() < d.SPOUSE_PROBABILITY[size_class] * (0.55 if head_is_female else 1.0):
            # Men are on average a few years older than their partners.
            spread = int((r() + r() + r() - 1.5) * 6)
            spouse_age = min(max(head_age + (3 if head_is_female else -3) + spread, 16), d.MAX_AGE)
            spouse_paternal = family[bisect_right(family_cumulative, r())]
            spouse_maternal = family[bisect_right(family_cumulative, r())]
            rows.append(person(spouse_age, 3 - head_sex, "spouse", spouse_paternal, spouse_maternal, urban))
            ages.append(spouse_age)
            parent_age = min(head_age, spouse_age)
            if head_is_female:
                line_paternal, line_maternal = spouse_paternal, head_paternal
            else:
                line_paternal, line_maternal = head_paternal, spouse_paternal
        else:
            parent_age = head_age
            if not head_is_female:
                line_paternal, line_maternal = head_paternal, family[bisect_right(family_cumulative, r())]
            elif r() < 0.7:
                line_paternal, line_maternal = family[bisect_right(family_cumulative, r())], head_paternal
            else:
                line_paternal, line_maternal = head_paternal, head_maternal
        member_kinds = d.MEMBER_KINDS[head_age]
        parents = 0
        for _ in range(size - len(rows)):
            relationship = member_kinds.values[bisect_right(member_kinds.cumulative, r())]
            if relationship == "parent" and parents == 2:
                relationship = "other_relative"
            sex = 1 if r() < 0.5 else 2
            if relationship == "child":
                gap = d.CHILD_GAPS.draw(r)
                if gap > parent_age:
                    gap = 15 + int(r() * (parent_age - 14))
                age = parent_age - gap
                paternal, maternal = line_paternal, line_maternal
            elif relationship == "grandchild":
                gap = d.GRANDCHILD_GAPS.draw(r)
                if gap > head_age:
                    gap = 36 + int(r() * (head_age - 35))
                age = head_age - gap
                other = family[bisect_right(family_cumulative, r())]
                # through a son, the family line comes first; through a daughter, second
                paternal, maternal = (line_paternal, other) if r() < 0.5 else (other, line_paternal)
            elif relationship == "parent":
                parents += 1
                age = min(head_age + d.PARENT_GAPS.draw(r), d.MAX_AGE)
                sex = 2 if r() < 0.65 else 1
                other = family[bisect_right(family_cumulative, r())]
                paternal, maternal = (head_maternal, other) if sex == 2 else (head_paternal, other)
            elif relationship == "sibling":
                age = min(max(head_age + int((r() - 0.5) * 24), 0), d.MAX_AGE)
                paternal, maternal = head_paternal, head_maternal
            elif relationship == "other_relative":
                age = int(r() * 81)
                paternal, maternal = head_paternal, family[bisect_right(family_cumulative, r())]
            else:
                age = 16 + int(r() * 55)
                paternal = family[bisect_right(family_cumulative, r())]
                maternal = family[bisect_right(family_cumulative, r())]
            rows.append(person(age, sex, relationship, paternal, maternal, urban))
            ages.append(age)
        if size > 1 and len({(row[_GIVEN], row[_FAMILY], row[_BIRTH]) for row in rows}) < size:
            self._rename_namesakes(rows)
        self._fill_household(rows[0], rows, kind)
        return GeneratedHousehold(rows, ages)

    def _rename_namesakes(self, rows: list[list[str]]) -> None:
        """Give a new given name to anyone with the name and birth date of an earlier member.

        Twins named alike are not plausible, and the import takes two such rows for the same person entered twice.
        Name tables hold no two names that differ only by accents, so comparing the text as written is enough.
        """
        seen: set[tuple[str, str, str]] = set()
        for row in rows:
            names = MALE_NAMES if row[_SEX] == "1" else FEMALE_NAMES
            while (row[_GIVEN], row[_FAMILY], row[_BIRTH]) in seen:
                row[_GIVEN] = names.draw(self._rng.random)
            seen.add((row[_GIVEN], row[_FAMILY], row[_BIRTH]))

    def _person(self, age: int, sex: int, relationship: str, paternal: str, maternal: str, urban: bool) -> list[str]:
        """One person's row (household columns empty)."""
        r = self._rng.random
        names = MALE_NAMES if sex == 1 else FEMALE_NAMES
        given = names.values[bisect_right(names.cumulative, r())]
        birth = d.BIRTH_DATES[d.BIRTH_FIRST[age] + int(r() * d.BIRTH_SPAN[age])]
        family_name = f"{paternal} {maternal}" if r() >= 0.03 else paternal
        chance = r()
        severe = d.WG_SEVERE[age]
        if chance >= severe + d.WG_SOME[age]:
            answers = _NO_DIFFICULTY[age]
        else:
            answers = list(_NO_DIFFICULTY[age])
            domains = d.WG_DOMAINS[age]
            answers[domains.draw(r)] = ("3" if r() < 0.75 else "4") if chance < severe else "2"
            # difficulties cluster: a second domain is often affected too
            if r() < (0.4 if chance < severe else 0.25):
                second = domains.draw(r)
                if answers[second] == "1":
                    answers[second] = "2"
        schooling = d.SCHOOLING[urban][age]
        employment = d.EMPLOYMENT[sex - 1][age]
        national_id = phone = health = ""
        if age >= d.ADULT_AGE:
            if r() < 0.97:
                number = self._national_numbers.issue()
                national_id = f"V-{number}" if r() >= 0.03 else f"E-{number}"
            if r() < 0.6:
                phone = self._phones.issue()
        if r() < d.HEALTH_PREVALENCE[age]:
            health = d.HEALTH_CONDITIONS[age].draw(r)
        return [
            "", "", "", "", "", "", "", "", "", "", given, family_name, birth, "1" if sex == 1 else "2", relationship,
            *answers,
            schooling.values[bisect_right(schooling.cumulative, r())],
            employment.values[bisect_right(employment.cumulative, r())],
            national_id, phone, health,
        ]  # fmt: skip

    def _fill_household(self, first: list[str], rows: list[list[str]], kind: _AreaKind) -> None:
        """Write the household columns into the first row, from the members already drawn."""
        r = self._rng.random
        earners = pensioners = 0
        for row in rows:
            employment = row[_EMPLOYMENT]
            if employment in _EARNING:
                earners += 1
            elif employment == "retired":
                pensioners += 1
        if r() < (0.25 if earners + pensioners == 0 else 0.015):
            income = 0
        else:
            scale = 0.55 + 0.45 * earners + 0.3 * pensioners
            income = int(kind.median_income * scale * math.exp(self._rng.gauss(0.0, INCOME_SIGMA)) / 100) * 100
        ratio = income / kind.median_income
        tier = 0 if income == 0 else 1 if ratio < 0.6 else 2 if ratio < 2.0 else 3
        dwelling = d.DWELLINGS[kind.is_urban].draw(r)
        land = ""
        if dwelling not in _SMALL_DWELLINGS:
            if not kind.is_urban:
                has_land = r() < min(0.55 * kind.farming, 0.9)
                land = str(int(math.exp(self._rng.gauss(_LOG_FARM_PLOT, 1.3)) / 10) * 10) if has_land else "0"
            elif r() < 0.35:
                land = str(int(math.exp(self._rng.gauss(_LOG_TOWN_PLOT, 0.6))))
        # Livestock needs land: none on a rural plot of 0 m², more on large plots (see _asset_chances).
        plot = 1 if land == "0" else 2 if len(land) >= 4 and int(land) >= 5000 else 0
        owned = [name for name, chance in zip(_ASSET_NAMES, kind.assets[tier][plot], strict=True) if r() < chance]
        first[1] = kind.code
        first[2] = self._address(kind, dwelling)
        first[3] = str(income)
        first[4] = CURRENCY
        first[5] = dwelling
        first[6] = d.TENURES[dwelling].draw(r)
        first[7] = ";".join(owned)
        first[8] = land

    def _address(self, kind: _AreaKind, dwelling: str) -> str:
        r = self._rng.random
        place = PLACES[int(r() * len(PLACES))]
        number = 1 + int(r() * 120)
        if not kind.is_urban:
            if r() < 0.5:
                return f"Caserío {place}, vía {kind.name}, km {1 + int(r() * 40)}"
            return f"Sector {place}, casa N° {number}"
        if dwelling == "apartment":
            floor = 1 + int(r() * 14)
            building = BUILDINGS[int(r() * len(BUILDINGS))]
            return (
                f"Av. {STREETS[int(r() * len(STREETS))]}, {building}, piso {floor}, apto {floor}-{'ABCD'[number % 4]}"
            )
        if dwelling == "informal":
            return f"Barrio {place}, sector {1 + number % 9}, vereda {1 + int(r() * 30)}, casa {number}"
        return f"Calle {STREETS[int(r() * len(STREETS))]}, casa N° {number}"
