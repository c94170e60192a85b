"""Request and response bodies. Requests refuse unknown fields (never ignore them): ``extra="forbid"``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from canasta.domain.registry import (
    Difficulty,
    DwellingType,
    Employment,
    IdentifierKind,
    RecordStatus,
    Relationship,
    Schooling,
    Sex,
    Tenure,
)

__all__ = [
    "HouseholdCreate",
    "HouseholdPublic",
    "HouseholdUpdate",
    "LoginRequest",
    "PersonCreate",
    "PersonMatch",
    "PersonPublic",
    "PersonUpdate",
    "Problem",
    "SearchPage",
    "TokenPublic",
    "VersionPublic",
]

Reference = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:/-]{1,64}$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Reason = Annotated[str, Field(min_length=3, max_length=500, description="Why this change is made (kept with it).")]
CustomValues = dict[str, str | int | bool | None]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IdentifierInput(Request):
    """A typed identity document number (sealed at rest, searchable by exact value)."""

    kind: IdentifierKind
    value: Annotated[str, Field(min_length=1, max_length=40)]


class PersonFields(Request):
    given_name: Name
    family_name: Name
    birth_date: date
    sex: Sex = Field(description="ISO/IEC 5218: 0 not known, 1 male, 2 female, 9 not applicable")
    relationship: Relationship
    wg_seeing: Difficulty | None = None
    wg_hearing: Difficulty | None = None
    wg_walking: Difficulty | None = None
    wg_cognition: Difficulty | None = None
    wg_self_care: Difficulty | None = None
    wg_communication: Difficulty | None = None
    schooling: Schooling | None = None
    employment: Employment | None = None
    national_id: Annotated[str, Field(max_length=40)] | None = None
    identifiers: list[IdentifierInput] = Field(default_factory=list, max_length=7)
    phone: Annotated[str, Field(max_length=24)] | None = None
    health_needs: Annotated[str, Field(max_length=500)] | None = None
    custom: CustomValues | None = None


class PersonCreate(PersonFields):
    """A person to enrol; ``reference`` is the source system's id (one is made when absent)."""

    reference: Reference | None = None
    reason: Reason | None = None


class PersonUpdate(Request):
    """A correction: only the fields sent change; ``version`` must be the one you read."""

    version: int = Field(ge=1)
    reason: Reason
    given_name: Name | None = None
    family_name: Name | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    relationship: Relationship | None = None
    wg_seeing: Difficulty | None = None
    wg_hearing: Difficulty | None = None
    wg_walking: Difficulty | None = None
    wg_cognition: Difficulty | None = None
    wg_self_care: Difficulty | None = None
    wg_communication: Difficulty | None = None
    schooling: Schooling | None = None
    employment: Employment | None = None
    national_id: Annotated[str, Field(max_length=40)] | None = None
    identifiers: list[IdentifierInput] | None = Field(None, max_length=7, description="Identifiers to add.")
    phone: Annotated[str, Field(max_length=24)] | None = None
    health_needs: Annotated[str, Field(max_length=500)] | None = None
    custom: CustomValues | None = None


class HouseholdCreate(Request):
    """A household to enrol with its members (exactly one head)."""

    reference: Reference | None = None
    area_code: Annotated[str, Field(min_length=1, max_length=32)]
    address: Annotated[str, Field(max_length=200)] | None = None
    monthly_income: int = Field(ge=0, description="Whole household's monthly income in minor units (cents).")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    dwelling_type: DwellingType | None = None
    tenure: Tenure | None = None
    assets: list[str] = Field(default_factory=list, max_length=20)
    land_m2: int | None = Field(None, ge=0)
    custom: CustomValues | None = None
    members: list[PersonCreate] = Field(min_length=1, max_length=40)


class HouseholdUpdate(Request):
    """A correction of household fields: only the fields sent change."""

    version: int = Field(ge=1)
    reason: Reason
    area_code: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    address: Annotated[str, Field(max_length=200)] | None = None
    monthly_income: int | None = Field(None, ge=0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    dwelling_type: DwellingType | None = None
    tenure: Tenure | None = None
    assets: list[str] | None = Field(None, max_length=20)
    land_m2: int | None = Field(None, ge=0)
    custom: CustomValues | None = None


class Deactivation(Request):
    """Deactivating a record: nothing is deleted; the reason is kept."""

    version: int = Field(ge=1)
    reason: Reason


class IdentifierPublic(BaseModel):
    kind: str
    value: str


class ConsentCreate(Request):
    """Consent to a stated purpose, by the household or one member (``person_id``)."""

    purpose: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[a-z][a-z0-9_:.-]{2,63}$")]
    person_id: UUID | None = None


class ConsentPublic(BaseModel):
    id: UUID
    person_id: UUID | None
    purpose: str
    given_at: datetime
    given_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None


class PersonPublic(BaseModel):
    id: UUID
    household_id: UUID
    reference: str
    given_name: str
    family_name: str
    birth_date: date
    sex: int
    relationship: str
    wg_seeing: int | None
    wg_hearing: int | None
    wg_walking: int | None
    wg_cognition: int | None
    wg_self_care: int | None
    wg_communication: int | None
    schooling: str | None
    employment: str | None
    national_id: str | None
    identifiers: list[IdentifierPublic]
    phone: str | None
    health_needs: str | None
    custom: dict[str, Any] | None
    status: RecordStatus
    status_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str


class HouseholdPublic(BaseModel):
    id: UUID
    reference: str
    area_code: str
    address: str | None
    monthly_income: int
    currency: str
    dwelling_type: str | None
    tenure: str | None
    assets: list[str]
    land_m2: int | None
    custom: dict[str, Any] | None
    status: RecordStatus
    status_reason: str | None
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    change_reason: str
    members: list[PersonPublic]
    consents: list[ConsentPublic]


class VersionPublic(BaseModel):
    version: int
    replaced_at: datetime
    replaced_by: str
    reason: str
    data: dict[str, Any]


class PersonMatch(BaseModel):
    id: UUID
    household_id: UUID
    given_name: str
    family_name: str
    birth_date: date
    area_code: str
    status: RecordStatus


class SearchPage(BaseModel):
    items: list[PersonMatch]
    limit: int
    offset: int
    next_offset: int | None


class Created(BaseModel):
    id: UUID


class LoginRequest(Request):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  # the OAuth 2 token type, not a secret
    expires_in: int


class Problem(BaseModel):
    """RFC 9457 problem details, with canasta's stable ``code`` and the offending ``field`` where there is one."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


class CardVerificationRequest(Request):
    """The text a distribution point's scanner read from a card's QR code."""

    text: Annotated[str, Field(min_length=1, max_length=8192)]


class CardVerificationPublic(BaseModel):
    """Valid, or refused with exactly one reason. Only what the card itself carries is returned."""

    valid: bool
    reason: str | None
    detail: str
    card_number: str | None = None
    holder_name: str | None = None
    date_of_birth: str | None = None
    expires_at: datetime | None = None
    key_id: str | None = None


class AppealCreate(Request):
    """An appeal against a decision, with its grounds."""

    grounds: Annotated[str, Field(min_length=10, max_length=2000)]


class AppealDecision(Request):
    """A reviewer's decision on an appeal: upheld (re-assess with corrected data) or rejected, and why."""

    upheld: bool
    reason: Annotated[str, Field(min_length=10, max_length=2000)]


class RedemptionItemInput(Request):
    """Units of one of the household's entitlements."""

    programme: Annotated[str, Field(min_length=1, max_length=32)]
    units: Annotated[int, Field(strict=True, gt=0, le=1_000_000)]


class RedemptionCreate(Request):
    """A redemption at a distribution point. Give the card's QR text, or (the assisted path, when the card is
    damaged, missing or refused) the household's reference and the operator's reason."""

    redemption_id: UUID = Field(description="Made by the client; a retry with the same id gets the same answer.")
    point: Annotated[str, Field(min_length=1, max_length=32)]
    card: Annotated[str | None, Field(min_length=1, max_length=4096)] = None
    household: Reference | None = None
    reason: Annotated[str | None, Field(min_length=3, max_length=500)] = None
    items: Annotated[list[RedemptionItemInput], Field(min_length=1, max_length=20)]


class SignedReceipt(BaseModel):
    """The receipt, and the server's Ed25519 signature over its canonical JSON by the list key ``key_id``."""

    document: dict[str, Any]
    key_id: str
    signature: str


# --- a household member's own view (docs/citizens.md) -----------------------------------------------------------

SixDigits = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="Six digits.")]


class CitizenPinCreate(Request):
    """The sign-in PIN a household member chose at the office (typed by them, not the officer)."""

    pin: SixDigits


class CitizenPinPublic(BaseModel):
    person_id: UUID
    pin_version: int


class CitizenLogin(Request):
    """A household member's sign-in: the household's card number (spaces and hyphens allowed), their birth date
    and their PIN."""

    card_number: Annotated[str, Field(min_length=1, max_length=24)]
    date_of_birth: date
    pin: SixDigits


class CitizenHouseholdPublic(BaseModel):
    """The signed-in member (``person_id``) and their household as an officer sees it; staff shown by role."""

    person_id: UUID
    household: HouseholdPublic


class CitizenEntitlementPublic(BaseModel):
    entitlement_id: UUID
    programme: str
    programme_name: str
    cycle_number: int
    valid_from: date
    valid_until: date
    units: int
    remaining: int
    collected: int
    lapsed: int
    co_payment: int
    currency: str
    point_name: str | None
    basket: list[dict[str, Any]]
    status: str = Field(description="due, collected, lapsed, pending, not_yet_valid or ended")
    plain_status: str


class CitizenRedemptionItem(BaseModel):
    programme: str | None
    units: int | None
    goods: list[dict[str, Any]]
    co_payment: int | None
    currency: str | None


class CitizenRedemptionPublic(BaseModel):
    redemption_id: UUID
    at: datetime
    point_name: str | None
    point_code: str | None
    path: str = Field(description="card, assisted (no card: an operator checked who you are) or offline")
    reason: str | None
    card_last_digits: str | None
    items: list[CitizenRedemptionItem]


class CitizenRedemptionPage(BaseModel):
    items: list[CitizenRedemptionPublic]
    limit: int
    next_before: str | None


class CitizenAccessPublic(BaseModel):
    """One access to the household's record: by whom (role and office, never a staff name), when and why."""

    id: UUID
    at: datetime
    action: str
    role: str
    office: list[str] = Field(description="The areas the person works in; empty: a national office.")
    purpose: str
    categories: list[str]
    person_id: UUID | None
    is_you: bool
    is_household: bool = Field(description="A member of your household (you, or another member).")
    request_id: str


class CitizenAccessPage(BaseModel):
    items: list[CitizenAccessPublic]
    limit: int
    next_before: str | None


class CorrectionCreate(Request):
    """What is wrong, in plain words, about a decision (the household's latest when ``decision_id`` is left out)."""

    decision_id: UUID | None = None
    text: Annotated[str, Field(min_length=10, max_length=2000)]
