"""decisions: keep one index besides the primary key. The (cycle_id, household_id) index repeated the unique
(cycle_id, household_id, version) key; the household_id index took a random insertion per decision of a national
run (a quarter of its time), and a household's decisions are found with one probe per cycle instead

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_cycle_id_household_id")
        batch_op.drop_index(batch_op.f("ix_decisions_household_id"))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_decisions_cycle_id_household_id", ["cycle_id", "household_id"], unique=False)
