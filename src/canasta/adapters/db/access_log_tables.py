"""Tables of the access log and its seal: who looked at or changed whose record, and the chain that proves it.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.

Every read or write of personal data appends one ``access_log`` row in the same transaction as the data
(DESIGN section 8). Rows carry no personal data themselves: the subject is the household's (and, where one
person was touched, the person's) internal id, and the fields are named by category only. The sealer, working
in batches off the request path, gives each row a position in ``audit_seals`` with a hash chaining it to the one
before, and signs a checkpoint of the chain's head in ``audit_checkpoints``. All three tables and
``security_alerts`` are append-only in the database itself.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, LargeBinary, String, Table, Uuid

from canasta.adapters.db.ledger_tables import append_only_statements
from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = ["APPEND_ONLY", "access_log", "audit_checkpoints", "audit_seals", "security_alerts"]

access_log = Table(
    "access_log",
    metadata,
    Column("id", Uuid, primary_key=True),  # UUIDv7: roughly in time order, no shared counter to wait for
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", Uuid, nullable=True),  # the user (staff, device or citizen); none for a system job
    Column("actor_name", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("actor_areas", JSON, nullable=False),  # the office: the areas the actor works in (empty: national)
    Column("action", String(16), nullable=False),  # read, write, search
    Column("household_id", Uuid, nullable=True),  # the subject; a search that found nobody has none
    Column("person_id", Uuid, nullable=True),
    Column("categories", JSON, nullable=False),  # field categories touched, e.g. ["identity", "health"]
    Column("purpose", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("route", String(128), nullable=False),
    # A citizen sees every access to their household's record, newest first.
    Index("ix_access_log_household_id_at", "household_id", "at"),
    # Per-user quotas count a user's recent reads.
    Index("ix_access_log_actor_id_at", "actor_id", "at"),
)

audit_seals = Table(
    "audit_seals",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # 1, 2, 3, ... in sealing order
    Column("entry_id", Uuid, ForeignKey("access_log.id"), nullable=False, unique=True),
    Column("entry_hash", LargeBinary(32), nullable=False),  # SHA-256 of the entry's canonical form
    Column("chain_hash", LargeBinary(32), nullable=False),  # SHA-256(previous chain hash, position, entry hash)
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # the last seal it covers
    Column("chain_hash", LargeBinary(32), nullable=False),
    Column("sealed_at", UtcDateTime, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),  # Ed25519 over the checkpoint's canonical form
)

security_alerts = Table(
    "security_alerts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # e.g. quota_exceeded, login_locked, token_refused
    Column("actor_name", String(64), nullable=True),
    Column("detail", String(500), nullable=False),
    Column("request_id", String(64), nullable=True),
)

APPEND_ONLY = (access_log, audit_seals, audit_checkpoints, security_alerts)


def _refuse_changes_once_created() -> None:
    """Give the tables their triggers when they are made from the metadata (``create_all``), as 0009 does."""
    from sqlalchemy import DDL, event

    for table in APPEND_ONLY:
        for dialect in ("sqlite", "postgresql"):
            for statement in append_only_statements(dialect, table.name):
                ddl = DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]  # the constructor is unannotated
                event.listen(table, "after_create", ddl.execute_if(dialect=dialect))


_refuse_changes_once_created()
