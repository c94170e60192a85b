"""Routes of signing in: a name and password for a short-lived token, signing out, and who a token belongs to.

Failed sign-ins are counted per name and per client address (``adapters/db/login_throttle.py``); too many lock
both out for a while, answered ``429 login_locked`` with ``Retry-After`` whatever the password and whether or not
the name exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from canasta.adapters.db import login_throttle
from canasta.adapters.db.alerts import record_alert
from canasta.adapters.db.users import login, revoke_token, user_exists
from canasta.bootstrap import Canasta
from canasta.config import Environment
from canasta.domain.errors import AuthenticationError
from canasta.entrypoints.api.dependencies import CurrentActor
from canasta.entrypoints.api.errors import problem
from canasta.entrypoints.api.refusals import client_address, client_label
from canasta.entrypoints.api.routes import PROBLEMS
from canasta.entrypoints.api.schemas import LoginRequest, TokenPublic

__all__ = ["locked", "login_policy", "router", "throttled"]

T = TypeVar("T")

router = APIRouter(responses=PROBLEMS)


def login_policy(canasta: Canasta) -> login_throttle.LoginPolicy:
    """The lockout policy of the settings."""
    settings = canasta.settings
    return login_throttle.LoginPolicy(
        max_failures=settings.login_max_failures,
        max_failures_per_address=settings.login_max_failures_per_address,
        window=timedelta(minutes=settings.login_failure_window_minutes),
        lockout=timedelta(minutes=settings.login_lockout_minutes),
        max_lockout=timedelta(minutes=settings.login_lockout_max_minutes),
    )


def locked(until: datetime, at: datetime, advice: str) -> JSONResponse:
    """``429 login_locked`` with ``Retry-After``: the seconds left until ``until``."""
    seconds = max(1, math.ceil((until - at).total_seconds()))
    return problem(
        429, "login_locked", f"too many failed sign-ins; try again in {seconds} seconds or {advice}",
        retry_after=seconds,
    )  # fmt: skip


def throttled(
    request: Request,
    subjects: Sequence[login_throttle.Subject],
    attempt: Callable[[Connection], T],
    *,
    alert: Callable[[Connection, login_throttle.Lockout], tuple[str, str | None]],
    advice: str,
) -> T | JSONResponse:
    """A sign-in counted against ``subjects``: refused while they are locked; a success clears the first one's
    count; a failure counts against all, and a lockout it causes is a security alert (``alert`` says what was locked
    and the actor name to record) and the 429 answer. Any other failure is raised."""
    canasta: Canasta = request.app.state.canasta
    at = canasta.clock.now()
    with canasta.engine.begin() as connection:
        until = login_throttle.locked_until(connection, subjects, at=at)
    if until is not None:
        return locked(until, at, advice)
    try:
        with canasta.engine.begin() as connection:
            signed_in = attempt(connection)
            login_throttle.clear(connection, subjects[0], at=at)
    except AuthenticationError:
        with canasta.engine.begin() as connection:
            lockouts = login_throttle.record_failure(connection, subjects, login_policy(canasta), at=at)
            for lockout in lockouts:
                detail, actor_name = alert(connection, lockout)
                record_alert(
                    connection, alert_id=canasta.new_ids(1)[0], kind="login_locked", at=at, actor_name=actor_name,
                    detail=f"{detail} for {int(lockout.length.total_seconds())} s after {lockout.failures} "
                    f"failed attempts (client {client_label(canasta, request)})",
                    request_id=getattr(request.state, "request_id", None),
                )  # fmt: skip
        if lockouts:
            return locked(max(lockout.until for lockout in lockouts), at, advice)
        raise
    return signed_in


@router.post("/auth/token", tags=["service"], response_model=TokenPublic, responses={429: PROBLEMS[401]})
def token(body: LoginRequest, request: Request) -> TokenPublic | JSONResponse:
    """Exchange a name and password for a bearer token (lifetime: ``expires_in`` seconds)."""
    canasta: Canasta = request.app.state.canasta
    at = canasta.clock.now()
    lifetime = timedelta(minutes=canasta.settings.token_ttl_minutes)
    subjects = login_throttle.login_subjects(
        canasta.sealer.blind_index, name=body.name, address=client_address(request)
    )

    def attempt(connection: Connection) -> str:
        return login(
            connection, token_id=canasta.new_ids(1)[0], name=body.name, password=body.password, at=at,
            lifetime=lifetime, refuse_known_passwords=canasta.settings.environment is not Environment.DEVELOPMENT,
        )  # fmt: skip

    def alert(connection: Connection, lockout: login_throttle.Lockout) -> tuple[str, str | None]:
        named = lockout.kind == "name" and user_exists(connection, body.name)
        return f"sign-in locked by {lockout.kind}", body.name if named else None

    issued = throttled(request, subjects, attempt, alert=alert, advice="ask an administrator")
    if isinstance(issued, JSONResponse):
        return issued
    return TokenPublic(access_token=issued, expires_in=int(lifetime.total_seconds()))


@router.post("/auth/logout", tags=["service"], status_code=204)
def logout(actor: CurrentActor, request: Request) -> Response:
    """Sign out: the token of this request is revoked, and refused from the next request on."""
    canasta: Canasta = request.app.state.canasta
    _, _, used = request.headers.get("authorization", "").partition(" ")
    with canasta.engine.begin() as connection:
        revoke_token(connection, used.strip(), at=canasta.clock.now())
    return Response(status_code=204)


@router.get("/auth/whoami", tags=["service"])
def whoami(actor: CurrentActor) -> dict[str, object]:
    """Who the bearer token belongs to: name, role and areas (and the cheapest authenticated call there is)."""
    return {"name": actor.name, "role": actor.role.value, "area_codes": list(actor.area_codes)}
