"""Tables of offline redemption: every record a device uploaded, and the suspense cases officers settle.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them. A record
is stored once, whatever happens to it (applied, held for a gap, or in suspense with a case), so nothing a device
uploads is ever dropped; what changed hands is in the ledger.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    text,
)

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = ["offline_records", "suspense_cases"]

offline_records = Table(
    "offline_records",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("device_id", Uuid, ForeignKey("devices.id"), nullable=False),  # the device it was uploaded for
    Column("counter", BigInteger, nullable=True),  # None only for a malformed record
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=False),  # SHA-256 of the body's canonical bytes
    Column("signature", String(128), nullable=False),  # Ed25519, base64url, as received
    Column("body", JSON, nullable=False),
    Column("redemption_id", Uuid, nullable=True, index=True),  # the client's id (of an applied record, its redemption)
    Column("received_at", UtcDateTime, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("code", String(24), nullable=False),  # the record's class (applied, gap, conflict, ...)
    # True once the record holds its counter's place in the device's chain (genuine and in order).
    Column("is_chained", Boolean, nullable=False),
    Column("case_id", Uuid, nullable=True),  # the case opened for it (a gap case stays linked once filled)
    UniqueConstraint("device_id", "hash", "signature"),  # a record received twice is stored once
    Index(
        "uq_offline_records_chain_place",
        "device_id",
        "counter",
        unique=True,
        sqlite_where=text("is_chained"),
        postgresql_where=text("is_chained"),
    ),
    CheckConstraint("outcome IN ('applied', 'held', 'suspense')", name="outcome"),
    CheckConstraint("outcome = 'applied' OR case_id IS NOT NULL", name="unapplied_has_case"),
    CheckConstraint("NOT is_chained OR counter IS NOT NULL", name="chained_has_counter"),
)

suspense_cases = Table(
    "suspense_cases",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(24), nullable=False),  # the record's class: conflict, edit, gap, replay, ...
    Column("device_id", Uuid, ForeignKey("devices.id"), nullable=False, index=True),
    Column("record_id", Uuid, ForeignKey("offline_records.id"), nullable=False, index=True),
    Column("detail", String(500), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Column("resolution", String(16), nullable=True),
    Column("resolution_reason", String(500), nullable=True),
    CheckConstraint("state IN ('open', 'resolved')", name="state"),
    CheckConstraint(
        "(state = 'open') = (resolved_at IS NULL AND resolved_by IS NULL AND resolution IS NULL)", name="resolved"
    ),
)
