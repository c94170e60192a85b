"""point totals from the journal: a point's co-payments collected and subsidy owed keep no stored balance

Revision ID: 0013
Revises: 0012

Every redemption at a point changed the same two balance rows (co-payments collected, subsidy owed), so
concurrent redemptions at one point waited for each other. Those balances are now the fold of the journal, like
the programme's subsidy account (``DERIVED_KINDS``); their stored rows, no longer kept up to date, are removed.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM ledger_balances WHERE account_id IN "
        "(SELECT id FROM ledger_accounts WHERE kind IN ('co_payments_collected', 'subsidy_owed'))"
    )


def downgrade() -> None:
    # The stored balances are the journal's fold: put them back as the earlier code kept them.
    op.execute(
        "INSERT INTO ledger_balances (account_id, balance, updated_at) "
        "SELECT a.id, "
        "COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.credit_account_id = a.id), 0) - "
        "COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.debit_account_id = a.id), 0), "
        "a.created_at "
        "FROM ledger_accounts a WHERE a.kind IN ('co_payments_collected', 'subsidy_owed')"
    )
