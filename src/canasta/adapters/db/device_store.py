"""Devices of distribution points: registered with their own Ed25519 key and their own user and token, revoked
with a reason (their user is deactivated and every token revoked in the same transaction)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select, update

from canasta.adapters.db.eligibility_tables import distribution_points
from canasta.adapters.db.redemption_tables import devices
from canasta.adapters.db.tables import users
from canasta.adapters.db.users import add_user, issue_token, revoke_tokens
from canasta.domain.access import Role
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["OfflineLimits", "RegisteredDevice", "device_by_name", "register_device", "revoke_device"]

TOKEN_LIFETIME = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class OfflineLimits:
    """How far a device may go without a sync: hours since the last one, redemptions, and their value."""

    hours: int = 72
    count: int = 500
    value: int = 50_000_000  # minor units


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    device_id: UUID
    name: str
    point_code: str
    token: str  # shown once


def register_device(
    connection: Connection,
    *,
    point_code: str,
    name: str,
    public_key: bytes,
    limits: OfflineLimits,
    ids: list[UUID],
    by: str,
    at: datetime,
) -> RegisteredDevice:
    """Register a device to an active point, as a ``distribution_operator`` user scoped to the point's area."""
    if len(public_key) != 32:
        raise ValidationError("an Ed25519 public key is 32 bytes", field="public_key")
    if limits.hours <= 0 or limits.count < 0 or limits.value < 0:
        raise ValidationError("offline limits are positive hours and non-negative counts and values", field="limits")
    point = connection.execute(
        select(distribution_points).where(distribution_points.c.code == point_code)
    ).mappings().first()  # fmt: skip
    if point is None or point["status"] != "active":
        raise NotFoundError(f"no active distribution point {point_code!r}", field="point")
    if connection.execute(select(devices.c.id).where(devices.c.name == name)).first() is not None:
        raise ConflictError(f"a device named {name!r} exists already", code="device_exists")
    device_id, user_id, token_id = ids
    # The device never logs in with a password: a random one nobody keeps, and a token instead.
    add_user(connection, user_id=user_id, name=name, role=Role.DISTRIBUTION_OPERATOR.value,
             password=secrets.token_urlsafe(32), area_codes=[point["area_code"]], at=at)  # fmt: skip
    connection.execute(
        devices.insert().values(
            id=device_id, point_id=point["id"], user_id=user_id, name=name, public_key=public_key, status="active",
            max_offline_hours=limits.hours, max_offline_count=limits.count, max_offline_value=limits.value,
            registered_at=at, registered_by=by,
        )
    )  # fmt: skip
    token = issue_token(connection, token_id=token_id, name=name, at=at, lifetime=TOKEN_LIFETIME)
    return RegisteredDevice(device_id, name, point_code, token)


def device_by_name(connection: Connection, name: str) -> dict[str, Any] | None:
    row = connection.execute(select(devices).where(devices.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def revoke_device(connection: Connection, name: str, *, reason: str, by: str, at: datetime) -> None:
    """Revoke a device: it can no longer sign in, redeem online, or have its offline uploads accepted as its own."""
    if len(reason.strip()) < 3:
        raise ValidationError("say why the device is revoked", field="reason")
    device = device_by_name(connection, name)
    if device is None:
        raise NotFoundError(f"no device {name!r}", field="name")
    if device["status"] == "revoked":
        raise ConflictError(f"device {name!r} is revoked already", code="already_revoked")
    connection.execute(
        update(devices)
        .where(devices.c.id == device["id"])
        .values(status="revoked", revoked_at=at, revoked_by=by, revoked_reason=reason.strip())
    )
    connection.execute(update(users).where(users.c.id == device["user_id"]).values(is_active=False))
    revoke_tokens(connection, name=name, at=at)
