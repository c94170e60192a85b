"""Users and their API tokens. Passwords are argon2id hashes; tokens are stored as SHA-256 digests only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from sqlalchemy import Connection, and_, insert, select, update

from canasta.adapters.db.tables import tokens, users
from canasta.domain.access import Actor, Role
from canasta.domain.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError

__all__ = ["add_user", "authenticate_token", "issue_token", "login", "revoke_tokens"]

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
TOKEN_PREFIX = "cnst_"  # noqa: S105  # a public marker that makes leaked tokens easy to spot, not a secret


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
    connection: Connection, *, token_id: UUID, name: str, password: str, at: datetime, lifetime: timedelta
) -> str:
    """Check a password and issue a token; every failure looks the same to the caller."""
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
    return issue_token(connection, token_id=token_id, name=name, at=at, lifetime=lifetime)


_DUMMY_HASH = _HASHER.hash("canasta-not-a-user-password")


def authenticate_token(connection: Connection, token: str, *, at: datetime) -> Actor:
    """The actor behind a bearer token; raises :class:`AuthenticationError` if unknown, expired or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        raise AuthenticationError("invalid token")
    row = connection.execute(
        select(users.c.id, users.c.name, users.c.role, users.c.area_codes, tokens.c.expires_at, tokens.c.revoked_at)
        .join(users, users.c.id == tokens.c.user_id)
        .where(and_(tokens.c.token_hash == _digest(token), users.c.is_active))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= at:
        raise AuthenticationError("invalid or expired token")
    return Actor(user_id=row.id, name=row.name, role=Role(row.role), area_codes=tuple(row.area_codes or ()))


def revoke_tokens(connection: Connection, *, name: str, at: datetime) -> int:
    """Revoke every live token of user ``name``; returns how many."""
    user_id = connection.execute(select(users.c.id).where(users.c.name == name)).scalar()
    if user_id is None:
        raise NotFoundError(f"no user {name!r}")
    result = connection.execute(
        update(tokens).where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None)).values(revoked_at=at)
    )
    return int(result.rowcount)
