"""Routes of signing in: a name and password for a short-lived token, and who a token belongs to."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from canasta.adapters.db.users import login
from canasta.bootstrap import Canasta
from canasta.entrypoints.api.dependencies import CurrentActor
from canasta.entrypoints.api.routes import PROBLEMS
from canasta.entrypoints.api.schemas import LoginRequest, TokenPublic

__all__ = ["router"]

router = APIRouter(responses=PROBLEMS)


@router.post("/auth/token", tags=["service"], response_model=TokenPublic)
def token(body: LoginRequest, request: Request) -> TokenPublic:
    """Exchange a name and password for a bearer token."""
    canasta: Canasta = request.app.state.canasta
    lifetime = timedelta(minutes=canasta.settings.token_ttl_minutes)
    with canasta.engine.begin() as connection:
        issued = login(
            connection, token_id=canasta.new_ids(1)[0], name=body.name, password=body.password,
            at=canasta.clock.now(), lifetime=lifetime,
        )  # fmt: skip
    return TokenPublic(access_token=issued, expires_in=int(lifetime.total_seconds()))


@router.get("/auth/whoami", tags=["service"])
def whoami(actor: CurrentActor) -> dict[str, object]:
    """Who the bearer token belongs to: name, role and areas (and the cheapest authenticated call there is)."""
    return {"name": actor.name, "role": actor.role.value, "area_codes": list(actor.area_codes)}
