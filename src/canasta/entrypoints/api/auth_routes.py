"""Routes of signing in: a name and password for a short-lived token, signing out, and who a token belongs to.

Failed sign-ins are counted per name and per client address (``adapters/db/login_throttle.py``); too many lock
both out for a while, answered ``429 login_locked`` with ``Retry-After`` whatever the password and whether or not
the name exists.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

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

__all__ = ["login_policy", "router"]

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


def _locked(until: datetime, at: datetime) -> JSONResponse:
    seconds = max(1, math.ceil((until - at).total_seconds()))
    response = problem(
        429, "login_locked", f"too many failed sign-ins; try again in {seconds} seconds or ask an administrator"
    )
    response.headers["Retry-After"] = str(seconds)
    return response


@router.post("/auth/token", tags=["service"], response_model=TokenPublic, responses={429: PROBLEMS[401]})
def token(body: LoginRequest, request: Request) -> TokenPublic | JSONResponse:
    """Exchange a name and password for a bearer token (lifetime: ``expires_in`` seconds)."""
    canasta: Canasta = request.app.state.canasta
    at = canasta.clock.now()
    lifetime = timedelta(minutes=canasta.settings.token_ttl_minutes)
    subjects = login_throttle.login_subjects(
        canasta.sealer.blind_index, name=body.name, address=client_address(request)
    )
    with canasta.engine.begin() as connection:
        until = login_throttle.locked_until(connection, subjects, at=at)
    if until is not None:
        return _locked(until, at)
    try:
        with canasta.engine.begin() as connection:
            issued = login(
                connection, token_id=canasta.new_ids(1)[0], name=body.name, password=body.password, at=at,
                lifetime=lifetime, refuse_known_passwords=canasta.settings.environment is not Environment.DEVELOPMENT,
            )  # fmt: skip
            login_throttle.clear(connection, subjects[0], at=at)
    except AuthenticationError:
        with canasta.engine.begin() as connection:
            lockouts = login_throttle.record_failure(connection, subjects, login_policy(canasta), at=at)
            for lockout in lockouts:
                record_alert(
                    connection, alert_id=canasta.new_ids(1)[0], kind="login_locked", at=at,
                    actor_name=body.name if lockout.kind == "name" and user_exists(connection, body.name) else None,
                    detail=f"sign-in locked by {lockout.kind} for {int(lockout.length.total_seconds())} s after "
                    f"{lockout.failures} failed attempts (client {client_label(canasta, request)})",
                    request_id=getattr(request.state, "request_id", None),
                )  # fmt: skip
        if lockouts:
            return _locked(max(lockout.until for lockout in lockouts), at)
        raise
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
