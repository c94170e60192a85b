"""Validating import rows: one row per person, grouped by household (the format of ``docs/import.md``).

Pure and fast: the import calls :func:`validate_household` once per household group, so the per-field work is
kept to plain comparisons, dictionary look-ups and C-implemented parsers. Every problem becomes a
:class:`RowError` with the row number, the column and a stable code; a household with any bad row yields no
draft at all, so nothing half-written can follow.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from operator import itemgetter

from canasta.domain.custom_fields import AppliesTo, CustomFieldDefinition, CustomValue
from canasta.domain.errors import ValidationError
from canasta.domain.registry import (
    EARLIEST_BIRTH_DATE,
    REFERENCE_PATTERN,
    WASHINGTON_GROUP_DOMAINS,
    DwellingType,
    Employment,
    Relationship,
    Schooling,
    Tenure,
    parse_assets,
    parse_national_id,
    parse_phone,
)

__all__ = [
    "HOUSEHOLD_COLUMNS",
    "PERSON_COLUMNS",
    "REQUIRED_COLUMNS",
    "Header",
    "HouseholdDraft",
    "PersonDraft",
    "RowError",
    "fold_name",
    "read_header",
    "validate_household",
]

HOUSEHOLD_COLUMNS = (
    "household_ref", "area_code", "address", "monthly_income", "currency", "dwelling_type", "tenure", "assets",
    "land_m2",
)  # fmt: skip
PERSON_COLUMNS = (
    "person_ref", "given_name", "family_name", "birth_date", "sex", "relationship", *WASHINGTON_GROUP_DOMAINS,
    "schooling", "employment", "national_id", "phone", "health_needs",
)  # fmt: skip
REQUIRED_COLUMNS = (
    "household_ref", "area_code", "monthly_income", "currency", "person_ref", "given_name", "family_name",
    "birth_date", "sex", "relationship",
)  # fmt: skip
CUSTOM_PREFIX = "custom."

_SEX = {"0": 0, "1": 1, "2": 2, "9": 9}
_DIFFICULTY = {"": None, "1": 1, "2": 2, "3": 3, "4": 4}
_NOT_A_DIFFICULTY = -1
_ASSET_CACHE_SIZE = 4096  # distinct asset lists remembered per validator; a file has few
_RELATIONSHIPS = frozenset(member.value for member in Relationship)
_SCHOOLING = frozenset(member.value for member in Schooling)
_EMPLOYMENT = frozenset(member.value for member in Employment)
_DWELLING = frozenset(member.value for member in DwellingType)
_TENURE = frozenset(member.value for member in Tenure)


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected row: its 1-based line in the file (the header is line 1), the column and why."""

    row: int
    column: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Header:
    """Column positions of an import file, resolved once from its header row."""

    positions: dict[str, int]
    household_custom: tuple[tuple[str, int], ...]
    person_custom: tuple[tuple[str, int], ...]
    width: int


@dataclass(slots=True)
class PersonDraft:
    """A validated person row, not yet written."""

    row: int
    reference: str
    given_name: str
    family_name: str
    name_key: str
    birth_date: date
    sex: int
    relationship: str
    difficulties: tuple[int | None, ...]
    schooling: str | None
    employment: str | None
    national_id: str | None
    phone: str | None
    health_needs: str | None
    custom: dict[str, CustomValue] | None


@dataclass(slots=True)
class HouseholdDraft:
    """A validated household with its people, not yet written."""

    reference: str
    area_code: str
    address: str | None
    monthly_income: int
    currency: str
    dwelling_type: str | None
    tenure: str | None
    assets: int
    land_m2: int | None
    custom: dict[str, CustomValue] | None
    people: list[PersonDraft] = field(default_factory=list)

    @property
    def rows(self) -> list[int]:
        return [person.row for person in self.people]


def fold_name(text: str) -> str:
    """Lower case without accents or repeated spaces: the form names are searched in."""
    if text.isascii():
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().split())


# Names repeat a great deal in a population, so each part is folded once. Folding "given family" equals folding
# each part and joining the non-empty results with a space: every step (decomposition, dropping combining marks,
# lower case, splitting on white space) works within the white space that separates the parts.
_fold_part = lru_cache(maxsize=65536)(fold_name)


def _fold_full_name(given: str, family: str) -> str:
    folded_given, folded_family = _fold_part(given), _fold_part(family)
    if folded_given and folded_family:
        return f"{folded_given} {folded_family}"
    return folded_given or folded_family


def read_header(names: Sequence[str], definitions: Mapping[str, CustomFieldDefinition]) -> Header:
    """Resolve the header row. Raises ``ProhibitedCategoryError`` or ``ValidationError`` naming the column."""
    from canasta.domain.privacy import refuse_prohibited

    cleaned = [name.strip().lstrip("\ufeff") for name in names]
    refuse_prohibited(cleaned, where="import column")
    positions: dict[str, int] = {}
    household_custom: list[tuple[str, int]] = []
    person_custom: list[tuple[str, int]] = []
    known = set(HOUSEHOLD_COLUMNS) | set(PERSON_COLUMNS)
    for position, name in enumerate(cleaned):
        if name in positions or any(name == CUSTOM_PREFIX + custom for custom, _ in household_custom + person_custom):
            raise ValidationError(f"column {name!r} appears twice", field=name, code="duplicate_column")
        if name.startswith(CUSTOM_PREFIX):
            custom = name[len(CUSTOM_PREFIX) :]
            definition = definitions.get(custom)
            if definition is None:
                raise ValidationError(
                    f"column {name!r}: no custom field {custom!r} is declared (canasta fields add)",
                    field=name,
                    code="unknown_column",
                )
            target = household_custom if definition.applies_to is AppliesTo.HOUSEHOLD else person_custom
            target.append((custom, position))
        elif name in known:
            positions[name] = position
        else:
            raise ValidationError(
                f"unknown column {name!r} (see docs/import.md for the columns)",
                field=name,
                code="unknown_column",
            )
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise ValidationError(
            f"missing required column(s): {', '.join(missing)}", field=missing[0], code="missing_column"
        )
    for custom, definition in definitions.items():
        if definition.is_required and CUSTOM_PREFIX + custom not in cleaned:
            raise ValidationError(
                f"missing required custom column custom.{custom}",
                field=CUSTOM_PREFIX + custom,
                code="missing_column",
            )
    return Header(positions, tuple(household_custom), tuple(person_custom), len(cleaned))


class _RowRejectedError(Exception):
    def __init__(self, column: str, code: str, reason: str) -> None:
        self.column, self.code, self.reason = column, code, reason


def _text(value: str, column: str, limit: int, *, required: bool) -> str | None:
    value = value.strip()
    if not value:
        if required:
            raise _RowRejectedError(column, "required", "is required")
        return None
    if len(value) > limit:
        raise _RowRejectedError(column, "too_long", f"must be at most {limit} characters")
    return value


def _choice(value: str, column: str, choices: frozenset[str]) -> str | None:
    value = value.strip()
    if not value:
        return None
    if value not in choices:
        raise _RowRejectedError(column, "invalid_choice", f"must be one of: {', '.join(sorted(choices))}")
    return value


def _whole_number(value: str, column: str, *, required: bool) -> int | None:
    value = value.strip()
    if not value:
        if required:
            raise _RowRejectedError(column, "required", "is required")
        return None
    if not value.isdigit():
        code = "negative" if value.startswith("-") and value[1:].isdigit() else "invalid_integer"
        raise _RowRejectedError(column, code, "must be a whole number >= 0")
    return int(value)


def _custom(
    row: Sequence[str], columns: tuple[tuple[str, int], ...], definitions: Mapping[str, CustomFieldDefinition]
) -> dict[str, CustomValue] | None:
    values: dict[str, CustomValue] = {}
    for name, position in columns:
        try:
            value = definitions[name].parse(row[position].strip(), field=CUSTOM_PREFIX + name)
        except ValidationError as error:
            raise _RowRejectedError(CUSTOM_PREFIX + name, error.code, error.detail) from None
        if value is not None:
            values[name] = value
    return values or None


class _Validator:
    """Validates household groups against one header, today's date and the known areas."""

    def __init__(
        self,
        header: Header,
        *,
        today: date,
        area_codes: frozenset[str],
        definitions: Mapping[str, CustomFieldDefinition],
    ) -> None:
        self.header = header
        self.today = today
        self.area_codes = area_codes
        self.definitions = definitions
        get = header.positions.get
        self.household_positions = tuple(get(name, -1) for name in HOUSEHOLD_COLUMNS)
        self.person_positions = tuple(get(name, -1) for name in PERSON_COLUMNS)
        # With every column present (the usual file), fields are picked in one C call instead of a Python loop.
        self._household_getter: Callable[[Sequence[str]], tuple[str, ...]] | None = (
            itemgetter(*self.household_positions) if -1 not in self.household_positions else None
        )
        self._person_getter: Callable[[Sequence[str]], tuple[str, ...]] | None = (
            itemgetter(*self.person_positions) if -1 not in self.person_positions else None
        )
        self._assets: dict[str, int] = {}

    def household_fields(self, row: Sequence[str]) -> tuple[str, ...]:
        if self._household_getter is not None:
            return tuple(map(str.strip, self._household_getter(row)))
        return tuple(row[position].strip() if position >= 0 else "" for position in self.household_positions)

    def _asset_bits(self, assets: str) -> int:
        bits = self._assets.get(assets)
        if bits is None:
            try:
                bits = int(parse_assets(assets))
            except ValidationError as error:
                raise _RowRejectedError("assets", error.code, error.detail) from None
            if len(self._assets) < _ASSET_CACHE_SIZE:
                self._assets[assets] = bits
        return bits

    def household(self, row: Sequence[str], fields: tuple[str, ...]) -> HouseholdDraft:
        reference, area_code, address, income, currency, dwelling, tenure, assets, land = fields
        if area_code not in self.area_codes:
            raise _RowRejectedError("area_code", "unknown_area", "is not a known parish-level area code")
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise _RowRejectedError("currency", "invalid_currency", "must be an ISO 4217 code such as VES or USD")
        asset_bits = self._asset_bits(assets) if assets else 0
        return HouseholdDraft(
            reference=reference,
            area_code=area_code,
            address=_text(address, "address", 200, required=False),
            monthly_income=_whole_number(income, "monthly_income", required=True) or 0,
            currency=currency,
            dwelling_type=_choice(dwelling, "dwelling_type", _DWELLING),
            tenure=_choice(tenure, "tenure", _TENURE),
            assets=asset_bits,
            land_m2=_whole_number(land, "land_m2", required=False),
            custom=_custom(row, self.header.household_custom, self.definitions),
        )

    def person(self, number: int, row: Sequence[str]) -> PersonDraft:
        values: Sequence[str]
        if self._person_getter is not None:
            values = self._person_getter(row)
        else:
            values = [row[position] if position >= 0 else "" for position in self.person_positions]
        reference = values[0].strip()
        if REFERENCE_PATTERN.fullmatch(reference) is None:
            raise _RowRejectedError("person_ref", "invalid_reference", "must be 1-64 letters, digits or . _ : / -")
        given = _text(values[1], "given_name", 100, required=True) or ""
        family = _text(values[2], "family_name", 100, required=True) or ""
        try:
            birth = date.fromisoformat(values[3].strip())
        except ValueError:
            raise _RowRejectedError("birth_date", "invalid_date", "must be a date written YYYY-MM-DD") from None
        if birth > self.today:
            raise _RowRejectedError("birth_date", "date_in_future", "must not be in the future")
        if birth < EARLIEST_BIRTH_DATE:
            raise _RowRejectedError("birth_date", "date_too_early", "must not be before 1900-01-01")
        sex = _SEX.get(values[4].strip())
        if sex is None:
            raise _RowRejectedError("sex", "invalid_choice", "must be an ISO 5218 code: 0, 1, 2 or 9")
        relationship = values[5].strip()
        if relationship not in _RELATIONSHIPS:
            raise _RowRejectedError(
                "relationship", "invalid_choice", f"must be one of: {', '.join(sorted(_RELATIONSHIPS))}"
            )
        difficulties = tuple([_DIFFICULTY.get(answer.strip(), _NOT_A_DIFFICULTY) for answer in values[6:12]])
        if _NOT_A_DIFFICULTY in difficulties:
            column = WASHINGTON_GROUP_DOMAINS[difficulties.index(_NOT_A_DIFFICULTY)]
            raise _RowRejectedError(column, "invalid_choice", "must be 1, 2, 3 or 4, or empty")
        national_id = values[14].strip() or None
        phone = values[15].strip() or None
        try:
            if national_id is not None:
                national_id = parse_national_id(national_id)
            if phone is not None:
                phone = parse_phone(phone)
        except ValidationError as error:
            raise _RowRejectedError(error.field or "", error.code, error.detail) from None
        return PersonDraft(
            row=number,
            reference=reference,
            given_name=given,
            family_name=family,
            name_key=_fold_full_name(given, family),
            birth_date=birth,
            sex=sex,
            relationship=relationship,
            difficulties=difficulties,
            schooling=_choice(values[12], "schooling", _SCHOOLING),
            employment=_choice(values[13], "employment", _EMPLOYMENT),
            national_id=national_id,
            phone=phone,
            health_needs=_text(values[16], "health_needs", 500, required=False),
            custom=_custom(row, self.header.person_custom, self.definitions),
        )


def validate_household(
    group: Sequence[tuple[int, Sequence[str]]], validator: _Validator
) -> tuple[HouseholdDraft | None, list[RowError]]:
    """Validate the rows of one household (``(row number, fields)`` pairs, same ``household_ref``).

    Returns the draft and no errors, or None and an error for every row: the bad rows with their reasons, the
    others as ``household_rejected``. The one-head rule is left to the caller, who knows whether the household
    already exists.
    """
    errors: list[RowError] = []
    draft: HouseholdDraft | None = None
    first_fields: tuple[str, ...] | None = None
    seen_refs: dict[str, int] = {}
    seen_people: dict[tuple[str, date], int] = {}
    width = validator.header.width
    for number, row in group:
        try:
            if len(row) != width:
                raise _RowRejectedError("", "wrong_field_count", f"has {len(row)} fields, the header has {width}")
            if draft is None:
                reference = row[validator.header.positions["household_ref"]].strip()
                if REFERENCE_PATTERN.fullmatch(reference) is None:
                    raise _RowRejectedError(
                        "household_ref", "invalid_reference", "must be 1-64 letters, digits or . _ : / -"
                    )
                first_fields = validator.household_fields(row)
                draft = validator.household(row, first_fields)
            else:
                fields = validator.household_fields(row)
                for column, value, first in zip(HOUSEHOLD_COLUMNS, fields, first_fields or (), strict=True):
                    if value and value != first:
                        raise _RowRejectedError(column, "household_mismatch", "differs from the household's first row")
            person = validator.person(number, row)
            if person.reference in seen_refs:
                raise _RowRejectedError(
                    "person_ref",
                    "duplicate_person",
                    f"repeats the person of row {seen_refs[person.reference]}",
                )
            identity = (person.name_key, person.birth_date)
            if identity in seen_people:
                raise _RowRejectedError(
                    "given_name",
                    "duplicate_person",
                    f"same name and birth date as row {seen_people[identity]}",
                )
            seen_refs[person.reference] = number
            seen_people[identity] = number
            draft.people.append(person)
        except _RowRejectedError as rejected:
            errors.append(RowError(number, rejected.column, rejected.code, rejected.reason))
    if errors:
        bad_rows = {error.row for error in errors}
        errors.extend(
            RowError(number, "", "household_rejected", "another row of this household was rejected")
            for number, _ in group
            if number not in bad_rows
        )
        errors.sort(key=lambda error: error.row)
        return None, errors
    return draft, errors


def make_validator(
    header: Header,
    *,
    today: date,
    area_codes: frozenset[str],
    definitions: Mapping[str, CustomFieldDefinition],
) -> _Validator:
    """A validator for files with ``header``; ``area_codes`` are the parish-level codes households may use."""
    return _Validator(header, today=today, area_codes=area_codes, definitions=definitions)


def head_errors(draft: HouseholdDraft, *, joins_existing: bool) -> list[RowError]:
    """The one-head rule: a new household has exactly one head; people joining one add none."""
    heads = [person.row for person in draft.people if person.relationship == Relationship.HEAD]
    if joins_existing:
        reason, bad = "the household exists already and has its head", heads
    elif not heads:
        reason, bad = "the household has no member with relationship head", [draft.people[0].row]
    else:
        reason, bad = "a household has exactly one head", heads[1:]
    if not bad:
        return []
    errors = [RowError(row, "relationship", "head_count", reason) for row in bad]
    errors += [
        RowError(row, "", "household_rejected", "another row of this household was rejected")
        for row in draft.rows
        if row not in bad
    ]
    return sorted(errors, key=lambda error: error.row)
