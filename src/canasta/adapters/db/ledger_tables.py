"""Tables of the double-entry ledger (DESIGN section 7): accounts, the journal of transfers, derived balances.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.

``ledger_accounts`` and ``ledger_transfers`` are append-only, and the database itself says so: triggers refuse
every UPDATE and DELETE (and TRUNCATE on PostgreSQL), whoever connects. ``ledger_balances`` is the one mutable
table, a cache of the journal's fold that :func:`canasta.adapters.db.ledger_store.check` recomputes. The triggers
are created by migration 0005 and, for databases built from the metadata instead, by the DDL listeners below.
A later migration that rebuilds one of these tables on SQLite (batch mode copies it) drops its triggers and must
create them again.

A transfer's asset is carried beside each account id and checked against the account by composite foreign keys,
so both sides of a transfer hold the same asset by construction.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    event,
)

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime
from canasta.domain.ledger import AccountKind, TransferKind

__all__ = ["append_only_statements", "ledger_accounts", "ledger_balances", "ledger_transfers"]


def _one_of(column: str, values: type[AccountKind] | type[TransferKind]) -> str:
    return f"{column} IN ({', '.join(repr(member.value) for member in values)})"


ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("asset", String(64), nullable=False),
    Column("owner_id", Uuid, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Owner first: the same index finds one account and every account of an entitlement or a point.
    UniqueConstraint("owner_id", "kind", "asset"),
    UniqueConstraint("id", "asset"),  # the target of the transfers' (account, asset) foreign keys
    CheckConstraint(_one_of("kind", AccountKind), name="kind"),
)

ledger_transfers = Table(
    "ledger_transfers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("debit_account_id", Uuid, nullable=False, index=True),
    Column("credit_account_id", Uuid, nullable=False, index=True),
    Column("asset", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    # What caused it: a client redemption id, a cycle, a delivery note; one cause may post several transfers.
    Column("reference", String(64), nullable=False, index=True),
    Column("reverses_id", Uuid, ForeignKey("ledger_transfers.id"), nullable=True, unique=True),
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    ForeignKeyConstraint(["debit_account_id", "asset"], ["ledger_accounts.id", "ledger_accounts.asset"]),
    ForeignKeyConstraint(["credit_account_id", "asset"], ["ledger_accounts.id", "ledger_accounts.asset"]),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_link"),
    CheckConstraint(_one_of("kind", TransferKind), name="kind"),
)

ledger_balances = Table(
    "ledger_balances",
    metadata,
    Column("account_id", Uuid, ForeignKey("ledger_accounts.id"), primary_key=True),
    Column("balance", BigInteger, nullable=False),  # credits minus debits (canasta.domain.ledger)
    Column("updated_at", UtcDateTime, nullable=False),
)


def append_only_statements(dialect: str, table: str) -> list[str]:
    """The DDL that makes ``table`` refuse UPDATE and DELETE on ``dialect`` ('sqlite' or 'postgresql')."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            for verb in ("UPDATE", "DELETE")
        ]
    return [
        "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
        "USING ERRCODE = 'restrict_violation'; END $$",
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        # ALWAYS: the triggers fire even in a session that switched ordinary triggers off (replication role).
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_change",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate",
    ]


def _refuse_changes_once_created() -> None:
    """Give the tables their triggers when they are made from the metadata (``create_all``), as 0005 does."""
    for table in (ledger_accounts, ledger_transfers):
        for dialect in ("sqlite", "postgresql"):
            for statement in append_only_statements(dialect, table.name):
                # DDL text is %-formatted (for %(table)s and the like): the plpgsql message's % signs are doubled.
                ddl = DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]  # the constructor is unannotated
                event.listen(table, "after_create", ddl.execute_if(dialect=dialect))


_refuse_changes_once_created()

# One posting in one statement on PostgreSQL (see migration 0014, which writes the same function out and is checked
# against this one by the tests): the guarded balances in the order given, the transfers, the other balances.
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


event.listen(
    ledger_balances,
    "after_create",
    DDL(POSTING_FUNCTION.replace("%", "%%")).execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]  # the constructor is unannotated
)
