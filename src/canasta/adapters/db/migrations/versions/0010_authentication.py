"""authentication: failed sign-ins per name and per client address, and the lockouts that follow them

Revision ID: 0010
Revises: 0009

The alerts of authentication (refused tokens, lockouts) go to ``security_alerts``, made by 0009. On PostgreSQL
the application's role ``canasta_app`` gets its rights on the new table from 0009's default privileges (select,
insert, update; no delete: a subject's row is reset, never removed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_DATETIME = canasta.adapters.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("subject", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UTC_DATETIME, nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC_DATETIME, nullable=True),
        sa.Column("last_failure_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("failures >= 0 AND lockouts >= 0", name=op.f("ck_login_throttles_counts")),
        sa.CheckConstraint("kind IN ('name', 'address')", name=op.f("ck_login_throttles_kind")),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_login_throttles")),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
