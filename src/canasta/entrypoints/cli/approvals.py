"""``canasta approvals list|show|approve|reject``: the second person of a destructive act (docs/approvals.md).

The commands that ask for a destructive act (``cards revoke``, ``cycles approve``, ``programmes set-rule``,
``users role``) store a request, print its id and change nothing else; a different user approves or rejects it
here. Their ``--actor`` must name an active canasta user: the role and areas come from the users table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from canasta.entrypoints.cli.context import build, cli_actor, emit_json, say

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from canasta.domain.access import Actor
    from canasta.domain.approvals import ApprovalRequest
    from canasta.services.approvals import Approvals

__all__ = ["approvals_app", "ask", "staff_actor"]

approvals_app = typer.Typer(
    help="Requests for destructive acts (revoking a card, deactivating a record, changing a programme's rule, "
    "approving a cycle, changing a role) and their second, different approver.",
    no_args_is_help=True,
)
StaffActor = Annotated[
    str, typer.Option(help="The canasta user who does this (their role comes from the users table).")
]
Json = Annotated[bool, typer.Option("--json")]


def staff_actor(connection: Connection, name: str) -> Actor:
    """The active user ``name`` as an actor, or a ValidationError naming ``actor``."""
    from canasta.adapters.db.approval_store import active_user
    from canasta.domain.errors import ValidationError

    actor = active_user(connection, name)
    if actor is None:
        raise ValidationError(
            f"--actor must name an active canasta user; there is none called {name!r} (see `canasta users add`)",
            field="actor",
            code="unknown_actor",
        )
    return actor


def _run(action: Callable[[Approvals, Connection], ApprovalRequest]) -> ApprovalRequest:
    from canasta.adapters.db.approval_store import approvals_on

    app = build()
    try:
        with app.engine.begin() as connection:
            return action(approvals_on(app, connection), connection)
    finally:
        app.close()


def ask(actor: str, action: Callable[[Approvals, Actor], ApprovalRequest]) -> None:
    """Store a request made by user ``actor``; print its id on standard output and what happens next."""
    request = _run(lambda approvals, connection: action(approvals, staff_actor(connection, actor)))
    typer.echo(str(request.id))
    say(
        f"{request.kind.value} of {request.target}: waiting for a second approver "
        f"(`canasta approvals approve {request.id} --actor OTHER_USER`); nothing was changed yet"
    )


def _line(request: ApprovalRequest) -> str:
    decided = f"\t{request.decided_by_name or '-'}" if request.status.value != "pending" else ""
    return (
        f"{request.id}\t{request.status.value}\t{request.kind.value}\t{request.target}\t"
        f"{request.requested_by_name} ({request.requested_by_role})\t{request.requested_at:%Y-%m-%d %H:%M}{decided}"
    )


@approvals_app.command("list")
def list_(
    pending: Annotated[bool, typer.Option("--pending", help="Only requests waiting for approval.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=50, help="At most this many (newest first).")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many.")] = 0,
    as_json: Json = False,
) -> None:
    """Requests, newest first: id, status, kind, target, who asked, when (and who decided)."""
    from canasta.adapters.db.approval_store import approvals_on
    from canasta.domain.approvals import ApprovalStatus
    from canasta.services.approvals import list_requests

    app = build()
    try:
        with app.engine.begin() as connection:
            requests = list_requests(
                approvals_on(app, connection), cli_actor("cli"),
                status=ApprovalStatus.PENDING if pending else None, limit=limit, offset=offset,
            )  # fmt: skip
    finally:
        app.close()
    if as_json:
        emit_json([request.to_public() for request in requests])
        return
    if not requests:
        say("no requests" + (" waiting" if pending else ""))
    for request in requests:
        typer.echo(_line(request))


@approvals_app.command("show")
def show(approval_id: UUID, as_json: Json = False) -> None:
    """One request: exactly what will be (or was) done, who asked and why, who decided and what came of it."""
    from canasta.services.approvals import read_request

    request = _run(lambda approvals, _connection: read_request(approvals, cli_actor("cli"), approval_id))
    if as_json:
        emit_json(request.to_public())
        return
    public = request.to_public()
    for name in ("id", "kind", "target", "status", "reason", "requested_at", "expires_at", "decided_at",
                 "decision_reason"):  # fmt: skip
        if public[name] is not None:
            typer.echo(f"{name}: {public[name]}")
    typer.echo(f"requested_by: {request.requested_by_name} ({request.requested_by_role})")
    if request.decided_by_name:
        typer.echo(f"decided_by: {request.decided_by_name} ({request.decided_by_role})")
    for key, value in request.payload.items():
        typer.echo(f"payload.{key}: {value}")
    for key, value in (request.result or {}).items():
        typer.echo(f"result.{key}: {value}")


@approvals_app.command("approve")
def approve(
    approval_id: UUID,
    actor: StaffActor,
    reason: Annotated[str | None, typer.Option(help="Why (optional; kept with the decision).")] = None,
) -> None:
    """Approve a request and carry it out now, once (not by whoever asked for it)."""
    from canasta.domain.approvals import ApprovalStatus
    from canasta.services.approvals import approve_request, check_outcome

    decided = _run(
        lambda approvals, connection: approve_request(
            approvals, staff_actor(connection, actor), approval_id, reason=reason
        )
    )
    check_outcome(decided, ApprovalStatus.APPROVED)  # after the commit: a failure or an expiry is kept, and told
    say(f"approved and done: {decided.kind.value} of {decided.target}")


@approvals_app.command("reject")
def reject(
    approval_id: UUID,
    actor: StaffActor,
    reason: Annotated[str, typer.Option(help="Why (kept with the decision).")],
) -> None:
    """Reject a request with a reason (its requester may withdraw it so); it is never carried out."""
    from canasta.domain.approvals import ApprovalStatus
    from canasta.services.approvals import check_outcome, reject_request

    decided = _run(
        lambda approvals, connection: reject_request(
            approvals, staff_actor(connection, actor), approval_id, reason=reason
        )
    )
    check_outcome(decided, ApprovalStatus.REJECTED)
    say(f"rejected: {decided.kind.value} of {decided.target}")
