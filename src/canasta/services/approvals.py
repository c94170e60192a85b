"""Approval use cases: ask for a destructive act, then have a second, different person approve or reject it.

Each ``request_...`` function checks the act as far as it can now (the object exists in the requester's scope,
the move is legal, the new rule parses) and stores a pending request with exactly what will be done and the
version of the object it was asked against; it changes nothing else. :func:`approve_request` carries the act out
once, in the caller's transaction, with the approver as the actor, after the act's own checks ran again: a request
whose object changed meanwhile is marked ``failed`` with the reason, and nothing of the act is kept. The caller
commits and then calls :func:`check_outcome`, which raises for a request that failed or expired, so the mark is
kept while the caller still hears of the refusal.

The rules of who may ask and who may approve are in :mod:`canasta.domain.approvals`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor, Role, is_in_scope
from canasta.domain.approvals import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    check_approver,
    check_rejecter,
    check_requester,
    decision_reason,
    rule_digest,
    visible_kinds,
)
from canasta.domain.cards import CardState, check_transition, parse_card_number
from canasta.domain.cycles import CycleState
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.registry import RecordStatus
from canasta.services.cards import Cards, change_card_state
from canasta.services.cycles import Eligibility, approve_cycle, programme_from_document
from canasta.services.ports import Clock
from canasta.services.registry import Registry, deactivate
from canasta.services.registry.context import household_in_scope, person_in_scope

__all__ = [
    "ApprovalStore",
    "Approvals",
    "approve_request",
    "check_outcome",
    "list_requests",
    "read_request",
    "reject_request",
    "request_card_revoke",
    "request_cycle_approval",
    "request_deactivation",
    "request_role_change",
    "request_rule_change",
]

Row = Mapping[str, Any]
MAX_PAGE = 50


class ApprovalStore(Protocol):
    """Storage of requests, and the few writes of acts that have no use case of their own elsewhere
    (``adapters.db.approval_store.SqlApprovalStore``)."""

    def insert(self, values: Mapping[str, Any]) -> None: ...
    def request(self, request_id: UUID) -> ApprovalRequest | None: ...
    def pending_for(self, kind: str, target: str) -> ApprovalRequest | None: ...
    def requests(
        self, *, status: str | None, kinds: Sequence[str], scopes: Sequence[str], limit: int, offset: int
    ) -> list[ApprovalRequest]: ...
    def decide(self, request_id: UUID, values: Mapping[str, Any]) -> bool: ...
    def record_outcome(self, request_id: UUID, *, status: str, result: Mapping[str, Any]) -> None: ...
    def expire_overdue(self, now: datetime) -> int: ...
    def savepoint(self) -> AbstractContextManager[object]: ...
    def user(self, name: str) -> Actor | None: ...
    def change_role(self, name: str, *, from_role: str, to_role: str) -> bool: ...
    def replace_programme(self, programme_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True, slots=True)
class Approvals:
    """The collaborators of the approval use cases; the acts' own collaborators are made when first needed."""

    store: ApprovalStore
    clock: Clock
    new_ids: Callable[[int], list[UUID]]
    expiry: timedelta
    cards: Callable[[], Cards]
    eligibility: Callable[[], Eligibility]
    registry: Callable[[Actor], Registry]  # the actor's accesses to personal data are logged


# --- asking -------------------------------------------------------------------------------------------------


def _ask(
    approvals: Approvals,
    actor: Actor,
    kind: ApprovalKind,
    *,
    target: str,
    area_code: str | None,
    payload: Mapping[str, Any],
    reason: str,
) -> ApprovalRequest:
    given = decision_reason(reason, required=True)
    if approvals.store.pending_for(kind.value, target) is not None:
        raise ConflictError(
            f"a {kind.value} request for this is waiting for approval already; approve or reject it first",
            code="approval_pending",
        )
    now = approvals.clock.now()
    request_id = approvals.new_ids(1)[0]
    approvals.store.insert(
        {
            "id": request_id, "kind": kind.value, "target": target, "area_code": area_code, "payload": dict(payload),
            "reason": given, "requested_by_id": actor.user_id, "requested_by_name": actor.name,
            "requested_by_role": actor.role.value, "requested_at": now, "expires_at": now + approvals.expiry,
            "status": ApprovalStatus.PENDING.value,
        }
    )  # fmt: skip
    return _stored(approvals, request_id)


def _stored(approvals: Approvals, request_id: UUID) -> ApprovalRequest:
    request = approvals.store.request(request_id)
    if request is None:  # impossible inside the transaction that wrote it; refuse rather than guess
        raise NotFoundError("no such approval request", field="approval_id")
    return request


def request_card_revoke(approvals: Approvals, actor: Actor, card_number: str, *, reason: str) -> ApprovalRequest:
    """Ask for a card to be revoked for good. Raises NotFoundError for a card outside the actor's areas."""
    check_requester(ApprovalKind.CARD_REVOKE, actor)
    cards = approvals.cards()
    number = parse_card_number(card_number)
    card = cards.store.card_by_number(number)
    household = cards.store.household(card["household_id"]) if card is not None else None
    if card is None or household is None or not is_in_scope(household["area_code"], actor.area_codes):
        raise NotFoundError("no such card", field="card_number")
    check_transition(CardState(card["state"]), CardState.REVOKED)
    payload = {"card_number": number, "card_id": str(card["id"]), "state": card["state"], "version": card["version"]}
    return _ask(approvals, actor, ApprovalKind.CARD_REVOKE, target=number, area_code=household["area_code"],
                payload=payload, reason=reason)  # fmt: skip


def request_deactivation(
    approvals: Approvals, actor: Actor, entity: str, record_id: UUID, expected_version: int, *, reason: str
) -> ApprovalRequest:
    """Ask for a household (``entity`` "households", with its members) or a person ("people") to be deactivated.

    ``expected_version`` is the version the requester read; the act is refused later if the record changed.
    """
    check_requester(ApprovalKind.RECORD_DEACTIVATE, actor)
    registry = approvals.registry(actor)
    if entity == "households":
        record = household = household_in_scope(registry, record_id, actor)
    elif entity == "people":
        record, household = person_in_scope(registry, record_id, actor)
    else:
        raise ValidationError("must be households or people", field="entity", code="invalid_choice")
    if record["status"] != RecordStatus.ACTIVE:
        raise ConflictError("the record is inactive already", code="record_inactive")
    if record["version"] != expected_version:
        raise ConflictError(
            f"the record changed since you read it (you sent version {expected_version}, it is at "
            f"{record['version']}); read it again",
            code="stale_version",
            current_version=record["version"],
        )
    payload = {"entity": entity, "id": str(record_id), "version": expected_version}
    return _ask(approvals, actor, ApprovalKind.RECORD_DEACTIVATE, target=str(record_id),
                area_code=household["area_code"], payload=payload, reason=reason)  # fmt: skip


def request_rule_change(
    approvals: Approvals, actor: Actor, programme_code: str, rule: str, *, reason: str
) -> ApprovalRequest:
    """Ask for a programme's eligibility rule to be replaced by ``rule`` (parsed and checked now, and again then).

    Cycles drafted before keep the programme as it was when they were drafted.
    """
    check_requester(ApprovalKind.PROGRAMME_RULE, actor)
    row = approvals.eligibility().store.programme_by_code(programme_code)
    if row is None:
        raise NotFoundError(f"no programme {programme_code!r}", field="programme")
    programme = programme_from_document({**row["document"], "rule": rule})
    previous = str(row["document"].get("rule", ""))
    if programme.rule == previous:
        raise ValidationError("that is the programme's rule already", field="rule", code="unchanged")
    payload = {
        "programme": row["code"], "programme_id": str(row["id"]), "version": row["version"],
        "rule": programme.rule, "rule_sha256": rule_digest(programme.rule),
        "previous_rule": previous, "previous_rule_sha256": rule_digest(previous),
    }  # fmt: skip
    return _ask(approvals, actor, ApprovalKind.PROGRAMME_RULE, target=row["code"], area_code=None, payload=payload,
                reason=reason)  # fmt: skip


def request_cycle_approval(approvals: Approvals, actor: Actor, cycle_id: UUID, *, reason: str) -> ApprovalRequest:
    """Ask for a previewed cycle to be approved; the approver approves this preview (the cycle's version)."""
    check_requester(ApprovalKind.CYCLE_APPROVE, actor)
    cycle = approvals.eligibility().store.cycle(cycle_id)
    if cycle is None:
        raise NotFoundError("no such cycle", field="cycle_id")
    if cycle["state"] != CycleState.PREVIEWED:
        raise ConflictError(f"a {cycle['state']} cycle cannot be approved; preview it first",
                            code="invalid_transition")  # fmt: skip
    preview = cycle["preview"] or {}
    if preview.get("over_budget"):
        raise ConflictError(
            f"the preview costs {preview['cost']} {preview['currency']}, over the budget of {preview['budget']}",
            code="over_budget",
        )
    payload = {
        "cycle_id": str(cycle_id), "programme_id": str(cycle["programme_id"]), "number": cycle["number"],
        "version": cycle["version"], "author": cycle["author"], "cost": preview.get("cost"),
        "currency": preview.get("currency"),
    }  # fmt: skip
    return _ask(approvals, actor, ApprovalKind.CYCLE_APPROVE, target=str(cycle_id), area_code=None, payload=payload,
                reason=reason)  # fmt: skip


def request_role_change(
    approvals: Approvals, actor: Actor, user_name: str, role: str, *, reason: str
) -> ApprovalRequest:
    """Ask for an active user to get ``role``."""
    check_requester(ApprovalKind.ROLE_CHANGE, actor)
    try:
        new_role = Role(role)
    except ValueError:
        known = ", ".join(member.value for member in Role)
        raise ValidationError(f"unknown role; known: {known}", field="role", code="invalid_choice") from None
    user = approvals.store.user(user_name)
    if user is None:
        raise NotFoundError(f"no active user {user_name!r}", field="name")
    if user.role is new_role:
        raise ValidationError(f"{user_name} is a {role} already", field="role", code="unchanged")
    payload = {"user": user_name, "from_role": user.role.value, "to_role": new_role.value}
    return _ask(approvals, actor, ApprovalKind.ROLE_CHANGE, target=user_name, area_code=None, payload=payload,
                reason=reason)  # fmt: skip


# --- deciding -----------------------------------------------------------------------------------------------


def read_request(approvals: Approvals, actor: Actor, request_id: UUID) -> ApprovalRequest:
    """A request the actor may see; NotFoundError when it does not exist or concerns objects outside their scope."""
    request = approvals.store.request(request_id)
    if request is None or not request.is_visible_to(actor):
        raise NotFoundError("no such approval request", field="approval_id")
    return request


def list_requests(
    approvals: Approvals, actor: Actor, *, status: ApprovalStatus | None = None, limit: int = MAX_PAGE, offset: int = 0
) -> list[ApprovalRequest]:
    """Requests the actor may see, newest first, at most ``limit`` (overdue ones are marked expired first)."""
    approvals.store.expire_overdue(approvals.clock.now())
    return approvals.store.requests(
        status=status.value if status is not None else None,
        kinds=sorted(kind.value for kind in visible_kinds(actor.role)),
        scopes=actor.area_codes,
        limit=min(limit, MAX_PAGE),
        offset=offset,
    )


def _expire(approvals: Approvals, request: ApprovalRequest, now: datetime) -> ApprovalRequest:
    approvals.store.decide(request.id, {"status": ApprovalStatus.EXPIRED.value, "decided_at": now})
    return _stored(approvals, request.id)


def _claim(approvals: Approvals, actor: Actor, request: ApprovalRequest, status: ApprovalStatus,
           reason: str | None, now: datetime) -> None:  # fmt: skip
    # The conditional update is the arbiter: of two approvers at once, the second waits for the first's row lock
    # and then finds the request no longer pending, so the act is done once.
    claimed = approvals.store.decide(
        request.id,
        {"status": status.value, "decided_by_id": actor.user_id, "decided_by_name": actor.name,
         "decided_by_role": actor.role.value, "decided_at": now, "decision_reason": reason},
    )  # fmt: skip
    if not claimed:
        raise ConflictError("the request was decided meanwhile", code="already_decided")


def approve_request(
    approvals: Approvals, actor: Actor, request_id: UUID, *, reason: str | None = None
) -> ApprovalRequest:
    """Approve a pending request and carry its act out, once, with ``actor`` as the one who does it.

    Returns the request as decided: ``approved`` (with the act's result), ``failed`` (the act's checks refused it;
    nothing of it is kept) or ``expired``. Raises PermissionDeniedError (``same_approver``, ``same_person``,
    ``approver_role``), ConflictError (``already_decided``) or NotFoundError, and then nothing changes.
    """
    request = read_request(approvals, actor, request_id)
    now = approvals.clock.now()
    if request.is_overdue(now):
        return _expire(approvals, request, now)
    drafted_by = request.payload.get("author") if request.kind is ApprovalKind.CYCLE_APPROVE else None
    check_approver(request, actor, drafted_by=drafted_by)
    _claim(approvals, actor, request, ApprovalStatus.APPROVED, decision_reason(reason, required=False), now)
    try:
        with approvals.store.savepoint():
            result = _ACTS[request.kind](approvals, actor, request)
    except (ConflictError, NotFoundError, ValidationError) as error:
        approvals.store.record_outcome(
            request.id, status=ApprovalStatus.FAILED.value, result={"error": error.code, "detail": error.detail}
        )
    else:
        approvals.store.record_outcome(request.id, status=ApprovalStatus.APPROVED.value, result=result)
    return _stored(approvals, request.id)


def reject_request(approvals: Approvals, actor: Actor, request_id: UUID, *, reason: str) -> ApprovalRequest:
    """Reject a pending request with a reason (its requester may withdraw it the same way); it is never done."""
    request = read_request(approvals, actor, request_id)
    now = approvals.clock.now()
    if request.is_overdue(now):
        return _expire(approvals, request, now)
    check_rejecter(request, actor)
    _claim(approvals, actor, request, ApprovalStatus.REJECTED, decision_reason(reason, required=True), now)
    approvals.store.record_outcome(request.id, status=ApprovalStatus.REJECTED.value, result={"done": False})
    return _stored(approvals, request.id)


def check_outcome(request: ApprovalRequest, wanted: ApprovalStatus) -> None:
    """Raise ConflictError unless ``request`` (as decided and committed) has the ``wanted`` status.

    ``approval_expired`` for a request that waited too long, ``approval_failed`` for one the act refused.
    """
    if request.status is wanted:
        return
    if request.status is ApprovalStatus.EXPIRED:
        raise ConflictError("the request waited too long and expired; nothing was done; ask again",
                            code="approval_expired")  # fmt: skip
    if request.status is ApprovalStatus.FAILED:
        result = request.result or {}
        raise ConflictError(
            f"approved, but it could not be done and is marked failed: {result.get('detail')} "
            f"({result.get('error')}); nothing was done",
            code="approval_failed",
            cause=result.get("error"),
        )
    raise ConflictError(f"the request is {request.status.value}", code="already_decided")


# --- the acts, run with the approver as the actor -----------------------------------------------------------


def _stale(what: str) -> ConflictError:
    return ConflictError(f"the {what} changed since the request was made; ask again", code="stale_version")


def _revoke_card(approvals: Approvals, approver: Actor, request: ApprovalRequest) -> dict[str, Any]:
    cards = approvals.cards()
    number = str(request.payload["card_number"])
    card = cards.store.card_by_number(number)
    if card is None:
        raise NotFoundError("no such card", field="card_number")
    if card["version"] != request.payload["version"]:
        raise _stale("card")
    change_card_state(cards, approver, number, CardState.REVOKED, reason=request.reason)
    return {"card_number": number, "state": CardState.REVOKED.value}


def _deactivate_record(approvals: Approvals, approver: Actor, request: ApprovalRequest) -> dict[str, Any]:
    entity, record_id = str(request.payload["entity"]), UUID(str(request.payload["id"]))
    deactivate(approvals.registry(approver), approver, entity, record_id, int(request.payload["version"]),
               reason=request.reason)  # fmt: skip
    return {"entity": entity, "id": str(record_id), "status": RecordStatus.INACTIVE.value}


def _change_rule(approvals: Approvals, approver: Actor, request: ApprovalRequest) -> dict[str, Any]:
    row = approvals.eligibility().store.programme(UUID(str(request.payload["programme_id"])))
    if row is None:
        raise NotFoundError("no such programme", field="programme")
    if row["version"] != request.payload["version"]:
        raise _stale("programme")
    programme = programme_from_document({**row["document"], "rule": request.payload["rule"]})
    if rule_digest(programme.rule) != request.payload["rule_sha256"]:
        raise ConflictError("the rule does not match the text that was asked for", code="rule_mismatch")
    version = int(row["version"]) + 1
    replaced = approvals.store.replace_programme(
        row["id"], row["version"],
        {"document": programme.to_document(), "version": version, "updated_at": approvals.clock.now(),
         "updated_by": approver.label},
    )  # fmt: skip
    if not replaced:
        raise _stale("programme")
    return {"programme": row["code"], "version": version, "rule_sha256": request.payload["rule_sha256"]}


def _approve_cycle(approvals: Approvals, approver: Actor, request: ApprovalRequest) -> dict[str, Any]:
    eligibility = approvals.eligibility()
    cycle = eligibility.store.cycle(UUID(str(request.payload["cycle_id"])))
    if cycle is None:
        raise NotFoundError("no such cycle", field="cycle_id")
    if cycle["version"] != request.payload["version"]:
        raise _stale("cycle (it was previewed again)")
    approve_cycle(eligibility, approver, cycle["id"])
    return {"cycle_id": str(cycle["id"]), "state": CycleState.APPROVED.value, "approved_by": approver.label}


def _change_role(approvals: Approvals, _approver: Actor, request: ApprovalRequest) -> dict[str, Any]:
    payload = request.payload
    changed = approvals.store.change_role(
        str(payload["user"]), from_role=str(payload["from_role"]), to_role=str(payload["to_role"])
    )
    if not changed:
        raise _stale("user (their role, or whether they are active)")
    return {"user": payload["user"], "role": payload["to_role"]}


_ACTS: dict[ApprovalKind, Callable[[Approvals, Actor, ApprovalRequest], dict[str, Any]]] = {
    ApprovalKind.CARD_REVOKE: _revoke_card,
    ApprovalKind.RECORD_DEACTIVATE: _deactivate_record,
    ApprovalKind.PROGRAMME_RULE: _change_rule,
    ApprovalKind.CYCLE_APPROVE: _approve_cycle,
    ApprovalKind.ROLE_CHANGE: _change_role,
}
