"""Per-request plumbing: the bearer token, the authorisation table, and the unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from canasta.adapters.db.registry_store import SqlRegistryStore
from canasta.adapters.db.repositories import load_custom_fields
from canasta.adapters.db.users import authenticate_token
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor
from canasta.domain.errors import AuthenticationError, PermissionDeniedError
from canasta.entrypoints.api.authorisation import ROUTE_ROLES
from canasta.services.registry import Registry

__all__ = ["CurrentActor", "RegistryDep", "current_actor", "registry"]


def _canasta(request: Request) -> Canasta:
    app: Canasta = request.app.state.canasta
    return app


def route_key(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"{request.method} {path}"


def current_actor(request: Request) -> Actor:
    """The authenticated actor, allowed by the authorisation table for this route; else 401 or 403."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("a bearer token is required")
    canasta = _canasta(request)
    with canasta.engine.connect() as connection:
        actor = authenticate_token(connection, token.strip(), at=canasta.clock.now())
    allowed = ROUTE_ROLES.get(route_key(request), frozenset())
    if actor.role not in allowed:
        raise PermissionDeniedError("your role may not use this route")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def registry(request: Request) -> Iterator[Registry]:
    """A unit of work: one transaction for the request, committed when the route returns without error."""
    canasta = _canasta(request)
    with canasta.engine.begin() as connection:
        yield Registry(
            SqlRegistryStore(connection),
            sealer=canasta.sealer,
            clock=canasta.clock,
            new_ids=canasta.new_ids,
            definitions=load_custom_fields(connection),
        )


RegistryDep = Annotated[Registry, Depends(registry)]
