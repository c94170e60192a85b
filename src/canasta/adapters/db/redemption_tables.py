"""Tables of redemption at distribution points: devices, redemptions and refused attempts.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them. What
changes hands is in the ledger (``ledger_tables``); these tables say who asked, where, how and what answer they
got, so that a retried request gets the same answer and an auditor can follow every exception and refusal.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Uuid,
)

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = ["devices", "redemption_failures", "redemptions"]

devices = Table(
    "devices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("point_id", Uuid, ForeignKey("distribution_points.id"), nullable=False, index=True),
    # The device signs in as its own user (role distribution_operator), with a token of its own.
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, unique=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("public_key", LargeBinary(32), nullable=False),  # Ed25519: signs its offline records
    Column("status", String(16), nullable=False),
    # Offline limits: how long since the last sync, how many redemptions and how much value before it must sync.
    Column("max_offline_hours", Integer, nullable=False),
    Column("max_offline_count", Integer, nullable=False),
    Column("max_offline_value", BigInteger, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("registered_by", String(64), nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_by", String(64), nullable=True),
    Column("revoked_reason", String(500), nullable=True),
    CheckConstraint("status IN ('active', 'revoked')", name="status"),
    CheckConstraint("max_offline_hours > 0 AND max_offline_count >= 0 AND max_offline_value >= 0", name="limits"),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Uuid, primary_key=True),  # the client's redemption id: at most one effect per id
    Column("point_id", Uuid, nullable=False, index=True),
    Column("device_id", Uuid, nullable=True),
    Column("household_id", Uuid, nullable=False, index=True),
    Column("card_number", String(16), nullable=True),
    Column("path", String(16), nullable=False),
    Column("reason", String(500), nullable=True),  # the operator's reason on the assisted path
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of the canonical request
    Column("request", JSON, nullable=False),
    Column("receipt", JSON, nullable=True),  # the signed answer, set in the transaction that posts the transfers
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("by", String(64), nullable=False),
    CheckConstraint("path IN ('card', 'assisted', 'offline')", name="path"),
    CheckConstraint("path <> 'assisted' OR reason IS NOT NULL", name="assisted_has_reason"),
)

redemption_failures = Table(
    "redemption_failures",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("redemption_id", Uuid, nullable=True, index=True),
    Column("point_code", String(32), nullable=True),
    Column("household_id", Uuid, nullable=True, index=True),
    Column("card_number", String(16), nullable=True),
    Column("path", String(16), nullable=True),
    Column("code", String(40), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("by", String(64), nullable=False),
)
