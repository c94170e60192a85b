"""redemption: devices of distribution points, redemptions (one per client id) and refused attempts

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_DATETIME = canasta.adapters.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("point_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("max_offline_hours", sa.Integer(), nullable=False),
        sa.Column("max_offline_count", sa.Integer(), nullable=False),
        sa.Column("max_offline_value", sa.BigInteger(), nullable=False),
        sa.Column("registered_at", UTC_DATETIME, nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "max_offline_hours > 0 AND max_offline_count >= 0 AND max_offline_value >= 0",
            name=op.f("ck_devices_limits"),
        ),
        sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f("ck_devices_status")),
        sa.ForeignKeyConstraint(
            ["point_id"], ["distribution_points.id"], name=op.f("fk_devices_point_id_distribution_points")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("name", name=op.f("uq_devices_name")),
        sa.UniqueConstraint("user_id", name=op.f("uq_devices_user_id")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_point_id"), ["point_id"], unique=False)
    op.create_table(
        "redemptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("point_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("path <> 'assisted' OR reason IS NOT NULL", name=op.f("ck_redemptions_assisted_has_reason")),
        sa.CheckConstraint("path IN ('card', 'assisted', 'offline')", name=op.f("ck_redemptions_path")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redemptions_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemptions_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemptions_point_id"), ["point_id"], unique=False)
    op.create_table(
        "redemption_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=True),
        sa.Column("point_code", sa.String(length=32), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("card_number", sa.String(length=16), nullable=True),
        sa.Column("path", sa.String(length=16), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_failures")),
    )
    with op.batch_alter_table("redemption_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redemption_failures_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemption_failures_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemption_failures_redemption_id"), ["redemption_id"], unique=False)


def downgrade() -> None:
    op.drop_table("redemption_failures")
    op.drop_table("redemptions")
    op.drop_table("devices")
