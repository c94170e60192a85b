"""Storage of approval requests inside the caller's transaction, and the wiring of the approval use cases."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, insert, or_, select, update

from canasta.adapters.db.approval_tables import approval_requests
from canasta.adapters.db.eligibility_tables import programmes
from canasta.adapters.db.tables import users
from canasta.domain.access import Actor, Role
from canasta.domain.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus
from canasta.services.approvals import Approvals
from canasta.services.audit import RequestContext

if TYPE_CHECKING:
    from canasta.config import Settings
    from canasta.services.cards import Cards
    from canasta.services.cycles import Eligibility
    from canasta.services.ports import Clock, Sealer
    from canasta.services.registry import Registry

__all__ = ["SqlApprovalStore", "active_user", "approvals_on"]

_PENDING = ApprovalStatus.PENDING.value


def _request(row: RowMapping) -> ApprovalRequest:
    return ApprovalRequest(
        id=row["id"], kind=ApprovalKind(row["kind"]), target=row["target"], area_code=row["area_code"],
        payload=row["payload"], reason=row["reason"], requested_by_name=row["requested_by_name"],
        requested_by_role=row["requested_by_role"], requested_at=row["requested_at"], expires_at=row["expires_at"],
        status=ApprovalStatus(row["status"]), decided_by_name=row["decided_by_name"],
        decided_by_role=row["decided_by_role"], decided_at=row["decided_at"], decision_reason=row["decision_reason"],
        result=row["result"],
    )  # fmt: skip


def active_user(connection: Connection, name: str) -> Actor | None:
    """The active user called ``name`` as an actor (their role and areas from the users table), or None."""
    row = connection.execute(
        select(users.c.id, users.c.name, users.c.role, users.c.area_codes).where(
            users.c.name == name, users.c.is_active
        )
    ).first()
    if row is None:
        return None
    return Actor(user_id=row.id, name=row.name, role=Role(row.role), area_codes=tuple(row.area_codes or ()))


class SqlApprovalStore:
    """Reads and writes approval requests on one connection (the unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def insert(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(insert(approval_requests).values(**values))

    def request(self, request_id: UUID) -> ApprovalRequest | None:
        row = self.connection.execute(select(approval_requests).where(approval_requests.c.id == request_id))
        found = row.mappings().first()
        return _request(found) if found is not None else None

    def pending_for(self, kind: str, target: str) -> ApprovalRequest | None:
        query = select(approval_requests).where(
            approval_requests.c.kind == kind,
            approval_requests.c.target == target,
            approval_requests.c.status == _PENDING,
        )
        found = self.connection.execute(query).mappings().first()
        return _request(found) if found is not None else None

    def requests(
        self, *, status: str | None, kinds: Sequence[str], scopes: Sequence[str], limit: int, offset: int
    ) -> list[ApprovalRequest]:
        """Newest first. With ``scopes``, only requests about objects in those areas (national ones are left out)."""
        query = select(approval_requests).where(approval_requests.c.kind.in_(list(kinds)))
        if status is not None:
            query = query.where(approval_requests.c.status == status)
        if scopes:
            area = approval_requests.c.area_code
            query = query.where(or_(*[or_(area == scope, area.like(scope + "-%")) for scope in scopes]))
        query = query.order_by(approval_requests.c.requested_at.desc(), approval_requests.c.id.desc())
        rows = self.connection.execute(query.limit(limit).offset(offset)).mappings()
        return [_request(row) for row in rows]

    def decide(self, request_id: UUID, values: Mapping[str, Any]) -> bool:
        """Move a pending request to a final status; False (nothing changed) when it is no longer pending.

        On PostgreSQL a concurrent decision waits for this row's lock and then finds the request decided.
        """
        changed = self.connection.execute(
            update(approval_requests)
            .where(and_(approval_requests.c.id == request_id, approval_requests.c.status == _PENDING))
            .values(**values)
        )
        return changed.rowcount == 1

    def record_outcome(self, request_id: UUID, *, status: str, result: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(approval_requests)
            .where(approval_requests.c.id == request_id)
            .values(status=status, result=dict(result))
        )

    def expire_overdue(self, now: datetime) -> int:
        changed = self.connection.execute(
            update(approval_requests)
            .where(and_(approval_requests.c.status == _PENDING, approval_requests.c.expires_at <= now))
            .values(status=ApprovalStatus.EXPIRED.value, decided_at=now)
        )
        return int(changed.rowcount)

    def savepoint(self) -> AbstractContextManager[object]:
        """A nested transaction: an act that fails is rolled back to here, the decision before it stays."""
        return self.connection.begin_nested()

    def user(self, name: str) -> Actor | None:
        return active_user(self.connection, name)

    def change_role(self, name: str, *, from_role: str, to_role: str) -> bool:
        changed = self.connection.execute(
            update(users).where(users.c.name == name, users.c.role == from_role, users.c.is_active).values(role=to_role)
        )
        return changed.rowcount == 1

    def replace_programme(self, programme_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool:
        changed = self.connection.execute(
            update(programmes)
            .where(and_(programmes.c.id == programme_id, programmes.c.version == expected_version))
            .values(**values)
        )
        return changed.rowcount == 1


class _Parts(Protocol):
    """What the wiring needs from the composition root (``canasta.bootstrap.Canasta``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sealer(self) -> Sealer: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def new_ids(self) -> Callable[[int], list[UUID]]: ...
    def cards(self, connection: Connection) -> Cards: ...
    def eligibility(self, connection: Connection) -> Eligibility: ...
    def registry(self, connection: Connection, actor: Actor, context: RequestContext | None = None) -> Registry: ...


def approvals_on(
    parts: _Parts, connection: Connection, *, registry: Registry | None = None, context: RequestContext | None = None
) -> Approvals:
    """The approval use cases' collaborators on ``connection`` (the unit of work).

    ``registry`` reuses the caller's registry unit of work on the same connection (an API request's, whose access
    log names the request); otherwise one is made for the acting user, its accesses logged under ``context``
    (by default a command run on the server, purpose "deactivation").
    """

    def make_registry(actor: Actor) -> Registry:
        if registry is not None:
            return registry
        where = context or RequestContext(
            request_id=f"cli-{parts.new_ids(1)[0]}", route="canasta approvals", purpose="deactivation"
        )
        return parts.registry(connection, actor, where)

    return Approvals(
        SqlApprovalStore(connection),
        clock=parts.clock,
        new_ids=parts.new_ids,
        expiry=timedelta(days=parts.settings.approval_expiry_days),
        cards=lambda: parts.cards(connection),
        eligibility=lambda: parts.eligibility(connection),
        registry=make_registry,
    )
