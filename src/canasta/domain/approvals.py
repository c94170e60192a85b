"""Two people for destructive acts (DESIGN section 1, rule 4): maker and checker.

Revoking a card, deactivating a record, changing a programme's rule, approving a cycle and changing a user's role
are never done by one person. The first person's request is stored with exactly what will be done; nothing
happens until a second, different user whose role may approve that kind of request approves it, and then it is
done once, in the same transaction as the approval. Who may ask and who may approve each kind is listed in
:data:`REQUESTERS` and :data:`APPROVERS` (and in ``docs/approvals.md``).

Errors (:mod:`canasta.domain.errors`) with their stable codes::

    PermissionDeniedError
    ├── same_approver     the requester (or the target user) tried to approve
    ├── same_person       whoever drafted the cycle tried to approve it
    ├── approver_role     the role may not approve (or reject) this kind of request
    └── requester_role    the role may not ask for this kind of act
    ConflictError
    ├── approval_pending  a request for the same act on the same object is waiting already
    ├── already_decided   the request was decided meanwhile (by someone else, or expired)
    ├── approval_expired  the request waited too long; ask again
    └── approval_failed   approved, but the act's own checks refused it now (e.g. a stale version)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from canasta.domain.access import Actor, Role, is_in_scope
from canasta.domain.errors import ConflictError, PermissionDeniedError, ValidationError

__all__ = [
    "APPROVERS",
    "REQUESTERS",
    "TRANSITIONS",
    "ApprovalKind",
    "ApprovalRequest",
    "ApprovalStatus",
    "check_approver",
    "check_rejecter",
    "check_requester",
    "decision_reason",
    "name_in_label",
    "refused",
    "rule_digest",
    "visible_kinds",
]


class ApprovalKind(StrEnum):
    """The acts that need a second person."""

    CARD_REVOKE = "card_revoke"  # a card goes on the revocation list for good
    RECORD_DEACTIVATE = "record_deactivate"  # a household (with its members) or a person stops counting
    PROGRAMME_RULE = "programme_rule"  # a programme's eligibility rule is replaced
    CYCLE_APPROVE = "cycle_approve"  # a previewed cycle may be run (decisions and entitlements)
    ROLE_CHANGE = "role_change"  # a user gets another role


class ApprovalStatus(StrEnum):
    """Where a request is. Legal moves are listed in :data:`TRANSITIONS`; every final status is kept for good."""

    PENDING = "pending"  # waiting for a second, different approver; nothing was done
    APPROVED = "approved"  # approved and done, once, in the approval's transaction
    REJECTED = "rejected"  # refused by the approver (or withdrawn by the requester), with a reason; never done
    EXPIRED = "expired"  # nobody decided within CANASTA_APPROVAL_EXPIRY_DAYS; never done
    FAILED = "failed"  # approved, but the act's own checks refused it (the object changed); never done


TRANSITIONS: dict[ApprovalStatus, frozenset[ApprovalStatus]] = {
    ApprovalStatus.PENDING: frozenset(
        {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED, ApprovalStatus.FAILED}
    ),
    ApprovalStatus.APPROVED: frozenset(),
    ApprovalStatus.REJECTED: frozenset(),
    ApprovalStatus.EXPIRED: frozenset(),
    ApprovalStatus.FAILED: frozenset(),
}

_FIELD_STAFF = frozenset({Role.ADMIN, Role.ENROLMENT_OFFICER, Role.GRIEVANCE_OFFICER})
_PROGRAMME_STAFF = frozenset({Role.ADMIN, Role.PROGRAMME_MANAGER})

#: who may ask for each kind of act
REQUESTERS: dict[ApprovalKind, frozenset[Role]] = {
    ApprovalKind.CARD_REVOKE: _FIELD_STAFF,
    ApprovalKind.RECORD_DEACTIVATE: _FIELD_STAFF,
    ApprovalKind.PROGRAMME_RULE: _PROGRAMME_STAFF,
    ApprovalKind.CYCLE_APPROVE: _PROGRAMME_STAFF,
    ApprovalKind.ROLE_CHANGE: frozenset({Role.ADMIN}),
}

#: who may approve (or reject) each kind; always someone other than the requester
APPROVERS: dict[ApprovalKind, frozenset[Role]] = {
    # A revoked card can never be used again: the deployment's administrators decide it.
    ApprovalKind.CARD_REVOKE: frozenset({Role.ADMIN}),
    # Field staff of the record's area (the act checks the area again with the approver's scope).
    ApprovalKind.RECORD_DEACTIVATE: _FIELD_STAFF,
    # Benefits are decided by programme managers, not by whoever runs the deployment.
    ApprovalKind.PROGRAMME_RULE: frozenset({Role.PROGRAMME_MANAGER}),
    ApprovalKind.CYCLE_APPROVE: frozenset({Role.PROGRAMME_MANAGER}),
    ApprovalKind.ROLE_CHANGE: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A request as stored: what will be done, who asked, and (once decided) who decided and what came of it."""

    id: UUID
    kind: ApprovalKind
    target: str
    area_code: str | None
    payload: Mapping[str, Any]
    reason: str
    requested_by_name: str
    requested_by_role: str
    requested_at: datetime
    expires_at: datetime
    status: ApprovalStatus
    decided_by_name: str | None = None
    decided_by_role: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    result: Mapping[str, Any] | None = None

    def is_overdue(self, now: datetime) -> bool:
        """True when the request is still pending but its time to be decided has passed."""
        return self.status is ApprovalStatus.PENDING and now >= self.expires_at

    def is_visible_to(self, actor: Actor) -> bool:
        """True when ``actor`` may see the request: its kind concerns their role and its object lies in their areas.

        Requests about national objects (programmes, cycles, users) are visible to staff without an area scope.
        """
        if self.kind not in visible_kinds(actor.role):
            return False
        if self.area_code is None:
            return not actor.area_codes
        return is_in_scope(self.area_code, actor.area_codes)

    def to_public(self) -> dict[str, Any]:
        """Plain data for the API and the CLI (no personal data: ids, codes, names of staff, reasons)."""
        return {
            "id": str(self.id), "kind": self.kind.value, "target": self.target, "area_code": self.area_code,
            "payload": dict(self.payload), "reason": self.reason,
            "requested_by": {"name": self.requested_by_name, "role": self.requested_by_role},
            "requested_at": self.requested_at.isoformat(), "expires_at": self.expires_at.isoformat(),
            "status": self.status.value,
            "decided_by": (
                {"name": self.decided_by_name, "role": self.decided_by_role} if self.decided_by_name else None
            ),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_reason": self.decision_reason,
            "result": dict(self.result) if self.result is not None else None,
        }  # fmt: skip


def refused(detail: str, code: str) -> PermissionDeniedError:
    """A :class:`PermissionDeniedError` with a stable ``code``."""
    error = PermissionDeniedError(detail)
    error.code = code
    return error


def visible_kinds(role: Role) -> frozenset[ApprovalKind]:
    """The kinds of request a role may see: those it may ask for or decide (auditors see every kind)."""
    if role is Role.AUDITOR:
        return frozenset(ApprovalKind)
    return frozenset(kind for kind in ApprovalKind if role in REQUESTERS[kind] or role in APPROVERS[kind])


def check_requester(kind: ApprovalKind, actor: Actor) -> None:
    """Raise :class:`PermissionDeniedError` (``requester_role``) unless ``actor``'s role may ask for ``kind``."""
    if actor.role not in REQUESTERS[kind]:
        allowed = ", ".join(sorted(role.value for role in REQUESTERS[kind]))
        raise refused(f"a {actor.role.value} may not ask for {kind.value}; allowed: {allowed}", "requester_role")


def name_in_label(label: str) -> str:
    """The user name in a record's ``role:name`` label (a bare name is returned as it is)."""
    return label.partition(":")[2] or label


def _check_pending(request: ApprovalRequest) -> None:
    if request.status is not ApprovalStatus.PENDING:
        raise ConflictError(f"the request is {request.status.value} already", code="already_decided")


def check_approver(request: ApprovalRequest, approver: Actor, *, drafted_by: str | None = None) -> None:
    """Raise unless ``approver`` may approve ``request``: pending, another person, a role allowed for the kind.

    ``drafted_by`` names whoever wrote the thing being approved (a cycle's author), who may not approve it either.
    """
    _check_pending(request)
    if approver.name == request.requested_by_name:
        raise refused("you asked for this; a second, different person must approve it", "same_approver")
    if request.kind is ApprovalKind.ROLE_CHANGE and approver.name == request.target:
        raise refused("nobody approves a change of their own role", "same_approver")
    if drafted_by is not None and approver.name == name_in_label(drafted_by):
        raise refused("a cycle must be approved by someone other than its author", "same_person")
    if approver.role not in APPROVERS[request.kind]:
        allowed = ", ".join(sorted(role.value for role in APPROVERS[request.kind]))
        raise refused(f"a {approver.role.value} may not approve {request.kind.value}; allowed: {allowed}",
                      "approver_role")  # fmt: skip


def check_rejecter(request: ApprovalRequest, actor: Actor) -> None:
    """Raise unless ``actor`` may reject ``request``: an approver of its kind, or its requester withdrawing it."""
    _check_pending(request)
    if actor.name != request.requested_by_name and actor.role not in APPROVERS[request.kind]:
        raise refused(f"a {actor.role.value} may not reject {request.kind.value}", "approver_role")


def decision_reason(reason: str | None, *, required: bool) -> str | None:
    """A decision's reason, stripped: 3-500 characters, or None when not required and not given."""
    reason = (reason or "").strip()
    if not reason and not required:
        return None
    if len(reason) < 3 or len(reason) > 500:
        raise ValidationError("say why, in 3-500 characters", field="reason", code="reason_required")
    return reason


def rule_digest(rule: str) -> str:
    """SHA-256 of a rule's text (hex): the approver approves exactly this text and nothing else."""
    return hashlib.sha256(rule.encode("utf-8")).hexdigest()
