"""Routes of approval requests: the second, different person of a destructive act (``docs/approvals.md``).

``POST /households/{id}/deactivate`` and ``POST /people/{id}/deactivate`` (in ``routes.py``) answer 202 with a
request made here by :func:`ask_deactivation`; ``POST /approvals/{id}/approve`` by another user carries it out.
A request about an object outside the caller's areas answers 404, as a missing one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from canasta.adapters.db.approval_store import approvals_on
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor
from canasta.domain.approvals import ApprovalStatus
from canasta.entrypoints.api.dependencies import CurrentActor, request_context
from canasta.entrypoints.api.schemas import Problem, Reason
from canasta.entrypoints.api.schemas import Request as RequestBody
from canasta.services import approvals as use_cases
from canasta.services.registry import Registry

__all__ = ["ApprovalPublic", "ask_deactivation", "router"]

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 409, 422, 429, 503)  # 429: a read quota; 503: the access log could not be written
}
router = APIRouter(responses=PROBLEMS, tags=["approvals"])
MAX_PAGE = use_cases.MAX_PAGE


class StaffPublic(BaseModel):
    name: str
    role: str


class ApprovalPublic(BaseModel):
    """A request for a destructive act: exactly what will be done, who asked, and who decided what."""

    id: UUID
    kind: str = Field(description="card_revoke, record_deactivate, programme_rule, cycle_approve or role_change")
    target: str
    area_code: str | None
    payload: dict[str, Any] = Field(description="What will be done, and the version of the object it was asked on.")
    reason: str
    requested_by: StaffPublic
    requested_at: datetime
    expires_at: datetime
    status: str = Field(description="pending, approved (and done), rejected, expired or failed")
    decided_by: StaffPublic | None
    decided_at: datetime | None
    decision_reason: str | None
    result: dict[str, Any] | None = Field(description="What the act did, or the error that stopped it (failed).")


class ApprovalPage(BaseModel):
    items: list[ApprovalPublic]
    limit: int
    offset: int
    next_offset: int | None


class ApprovalDecision(RequestBody):
    """Approving: the reason is optional."""

    reason: Annotated[str | None, Field(min_length=3, max_length=500)] = None


class ApprovalRejection(RequestBody):
    """Rejecting (or withdrawing one's own request): the reason is required and kept."""

    reason: Reason


def _canasta(request: Request) -> Canasta:
    canasta: Canasta = request.app.state.canasta
    return canasta


def ask_deactivation(
    request: Request,
    connection: Connection,
    registry: Registry,
    actor: Actor,
    entity: str,
    record_id: UUID,
    *,
    version: int,
    reason: str,
) -> dict[str, Any]:
    """Store a request to deactivate a household or a person, in the route's unit of work; the request as data."""
    approvals = approvals_on(_canasta(request), connection, registry=registry)
    asked = use_cases.request_deactivation(approvals, actor, entity, record_id, version, reason=reason)
    return asked.to_public()


@router.get("/approvals", response_model=ApprovalPage)
def list_approvals(
    request: Request,
    actor: CurrentActor,
    status: ApprovalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """Requests about objects in your areas, of kinds your role asks for or decides, newest first; pages of 50."""
    canasta = _canasta(request)
    with canasta.engine.begin() as connection:  # overdue requests are marked expired on the way
        found = use_cases.list_requests(
            approvals_on(canasta, connection), actor, status=status, limit=limit + 1, offset=offset
        )
    more = len(found) > limit
    return {
        "items": [item.to_public() for item in found[:limit]], "limit": limit, "offset": offset,
        "next_offset": offset + limit if more else None,
    }  # fmt: skip


@router.get("/approvals/{approval_id}", response_model=ApprovalPublic)
def get_approval(approval_id: UUID, request: Request, actor: CurrentActor) -> dict[str, Any]:
    """One request, with its decision and result once decided."""
    canasta = _canasta(request)
    with canasta.engine.connect() as connection:
        return use_cases.read_request(approvals_on(canasta, connection), actor, approval_id).to_public()


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalPublic)
def approve_approval(
    approval_id: UUID, request: Request, actor: CurrentActor, body: ApprovalDecision | None = None
) -> dict[str, Any]:
    """Approve a request and carry it out now, once; not by whoever asked for it (403 ``same_approver``).

    409 ``approval_failed`` when the object changed since the request (it is then marked failed), 409
    ``approval_expired`` when it waited too long, 409 ``already_decided`` when someone decided first.
    """
    canasta = _canasta(request)
    with canasta.engine.begin() as connection:
        approvals = approvals_on(canasta, connection, context=request_context(request))
        decided = use_cases.approve_request(approvals, actor, approval_id, reason=body.reason if body else None)
    use_cases.check_outcome(decided, ApprovalStatus.APPROVED)  # after the commit: the failure mark is kept
    return decided.to_public()


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalPublic)
def reject_approval(
    approval_id: UUID, body: ApprovalRejection, request: Request, actor: CurrentActor
) -> dict[str, Any]:
    """Reject a request with a reason (its requester may withdraw it so); it is never carried out."""
    canasta = _canasta(request)
    with canasta.engine.begin() as connection:
        decided = use_cases.reject_request(approvals_on(canasta, connection), actor, approval_id, reason=body.reason)
    use_cases.check_outcome(decided, ApprovalStatus.REJECTED)
    return decided.to_public()
