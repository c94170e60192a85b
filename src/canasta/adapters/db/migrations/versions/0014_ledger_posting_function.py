"""ledger posting function: on PostgreSQL a posting's balance changes and transfers go in one statement

Revision ID: 0014
Revises: 0013

A redemption posts a few transfers and changes three or four balances; as separate statements that is five round
trips, each with its share of driver and server work, for every redemption in the country. ``canasta_post``
does the same steps in the same order, in the caller's transaction: the balances that may not go negative first
(each guarded, in the order given, which is the ledger's one lock order), then the transfers, then the other
stored balances. When a guarded balance would go negative it puts back what it had changed, writes nothing and
returns that balance's position (1-based); when an account has no balance row it returns minus its position in
the concatenation of both lists; 0 when posted. The posting comes as one JSON document (the driver sends a text
as it is, where it would adapt arrays element by element in Python). SQLite keeps the same steps in Python
(``adapters.db.ledger_store``); the ledger's tests hold both to one behaviour. The function is written out here
rather than imported, as 0005 does with its triggers; ``ledger_tables.POSTING_FUNCTION`` holds the same text for
databases built from the metadata, and a test checks that the two agree.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

POSTING_FUNCTION = """
CREATE OR REPLACE FUNCTION canasta_post(posting json, posted_at timestamptz, posted_by text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    j integer;
    guarded_ids uuid[];
    guarded_changes bigint[];
    other_ids uuid[];
    other_changes bigint[];
    guarded_count integer;
BEGIN
    SELECT coalesce(array_agg((step->>0)::uuid ORDER BY n), '{}'),
           coalesce(array_agg((step->>1)::bigint ORDER BY n), '{}')
      INTO guarded_ids, guarded_changes
      FROM json_array_elements(posting->'guarded') WITH ORDINALITY AS steps(step, n);
    SELECT coalesce(array_agg((step->>0)::uuid ORDER BY n), '{}'),
           coalesce(array_agg((step->>1)::bigint ORDER BY n), '{}')
      INTO other_ids, other_changes
      FROM json_array_elements(posting->'others') WITH ORDINALITY AS steps(step, n);
    guarded_count := coalesce(array_length(guarded_ids, 1), 0);
    FOR i IN 1 .. guarded_count LOOP
        UPDATE ledger_balances SET balance = balance + guarded_changes[i], updated_at = posted_at
         WHERE account_id = guarded_ids[i] AND (guarded_changes[i] >= 0 OR balance >= -guarded_changes[i]);
        IF NOT FOUND THEN
            FOR j IN 1 .. i - 1 LOOP
                UPDATE ledger_balances SET balance = balance - guarded_changes[j], updated_at = posted_at
                 WHERE account_id = guarded_ids[j];
            END LOOP;
            IF guarded_changes[i] >= 0 THEN
                RETURN -i;
            END IF;
            RETURN i;
        END IF;
    END LOOP;
    INSERT INTO ledger_transfers
        (id, debit_account_id, credit_account_id, asset, amount, kind, reference, reverses_id, at, by, reason)
    SELECT (t->>0)::uuid, (t->>1)::uuid, (t->>2)::uuid, t->>3, (t->>4)::bigint, t->>5, t->>6, (t->>7)::uuid,
           posted_at, posted_by, t->>8
      FROM json_array_elements(posting->'transfers') AS t;
    FOR i IN 1 .. coalesce(array_length(other_ids, 1), 0) LOOP
        UPDATE ledger_balances SET balance = balance + other_changes[i], updated_at = posted_at
         WHERE account_id = other_ids[i];
        IF NOT FOUND THEN
            RETURN -(guarded_count + i);  -- the caller raises; its transaction is rolled back
        END IF;
    END LOOP;
    RETURN 0;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTING_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS canasta_post(json, timestamptz, text)")
