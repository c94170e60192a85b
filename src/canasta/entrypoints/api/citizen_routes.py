"""Routes of a household member's own view (docs/citizens.md): the PIN set at the office, signing in with card,
birth date and PIN, and ``/me/...``, always the signed-in member's own household (never an id from the request).

Failed sign-ins are counted per card (``adapters/db/login_throttle.py``, with the settings of staff sign-in): too
many lock the card for a while, answered ``429 login_locked`` with ``Retry-After`` whatever the birth date and PIN
and whether or not the card exists. Not per client address: a USSD gateway or an office kiosk signs in many
people from one address.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from canasta.adapters.db.citizen_store import ArgonPinHasher, SqlCitizenStore, card_subject
from canasta.bootstrap import Canasta
from canasta.domain.cards import parse_card_number
from canasta.entrypoints.api.auth_routes import throttled
from canasta.entrypoints.api.dependencies import CurrentActor, RegistryDep, UnitOfWork, request_context
from canasta.entrypoints.api.routes import PROBLEMS
from canasta.entrypoints.api.schemas import (
    CitizenAccessPage,
    CitizenEntitlementPublic,
    CitizenHouseholdPublic,
    CitizenLogin,
    CitizenPinCreate,
    CitizenPinPublic,
    CitizenRedemptionPage,
    CorrectionCreate,
    Created,
    TokenPublic,
)
from canasta.services import citizens as use_cases
from canasta.services.citizens import Citizen, Citizens

__all__ = ["TOKEN_LIFETIME", "router"]

router = APIRouter(responses=PROBLEMS, tags=["citizens"])
#: A member's token is short-lived: it is often used on a shared screen (an office kiosk) or through a gateway.
TOKEN_LIFETIME = timedelta(minutes=15)
MAX_PAGE = 50
_HASHER_LOCK = threading.Lock()


def _hasher(request: Request, canasta: Canasta) -> ArgonPinHasher:
    """One PIN hasher per application (making one hashes its dummy PIN, which takes a while on purpose)."""
    state = request.app.state
    with _HASHER_LOCK:
        hasher: ArgonPinHasher | None = getattr(state, "citizen_pin_hasher", None)
        if hasher is None:
            hasher = ArgonPinHasher(canasta.sealer.blind_index)
            state.citizen_pin_hasher = hasher
    return hasher


def _citizens(request: Request, connection: Connection) -> Citizens:
    canasta: Canasta = request.app.state.canasta
    context = request_context(request)
    return Citizens(
        SqlCitizenStore(connection, canasta.sealer.blind_index), _hasher(request, canasta), canasta.clock,
        canasta.new_ids, access_for=lambda actor: canasta.access_recorder(connection, actor, context),
    )  # fmt: skip


def _citizen(request: Request, actor: CurrentActor, connection: UnitOfWork) -> Citizen:
    return use_cases.resolve_citizen(_citizens(request, connection), actor)


CitizenDep = Annotated[Citizen, Depends(_citizen)]
Before = Annotated[str | None, Query(max_length=64, description="`next_before` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


@router.post("/people/{person_id}/citizen-pin", response_model=CitizenPinPublic, tags=["people"])
def set_citizen_pin(
    person_id: UUID,
    body: CitizenPinCreate,
    request: Request,
    actor: CurrentActor,
    registry: RegistryDep,
    connection: UnitOfWork,
) -> CitizenPinPublic:
    """Set the sign-in PIN the member chose (6 digits; no repeated pattern, run or birth date of the household).
    Setting it again replaces it, signs the member out everywhere and lifts a lockout of the household's cards."""
    from canasta.services.registry.context import person_in_scope

    person, _ = person_in_scope(registry, person_id, actor)
    version = use_cases.set_pin(_citizens(request, connection), actor, person, pin=body.pin)
    return CitizenPinPublic(person_id=person_id, pin_version=version)


@router.post("/citizen/token", response_model=TokenPublic, responses={429: PROBLEMS[401]})
def citizen_token(body: CitizenLogin, request: Request) -> TokenPublic | JSONResponse:
    """A household member signs in with the household's card number, their birth date and their PIN, for a
    15-minute token. Every wrong answer gets the same ``401``; five within 15 minutes lock the card (``429``)."""
    canasta: Canasta = request.app.state.canasta
    number = parse_card_number(body.card_number)
    subjects = [card_subject(canasta.sealer.blind_index, number)]

    def attempt(connection: Connection) -> Any:
        return use_cases.sign_in(
            _citizens(request, connection), card_number=number, birth_date=body.date_of_birth, pin=body.pin,
            lifetime=TOKEN_LIFETIME,
        )  # fmt: skip

    # No card number in the alert: the auditor needs the fact, not whose card.
    signed_in = throttled(
        request, subjects, attempt, alert=lambda _connection, _lockout: ("citizen sign-in with one card locked", None),
        advice="ask at the office",
    )  # fmt: skip
    if isinstance(signed_in, JSONResponse):
        return signed_in
    return TokenPublic(access_token=signed_in.token, expires_in=int(TOKEN_LIFETIME.total_seconds()))


@router.get("/me", response_model=CitizenHouseholdPublic)
def me(citizen: CitizenDep, actor: CurrentActor, registry: RegistryDep) -> dict[str, Any]:
    """Your household and its members, as the office sees it (identifiers and phone included)."""
    from canasta.services.registry import read_household

    return use_cases.my_household(citizen, lambda household_id: read_household(registry, actor, household_id))


@router.get("/me/decisions")
def my_decisions(citizen: CitizenDep, request: Request, connection: UnitOfWork) -> list[dict[str, Any]]:
    """Every decision about your household: each programme's conditions, the values used, and why, in plain words."""
    from canasta.services.cycles import explain_decisions

    canasta: Canasta = request.app.state.canasta
    eligibility = canasta.eligibility(connection)
    return use_cases.my_decisions(
        _citizens(request, connection), citizen, lambda household_id: explain_decisions(eligibility, household_id)
    )


@router.get("/me/entitlements", response_model=list[CitizenEntitlementPublic])
def my_entitlements(citizen: CitizenDep, request: Request, connection: UnitOfWork) -> list[dict[str, Any]]:
    """What your household is due, has collected and let lapse, and where to collect it."""
    return use_cases.my_entitlements(_citizens(request, connection), citizen)


@router.get("/me/redemptions", response_model=CitizenRedemptionPage)
def my_redemptions(
    citizen: CitizenDep, request: Request, connection: UnitOfWork, before: Before = None, limit: Limit = MAX_PAGE
) -> dict[str, Any]:
    """What your household collected, newest first: when, where, how and what."""
    cursor = use_cases.decode_cursor(before)
    return use_cases.my_redemptions(_citizens(request, connection), citizen, before=cursor, limit=limit)


@router.get("/me/appeals")
def my_appeals(citizen: CitizenDep, request: Request, connection: UnitOfWork) -> list[dict[str, Any]]:
    """Your household's appeals and correction requests, with each step (officers shown by role)."""
    from canasta.services.appeals import household_appeals

    canasta: Canasta = request.app.state.canasta
    appeals = canasta.appeals(connection)
    return use_cases.my_appeals(
        _citizens(request, connection), citizen, lambda household_id: household_appeals(appeals, household_id)
    )


@router.get("/me/access-log", response_model=CitizenAccessPage)
def my_access_log(
    citizen: CitizenDep, request: Request, connection: UnitOfWork, before: Before = None, limit: Limit = MAX_PAGE
) -> dict[str, Any]:
    """Every access to your household's record, newest first: the role and office, when, why and which data."""
    cursor = use_cases.decode_cursor(before)
    return use_cases.my_access_log(_citizens(request, connection), citizen, before=cursor, limit=limit)


@router.post("/me/corrections", status_code=status.HTTP_201_CREATED)
def ask_correction(body: CorrectionCreate, citizen: CitizenDep, request: Request, connection: UnitOfWork) -> Created:
    """Say what is wrong: it is filed as an appeal of the decision (your household's latest when none is named),
    answered within 30 days by an officer who did not make it. Answers the appeal's id."""
    from canasta.services.appeals import file_appeal

    canasta: Canasta = request.app.state.canasta
    appeals = canasta.appeals(connection)
    appeal_id = use_cases.ask_correction(
        _citizens(request, connection), citizen, decision_id=body.decision_id, text=body.text,
        file=lambda decision_id, text: file_appeal(appeals, citizen.actor, decision_id, grounds=text),
    )  # fmt: skip
    return Created(id=appeal_id)
