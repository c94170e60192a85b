"""The domain's exception tree.

Every error canasta raises on purpose derives from :class:`DomainError` and carries a stable ``code``
(documented in ``docs/errors.md``) plus structured fields. Entrypoints map codes to HTTP statuses and exit
codes in exactly one place each; messages never contain personal data.

::

    DomainError
    ├── ValidationError            bad input; names the field (and row or position where there is one)
    │   └── ProhibitedCategoryError  a prohibited category was named (DESIGN section 1)
    ├── NotFoundError              no such object, or an object outside the caller's scope
    ├── ConflictError              the object changed since it was read (stale version) or already exists
    ├── PermissionDeniedError      the caller may not do this
    ├── AuthenticationError        no valid credentials
    ├── RateLimitedError           too many requests of a kind (a quota, a locked sign-in); says when to retry
    └── UnavailableError           a safeguard could not do its part (the access log), so nothing was done
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DomainError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProhibitedCategoryError",
    "RateLimitedError",
    "UnavailableError",
    "ValidationError",
]


class DomainError(Exception):
    """Root of canasta's errors. ``code`` is stable; ``detail`` is safe to show a user."""

    code = "error"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class ValidationError(DomainError):
    """Input that breaks a rule. ``field`` names the offending field (dotted for nested ones)."""

    code = "invalid"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None, **fields: Any) -> None:
        super().__init__(detail, field=field, **fields)
        self.field = field
        if code is not None:
            self.code = code


class ProhibitedCategoryError(ValidationError):
    """A prohibited category (political opinion, voting, religion, ...) was named where data would be kept."""

    code = "prohibited_category"

    def __init__(self, *, category: str, name: str, where: str, field: str | None = None) -> None:
        super().__init__(
            f"{where} {name!r} refers to a prohibited category ({category}); canasta never stores, imports, "
            "defines, transmits or evaluates it",
            field=field or name,
            category=category,
            name=name,
            where=where,
        )
        self.category = category
        self.name = name


class NotFoundError(DomainError):
    """No such object, or one the caller may not see: the two are indistinguishable on purpose."""

    code = "not_found"


class ConflictError(DomainError):
    """The request collides with the current state: a stale version, a duplicate, a used id."""

    code = "conflict"

    def __init__(self, detail: str, *, code: str | None = None, **fields: Any) -> None:
        super().__init__(detail, **fields)
        if code is not None:
            self.code = code


class PermissionDeniedError(DomainError):
    """The caller is known but may not do this."""

    code = "forbidden"


class AuthenticationError(DomainError):
    """No credentials, or credentials that are not (or no longer) valid."""

    code = "unauthenticated"


class RateLimitedError(DomainError):
    """Past a limit: a per-user quota, or sign-ins locked after failures. ``retry_after`` is in seconds."""

    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None, **fields: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **fields)
        self.retry_after = retry_after
        if code is not None:
            self.code = code


class UnavailableError(DomainError):
    """A safeguard failed (e.g. the access log could not be written): the request is refused, nothing returned."""

    code = "unavailable"

    def __init__(self, detail: str, *, code: str | None = None, **fields: Any) -> None:
        super().__init__(detail, **fields)
        if code is not None:
            self.code = code
