"""approvals: requests for destructive acts waiting for a second, different approver

Revision ID: 0011
Revises: 0010

Requests are decided once and never deleted: a trigger refuses DELETE (and TRUNCATE on PostgreSQL). The
statements are those of ``approval_tables.NO_DELETE_STATEMENTS``, written out here so that this migration stays
as it was when later code changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC_DATETIME = canasta.adapters.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by_name", sa.String(length=64), nullable=False),
        sa.Column("requested_by_role", sa.String(length=32), nullable=False),
        sa.Column("requested_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=64), nullable=True),
        sa.Column("decided_by_role", sa.String(length=32), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('card_revoke', 'record_deactivate', 'programme_rule', 'cycle_approve', 'role_change')",
            name=op.f("ck_approval_requests_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired', 'failed')",
            name=op.f("ck_approval_requests_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index("ix_approval_requests_kind_target", ["kind", "target"], unique=False)
        batch_op.create_index("ix_approval_requests_status_requested_at", ["status", "requested_at"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests "
            "BEGIN SELECT RAISE(ABORT, 'approval_requests are never deleted'); END"
        )
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION approval_requests_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'approval_requests are never deleted: % refused', TG_OP "
        "USING ERRCODE = 'restrict_violation'; END $$"
    )
    op.execute(
        "CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests "
        "FOR EACH ROW EXECUTE FUNCTION approval_requests_refuse_delete()"
    )
    op.execute(
        "CREATE TRIGGER approval_requests_no_truncate BEFORE TRUNCATE ON approval_requests "
        "FOR EACH STATEMENT EXECUTE FUNCTION approval_requests_refuse_delete()"
    )
    op.execute("ALTER TABLE approval_requests ENABLE ALWAYS TRIGGER approval_requests_no_delete")
    op.execute("ALTER TABLE approval_requests ENABLE ALWAYS TRIGGER approval_requests_no_truncate")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS approval_requests_no_truncate ON approval_requests")
        op.execute("DROP TRIGGER IF EXISTS approval_requests_no_delete ON approval_requests")
        op.execute("DROP FUNCTION IF EXISTS approval_requests_refuse_delete()")
    else:
        op.execute("DROP TRIGGER IF EXISTS approval_requests_no_delete")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_requests_status_requested_at")
        batch_op.drop_index("ix_approval_requests_kind_target")
    op.drop_table("approval_requests")
