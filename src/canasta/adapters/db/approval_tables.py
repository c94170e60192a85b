"""Tables of requests for destructive acts waiting for a second, different approver.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.

One row per request (``docs/approvals.md``): what will be done (``kind``, ``target`` and ``payload``), who asked
and why, and, once decided, who decided, when, why and what came of it. A row changes only from ``pending`` to a
final status, and is never deleted: the table refuses DELETE in the database itself.
"""

from __future__ import annotations

from sqlalchemy import DDL, JSON, CheckConstraint, Column, Index, String, Table, Uuid, event

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = ["NO_DELETE_STATEMENTS", "approval_requests"]

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),  # card_revoke, record_deactivate, programme_rule, ...
    Column("target", String(64), nullable=False),  # the object acted on: a card number, a record id, a user name
    Column("area_code", String(32), nullable=True),  # the target's area (scope); none: a national object
    Column("payload", JSON, nullable=False),  # exactly what will be done, with the version it was asked against
    Column("reason", String(500), nullable=False),
    Column("requested_by_id", Uuid, nullable=True),
    Column("requested_by_name", String(64), nullable=False),
    Column("requested_by_role", String(32), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by_id", Uuid, nullable=True),
    Column("decided_by_name", String(64), nullable=True),  # none for a request that expired
    Column("decided_by_role", String(32), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_reason", String(500), nullable=True),
    Column("result", JSON, nullable=True),  # what the act did, or why it could not be done (status failed)
    CheckConstraint("status IN ('pending', 'approved', 'rejected', 'expired', 'failed')", name="status"),
    CheckConstraint(
        "kind IN ('card_revoke', 'record_deactivate', 'programme_rule', 'cycle_approve', 'role_change')", name="kind"
    ),
    # The list of pending requests, newest first; and "is one pending for this already?".
    Index("ix_approval_requests_status_requested_at", "status", "requested_at"),
    Index("ix_approval_requests_kind_target", "kind", "target"),
)

#: DDL, by dialect, that makes ``approval_requests`` refuse DELETE (and TRUNCATE): decided requests are history.
NO_DELETE_STATEMENTS: dict[str, list[str]] = {
    "sqlite": [
        "CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests "
        "BEGIN SELECT RAISE(ABORT, 'approval_requests are never deleted'); END"
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION approval_requests_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'approval_requests are never deleted: % refused', TG_OP "
        "USING ERRCODE = 'restrict_violation'; END $$",
        "CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests "
        "FOR EACH ROW EXECUTE FUNCTION approval_requests_refuse_delete()",
        "CREATE TRIGGER approval_requests_no_truncate BEFORE TRUNCATE ON approval_requests "
        "FOR EACH STATEMENT EXECUTE FUNCTION approval_requests_refuse_delete()",
        "ALTER TABLE approval_requests ENABLE ALWAYS TRIGGER approval_requests_no_delete",
        "ALTER TABLE approval_requests ENABLE ALWAYS TRIGGER approval_requests_no_truncate",
    ],
}


def _refuse_deletes_once_created() -> None:
    """Give the table its triggers when it is made from the metadata (``create_all``), as 0011 does."""
    for dialect, statements in NO_DELETE_STATEMENTS.items():
        for statement in statements:
            # DDL text is %-formatted (for %(table)s and the like): the plpgsql message's % sign is doubled.
            ddl = DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]  # the constructor is unannotated
            event.listen(approval_requests, "after_create", ddl.execute_if(dialect=dialect))


_refuse_deletes_once_created()
