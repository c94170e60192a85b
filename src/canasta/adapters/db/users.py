"""Users and their API tokens. Passwords are argon2id hashes; tokens are stored as SHA-256 digests only.

A token is ``cnst_`` and 43 URL-safe base64 characters (256 random bits). Anything else offered as a bearer token
(a JWT of any kind, ``alg: none`` or not, another prefix, an overlong string) is refused before the database is
asked, and every refusal is an :class:`InvalidTokenError` that says why in ``reason`` (for the security alert; the
client sees one answer for all of them). Revoking a token, deactivating its user or revoking its device takes
effect on the very next request: every request looks the token up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import Connection, bindparam, insert, select, update

from canasta.adapters.db.driver import Prebuilt, fetch_one
from canasta.adapters.db.tables import tokens, users
from canasta.domain.access import Actor, Role
from canasta.domain.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError

__all__ = [
    "KNOWN_PASSWORDS",
    "InvalidTokenError",
    "add_user",
    "authenticate_token",
    "deactivate_user",
    "issue_token",
    "login",
    "revoke_token",
    "revoke_tokens",
    "user_exists",
]

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
TOKEN_PREFIX = "cnst_"  # noqa: S105  # a public marker that makes leaked tokens easy to spot, not a secret
_TOKEN_SHAPE = re.compile(r"cnst_[A-Za-z0-9_-]{43}")
#: Passwords printed in canasta's own documentation (the demo's): refused at sign-in outside development mode.
KNOWN_PASSWORDS = frozenset({"canasta-demo-password"})


class InvalidTokenError(AuthenticationError):
    """A bearer token that is not (or no longer) valid. ``reason`` says which way, for the record only:
    ``malformed``, ``too_long``, ``jwt``, ``unknown``, ``expired``, ``revoked`` or ``inactive_user``."""

    code = "invalid_token"

    def __init__(self, reason: str) -> None:
        super().__init__("the bearer token is not valid: it is unknown, malformed, expired or revoked", reason=reason)
        self.reason = reason


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def add_user(
    connection: Connection, *, user_id: UUID, name: str, role: str, password: str, area_codes: list[str], at: datetime
) -> None:
    """Create a user. Raises :class:`ValidationError` for a bad role or weak password, ConflictError if taken."""
    try:
        Role(role)
    except ValueError:
        known = ", ".join(member.value for member in Role)
        raise ValidationError(f"unknown role; known: {known}", field="role", code="invalid_choice") from None
    if not name or len(name) > 64 or not name.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValidationError("must be 1-64 letters, digits, . _ -", field="name")
    if len(password) < 12:
        raise ValidationError("must be at least 12 characters", field="password", code="weak_password")
    if connection.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise ConflictError(f"user {name!r} exists already", code="user_exists")
    connection.execute(
        insert(users).values(
            id=user_id, name=name, role=role, password_hash=_HASHER.hash(password), area_codes=area_codes,
            is_active=True, created_at=at,
        )
    )  # fmt: skip


def issue_token(connection: Connection, *, token_id: UUID, name: str, at: datetime, lifetime: timedelta) -> str:
    """A new bearer token for user ``name``; only its digest is stored, so it is shown once."""
    user_id = connection.execute(select(users.c.id).where(users.c.name == name, users.c.is_active)).scalar()
    if user_id is None:
        raise NotFoundError(f"no active user {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    connection.execute(
        insert(tokens).values(
            id=token_id, user_id=user_id, token_hash=_digest(token), created_at=at, expires_at=at + lifetime
        )
    )
    return token


def login(
    connection: Connection,
    *,
    token_id: UUID,
    name: str,
    password: str,
    at: datetime,
    lifetime: timedelta,
    refuse_known_passwords: bool = False,
) -> str:
    """Check a password and issue a token; every failure looks the same to the caller.

    With ``refuse_known_passwords`` (outside development mode) a password from :data:`KNOWN_PASSWORDS` fails
    even where it is the user's: a demo database served in production must not open with the documented one.
    """
    stored = connection.execute(
        select(users.c.password_hash).where(users.c.name == name, users.c.is_active)
    ).scalar_one_or_none()
    try:
        # Verify against a dummy hash when the user does not exist, so timing does not reveal names.
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError):
        raise AuthenticationError("wrong name or password") from None
    if stored is None:
        raise AuthenticationError("wrong name or password")
    if refuse_known_passwords and any(
        secrets.compare_digest(password.encode(), known.encode()) for known in KNOWN_PASSWORDS
    ):
        raise AuthenticationError("wrong name or password")
    return issue_token(connection, token_id=token_id, name=name, at=at, lifetime=lifetime)


def user_exists(connection: Connection, name: str) -> bool:
    """Whether a user (active or not) is called ``name``; for records, never for an answer to a client."""
    return connection.execute(select(users.c.id).where(users.c.name == name)).first() is not None


_DUMMY_HASH = _HASHER.hash("canasta-not-a-user-password")


def _check_shape(token: str) -> None:
    """Refuse, without asking the database, anything that cannot be one of our tokens."""
    if _TOKEN_SHAPE.fullmatch(token):
        return
    # A JWT (signed, unsigned with ``alg: none``, or for another audience) is never ours: canasta issues none.
    if token.startswith("eyJ") and token.count(".") == 2:
        raise InvalidTokenError("jwt")
    raise InvalidTokenError("too_long" if len(token) > len(TOKEN_PREFIX) + 43 else "malformed")


# Built once: every authenticated request runs it.
_TOKEN_OWNER = Prebuilt(
    select(users.c.id, users.c.name, users.c.role, users.c.area_codes, users.c.is_active, tokens.c.expires_at,
           tokens.c.revoked_at)
    .join(users, users.c.id == tokens.c.user_id)
    .where(tokens.c.token_hash == bindparam("digest"))
)  # fmt: skip


def authenticate_token(connection: Connection, token: str, *, at: datetime) -> Actor:
    """The actor behind a bearer token; raises :class:`InvalidTokenError` if it is not valid at ``at``."""
    _check_shape(token)
    # Every request asks this: the driver runs it directly on PostgreSQL (timestamps are only compared here).
    row = fetch_one(connection, _TOKEN_OWNER, {"digest": _digest(token)})
    if row is None:
        raise InvalidTokenError("unknown")
    if row["revoked_at"] is not None:
        raise InvalidTokenError("revoked")
    if not row["is_active"]:
        raise InvalidTokenError("inactive_user")
    if row["expires_at"] <= at:
        raise InvalidTokenError("expired")
    return Actor(user_id=row["id"], name=row["name"], role=Role(row["role"]), area_codes=tuple(row["area_codes"] or ()))


def revoke_token(connection: Connection, token: str, *, at: datetime) -> bool:
    """Revoke one token (signing out); returns whether it was live. Its digest is all that is looked up."""
    result = connection.execute(
        update(tokens).where(tokens.c.token_hash == _digest(token), tokens.c.revoked_at.is_(None)).values(revoked_at=at)
    )
    return bool(result.rowcount)


def deactivate_user(connection: Connection, *, name: str, at: datetime) -> int:
    """Deactivate user ``name`` (kept, never deleted) and revoke every live token; returns how many tokens.

    Raises :class:`NotFoundError` when there is no such user and :class:`ConflictError` when it is inactive already.
    """
    active = connection.execute(select(users.c.is_active).where(users.c.name == name)).scalar_one_or_none()
    if active is None:
        raise NotFoundError(f"no user {name!r}", field="name")
    if not active:
        raise ConflictError(f"user {name!r} is inactive already", code="already_inactive")
    connection.execute(update(users).where(users.c.name == name).values(is_active=False))
    return revoke_tokens(connection, name=name, at=at)


def revoke_tokens(connection: Connection, *, name: str, at: datetime) -> int:
    """Revoke every live token of user ``name``; returns how many."""
    user_id = connection.execute(select(users.c.id).where(users.c.name == name)).scalar()
    if user_id is None:
        raise NotFoundError(f"no user {name!r}")
    result = connection.execute(
        update(tokens).where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None)).values(revoked_at=at)
    )
    return int(result.rowcount)
