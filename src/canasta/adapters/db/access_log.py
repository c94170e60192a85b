"""Storage of the access log and its seal: appending entries, a citizen's view of them, sealing, reading the chain.

Appending is one INSERT in the caller's transaction (so an entry exists exactly when the access it records was
committed). Sealing runs in a transaction of its own, in batches: it takes the entries that have no seal yet,
gives them the next positions and hashes, and writes one signed checkpoint per batch. On PostgreSQL an advisory
lock keeps two sealers (two server processes) from taking the same positions; requests never take it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, exists, func, insert, select

from canasta.adapters.db.access_log_tables import access_log, audit_checkpoints, audit_seals
from canasta.adapters.db.driver import Prebuilt, execute_many
from canasta.domain.audit import (
    GENESIS,
    AccessEntry,
    Checkpoint,
    SealedLink,
    chain_hash,
    checkpoint_message,
    entry_hash,
)

__all__ = [
    "SqlAccessLog",
    "checkpoints",
    "entry_from_row",
    "seal_pending",
    "sealed_links",
    "unsealed_older_than",
]

_APPEND = Prebuilt(insert(access_log), [column.name for column in access_log.c])
_SEALER_LOCK = 0x63616E61  # "cana": the advisory lock of the sealer on PostgreSQL
_ENTRY_COLUMNS = list(access_log.c)


def entry_from_row(row: Any) -> AccessEntry:
    return AccessEntry(
        id=row.id, at=row.at, actor_id=row.actor_id, actor_name=row.actor_name, actor_role=row.actor_role,
        actor_areas=tuple(row.actor_areas or ()), action=row.action, household_id=row.household_id,
        person_id=row.person_id, categories=tuple(row.categories or ()), purpose=row.purpose,
        request_id=row.request_id, route=row.route,
    )  # fmt: skip


class SqlAccessLog:
    """The access log on one connection (the request's unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def append(self, entries: Sequence[AccessEntry]) -> None:
        if not entries:
            return
        rows = [
            {
                "id": entry.id, "at": entry.at, "actor_id": entry.actor_id, "actor_name": entry.actor_name,
                "actor_role": entry.actor_role, "actor_areas": list(entry.actor_areas), "action": entry.action,
                "household_id": entry.household_id, "person_id": entry.person_id,
                "categories": list(entry.categories), "purpose": entry.purpose, "request_id": entry.request_id,
                "route": entry.route,
            }
            for entry in entries
        ]  # fmt: skip
        # One row (a redemption, a record read) goes as a plain INSERT, not through the many-rows path.
        execute_many(self.connection, _APPEND, rows)

    def reads_since(self, actor_id: UUID, since: datetime) -> int:
        """How many records the actor read or found since ``since`` (for the per-user quota)."""
        query = select(func.count()).where(
            access_log.c.actor_id == actor_id, access_log.c.at >= since, access_log.c.action.in_(("read", "search"))
        )
        return int(self.connection.execute(query).scalar_one())

    def of_household(self, household_id: UUID, *, limit: int, before: datetime | None = None) -> list[AccessEntry]:
        """Every access to a household's record, newest first (a citizen's view of who looked)."""
        query = select(*_ENTRY_COLUMNS).where(access_log.c.household_id == household_id)
        if before is not None:
            query = query.where(access_log.c.at < before)
        rows = self.connection.execute(query.order_by(access_log.c.at.desc(), access_log.c.id.desc()).limit(limit))
        return [entry_from_row(row) for row in rows]


def _head(connection: Connection) -> tuple[int, bytes, UUID | None]:
    """The chain's last position, its hash, and the entry sealed there (None for an empty chain)."""
    row = connection.execute(
        select(audit_seals.c.position, audit_seals.c.chain_hash, audit_seals.c.entry_id)
        .order_by(audit_seals.c.position.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, GENESIS, None
    return int(row.position), bytes(row.chain_hash), row.entry_id


def _id_floor(entry_id: UUID, lookback: timedelta) -> UUID:
    """The smallest UUIDv7 of ``lookback`` before ``entry_id``'s time: entry ids sort by the time they were made."""
    made_ms = entry_id.int >> 80
    return UUID(int=max(0, made_ms - int(lookback.total_seconds() * 1000)) << 80)


def seal_pending(
    connection: Connection,
    *,
    sign: Callable[[bytes], tuple[str, bytes]],
    now: datetime,
    batch: int = 10_000,
    lookback: timedelta | None = timedelta(seconds=10),
) -> tuple[Checkpoint, int] | None:
    """Seal up to ``batch`` unsealed entries and sign a checkpoint of the new head; returns it with the number of
    entries sealed, or None when none waited.

    Entries are looked for among those made from ``lookback`` before the last sealed one onwards (by their
    time-ordered ids, a range of the primary key), so a round reads what is new plus a short margin, however long
    the log. An entry of a transaction that stayed open longer than that is left behind: ``canasta audit verify``
    reports it as unsealed, and a round with ``lookback=None`` (``canasta audit seal --full``) takes it.
    """
    if connection.dialect.name == "postgresql":
        got = connection.execute(select(func.pg_try_advisory_xact_lock(_SEALER_LOCK))).scalar()
        if not got:
            return None  # another sealer is at work; it will take these entries
    position, previous, last_entry = _head(connection)
    sealed = exists().where(audit_seals.c.entry_id == access_log.c.id)
    query = select(*_ENTRY_COLUMNS).where(~sealed)
    if last_entry is not None and lookback is not None:
        query = query.where(access_log.c.id >= _id_floor(last_entry, lookback))
    rows = connection.execute(query.order_by(access_log.c.at, access_log.c.id).limit(batch)).all()
    if not rows:
        return None
    links = []
    for row in rows:
        position += 1
        digest = entry_hash(entry_from_row(row))
        previous = chain_hash(previous, position, digest)
        links.append({"position": position, "entry_id": row.id, "entry_hash": digest, "chain_hash": previous})
    connection.execute(insert(audit_seals), links)
    key_id, signature = sign(checkpoint_message(position, previous, now))
    checkpoint = Checkpoint(position=position, chain_hash=previous, sealed_at=now, key_id=key_id, signature=signature)
    connection.execute(
        insert(audit_checkpoints).values(
            position=position, chain_hash=previous, sealed_at=now, key_id=key_id, signature=signature
        )
    )
    return checkpoint, len(links)


def sealed_links(connection: Connection, *, chunk: int = 5000) -> Iterator[SealedLink]:
    """Every seal in position order with its entry (None where the entry row is gone), read in chunks."""
    after = 0
    while True:
        rows = connection.execute(
            select(audit_seals, *[column.label(f"e_{column.name}") for column in _ENTRY_COLUMNS])
            .select_from(audit_seals.outerjoin(access_log, access_log.c.id == audit_seals.c.entry_id))
            .where(audit_seals.c.position > after)
            .order_by(audit_seals.c.position)
            .limit(chunk)
        ).all()
        if not rows:
            return
        for row in rows:
            mapping = row._mapping
            entry = None
            if mapping["e_id"] is not None:
                entry = entry_from_row(_Prefixed(mapping))
            yield SealedLink(
                position=int(row.position), entry_id=row.entry_id, entry_hash=bytes(row.entry_hash),
                chain_hash=bytes(row.chain_hash), entry=entry,
            )  # fmt: skip
        after = int(rows[-1].position)


class _Prefixed:
    """Attribute access to the ``e_``-prefixed entry columns of a joined row."""

    def __init__(self, mapping: Any) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        return self._mapping[f"e_{name}"]


def checkpoints(connection: Connection) -> list[Checkpoint]:
    rows = connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.position))
    return [_checkpoint(row) for row in rows]


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        position=int(row.position), chain_hash=bytes(row.chain_hash), sealed_at=row.sealed_at,
        key_id=row.key_id, signature=bytes(row.signature),
    )  # fmt: skip


def unsealed_older_than(connection: Connection, cutoff: datetime) -> list[UUID]:
    """Entries written before ``cutoff`` that no seal covers: inserted afterwards, or left behind."""
    sealed = exists().where(audit_seals.c.entry_id == access_log.c.id)
    query = select(access_log.c.id).where(and_(access_log.c.at < cutoff, ~sealed)).order_by(access_log.c.at)
    return [row.id for row in connection.execute(query.limit(1000))]
