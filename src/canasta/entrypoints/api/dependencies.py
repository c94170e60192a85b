"""Per-request plumbing: the bearer token, the authorisation table, and the unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from canasta.adapters.db.users import InvalidTokenError, authenticate_token
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor
from canasta.domain.errors import AuthenticationError, PermissionDeniedError
from canasta.entrypoints.api.authorisation import ROUTE_ROLES, purpose_of
from canasta.entrypoints.api.refusals import record_refusal
from canasta.services.audit import RequestContext
from canasta.services.registry import Registry

__all__ = ["CurrentActor", "RegistryDep", "UnitOfWork", "current_actor", "registry", "request_context", "unit_of_work"]


def _canasta(request: Request) -> Canasta:
    app: Canasta = request.app.state.canasta
    return app


def route_key(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return f"{request.method} {path}"


def unit_of_work(request: Request) -> Iterator[Connection]:
    """The request's one connection and transaction: committed when the route returns, rolled back if it raises.

    The bearer token is checked on it too, so a request takes one connection from the pool, not two.
    """
    with _canasta(request).engine.connect() as connection:
        yield connection
        if connection.in_transaction():
            connection.commit()


# ``scope="function"``: the transaction commits when the route function returns and before anything is sent, so a
# commit that fails (and with it the access-log entries) answers an error instead of data that was never logged.
UnitOfWork = Annotated[Connection, Depends(unit_of_work, scope="function")]


def current_actor(request: Request, connection: UnitOfWork) -> Actor:
    """The authenticated actor, allowed by the authorisation table for this route; else 401 or 403."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("a bearer token is required")
    canasta = _canasta(request)
    try:
        actor = authenticate_token(connection, token.strip(), at=canasta.clock.now())
    except InvalidTokenError as error:
        record_refusal(request, kind="token_refused", reason=error.reason, detail="bearer token refused")
        raise
    allowed = ROUTE_ROLES.get(route_key(request), frozenset())
    if actor.role not in allowed:
        record_refusal(request, kind="route_refused", reason=actor.role.value, actor_name=actor.name,
                       detail="a valid token used on a route its role may not use")  # fmt: skip
        raise PermissionDeniedError("your role may not use this route")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def request_context(request: Request) -> RequestContext:
    """The request's id (set by the request-id middleware), its route and the route's purpose, for the access log."""
    route = route_key(request)
    request_id = getattr(request.state, "request_id", None) or "-"
    return RequestContext(request_id=request_id, route=route, purpose=purpose_of(route))


def registry(request: Request, actor: CurrentActor, connection: UnitOfWork) -> Registry:
    """The record-path collaborators on the request's unit of work.

    Every personal-data access the use cases make is logged in this same transaction.
    """
    return _canasta(request).registry(connection, actor, request_context(request))


RegistryDep = Annotated[Registry, Depends(registry)]
