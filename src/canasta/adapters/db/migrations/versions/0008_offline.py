"""offline: every record a device uploads (applied, held for a gap, or in suspense) and the suspense cases

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_DATETIME = canasta.adapters.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "offline_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("is_chained", sa.Boolean(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "outcome = 'applied' OR case_id IS NOT NULL", name=op.f("ck_offline_records_unapplied_has_case")
        ),
        sa.CheckConstraint("outcome IN ('applied', 'held', 'suspense')", name=op.f("ck_offline_records_outcome")),
        sa.CheckConstraint(
            "NOT is_chained OR counter IS NOT NULL", name=op.f("ck_offline_records_chained_has_counter")
        ),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_offline_records_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_records")),
        sa.UniqueConstraint("device_id", "hash", "signature", name=op.f("uq_offline_records_device_id_hash_signature")),
    )
    with op.batch_alter_table("offline_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offline_records_redemption_id"), ["redemption_id"], unique=False)
        # One record per place in a device's chain; records not (yet) in the chain may share a counter.
        batch_op.create_index(
            "uq_offline_records_chain_place",
            ["device_id", "counter"],
            unique=True,
            sqlite_where=sa.text("is_chained"),
            postgresql_where=sa.text("is_chained"),
        )
    op.create_table(
        "suspense_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("resolved_at", UTC_DATETIME, nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "(state = 'open') = (resolved_at IS NULL AND resolved_by IS NULL AND resolution IS NULL)",
            name=op.f("ck_suspense_cases_resolved"),
        ),
        sa.CheckConstraint("state IN ('open', 'resolved')", name=op.f("ck_suspense_cases_state")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_suspense_cases_device_id_devices")),
        sa.ForeignKeyConstraint(
            ["record_id"], ["offline_records.id"], name=op.f("fk_suspense_cases_record_id_offline_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspense_cases")),
    )
    with op.batch_alter_table("suspense_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suspense_cases_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_suspense_cases_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_suspense_cases_state"), ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("suspense_cases")
    op.drop_table("offline_records")
