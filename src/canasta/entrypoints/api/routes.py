"""Routes of the registry API. Thin: parse, call a use case, present. No route lists people."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from canasta.bootstrap import Canasta
from canasta.domain.audit import Action, Category
from canasta.domain.errors import NotFoundError
from canasta.domain.registry import IdentifierKind
from canasta.entrypoints.api.approval_routes import ApprovalPublic, ask_deactivation
from canasta.entrypoints.api.dependencies import CurrentActor, RegistryDep, UnitOfWork, request_context
from canasta.entrypoints.api.schemas import (
    AppealCreate,
    AppealDecision,
    CardVerificationPublic,
    CardVerificationRequest,
    ConsentCreate,
    Created,
    Deactivation,
    HouseholdCreate,
    HouseholdPublic,
    HouseholdUpdate,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
    Problem,
    RedemptionCreate,
    SearchPage,
    SignedReceipt,
    VersionPublic,
)
from canasta.services import registry as use_cases

__all__ = ["router"]

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 409, 422, 429, 503)  # 429: a read quota; 503: the access log could not be written
}
router = APIRouter(responses=PROBLEMS)
MAX_PAGE = 50


@router.get("/health", tags=["service"])
def health() -> dict[str, str]:
    """Liveness: answers without a token and reveals nothing."""
    return {"status": "ok"}


@router.post("/households", status_code=status.HTTP_201_CREATED, tags=["households"])
def create_household(body: HouseholdCreate, actor: CurrentActor, registry: RegistryDep) -> Created:
    """Enrol a household with its members."""
    data = body.model_dump(exclude_unset=True)
    data["members"] = [member.model_dump(exclude_unset=True) for member in body.members]
    return Created(id=use_cases.enrol_household(registry, actor, data))


@router.get("/households/{household_id}", response_model=HouseholdPublic, tags=["households"])
def get_household(household_id: UUID, actor: CurrentActor, registry: RegistryDep) -> dict[str, object]:
    """A household with its members."""
    return use_cases.read_household(registry, actor, household_id)


@router.patch("/households/{household_id}", response_model=HouseholdPublic, tags=["households"])
def patch_household(
    household_id: UUID, body: HouseholdUpdate, actor: CurrentActor, registry: RegistryDep
) -> dict[str, object]:
    """Correct household fields (send the ``version`` you read; a stale one gets 409)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    use_cases.update_household(registry, actor, household_id, body.version, changes, reason=body.reason)
    return use_cases.read_household(registry, actor, household_id)


@router.post(
    "/households/{household_id}/deactivate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ApprovalPublic,
    tags=["households"],
)
def deactivate_household(
    household_id: UUID,
    body: Deactivation,
    request: Request,
    actor: CurrentActor,
    registry: RegistryDep,
    connection: UnitOfWork,
) -> dict[str, object]:
    """Ask for a household and its members to be deactivated, with a reason: 202 with the approval request; a
    second, different person carries it out with ``POST /approvals/{id}/approve``. Nothing is deleted."""
    return ask_deactivation(request, connection, registry, actor, "households", household_id, version=body.version,
                            reason=body.reason)  # fmt: skip


@router.get("/households/{household_id}/versions", response_model=list[VersionPublic], tags=["households"])
def household_versions(household_id: UUID, actor: CurrentActor, registry: RegistryDep) -> list[dict[str, object]]:
    """Every earlier version of the household, with who replaced it, when and why."""
    return use_cases.read_versions(registry, actor, "households", household_id)


@router.post("/households/{household_id}/members", status_code=status.HTTP_201_CREATED, tags=["households"])
def add_member(household_id: UUID, body: PersonCreate, actor: CurrentActor, registry: RegistryDep) -> Created:
    """Add a person to a household."""
    data = body.model_dump(exclude_unset=True, exclude={"reason"})
    return Created(id=use_cases.add_member(registry, actor, household_id, data, reason=body.reason or "new member"))


@router.post("/households/{household_id}/consents", status_code=status.HTTP_201_CREATED, tags=["households"])
def record_consent(household_id: UUID, body: ConsentCreate, actor: CurrentActor, registry: RegistryDep) -> Created:
    """Record consent to a stated purpose, given now, by the household or one member."""
    consent_id = use_cases.record_consent(registry, actor, household_id, purpose=body.purpose, person_id=body.person_id)
    return Created(id=consent_id)


@router.post(
    "/households/{household_id}/consents/{consent_id}/withdraw",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["households"],
)
def withdraw_consent(household_id: UUID, consent_id: UUID, actor: CurrentActor, registry: RegistryDep) -> None:
    """Withdraw a consent: it is kept, marked withdrawn with who and when."""
    use_cases.withdraw_consent(registry, actor, household_id, consent_id)


@router.get("/people/search", response_model=SearchPage, tags=["people"])
def search_people(
    actor: CurrentActor,
    registry: RegistryDep,
    national_id: Annotated[str | None, Query(max_length=40, description="Shorthand for a national_id.")] = None,
    identifier: Annotated[str | None, Query(max_length=40)] = None,
    identifier_kind: IdentifierKind = IdentifierKind.NATIONAL_ID,
    name: Annotated[str | None, Query(max_length=200)] = None,
    birth_date: date | None = None,
    area_code: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchPage:
    """Find people by exact national id, or by name and birth date within an area; pages of at most 50."""
    items = use_cases.search_people(
        registry, actor, identifier=national_id or identifier,
        identifier_kind=IdentifierKind.NATIONAL_ID.value if national_id else identifier_kind.value,
        name=name, birth_date=birth_date, area_code=area_code,
        limit=limit + 1, offset=offset,
    )  # fmt: skip
    more = len(items) > limit
    return SearchPage.model_validate(
        {"items": items[:limit], "limit": limit, "offset": offset, "next_offset": offset + limit if more else None}
    )


@router.get("/people/{person_id}", response_model=PersonPublic, tags=["people"])
def get_person(person_id: UUID, actor: CurrentActor, registry: RegistryDep) -> dict[str, object]:
    """One person."""
    return use_cases.read_person(registry, actor, person_id)


@router.patch("/people/{person_id}", response_model=PersonPublic, tags=["people"])
def patch_person(person_id: UUID, body: PersonUpdate, actor: CurrentActor, registry: RegistryDep) -> dict[str, object]:
    """Correct a person's fields (send the ``version`` you read; a stale one gets 409)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason"})
    use_cases.update_person(registry, actor, person_id, body.version, changes, reason=body.reason)
    return use_cases.read_person(registry, actor, person_id)


@router.post(
    "/people/{person_id}/deactivate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ApprovalPublic,
    tags=["people"],
)
def deactivate_person(
    person_id: UUID,
    body: Deactivation,
    request: Request,
    actor: CurrentActor,
    registry: RegistryDep,
    connection: UnitOfWork,
) -> dict[str, object]:
    """Ask for a person to be deactivated, with a reason: 202 with the approval request; a second, different
    person carries it out with ``POST /approvals/{id}/approve``. Nothing is deleted."""
    return ask_deactivation(request, connection, registry, actor, "people", person_id, version=body.version,
                            reason=body.reason)  # fmt: skip


@router.get("/people/{person_id}/versions", response_model=list[VersionPublic], tags=["people"])
def person_versions(person_id: UUID, actor: CurrentActor, registry: RegistryDep) -> list[dict[str, object]]:
    """Every earlier version of the person, with who replaced it, when and why."""
    return use_cases.read_versions(registry, actor, "people", person_id)


@router.post("/cards/verify", response_model=CardVerificationPublic, tags=["cards"])
def verify_card(body: CardVerificationRequest, request: Request, _actor: CurrentActor) -> CardVerificationPublic:
    """Check a card's QR text: valid, or refused with one precise reason. Anything a camera reads gets an answer."""
    from datetime import UTC, datetime

    from canasta.adapters.crypto.claim169 import CardVerifier
    from canasta.services.cards import trusted_keys

    canasta: Canasta = request.app.state.canasta
    with canasta.engine.connect() as connection:
        cards = canasta.cards(connection)
        verifier = CardVerifier(trusted_keys(cards), cards.store.refused_card_numbers())
    result = verifier.verify(body.text, now=canasta.clock.now())
    credential = result.credential
    claims = credential.claims if credential is not None else None
    return CardVerificationPublic(
        valid=result.is_valid,
        reason=result.refusal.value if result.refusal is not None else None,
        detail=result.detail,
        card_number=claims.card_id if claims is not None else None,
        holder_name=claims.full_name if claims is not None and result.is_valid else None,
        date_of_birth=claims.date_of_birth if claims is not None and result.is_valid else None,
        expires_at=datetime.fromtimestamp(credential.expires_at, UTC) if credential is not None else None,
        key_id=result.key_id.hex() if result.key_id is not None else None,
    )


@router.get("/households/{household_id}/decisions", tags=["households"])
def household_decisions(
    household_id: UUID, request: Request, actor: CurrentActor, registry: RegistryDep, connection: UnitOfWork
) -> list[dict[str, object]]:
    """Every decision about the household: each condition with the values used, and a plain-language reason."""
    from canasta.services.cycles import explain_decisions
    from canasta.services.registry.context import household_in_scope

    household_in_scope(registry, household_id, actor)
    registry.access.record(Action.READ, household_id, (Category.ELIGIBILITY, Category.SOCIO_ECONOMIC))
    canasta: Canasta = request.app.state.canasta
    return explain_decisions(canasta.eligibility(connection), household_id)


@router.get("/households/{household_id}/appeals", tags=["appeals"])
def household_appeals(
    household_id: UUID, request: Request, actor: CurrentActor, registry: RegistryDep, connection: UnitOfWork
) -> list[dict[str, object]]:
    """Every appeal of the household with each step: who, when, what."""
    from canasta.services.appeals import household_appeals as list_appeals
    from canasta.services.registry.context import household_in_scope

    household_in_scope(registry, household_id, actor)
    registry.access.record(Action.READ, household_id, (Category.APPEALS,))
    canasta: Canasta = request.app.state.canasta
    return list_appeals(canasta.appeals(connection), household_id)


def _appeal_in_scope(appeals: Any, registry: RegistryDep, actor: CurrentActor, appeal_id: UUID) -> None:
    """404 for an appeal that does not exist or whose household lies outside the actor's areas."""
    from canasta.services.registry.context import household_in_scope

    appeal = appeals.store.appeal(appeal_id)
    try:
        if appeal is None:
            raise NotFoundError("no such appeal")
        household_in_scope(registry, appeal["household_id"], actor)
    except NotFoundError:  # one answer for both: which appeals exist elsewhere is not the caller's to learn
        raise NotFoundError("no such appeal", field="appeal_id") from None
    registry.access.record(Action.WRITE, appeal["household_id"], (Category.APPEALS,))


@router.post("/decisions/{decision_id}/appeals", status_code=status.HTTP_201_CREATED, tags=["appeals"])
def file_appeal(
    decision_id: UUID,
    body: AppealCreate,
    request: Request,
    actor: CurrentActor,
    registry: RegistryDep,
    connection: UnitOfWork,
) -> Created:
    """Appeal a decision on the household's behalf; it is answered within 30 days by an independent officer."""
    from canasta.services.appeals import file_appeal as file
    from canasta.services.registry.context import household_in_scope

    canasta: Canasta = request.app.state.canasta
    appeals = canasta.appeals(connection)
    decision = appeals.store.decision(decision_id)
    try:
        if decision is None:
            raise NotFoundError("no such decision")
        household_in_scope(registry, decision["household_id"], actor)
    except NotFoundError:  # a decision outside the caller's areas answers as a missing one
        raise NotFoundError("no such decision", field="decision_id") from None
    registry.access.record(Action.WRITE, decision["household_id"], (Category.APPEALS,))
    return Created(id=file(appeals, actor, decision_id, grounds=body.grounds))


@router.post("/appeals/{appeal_id}/take", status_code=status.HTTP_204_NO_CONTENT, tags=["appeals"])
def take_appeal(
    appeal_id: UUID, request: Request, actor: CurrentActor, registry: RegistryDep, connection: UnitOfWork
) -> None:
    """Take an appeal for review (not by anyone who made or approved the decision)."""
    from canasta.services.appeals import take_appeal as take

    canasta: Canasta = request.app.state.canasta
    appeals = canasta.appeals(connection)
    _appeal_in_scope(appeals, registry, actor, appeal_id)
    take(appeals, actor, appeal_id)


@router.post("/appeals/{appeal_id}/decide", tags=["appeals"])
def decide_appeal(
    appeal_id: UUID,
    body: AppealDecision,
    request: Request,
    actor: CurrentActor,
    registry: RegistryDep,
    connection: UnitOfWork,
) -> dict[str, str | None]:
    """Uphold (re-assess with the household's corrected data) or reject, with a reason given to the household."""
    from canasta.services.appeals import decide_appeal as decide

    canasta: Canasta = request.app.state.canasta
    appeals = canasta.appeals(connection)
    _appeal_in_scope(appeals, registry, actor, appeal_id)
    new_decision = decide(appeals, actor, appeal_id, upheld=body.upheld, reason=body.reason)
    return {"new_decision_id": str(new_decision) if new_decision else None}


@router.post("/redemptions", response_model=SignedReceipt, tags=["redemptions"])
def create_redemption(
    body: RedemptionCreate, request: Request, actor: CurrentActor, connection: UnitOfWork
) -> dict[str, Any]:
    """Hand a household what is due: verify its card (or look it up, with a reason), check the entitlement and the
    stock, post the ledger transfers and answer with a signed receipt. The same redemption id always gets the same
    answer; every refusal is recorded with its reason."""
    from canasta.domain.errors import ConflictError, DomainError
    from canasta.services.redemption import record_refusal, redeem

    canasta: Canasta = request.app.state.canasta
    payload = body.model_dump(mode="json", exclude_none=True)
    try:
        access = canasta.access_recorder(connection, actor, request_context(request))
        return redeem(canasta.redemptions(connection, access), actor, payload)
    except DomainError as error:
        connection.rollback()  # nothing of the refused redemption stays; its refusal is recorded and kept
        if not (isinstance(error, ConflictError) and error.code == "redemption_id_reused"):
            record_refusal(canasta.redemptions(connection), actor, payload, error)
            connection.commit()
        raise
