"""Errors as ``application/problem+json`` (RFC 9457): the one place where exceptions become HTTP statuses."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canasta.domain.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    ProhibitedCategoryError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from canasta.domain.privacy import find_prohibited_category

__all__ = ["UnexpectedErrorMiddleware", "install_error_handlers", "problem"]

logger = logging.getLogger("canasta.api")
MEDIA_TYPE = "application/problem+json"
STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (ProhibitedCategoryError, 422),
    (ValidationError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PermissionDeniedError, 403),
    (AuthenticationError, 401),
    (RateLimitedError, 429),
    (UnavailableError, 503),
)
TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
          413: "Content Too Large", 422: "Unprocessable Content", 429: "Too Many Requests",
          500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


#: structured fields of a domain error that a client may see beside ``field`` (never personal data)
SHOWN_FIELDS = ("differs", "card_reason")


def problem(
    status: int, code: str, detail: str, *, field: str | None = None, retry_after: int | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://canasta.example/problems/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    status = next((code for kind, code in STATUS_BY_ERROR if isinstance(error, kind)), 400)
    field = error.fields.get("field")
    extra = {"category": error.fields["category"]} if isinstance(error, ProhibitedCategoryError) else {}
    extra |= {name: error.fields[name] for name in SHOWN_FIELDS if name in error.fields}
    retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
    return problem(status, error.code, error.detail, field=field, retry_after=retry_after, **extra)


async def _request_validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = []
    for item in error.errors():
        # A JSON syntax error is located at ("body", character position): it is the body that is wrong.
        location = "body" if item.get("type") == "json_invalid" else _location(tuple(item.get("loc", ())))
        name = str(item.get("loc", ("",))[-1])
        if item.get("type") == "extra_forbidden":
            category = find_prohibited_category(name)
            if category is not None:
                return problem(
                    422,
                    "prohibited_category",
                    f"request field {name!r} refers to a prohibited category ({category.label}); canasta never "
                    "stores, imports, defines, transmits or evaluates it",
                    field=location,
                    category=category.label,
                )
        # The offending input is left out: it may be personal data.
        errors.append({"field": location, "code": item.get("type", "invalid"), "message": item.get("msg", "")})
    first = errors[0]["field"] if errors else None
    detail = "; ".join(f"{entry['field']}: {entry['message']}" for entry in errors[:5])
    return problem(422, "invalid_request", detail, field=first, errors=errors)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:
        # FastAPI's answer to a body it cannot read at all (bytes that are not UTF-8, say): bad input like a JSON
        # syntax error, so the same 422 ``invalid_request`` naming the body.
        message = "could not be read as JSON text"
        return problem(422, "invalid_request", f"body: {message}", field="body",
                       errors=[{"field": "body", "code": "body_unreadable", "message": message}])  # fmt: skip
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
    return problem(error.status_code, codes.get(error.status_code, "http_error"), str(error.detail))


def _internal_error(error: Exception) -> JSONResponse:
    # Logged by type and place only: messages of unexpected errors can carry values from the request or the
    # database (a driver's duplicate-key detail, a parser's "invalid literal ...").
    frames = traceback.extract_tb(error.__traceback__)
    place = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    logger.error("unexpected error: %s%s", type(error).__name__, place)
    return problem(500, "internal_error", "an internal error occurred; nothing was committed")


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    return _internal_error(error)


class UnexpectedErrorMiddleware:
    """The last net: an exception no handler took is answered with the 500 problem here and goes no further.

    Starlette's own last net answers it too, but then raises it again to the server, and the server logs it with
    its message and traceback, values and all. Only a test client (it declares the ``http.response.debug``
    extension, which servers do not) gets it raised again, so that a test sees the crash.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watching)
        except Exception as error:
            response = _internal_error(error)
            if not started:
                await response(scope, receive, send)
            if "http.response.debug" in scope.get("extensions", {}):
                raise


def install_error_handlers(app: FastAPI) -> None:
    """The handlers, and :class:`UnexpectedErrorMiddleware` around every middleware added before this call."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(UnexpectedErrorMiddleware)
