"""Tables of the card side: signing keys, cards and the history of every card's state.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, Integer, LargeBinary, String, Table, Uuid

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = ["card_events", "cards", "list_versions", "signing_keys"]

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),  # hex of the 8-byte COSE kid
    Column("purpose", String(16), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    # The Ed25519 seed sealed under the key-encryption key (AES-256-GCM, the key id as associated data).
    Column("private_key_sealed", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),
    # Cards signed by a retired key stay valid until they expire: the trust list keeps it until then.
    Column("trusted_until", UtcDateTime, nullable=True),
    CheckConstraint("purpose IN ('card', 'list')", name="purpose"),
    CheckConstraint("status IN ('active', 'retired')", name="status"),
)

cards = Table(
    "cards",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("card_number", String(16), nullable=False, unique=True),
    Column("household_id", Uuid, nullable=False, index=True),
    Column("holder_id", Uuid, nullable=False),
    Column("label", String(100), nullable=False),
    Column("state", String(16), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("replaces_card_id", Uuid, nullable=True),
    Column("version", Integer, nullable=False),
    CheckConstraint("state IN ('issued', 'active', 'lost', 'revoked', 'expired')", name="state"),
)

card_events = Table(
    "card_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("card_id", Uuid, nullable=False, index=True),
    Column("from_state", String(16), nullable=True),
    Column("to_state", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
)

list_versions = Table(
    "list_versions",
    metadata,
    Column("kind", String(16), primary_key=True),  # 'trust' or 'revocation'
    Column("version", Integer, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
)

Index("ix_cards_state", cards.c.state)
