"""citizens: how a household member signs in to see their own record

Revision ID: 0012
Revises: 0011

One table: each member's PIN hash and the ``users`` row (role ``citizen``) their tokens belong to. Failed
sign-ins are counted per card in ``login_throttles`` (0010). On PostgreSQL the application's role
``canasta_app`` gets its rights on the new table from 0009's default privileges (select, insert, update).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC_DATETIME = canasta.adapters.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "citizen_credentials",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=False),
        sa.Column("pin_version", sa.Integer(), nullable=False),
        sa.Column("set_at", UTC_DATETIME, nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("pin_version >= 1", name=op.f("ck_citizen_credentials_pin_version")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_citizen_credentials_person_id_people")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_citizen_credentials_user_id_users")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_citizen_credentials")),
        sa.UniqueConstraint("user_id", name=op.f("uq_citizen_credentials_user_id")),
    )


def downgrade() -> None:
    op.drop_table("citizen_credentials")
