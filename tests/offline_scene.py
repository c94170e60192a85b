"""Offline redemption scenes for tests: devices registered with keys the test holds, records signed and chained by
hand (to forge, edit, replay or reorder them at will), and the reads that check what the server stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select

from canasta.adapters.crypto.records import sign_record
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.adapters.db import ledger_check
from canasta.adapters.db.card_store import SqlCardStore
from canasta.adapters.db.device_store import OfflineLimits, register_device
from canasta.adapters.db.offline_tables import offline_records, suspense_cases
from canasta.adapters.db.users import authenticate_token
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor
from canasta.domain.offline import GENESIS, ChainHead, OfflineRecord
from canasta.services.offline import download_bundle, upload_records


@dataclass
class Kit:
    """A registered device and the key it signs with; ``sign`` makes the next record of its chain."""

    app: Canasta
    name: str
    device_id: UUID
    token: str
    signer: Ed25519Signer
    head: ChainHead = field(default=GENESIS)

    @property
    def actor(self) -> Actor:
        with self.app.engine.connect() as connection:
            return authenticate_token(connection, self.token, at=self.app.clock.now())

    def next_record(self, entitlement_id: UUID, *, units: int = 1, card: str | None = None,
                    household: str | None = None, at: datetime | None = None,
                    redemption_id: UUID | None = None) -> OfflineRecord:  # fmt: skip
        """The next record of this device's chain (and advance the chain)."""
        record = OfflineRecord(
            device_id=self.device_id, counter=self.head.counter + 1, prev_hash=self.head.hash,
            redemption_id=redemption_id or uuid4(), entitlement_id=entitlement_id, units=units,
            at=(at or self.app.clock.now()).replace(microsecond=0), card_number=card, household=household,
            reason="card damaged" if household is not None else None,
        )  # fmt: skip
        self.head = ChainHead(record.counter, record.digest())
        return record

    def signed(self, *records: OfflineRecord, signer: Ed25519Signer | None = None) -> list[dict[str, Any]]:
        return [sign_record(signer or self.signer, record) for record in records]

    def upload(self, entries: Sequence[dict[str, Any]], *, actor: Actor | None = None, **body: Any) -> dict[str, Any]:
        return upload_records(self.app.offline(), actor or self.actor, {"records": list(entries), **body})

    def bundle(self) -> dict[str, Any]:
        return download_bundle(self.app.offline(), self.actor)


def register(app: Canasta, name: str, point: str = "DP-1", *, limits: OfflineLimits | None = None,
             seed: bytes | None = None) -> Kit:  # fmt: skip
    """Register device ``name`` at ``point`` with a key this test holds (``seed``: 32 bytes, for a fixed key)."""
    signer = Ed25519Signer.from_private_bytes(seed) if seed is not None else Ed25519Signer.generate()
    with app.engine.begin() as connection:
        device = register_device(
            connection, point_code=point, name=name, public_key=signer.public_key, limits=limits or OfflineLimits(),
            ids=app.new_ids(3), by="admin:root", at=app.clock.now(),
        )  # fmt: skip
    return Kit(app, name, device.device_id, device.token, signer)


def list_key(app: Canasta) -> bytes:
    with app.engine.connect() as connection:
        key = SqlCardStore(connection).active_key("list")
    assert key is not None
    return bytes(key["public_key"])


def stored_records(app: Canasta, device_id: UUID | None = None) -> list[dict[str, Any]]:
    query = select(offline_records).order_by(offline_records.c.received_at, offline_records.c.counter)
    if device_id is not None:
        query = query.where(offline_records.c.device_id == device_id)
    with app.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def cases(app: Canasta, **where: Any) -> list[dict[str, Any]]:
    query = select(suspense_cases).order_by(suspense_cases.c.created_at, suspense_cases.c.id)
    for name, value in where.items():
        query = query.where(suspense_cases.c[name] == value)
    with app.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def count(app: Canasta, table: Any, *where: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def assert_ledger_holds(app: Canasta) -> None:
    with app.engine.connect() as connection:
        report = ledger_check.check(connection)
    assert report.is_consistent, report.discrepancies
