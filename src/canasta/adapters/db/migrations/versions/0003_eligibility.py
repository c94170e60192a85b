"""eligibility: distribution points, programmes, cycles, decisions, entitlements, appeals

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appeal_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_events")),
    )
    with op.batch_alter_table("appeal_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeal_events_appeal_id"), ["appeal_id"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("grounds", sa.String(length=2000), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("decided_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome_reason", sa.String(length=2000), nullable=True),
        sa.Column("new_decision_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('filed', 'in_review', 'upheld', 'rejected')", name=op.f("ck_appeals_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appeals_household_id"), ["household_id"], unique=False)

    op.create_table(
        "cycles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("programme_document", sa.JSON(), nullable=False),
        sa.Column("pmt_document", sa.JSON(), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("preview", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'previewed', 'approved', 'distributing', 'closed')", name=op.f("ck_cycles_state")
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_cycles_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycles")),
        sa.UniqueConstraint("programme_id", "number", name=op.f("uq_cycles_programme_id_number")),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_eligible", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("decided_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint(
            "cycle_id", "household_id", "version", name=op.f("uq_decisions_cycle_id_household_id_version")
        ),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decisions_cycle_id_household_id", ["cycle_id", "household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_household_id"), ["household_id"], unique=False)

    op.create_table(
        "distribution_points",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('shop', 'kiosk', 'clinic', 'fuel_station', 'office')", name=op.f("ck_distribution_points_kind")
        ),
        sa.CheckConstraint("status IN ('active', 'inactive')", name=op.f("ck_distribution_points_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distribution_points")),
        sa.UniqueConstraint("code", name=op.f("uq_distribution_points_code")),
    )
    with op.batch_alter_table("distribution_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_distribution_points_area_code"), ["area_code"], unique=False)

    op.create_table(
        "entitlements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("unit_value", sa.BigInteger(), nullable=False),
        sa.Column("co_payment", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("home_point_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'redeemed', 'lapsed', 'carried_over')", name=op.f("ck_entitlements_state")
        ),
        sa.CheckConstraint("units > 0", name=op.f("ck_entitlements_units_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
        sa.UniqueConstraint(
            "programme_id", "cycle_id", "household_id", name=op.f("uq_entitlements_programme_id_cycle_id_household_id")
        ),
    )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entitlements_household_id"), ["household_id"], unique=False)

    op.create_table(
        "programmes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", canasta.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("code", name=op.f("uq_programmes_code")),
    )


def downgrade() -> None:
    op.drop_table("programmes")
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entitlements_household_id"))

    op.drop_table("entitlements")
    with op.batch_alter_table("distribution_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distribution_points_area_code"))

    op.drop_table("distribution_points")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_household_id"))
        batch_op.drop_index("ix_decisions_cycle_id_household_id")

    op.drop_table("decisions")
    op.drop_table("cycles")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeals_household_id"))

    op.drop_table("appeals")
    with op.batch_alter_table("appeal_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeal_events_appeal_id"))

    op.drop_table("appeal_events")
