"""cards: signing keys, cards, card state history, list versions

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DATETIME = canasta.adapters.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("retired_at", UTC_DATETIME, nullable=True),
        sa.Column("trusted_until", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("purpose IN ('card', 'list')", name=op.f("ck_signing_keys_purpose")),
        sa.CheckConstraint("status IN ('active', 'retired')", name=op.f("ck_signing_keys_status")),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "cards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("issued_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("replaces_card_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('issued', 'active', 'lost', 'revoked', 'expired')", name=op.f("ck_cards_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("card_number", name=op.f("uq_cards_card_number")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cards_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_cards_state", ["state"], unique=False)
    op.create_table(
        "card_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_events")),
    )
    with op.batch_alter_table("card_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_card_events_card_id"), ["card_id"], unique=False)
    op.create_table(
        "list_versions",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issued_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_list_versions")),
    )


def downgrade() -> None:
    op.drop_table("list_versions")
    op.drop_table("card_events")
    op.drop_table("cards")
    op.drop_table("signing_keys")
