"""ledger: accounts, transfers (both append-only, enforced by triggers) and derived balances

Revision ID: 0005
Revises: 0004

The trigger statements are written out here rather than imported, so this migration keeps doing what it did when
the live module changes; ``canasta.adapters.db.ledger_tables.append_only_statements`` holds the same statements for
databases built from the metadata, and the tests check both.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import canasta.adapters.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_DATETIME = canasta.adapters.db.types.UtcDateTime(timezone=True)
APPEND_ONLY = ("ledger_accounts", "ledger_transfers")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "kind IN ('programme_subsidy', 'household_entitlement', 'point_stock', 'co_payments_collected', "
            "'subsidy_owed', 'suspense', 'external')",
            name=op.f("ck_ledger_accounts_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("id", "asset", name=op.f("uq_ledger_accounts_id_asset")),
        sa.UniqueConstraint("owner_id", "kind", "asset", name=op.f("uq_ledger_accounts_owner_id_kind_asset")),
    )
    op.create_table(
        "ledger_balances",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_balances_account_id_ledger_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_ledger_balances")),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("debit_account_id", sa.Uuid(), nullable=False),
        sa.Column("credit_account_id", sa.Uuid(), nullable=False),
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name=op.f("ck_ledger_transfers_reversal_link")
        ),
        sa.CheckConstraint(
            "kind IN ('grant', 'redeem', 'lapse', 'co_payment', 'delivery', 'move', 'adjustment', 'suspense', "
            "'settlement', 'reversal')",
            name=op.f("ck_ledger_transfers_kind"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name=op.f("ck_ledger_transfers_two_accounts")),
        sa.ForeignKeyConstraint(
            ["credit_account_id", "asset"],
            ["ledger_accounts.id", "ledger_accounts.asset"],
            name=op.f("fk_ledger_transfers_credit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id", "asset"],
            ["ledger_accounts.id", "ledger_accounts.asset"],
            name=op.f("fk_ledger_transfers_debit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["ledger_transfers.id"], name=op.f("fk_ledger_transfers_reverses_id_ledger_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_transfers_reverses_id")),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_transfers_credit_account_id"), ["credit_account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_transfers_debit_account_id"), ["debit_account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_transfers_reference"), ["reference"], unique=False)

    # Accounts and transfers are never changed or removed (DESIGN section 1, rule 4): the database refuses it.
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
                )
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
        "USING ERRCODE = 'restrict_violation'; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )
        # ALWAYS: the triggers fire even in a session that switched ordinary triggers off (replication role).
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_change")
        op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")


def downgrade() -> None:
    # Dropping the tables drops their triggers; the function goes after them on PostgreSQL.
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_reference"))
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_debit_account_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_transfers_credit_account_id"))

    op.drop_table("ledger_transfers")
    op.drop_table("ledger_balances")
    op.drop_table("ledger_accounts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
