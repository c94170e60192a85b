"""Staff accounts: ``users add|token|revoke``."""

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
    from canasta.adapters.db.users import add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(18)
    app = build()
    try:
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
