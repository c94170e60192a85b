"""A household member's own view (DESIGN section 1.3): set a PIN at the office, sign in with card, birth date and
PIN, and see the household's record, decisions with reasons, entitlements, redemptions, appeals and every access
to the record; ask for a correction, which files an appeal.

Every use case of a signed-in member starts from :func:`resolve_citizen`: the household is found from the
token's user, never from an id in the request, so a member can reach no other household. Each read is written to
the access log first (actor role ``citizen``, purpose ``own record``), so a member's own looks show in their
view like anyone else's. Staff are shown by role and office, never by name (docs/citizens.md says why).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor, Role
from canasta.domain.audit import AccessEntry, Action, Category
from canasta.domain.citizens import check_pin, citizen_user_name, shown_by
from canasta.domain.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ProhibitedCategoryError,
    ValidationError,
)
from canasta.domain.privacy import find_prohibited_category
from canasta.domain.registry import RecordStatus
from canasta.services.audit import AccessRecorder
from canasta.services.ports import Clock

__all__ = [
    "Citizen",
    "CitizenStore",
    "Citizens",
    "PinHasher",
    "SignedIn",
    "ask_correction",
    "decode_cursor",
    "encode_cursor",
    "my_access_log",
    "my_appeals",
    "my_decisions",
    "my_entitlements",
    "my_household",
    "my_redemptions",
    "resolve_citizen",
    "set_pin",
    "sign_in",
]

Row = Mapping[str, Any]
Cursor = tuple[datetime, UUID]


class CitizenStore(Protocol):
    """Storage (``adapters.db.citizen_store.SqlCitizenStore``)."""

    def birth_dates_of(self, household_id: UUID) -> list[date]: ...
    def user(self, name: str) -> Row | None: ...
    def add_citizen_user(self, *, user_id: UUID, name: str, at: datetime) -> None: ...
    def save_pin(self, *, person_id: UUID, user_id: UUID, pin_hash: str, at: datetime, by: str) -> int: ...
    def end_sessions(self, name: str, *, at: datetime) -> int: ...
    def unlock_cards(self, household_id: UUID, *, at: datetime) -> None: ...
    def sign_in_candidates(self, card_number: str, birth_date: date, *, at: datetime) -> Sequence[Row]: ...
    def issue_token(self, *, token_id: UUID, name: str, at: datetime, lifetime: timedelta) -> str: ...
    def citizen(self, user_id: UUID) -> Row | None: ...
    def decision_household(self, decision_id: UUID) -> UUID | None: ...
    def latest_decision(self, household_id: UUID) -> UUID | None: ...
    def entitlements(self, household_id: UUID) -> list[dict[str, Any]]: ...
    def redemptions(self, household_id: UUID, *, before: Cursor | None, limit: int) -> list[dict[str, Any]]: ...
    def accesses(self, household_id: UUID, *, before: Cursor | None, limit: int) -> list[AccessEntry]: ...


class PinHasher(Protocol):
    """Hashes and checks PINs (``adapters.db.citizen_store.ArgonPinHasher``)."""

    def hash(self, person_id: UUID, pin: str) -> str: ...
    def verify(self, person_id: UUID | None, stored: str | None, pin: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Citizens:
    """The collaborators: storage, the PIN hasher, the clock, ids, and the access log of a given actor."""

    store: CitizenStore
    hasher: PinHasher
    clock: Clock
    new_ids: Callable[[int], list[UUID]]
    access_for: Callable[[Actor], AccessRecorder]


@dataclass(frozen=True, slots=True)
class Citizen:
    """A signed-in household member: their user, their person record and their household."""

    actor: Actor
    person_id: UUID
    household_id: UUID


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A sign-in that succeeded: the member and their new token."""

    citizen: Citizen
    token: str


# --- at the office ---------------------------------------------------------------------------------------------


def set_pin(citizens: Citizens, actor: Actor, person: Row, *, pin: str) -> int:
    """Set (or replace) the sign-in PIN of ``person`` (a row the caller found in ``actor``'s scope); returns the
    PIN's version. Makes the member's citizen user on first use; a replacement ends every live token of it and
    lifts a lockout on the household's cards. Logged as a write to the household's record, with who set it.

    Raises :class:`ValidationError` (``weak_pin``, ``invalid_pin``) and :class:`ConflictError` for an inactive
    person (``record_inactive``), a sign-in an administrator turned off (``citizen_user_inactive``) or a staff
    user holding the member's sign-in name (``user_exists``).
    """
    if person["status"] != RecordStatus.ACTIVE.value:
        raise ConflictError("the person's record is inactive; reactivate it first", code="record_inactive")
    household_id: UUID = person["household_id"]
    check_pin(pin, citizens.store.birth_dates_of(household_id))
    store, now, name = citizens.store, citizens.clock.now(), citizen_user_name(person["id"])
    user = store.user(name)
    if user is None:
        user_id = citizens.new_ids(1)[0]
        store.add_citizen_user(user_id=user_id, name=name, at=now)
    elif user["role"] != Role.CITIZEN.value:  # a staff user by that name: never made into anyone's sign-in
        raise ConflictError("the member's sign-in name is taken by another user", code="user_exists")
    elif not user["is_active"]:
        raise ConflictError("this member's sign-in was turned off by an administrator", code="citizen_user_inactive")
    else:
        user_id = user["id"]
        store.end_sessions(name, at=now)
    citizens.access_for(actor).record(Action.WRITE, household_id, (Category.IDENTITY,), person_id=person["id"])
    version = store.save_pin(person_id=person["id"], user_id=user_id, pin_hash=citizens.hasher.hash(person["id"], pin),
                             at=now, by=actor.label)  # fmt: skip
    store.unlock_cards(household_id, at=now)
    return version


# --- signing in ------------------------------------------------------------------------------------------------


def sign_in(citizens: Citizens, *, card_number: str, birth_date: date, pin: str, lifetime: timedelta) -> SignedIn:
    """Check card, birth date and PIN and issue a token of ``lifetime``; logged as the member's own access.

    Every failure raises the same :class:`AuthenticationError` (an unknown, inactive or expired card, no member
    born that day, no PIN, a wrong PIN) and costs the same argon2 check, so neither the answer nor its time
    says which of the three was wrong.
    """
    now = citizens.clock.now()
    candidates = citizens.store.sign_in_candidates(card_number, birth_date, at=now)
    matched = None
    for candidate in candidates:  # each is checked (twins): no early answer
        if citizens.hasher.verify(candidate["person_id"], candidate["pin_hash"], pin):
            matched = candidate
    if not candidates:
        citizens.hasher.verify(None, None, pin)  # the same cost when nothing matched the card and birth date
    if matched is None:
        raise AuthenticationError("the card number, birth date or PIN is not right")
    actor = Actor(user_id=matched["user_id"], name=matched["name"], role=Role.CITIZEN)
    citizen = Citizen(actor, matched["person_id"], matched["household_id"])
    citizens.access_for(actor).record(
        Action.READ, citizen.household_id, (Category.CARD, Category.IDENTITY), person_id=citizen.person_id
    )
    token = citizens.store.issue_token(token_id=citizens.new_ids(1)[0], name=actor.name, at=now, lifetime=lifetime)
    return SignedIn(citizen, token)


# --- the member's own view -------------------------------------------------------------------------------------


def resolve_citizen(citizens: Citizens, actor: Actor) -> Citizen:
    """The household member behind a citizen token; :class:`PermissionDeniedError` when the user is linked to no
    active member (a citizen user made by hand, or a record deactivated since)."""
    row = citizens.store.citizen(actor.user_id) if actor.role is Role.CITIZEN else None
    if row is None or row["status"] != RecordStatus.ACTIVE.value:
        raise PermissionDeniedError("this sign-in belongs to no active household member")
    return Citizen(actor, row["person_id"], row["household_id"])


def _shown(label: str | None, citizen: Citizen) -> str | None:
    return shown_by(label, own_label=citizen.actor.label)


def my_household(citizen: Citizen, read: Callable[[UUID], dict[str, Any]]) -> dict[str, Any]:
    """The household with its members and consents, as an officer sees it (``read`` is ``read_household`` on the
    member's own registry, which logs the read), with who changed what shown by role, not by name."""
    household = read(citizen.household_id)
    for key in ("created_by", "updated_by"):
        household[key] = _shown(household[key], citizen)
    for member in household["members"]:
        member["updated_by"] = _shown(member["updated_by"], citizen)
    for consent in household["consents"]:
        consent["given_by"] = _shown(consent["given_by"], citizen)
        consent["withdrawn_by"] = _shown(consent["withdrawn_by"], citizen)
    return {"person_id": citizen.person_id, "household": household}


def my_decisions(
    citizens: Citizens, citizen: Citizen, explain: Callable[[UUID], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Every decision about the household with its conditions, the values used and a plain-language reason
    (``explain`` is ``explain_decisions``)."""
    access = citizens.access_for(citizen.actor)
    access.record(Action.READ, citizen.household_id, (Category.ELIGIBILITY, Category.SOCIO_ECONOMIC))
    return explain(citizen.household_id)


def my_appeals(
    citizens: Citizens, citizen: Citizen, list_appeals: Callable[[UUID], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The household's appeals with each step (``list_appeals`` is ``household_appeals``), officers by role."""
    citizens.access_for(citizen.actor).record(Action.READ, citizen.household_id, (Category.APPEALS,))
    appeals = list_appeals(citizen.household_id)
    for appeal in appeals:
        for step in appeal["steps"]:
            step["by"] = _shown(step["by"], citizen)
    return appeals


def _entitlement_status(row: Row, today: date) -> tuple[str, str]:
    """A short status and the same in plain words."""
    if row["state"] == "lapsed":
        return "lapsed", "Not collected before the cycle closed; it went back to the programme."
    if row["state"] == "redeemed" or (row["remaining"] == 0 and row["collected"] > 0):
        return "collected", "Collected in full."
    if row["cycle_state"] not in ("distributing", "closed"):
        return "pending", "Granted; distribution has not opened yet."
    if row["valid_from"] > today:
        return "not_yet_valid", f"To collect from {row['valid_from'].isoformat()}."
    if row["valid_until"] < today and row["state"] != "carried_over":
        return "ended", f"The time to collect ended on {row['valid_until'].isoformat()}."
    where = f" at {row['point_name']}" if row["point_name"] else ""
    return "due", f"{row['remaining']} of {row['units']} to collect{where} until {row['valid_until'].isoformat()}."


def my_entitlements(citizens: Citizens, citizen: Citizen) -> list[dict[str, Any]]:
    """What the household is due, has collected and let lapse, by entitlement, newest period first."""
    citizens.access_for(citizen.actor).record(Action.READ, citizen.household_id, (Category.ENTITLEMENTS,))
    today = citizens.clock.now().date()
    shown = []
    for row in citizens.store.entitlements(citizen.household_id):
        document = row["programme_document"] or {}
        status, plain = _entitlement_status(row, today)
        shown.append(
            {
                "entitlement_id": row["id"], "programme": row["programme_code"],
                "programme_name": document.get("name", row["programme_code"]), "cycle_number": row["cycle_number"],
                "valid_from": row["valid_from"], "valid_until": row["valid_until"], "units": row["units"],
                "remaining": row["remaining"], "collected": row["collected"], "lapsed": row["lapsed"],
                "co_payment": row["co_payment"], "currency": row["currency"], "point_name": row["point_name"],
                "basket": list(document.get("basket", ())), "status": status, "plain_status": plain,
            }
        )  # fmt: skip
    return shown


def encode_cursor(at: datetime, row_id: UUID) -> str:
    """A page cursor: the time (UTC, to the microsecond) and id of the last row of a page."""
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{row_id.hex}"


def decode_cursor(text: str | None, *, field: str = "before") -> Cursor | None:
    """The cursor :func:`encode_cursor` made, or :class:`ValidationError` naming ``field``."""
    if text is None:
        return None
    stamp, _, hex_id = text.partition("-")
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC), UUID(hex=hex_id)
    except ValueError:
        raise ValidationError("is not a page cursor: pass back next_before as it came", field=field,
                              code="invalid_cursor") from None  # fmt: skip


def _page(items: list[dict[str, Any]], rows: list[Any], limit: int, cursor_of: Callable[[Any], str]) -> dict[str, Any]:
    more = len(rows) > limit
    return {"items": items[:limit], "limit": limit, "next_before": cursor_of(rows[limit - 1]) if more else None}


def my_redemptions(citizens: Citizens, citizen: Citizen, *, before: Cursor | None, limit: int) -> dict[str, Any]:
    """The household's redemptions, newest first: when, where (the point's name), how, and what was handed out."""
    citizens.access_for(citizen.actor).record(Action.READ, citizen.household_id, (Category.ENTITLEMENTS, Category.CARD))
    rows = citizens.store.redemptions(citizen.household_id, before=before, limit=limit + 1)
    items = []
    for row in rows:
        receipt = (row["receipt"] or {}).get("document", {})
        items.append(
            {
                "redemption_id": row["id"], "at": row["at"], "point_name": row["point_name"],
                "point_code": row["point_code"], "path": row["path"], "reason": row["reason"],
                "card_last_digits": row["card_number"][-4:] if row["card_number"] else None,
                "items": [
                    {"programme": item.get("programme"), "units": item.get("units"), "goods": item.get("goods", []),
                     "co_payment": item.get("co_payment"), "currency": item.get("currency")}
                    for item in receipt.get("items", ())
                ],
            }
        )  # fmt: skip
    return _page(items, rows, limit, lambda row: encode_cursor(row["at"], row["id"]))


def my_access_log(citizens: Citizens, citizen: Citizen, *, before: Cursor | None, limit: int) -> dict[str, Any]:
    """Every access to the household's record, newest first: the role and office (areas; none: national) of
    whoever it was, when, why, which kinds of data, and whether it was this member or another of the household.
    Never a staff member's name: the request id and entry id let an auditor find them for a complaint."""
    entries = citizens.store.accesses(citizen.household_id, before=before, limit=limit + 1)
    citizens.access_for(citizen.actor).record(Action.READ, citizen.household_id, (Category.HISTORY,))
    items = [
        {
            "id": entry.id, "at": entry.at, "action": entry.action, "role": entry.actor_role,
            "office": list(entry.actor_areas), "purpose": entry.purpose, "categories": list(entry.categories),
            "person_id": entry.person_id, "is_you": entry.actor_id == citizen.actor.user_id,
            "is_household": entry.actor_role == Role.CITIZEN.value, "request_id": entry.request_id,
        }
        for entry in entries
    ]  # fmt: skip
    return _page(items, entries, limit, lambda entry: encode_cursor(entry.at, entry.id))


def ask_correction(
    citizens: Citizens, citizen: Citizen, *, decision_id: UUID | None, text: str, file: Callable[[UUID, str], UUID]
) -> UUID:
    """Ask for a correction of ``decision_id`` (the household's latest decision when None): ``file`` files it
    through the appeal workflow with ``text`` as its grounds; returns the appeal's id.

    Raises :class:`ValidationError` for a text outside 10-2000 characters, :class:`ProhibitedCategoryError` when
    it names a prohibited category (it would be kept), :class:`NotFoundError` for a decision that is not the
    household's (the same as one that does not exist) and :class:`ConflictError` (``no_decision``) when there is
    no decision yet.
    """
    text = text.strip()
    if not 10 <= len(text) <= 2000:
        raise ValidationError("say what is wrong in 10-2000 characters", field="text", code="reason_required")
    category = find_prohibited_category(text)
    if category is not None:  # the text itself is not repeated in the answer: it may be personal
        raise ProhibitedCategoryError(category=category.label, name="text", where="correction field", field="text")
    if decision_id is None:
        decision_id = citizens.store.latest_decision(citizen.household_id)
        if decision_id is None:
            raise ConflictError("your household has no decision yet; ask at the office", code="no_decision")
    elif citizens.store.decision_household(decision_id) != citizen.household_id:
        raise NotFoundError("no such decision", field="decision_id")
    citizens.access_for(citizen.actor).record(Action.WRITE, citizen.household_id, (Category.APPEALS,))
    return file(decision_id, text)
