"""Staff accounts: ``users add|token|revoke|deactivate|unlock``."""

from __future__ import annotations

import secrets
import sys
from datetime import timedelta
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import build, emit_json, say

__all__ = ["users_app"]

users_app = typer.Typer(help="Staff accounts and their API tokens.", no_args_is_help=True)


@users_app.command("add")
def add(
    name: str,
    role: Annotated[
        str,
        typer.Option(
            help="admin, programme_manager, enrolment_officer, distribution_operator, "
            "grievance_officer, auditor or citizen"
        ),
    ],
    area: Annotated[
        list[str] | None, typer.Option(help="Area code the user is scoped to (repeatable; none: all).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a user. Without --password-stdin a strong password is generated and shown once."""
    from canasta.adapters.db.users import KNOWN_PASSWORDS, add_user
    from canasta.config import Environment
    from canasta.domain.errors import ValidationError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(18)
    app = build()
    try:
        if app.settings.environment is not Environment.DEVELOPMENT and password in KNOWN_PASSWORDS:
            raise ValidationError("a published password is refused outside development", field="password",
                                  code="weak_password")  # fmt: skip
        with app.engine.begin() as connection:
            add_user(
                connection, user_id=app.new_ids(1)[0], name=name, role=role, password=password,
                area_codes=list(area or ()), at=app.clock.now(),
            )  # fmt: skip
    finally:
        app.close()
    if as_json:
        emit_json(
            {"name": name, "role": role, "areas": list(area or ()), "password": None if password_stdin else password}
        )
    else:
        say(f"user {name} ({role}) created")
        if not password_stdin:
            typer.echo(f"password (shown once): {password}")


@users_app.command("token")
def token(
    name: str,
    minutes: Annotated[int | None, typer.Option(help="Lifetime (default: CANASTA_TOKEN_TTL_MINUTES).")] = None,
) -> None:
    """Issue an API bearer token for a user (shown once; only its hash is stored)."""
    from canasta.adapters.db.users import issue_token

    app = build()
    try:
        lifetime = timedelta(minutes=minutes or app.settings.token_ttl_minutes)
        with app.engine.begin() as connection:
            issued = issue_token(
                connection, token_id=app.new_ids(1)[0], name=name, at=app.clock.now(), lifetime=lifetime
            )
    finally:
        app.close()
    typer.echo(issued)


@users_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke every live token of a user; takes effect on their next request."""
    from canasta.adapters.db.users import revoke_tokens

    app = build()
    try:
        with app.engine.begin() as connection:
            count = revoke_tokens(connection, name=name, at=app.clock.now())
    finally:
        app.close()
    say(f"{count} token(s) revoked")


@users_app.command("deactivate")
def deactivate(name: str) -> None:
    """Deactivate a user (kept, never deleted): every token stops working from their next request on."""
    from canasta.adapters.db.users import deactivate_user

    app = build()
    try:
        with app.engine.begin() as connection:
            count = deactivate_user(connection, name=name, at=app.clock.now())
    finally:
        app.close()
    say(f"user {name} deactivated; {count} token(s) revoked")


@users_app.command("unlock")
def unlock(
    name: str,
    address: Annotated[
        str | None, typer.Option(help="Also lift the lock of this client address (after failed sign-ins from it).")
    ] = None,
) -> None:
    """Lift the lock that failed sign-ins put on a user name (and, with --address, on a client address)."""
    from canasta.adapters.db import login_throttle
    from canasta.adapters.db.alerts import record_alert

    app = build()
    try:
        at = app.clock.now()
        subjects = login_throttle.login_subjects(app.sealer.blind_index, name=name, address=address)
        with app.engine.begin() as connection:
            lifted = [subject.kind for subject in subjects if login_throttle.unlock(connection, subject, at=at)]
            if lifted:
                record_alert(connection, alert_id=app.new_ids(1)[0], kind="login_unlocked", at=at, actor_name=name,
                             detail=f"sign-in lock and failures cleared by hand ({', '.join(lifted)})")  # fmt: skip
    finally:
        app.close()
    say(f"{name}: lock and failed sign-ins cleared ({', '.join(lifted)})" if lifted else f"{name} was not locked")


@users_app.command("role")
def role(
    name: str,
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="The role the user gets.")],
    actor: Annotated[str, typer.Option(help="The administrator who asks (another one approves).")],
    reason: Annotated[str, typer.Option(help="Why (kept with the request).")],
) -> None:
    """Ask for a user to get another role; an administrator who is neither you nor that user approves it with
    `canasta approvals approve`. Prints the request's id."""
    from canasta.entrypoints.cli.approvals import ask
    from canasta.services.approvals import request_role_change

    ask(actor, lambda approvals, who: request_role_change(approvals, who, name, new_role, reason=reason))
