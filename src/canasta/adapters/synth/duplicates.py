"""Near-duplicate persons, injected with a known ground truth for duplicate detection to be measured against.

A duplicate is a copy of a genuine person written as a new row with its own ``person_ref``, placed

* ``same_household``: in the household of the original (the original is never the head there), keeping the
  relationship;
* ``other_household``: in a later household, as ``other_relative`` or ``non_relative`` (a person registered
  again where they moved or stay);
* ``new_household``: alone, as the ``head`` of a new one-person household in the original's parish (adults
  only: someone registering as their own household).

Duplicates are never heads of an existing household, so every household keeps exactly one head, and a copy
that would repeat a name and birth date already in its household (ignoring case and accents) is not made.

The copy is then corrupted the way registers are: one kind from each of up to three of the groups below. Two
are forced, because the registry refuses what they would otherwise produce: a copy in its original's household
always gets a changed name or birth date, and a copy of someone with a ``national_id`` never repeats it (it is
missing or mistyped to a number nobody holds; the duplicates that get into a registry are exactly those). Of
the other copies, 8% are exact.

* names: ``given_name_typo`` or ``family_name_typo`` (a swapped, dropped, doubled or mistyped letter: one edit),
  ``accents_dropped`` (both names without accents or ñ), ``second_family_name_dropped``;
* birth date: ``birth_day_month_swapped`` (only when the swap is a different, valid, past date) or
  ``birth_year_typo`` (one year off);
* national id: ``national_id_missing`` or ``national_id_typo`` (one digit changed, to a number nobody holds);
* phone: ``phone_missing``.

The ground truth lists the placement first, then the corruptions in the order above. Duplicates come from
their own generator (seeded from the population's seed), so the genuine people are the same with or without
them; originals are drawn from a bounded reservoir of earlier people, so memory stays flat.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass
from datetime import date

from canasta.adapters.synth.identifiers import NationalNumbers
from canasta.adapters.synth.population import COLUMNS, CURRENCY, HOUSEHOLD_COLUMNS, REFERENCE_DATE, GeneratedHousehold
from canasta.adapters.synth.tables import Table

__all__ = ["CORRUPTION_KINDS", "PLACEMENTS", "DuplicateInjector", "DuplicateRecord", "drop_accents", "typo"]

PLACEMENTS = ("same_household", "other_household", "new_household")
CORRUPTION_KINDS = (
    "given_name_typo", "family_name_typo", "accents_dropped", "second_family_name_dropped",
    "birth_day_month_swapped", "birth_year_typo", "national_id_missing", "national_id_typo", "phone_missing",
)  # fmt: skip
_GIVEN, _FAMILY, _BIRTH, _RELATIONSHIP, _NATIONAL_ID, _PHONE = (
    COLUMNS.index(name) for name in ("given_name", "family_name", "birth_date", "relationship", "national_id", "phone")
)
_PERSON_START = COLUMNS.index("person_ref")
_REFERENCE = REFERENCE_DATE.isoformat()
_EXACT, _GROUP_COUNTS = 0.08, Table.of([(1, 0.65), (2, 0.27), (3, 0.08)])
#: the kinds that change a person's name or birth date even when case and accents are ignored
_IDENTITY = frozenset({"given_name_typo", "family_name_typo", "second_family_name_dropped", "birth_day_month_swapped",
                       "birth_year_typo"})  # fmt: skip
_GROUP_WEIGHTS = {"name": 0.45, "birth": 0.2, "national_id": 0.2, "phone": 0.15}
_KIND_WEIGHTS = {
    "given_name_typo": 3.0, "family_name_typo": 3.0, "accents_dropped": 2.0, "second_family_name_dropped": 2.0,
    "birth_day_month_swapped": 2.0, "birth_year_typo": 1.0, "national_id_missing": 2.0, "national_id_typo": 1.0,
    "phone_missing": 1.0,
}  # fmt: skip
# Neighbouring keys on a Spanish keyboard, for substitution typos.
_NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb",
    "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kopñ", "m": "njk", "n": "bhjm", "o": "iklp", "p": "olñ",
    "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc",
    "y": "tghu", "z": "asx",
}  # fmt: skip


def drop_accents(text: str) -> str:
    """``Ñáñez`` -> ``Nanez``: every combining mark removed, as a keyboard without them would type it."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def typo(text: str, rng: random.Random) -> str:
    """``text`` with one letter swapped with the next, dropped, doubled or replaced by a neighbouring key.

    The result differs from ``text`` by exactly one edit, also when case and accents are ignored, and keeps every
    word at least two letters long.
    """
    r = rng.random
    letters = [index for index, ch in enumerate(text) if ch.isalpha()]
    for _ in range(8):  # some edits are no-ops ("ll" swapped) or not allowed; a few tries find one that is not
        index = letters[int(r() * len(letters))]
        edit = r()
        if edit < 0.3:
            following = text[index + 1 : index + 2]
            # letters that differ only by accent or case would swap into the same name as far as search goes
            if following.isalpha() and drop_accents(following.lower()) != drop_accents(text[index].lower()):
                return text[:index] + following + text[index] + text[index + 2 :]
        elif edit < 0.55:
            start = text.rfind(" ", 0, index) + 1
            end = len(text) if text.find(" ", index) < 0 else text.find(" ", index)
            if end - start >= 3:
                return text[:index] + text[index + 1 :]
        elif edit < 0.75:
            return text[:index] + text[index] + text[index:]
        else:
            original = text[index]
            neighbours = _NEIGHBOURS.get(drop_accents(original.lower()), "")
            if neighbours:
                replacement = neighbours[int(r() * len(neighbours))]
                return text[:index] + (replacement.upper() if original.isupper() else replacement) + text[index + 1 :]
    index = letters[-1]
    return text[: index + 1] + text[index] + text[index + 1 :]


@dataclass(frozen=True, slots=True)
class DuplicateRecord:
    """One line of the ground truth: the duplicate's row, its original's row and how the copy differs.

    Rows are the live lists the writer numbers, so their ``person_ref`` is read when the line is written.
    """

    duplicate: list[str]
    original: list[str]
    kinds: tuple[str, ...]


#: a genuine person who may be copied later: their row, age and the area code of their household
_Candidate = tuple[list[str], int, str]


class DuplicateInjector:
    """Adds near-duplicates of genuine people to households as they stream past.

    ``rate`` is the expected number of duplicates per genuine person (0 <= rate < 1).
    """

    def __init__(self, seed: int, rate: float, *, reservoir: int = 4096) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"duplicate rate must be at least 0 and below 1, not {rate}")
        # A string seed is hashed with SHA-512, never with the per-process string hash: reproducible.
        self._rng = random.Random(f"canasta synthetic duplicates {seed}")
        self._rate = rate
        self._numbers = NationalNumbers(seed)
        # Mistyped numbers given so far: one per copy with that kind, a small share of the rows.
        self._mistyped: set[int] = set()
        self._capacity = reservoir
        self._reservoir: list[_Candidate] = []
        self._seen = 0
        # Both the duplicates and the reservoir advance by skips drawn ahead of time, not by a draw per person:
        # how many genuine people pass before the next duplicate, and the reservoir's next entrant (Algorithm L).
        self._countdown = self._gap()
        self._weight = 1.0
        self._next_entrant = reservoir + self._skip()

    def _open_uniform(self) -> float:
        """A uniform number in (0, 1): random() can return 0, whose logarithm does not exist."""
        value = self._rng.random()
        while value == 0.0:
            value = self._rng.random()
        return value

    def _gap(self) -> int:
        """Genuine people before the next duplicate: geometric, so each person is copied with chance ``rate``."""
        return int(math.log(self._open_uniform()) / math.log1p(-self._rate)) if self._rate > 0 else 1 << 62

    def _skip(self) -> int:
        """People to pass over before the next one replaces a reservoir entry (Li's Algorithm L)."""
        self._weight *= math.exp(math.log(self._open_uniform()) / self._capacity)
        return int(math.log(self._open_uniform()) / math.log1p(-self._weight)) if self._weight < 1.0 else 0

    def inject(self, household: GeneratedHousehold) -> tuple[list[GeneratedHousehold], list[DuplicateRecord]]:
        """Insert duplicates into ``household`` (after its head) and return new one-person households.

        Returns the new households (to be written right after this one) and the ground truth of every duplicate
        made, in both places.
        """
        r = self._rng.random
        rows, ages = household.rows, household.ages
        area_code = rows[0][1]
        wanted, remaining = 0, self._countdown - len(rows)
        while remaining < 0:
            wanted += 1
            remaining += 1 + self._gap()
        self._countdown = remaining
        alone: list[GeneratedHousehold] = []
        records: list[DuplicateRecord] = []
        genuine = list(zip(rows, ages, strict=True)) if wanted else []
        identities = {_identity(row) for row in rows} if wanted else set()
        for _ in range(wanted):
            placement = r()
            if len(genuine) > 1 and (placement < 0.4 or not self._reservoir):
                original, age = genuine[1 + int(r() * (len(genuine) - 1))]
                copy, kinds = self._copy(original, "same_household", original[_RELATIONSHIP])
            elif not self._reservoir:
                continue  # the very first household, alone: nobody to copy yet
            else:
                original, age, original_area = self._reservoir[int(r() * len(self._reservoir))]
                if placement < 0.8 or age < 18:
                    relationship = "other_relative" if r() < 0.5 else "non_relative"
                    copy, kinds = self._copy(original, "other_household", relationship)
                else:
                    copy, kinds = self._copy(original, "new_household", "head")
                    self._fill_household(copy, original_area)
                    alone.append(GeneratedHousehold([copy], [age]))
                    records.append(DuplicateRecord(copy, original, kinds))
                    continue
            identity = _identity(copy)
            if identity in identities:
                continue  # one household never lists the same name and birth date twice (the import refuses it)
            identities.add(identity)
            position = 1 + int(r() * len(rows))
            rows.insert(position, copy)
            ages.insert(position, age)
            records.append(DuplicateRecord(copy, original, kinds))
        self._remember(genuine or list(zip(rows, ages, strict=True)), area_code)
        return alone, records

    def _remember(self, people: list[tuple[list[str], int]], area_code: str) -> None:
        """Reservoir sampling: every genuine person so far is equally likely to be in the reservoir."""
        reservoir, first = self._reservoir, self._seen
        self._seen += len(people)
        for index in range(first, min(self._capacity, self._seen)):
            row, age = people[index - first]
            reservoir.append((row, age, area_code))
        while self._next_entrant < self._seen:
            row, age = people[self._next_entrant - first]
            reservoir[int(self._rng.random() * self._capacity)] = (row, age, area_code)
            self._next_entrant += 1 + self._skip()

    def _copy(self, original: list[str], placement: str, relationship: str) -> tuple[list[str], tuple[str, ...]]:
        copy = [""] * (_PERSON_START + 1) + original[_PERSON_START + 1 :]
        copy[_RELATIONSHIP] = relationship
        return copy, (placement, *self._corrupt(copy, in_same_household=placement == "same_household"))

    def _corrupt(self, row: list[str], *, in_same_household: bool) -> list[str]:
        """Corrupt ``row`` in place; return the kinds applied, in the order of :data:`CORRUPTION_KINDS`.

        A copy in its original's household always gets a different name or birth date (ignoring case and
        accents): one household never lists the same person twice verbatim, which the import refuses.
        """
        r = self._rng.random
        applicable = _applicable(row)
        groups = [group for group in _GROUP_WEIGHTS if applicable[group]]
        chosen: list[str] = []
        count = _GROUP_COUNTS.draw(r)
        forced = []
        if in_same_household:
            forced.append([kind for group in ("name", "birth") for kind in applicable[group] if kind in _IDENTITY])
        if applicable["national_id"]:
            forced.append(applicable["national_id"])
        for kinds in forced:
            chosen.append(Table.of([(kind, _KIND_WEIGHTS[kind]) for kind in kinds]).draw(r))
            groups.remove(next(group for group in groups if chosen[-1] in applicable[group]))
            count -= 1
        if not forced and r() < _EXACT:
            return []
        for _ in range(max(min(count, len(groups)), 0)):
            group = Table.of([(name, _GROUP_WEIGHTS[name]) for name in groups]).draw(r)
            groups.remove(group)
            chosen.append(Table.of([(kind, _KIND_WEIGHTS[kind]) for kind in applicable[group]]).draw(r))
        applied = [self._apply(kind, row) for kind in chosen]
        return sorted(applied, key=CORRUPTION_KINDS.index)

    def _apply(self, kind: str, row: list[str]) -> str:
        """Apply ``kind`` to ``row``; return the kind applied (a typo that finds no free number blanks it)."""
        if kind == "given_name_typo":
            row[_GIVEN] = typo(row[_GIVEN], self._rng)
        elif kind == "family_name_typo":
            row[_FAMILY] = typo(row[_FAMILY], self._rng)
        elif kind == "accents_dropped":
            row[_GIVEN], row[_FAMILY] = drop_accents(row[_GIVEN]), drop_accents(row[_FAMILY])
        elif kind == "second_family_name_dropped":
            row[_FAMILY] = row[_FAMILY].split(" ")[0]
        elif kind == "birth_day_month_swapped":
            row[_BIRTH] = _day_month_swapped(row[_BIRTH]) or row[_BIRTH]
        elif kind == "birth_year_typo":
            later, earlier = _year_shifted(row[_BIRTH], 1), _year_shifted(row[_BIRTH], -1)
            row[_BIRTH] = (later if later and (self._rng.random() < 0.5 or not earlier) else earlier) or row[_BIRTH]
        elif kind == "national_id_typo":
            mistyped = self._mistyped_national_id(row[_NATIONAL_ID])
            if mistyped is None:
                row[_NATIONAL_ID] = ""
                return "national_id_missing"
            row[_NATIONAL_ID] = mistyped
        elif kind == "national_id_missing":
            row[_NATIONAL_ID] = ""
        elif kind == "phone_missing":
            row[_PHONE] = ""
        return kind

    def _mistyped_national_id(self, national_id: str) -> str | None:
        """``national_id`` with one digit changed to a number nobody else holds, or None when none was found.

        The registry refuses an identity number it already holds, so a mistyped number must be one no genuine
        person can have (see ``identifiers.py``) and no earlier copy was given.
        """
        prefix, digits = national_id[:2], national_id[2:]
        r = self._rng.random
        for _ in range(32):  # about half of all one-digit changes are free: 32 tries all but never fail
            index = int(r() * len(digits))
            digit = str((int(digits[index]) + 1 + int(r() * 9)) % 10)
            if index == 0 and digit == "0":
                continue  # a leading zero would read as a shorter number
            number = int(digits[:index] + digit + digits[index + 1 :])
            if self._numbers.is_never_issued(number) and number not in self._mistyped:
                self._mistyped.add(number)
                return f"{prefix}{number}"
        return None

    def _fill_household(self, row: list[str], area_code: str) -> None:
        """Household columns of a one-person household: the original's parish, a room, a small income."""
        r = self._rng.random
        income = 0 if r() < 0.2 else int(self._rng.lognormvariate(12.2, 0.8) / 100) * 100
        tenure = "rented" if r() < 0.6 else "borrowed"
        assets = "mobile_phone" if r() < 0.8 else ""
        row[1 : len(HOUSEHOLD_COLUMNS)] = [area_code, "", str(income), CURRENCY, "room", tenure, assets, ""]


def _identity(row: list[str]) -> tuple[str, str]:
    """Name (without case or accents) and birth date: what tells two members of one household apart."""
    return drop_accents(f"{row[_GIVEN]} {row[_FAMILY]}").lower(), row[_BIRTH]


def _applicable(row: list[str]) -> dict[str, list[str]]:
    """For each group of corruptions, the kinds that would change this row."""
    given, family, birth = row[_GIVEN], row[_FAMILY], row[_BIRTH]
    names = ["given_name_typo", "family_name_typo"]
    if drop_accents(given) != given or drop_accents(family) != family:
        names.append("accents_dropped")
    if " " in family:
        names.append("second_family_name_dropped")
    births = []
    if _day_month_swapped(birth):
        births.append("birth_day_month_swapped")
    if _year_shifted(birth, 1) or _year_shifted(birth, -1):
        births.append("birth_year_typo")
    identity = ["national_id_missing", "national_id_typo"] if row[_NATIONAL_ID] else []
    return {"name": names, "birth": births, "national_id": identity, "phone": ["phone_missing"] if row[_PHONE] else []}


def _day_month_swapped(birth: str) -> str | None:
    """The date with day and month swapped, or None when that is the same date, invalid or after the reference."""
    year, month, day = birth.split("-")
    if day == month or int(day) > 12:
        return None
    swapped = f"{year}-{day}-{month}"
    return swapped if swapped <= _REFERENCE else None


def _year_shifted(birth: str, years: int) -> str | None:
    """The date ``years`` years off, or None when it does not exist (29 February), is after the reference or
    before 1900."""
    year, month, day = (int(part) for part in birth.split("-"))
    try:
        shifted = date(year + years, month, day).isoformat()
    except ValueError:
        return None
    return shifted if "1900-01-01" <= shifted <= _REFERENCE else None
