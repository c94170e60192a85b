"""The registry's vocabulary: households, people, their need facts and the codes they take.

Codes are ``StrEnum``s stored by value. The parsing functions here are shared by every door into the registry
(CSV import, API, CLI) so a value means the same thing whichever way it came in; each raises
:class:`~canasta.domain.errors.ValidationError` naming the field.
"""

from __future__ import annotations

import re
from datetime import date
from enum import IntEnum, IntFlag, StrEnum

from canasta.domain.errors import ValidationError

__all__ = [
    "REFERENCE_PATTERN",
    "WASHINGTON_GROUP_DOMAINS",
    "AreaLevel",
    "Asset",
    "Difficulty",
    "DwellingType",
    "Employment",
    "IdentifierKind",
    "RecordStatus",
    "Relationship",
    "Schooling",
    "Sex",
    "Tenure",
    "parse_assets",
    "parse_birth_date",
    "parse_currency",
    "parse_identifier",
    "parse_national_id",
    "parse_phone",
    "parse_reference",
]


class AreaLevel(StrEnum):
    """Levels of the administrative hierarchy, from the top."""

    STATE = "state"  # first-level division
    MUNICIPALITY = "municipality"  # inside a state
    PARISH = "parish"  # inside a municipality; households live here


AREA_PARENT_LEVEL: dict[AreaLevel, AreaLevel | None] = {
    AreaLevel.STATE: None,
    AreaLevel.MUNICIPALITY: AreaLevel.STATE,
    AreaLevel.PARISH: AreaLevel.MUNICIPALITY,
}


class RecordStatus(StrEnum):
    """Whether a household or person counts. Records are never deleted, only deactivated with a reason.

    Transitions: active -> inactive (deactivate, with a reason); inactive -> active (reactivate, with a reason).
    """

    ACTIVE = "active"  # part of the registry, counted by eligibility runs
    INACTIVE = "inactive"  # deactivated with a reason (moved away, died, duplicate merged); kept for history


class Sex(IntEnum):
    """ISO/IEC 5218 codes."""

    NOT_KNOWN = 0
    MALE = 1
    FEMALE = 2
    NOT_APPLICABLE = 9


class Relationship(StrEnum):
    """A member's relationship to the head of household."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    GRANDCHILD = "grandchild"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    NON_RELATIVE = "non_relative"


class Difficulty(IntEnum):
    """Washington Group short set answer for one functional domain."""

    NONE = 1  # no difficulty
    SOME = 2  # some difficulty
    A_LOT = 3  # a lot of difficulty (counts as disability in the WG cut-off)
    CANNOT = 4  # cannot do at all (counts as disability)


#: the six Washington Group short-set domains, as column names
WASHINGTON_GROUP_DOMAINS: tuple[str, ...] = (
    "wg_seeing",
    "wg_hearing",
    "wg_walking",
    "wg_cognition",
    "wg_self_care",
    "wg_communication",
)


class Schooling(StrEnum):
    """Highest level of schooling reached."""

    NONE = "none"
    PRESCHOOL = "preschool"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    TECHNICAL = "technical"
    TERTIARY = "tertiary"


class Employment(StrEnum):
    """Main activity."""

    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    UNEMPLOYED = "unemployed"
    INACTIVE = "inactive"
    STUDENT = "student"
    RETIRED = "retired"
    DOMESTIC_WORK = "domestic_work"


class IdentifierKind(StrEnum):
    """Kinds of identity document a person may hold; each is sealed and found through its blind index."""

    NATIONAL_ID = "national_id"  # national identity number
    BIRTH_CERTIFICATE = "birth_certificate"  # civil registry birth record number
    PASSPORT = "passport"
    TAX_ID = "tax_id"
    SOCIAL_SECURITY = "social_security"
    REFUGEE_ID = "refugee_id"  # refugee or asylum-seeker document
    OTHER = "other"  # any other official document


class DwellingType(StrEnum):
    """Kind of dwelling the household lives in."""

    HOUSE = "house"
    APARTMENT = "apartment"
    ROOM = "room"
    INFORMAL = "informal"
    COLLECTIVE = "collective"
    OTHER = "other"


class Tenure(StrEnum):
    """On what terms the household occupies its dwelling."""

    OWNED = "owned"
    RENTED = "rented"
    BORROWED = "borrowed"
    OCCUPIED = "occupied"
    OTHER = "other"


class Asset(IntFlag):
    """Durable assets a household holds, stored as one integer (bit set), queried set-wise in SQL."""

    REFRIGERATOR = 1
    WASHING_MACHINE = 2
    TELEVISION = 4
    COMPUTER = 8
    MOBILE_PHONE = 16
    MOTORCYCLE = 32
    CAR = 64
    LIVESTOCK = 128
    WATER_TANK = 256
    GENERATOR = 512


_ASSET_BY_NAME: dict[str, Asset] = {member.name.lower(): member for member in Asset if member.name}

REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_NATIONAL_ID = re.compile(r"[A-Z0-9-]{4,32}")
_PHONE = re.compile(r"\+?[0-9]{7,15}")
_CURRENCY = re.compile(r"[A-Z]{3}")
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def parse_reference(value: str, *, field: str) -> str:
    """A source-system reference: 1-64 characters of ``A-Z a-z 0-9 . _ : / -``."""
    if REFERENCE_PATTERN.fullmatch(value) is None:
        raise ValidationError(
            "must be 1-64 characters of letters, digits and . _ : / -", field=field, code="invalid_reference"
        )
    return value


def parse_birth_date(value: str | date, *, today: date, field: str = "birth_date") -> date:
    """A birth date, ``YYYY-MM-DD``, from 1900-01-01 up to ``today``."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValidationError("must be a date written YYYY-MM-DD", field=field, code="invalid_date") from None
    if value > today:
        raise ValidationError("must not be in the future", field=field, code="date_in_future")
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError("must not be before 1900-01-01", field=field, code="date_too_early")
    return value


def parse_assets(value: str, *, field: str = "assets") -> Asset:
    """A ``;``-separated list of asset names -> an :class:`Asset` bit set (empty text -> no assets)."""
    assets = Asset(0)
    for raw in value.split(";"):
        name = raw.strip().lower()
        if not name:
            continue
        try:
            assets |= _ASSET_BY_NAME[name]
        except KeyError:
            raise ValidationError(
                f"unknown asset {name!r}; known: {', '.join(sorted(_ASSET_BY_NAME))}",
                field=field,
                code="invalid_choice",
            ) from None
    return assets


def asset_names(assets: int) -> list[str]:
    """The names in an asset bit set, in declaration order."""
    return [name for name, member in _ASSET_BY_NAME.items() if assets & member]


def parse_currency(value: str, *, field: str = "currency") -> str:
    """An ISO 4217 alphabetic code (three capital letters)."""
    if _CURRENCY.fullmatch(value) is None:
        raise ValidationError("must be an ISO 4217 code such as VES or USD", field=field, code="invalid_currency")
    return value


def parse_national_id(value: str, *, field: str = "national_id") -> str:
    """A national identity number: 4-32 characters of ``A-Z 0-9 -`` (upper-cased, spaces removed)."""
    normalised = value.replace(" ", "").upper()
    if _NATIONAL_ID.fullmatch(normalised) is None:
        raise ValidationError("must be 4-32 letters, digits or hyphens", field=field, code="invalid_identifier")
    return normalised


def parse_identifier(kind: str, value: str, *, field: str = "identifiers") -> tuple[IdentifierKind, str]:
    """A typed identifier: a known kind and 4-32 characters of ``A-Z 0-9 -`` (upper-cased, spaces removed)."""
    try:
        known = IdentifierKind(kind)
    except ValueError:
        choices = ", ".join(member.value for member in IdentifierKind)
        raise ValidationError(
            f"unknown identifier kind; known: {choices}", field=field, code="invalid_choice"
        ) from None
    return known, parse_national_id(value, field=field)


def parse_phone(value: str, *, field: str = "phone") -> str:
    """A phone number: optional ``+`` then 7-15 digits (spaces, dots and hyphens removed)."""
    normalised = value.replace(" ", "").replace("-", "").replace(".", "")
    if _PHONE.fullmatch(normalised) is None:
        raise ValidationError("must be an optional + and 7-15 digits", field=field, code="invalid_phone")
    return normalised
