"""Offline records: their canonical form and hash, the chain they form, and how the server sorts each one it
receives (the package's docstring has the order)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from canasta.domain.errors import ValidationError

__all__ = [
    "CHAINED",
    "GENESIS",
    "MAX_BATCH",
    "MAX_RECORD_BYTES",
    "ZERO_HASH",
    "ChainHead",
    "Finding",
    "OfflineRecord",
    "RecordClass",
    "RecordOutcome",
    "canonical_bytes",
    "digest",
    "format_time",
    "parse_time",
    "screen",
]

RECORD_VERSION = 1
ZERO_HASH = "0" * 64
MAX_BATCH = 200  # records in one upload
MAX_RECORD_BYTES = 2048  # a record's canonical size; a real one is about 400 bytes
MAX_UNITS = 1_000_000
_HASH = re.compile(r"[0-9a-f]{64}")
_REFERENCE = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_RECORD_KEYS = frozenset(
    {"v", "device_id", "counter", "prev_hash", "redemption_id", "entitlement_id", "card_number", "household",
     "reason", "units", "at"}
)  # fmt: skip


def canonical_bytes(document: Any) -> bytes:
    """The bytes a signature or hash covers: JSON with sorted keys, no insignificant space, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(document: Any) -> str:
    """SHA-256 (hex) of ``document``'s canonical bytes: a record's hash, which the next record names."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def format_time(at: datetime) -> str:
    """``at`` in UTC to the second, as records and bundles write it: ``2026-11-29T12:00:00Z``."""
    if at.tzinfo is None:
        raise ValueError("offline times are timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object, *, field: str) -> datetime:
    """The UTC time written by :func:`format_time`; raises :class:`ValidationError` naming ``field``."""
    try:
        if not isinstance(text, str):
            raise ValueError(text)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("must be a UTC time such as 2026-11-29T12:00:00Z", field=field) from None
    if at.tzinfo is None or format_time(at) != text:
        raise ValidationError("must be a UTC time such as 2026-11-29T12:00:00Z", field=field)
    return at


def _uuid(value: object, field: str) -> UUID:
    try:
        parsed = UUID(str(value)) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value:
        raise ValidationError("must be a UUID in its canonical lower-case form", field=field)
    return parsed


def _text(value: object, field: str, *, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip() or len(value) > limit:
        raise ValidationError(f"must be text of 1 to {limit} characters without surrounding space", field=field)
    return value


def _whole(value: object, field: str, *, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValidationError(f"must be a whole number from {low} to {high}", field=field)
    return value


# --- the chain -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last record of a device's chain: its counter (0 before the first) and hash (zeros before the first)."""

    counter: int
    hash: str

    def is_followed_by(self, record: OfflineRecord) -> bool:
        """True when ``record`` is the next link: counter one higher, previous hash this one's."""
        return record.counter == self.counter + 1 and record.prev_hash == self.hash

    def to_document(self) -> dict[str, Any]:
        return {"counter": self.counter, "hash": self.hash}

    @classmethod
    def from_document(cls, document: object) -> ChainHead:
        if not isinstance(document, Mapping) or not _HASH.fullmatch(str(document.get("hash"))):
            raise ValidationError("a chain head is {counter, hash}", field="chain")
        return cls(_whole(document.get("counter"), "chain.counter", low=0, high=2**53), str(document["hash"]))


GENESIS = ChainHead(0, ZERO_HASH)


@dataclass(frozen=True, slots=True)
class OfflineRecord:
    """One redemption a device made offline: ``units`` of the entitlement ``entitlement_id`` to the household
    recognised by ``card_number`` (its card, verified offline) or ``household`` (its reference, with the operator's
    ``reason``), at the device's time ``at``."""

    device_id: UUID
    counter: int
    prev_hash: str
    redemption_id: UUID
    entitlement_id: UUID
    units: int
    at: datetime
    card_number: str | None = None
    household: str | None = None
    reason: str | None = None

    def to_document(self) -> dict[str, Any]:
        """The record as signed, hashed and sent."""
        return {
            "v": RECORD_VERSION, "device_id": str(self.device_id), "counter": self.counter,
            "prev_hash": self.prev_hash, "redemption_id": str(self.redemption_id),
            "entitlement_id": str(self.entitlement_id), "card_number": self.card_number,
            "household": self.household, "reason": self.reason, "units": self.units, "at": format_time(self.at),
        }  # fmt: skip

    def digest(self) -> str:
        return digest(self.to_document())

    @property
    def is_assisted(self) -> bool:
        return self.household is not None

    @classmethod
    def from_document(cls, document: object) -> OfflineRecord:
        """Read a record; raises :class:`ValidationError` naming the field when it is not one in canonical form."""
        if not isinstance(document, Mapping):
            raise ValidationError("a record is a JSON object", field="record")
        if set(document) != _RECORD_KEYS:
            raise ValidationError(f"a record has exactly the keys {', '.join(sorted(_RECORD_KEYS))}", field="record")
        if len(canonical_bytes(document)) > MAX_RECORD_BYTES:
            raise ValidationError(f"a record is at most {MAX_RECORD_BYTES} bytes", field="record")
        if document["v"] != RECORD_VERSION or type(document["v"]) is not int:
            raise ValidationError(f"this server reads records of version {RECORD_VERSION}", field="v")
        if not isinstance(document["prev_hash"], str) or not _HASH.fullmatch(document["prev_hash"]):
            raise ValidationError("must be 64 lower-case hex digits", field="prev_hash")
        card = _text(document["card_number"], "card_number", limit=16)
        household = _text(document["household"], "household", limit=64)
        reason = _text(document["reason"], "reason", limit=500)
        if (card is None) == (household is None):
            raise ValidationError("a record names either a card number or a household reference", field="card_number")
        if card is not None and not (len(card) == 16 and card.isascii() and card.isdigit()):
            raise ValidationError("must be a 16-digit card number", field="card_number")
        if household is not None and (reason is None or not _REFERENCE.fullmatch(household)):
            raise ValidationError("the assisted path needs a household reference and a reason", field="reason")
        record = cls(
            device_id=_uuid(document["device_id"], "device_id"),
            counter=_whole(document["counter"], "counter", low=1, high=2**53),
            prev_hash=document["prev_hash"],
            redemption_id=_uuid(document["redemption_id"], "redemption_id"),
            entitlement_id=_uuid(document["entitlement_id"], "entitlement_id"),
            units=_whole(document["units"], "units", low=1, high=MAX_UNITS),
            at=parse_time(document["at"], field="at"),
            card_number=card, household=household, reason=reason,
        )  # fmt: skip
        if record.to_document() != dict(document):  # e.g. a boolean where a number belongs (True == 1)
            raise ValidationError("the record is not in canonical form", field="record")
        return record


# --- sorting what the server receives --------------------------------------------------------------------------


class RecordClass(StrEnum):
    """What a received record is (the module docstring gives the order they are tried in)."""

    APPLIED = "applied"  # posted as an offline redemption
    DUPLICATE = "duplicate"  # received before, byte for byte: answered as then, no new effect
    GAP = "gap"  # beyond the next counter expected: held until the records before it arrive
    EDIT = "edit"  # its chain place holds another record, or its previous hash differs from the server's
    REPLAY = "replay"  # its redemption id was used already
    FOREIGN_SIGNATURE = "foreign_signature"  # not signed by the registered key of the device it is uploaded for
    REVOKED_DEVICE = "revoked_device"  # made after its device was revoked
    CONFLICT = "conflict"  # genuine and in order, but the lease, period, entitlement or stock does not cover it
    MALFORMED = "malformed"  # not a record in the documented form


CHAINED: frozenset[RecordClass] = frozenset(
    {RecordClass.APPLIED, RecordClass.CONFLICT, RecordClass.REPLAY, RecordClass.REVOKED_DEVICE}
)
"""Classes of records that take their place in the device's chain (genuine and in order), whatever their outcome."""


class RecordOutcome(StrEnum):
    """Where a stored record stands. Transitions: held -> applied | suspense; applied and suspense are final."""

    APPLIED = "applied"  # posted as an offline redemption
    HELD = "held"  # waiting for the records before it; a gap case is open meanwhile
    SUSPENSE = "suspense"  # a case is open; what it handed out, if it can be trusted, sits in the suspense account


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a record is not applied as it stands: its class and a detail for the case (no personal data)."""

    kind: RecordClass
    detail: str


def screen(
    record: OfflineRecord,
    *,
    device_id: UUID,
    is_signature_valid: bool,
    head: ChainHead,
    revoked_at: datetime | None,
    is_redemption_id_used: bool,
) -> Finding | None:
    """The checks that need no ledger, in order: signature, chain, revocation, redemption id. None when the record
    may be applied (the ledger then decides between applied and conflict).

    A record byte for byte equal to one received before is the caller's to answer (a duplicate) before this.
    """
    if record.device_id != device_id:
        return Finding(RecordClass.FOREIGN_SIGNATURE, "the record names another device than the one it is uploaded for")
    if not is_signature_valid:
        return Finding(RecordClass.FOREIGN_SIGNATURE, "the signature does not verify with the device's registered key")
    if record.counter <= head.counter:
        return Finding(
            RecordClass.EDIT,
            f"record {record.counter} differs from the record {record.counter} already in the chain",
        )
    if record.counter > head.counter + 1:
        missing = (
            head.counter + 1 if record.counter == head.counter + 2 else f"{head.counter + 1} to {record.counter - 1}"
        )
        return Finding(
            RecordClass.GAP,
            f"record {record.counter} arrived while the chain ends at {head.counter}; held until record(s) {missing} "
            "arrive",
        )
    if record.prev_hash != head.hash:
        return Finding(RecordClass.EDIT, f"record {record.counter} follows another record {head.counter} than the one "
                                         "in the chain")  # fmt: skip
    if revoked_at is not None and record.at > revoked_at:
        return Finding(RecordClass.REVOKED_DEVICE, f"made at {format_time(record.at)}, after the device was revoked "
                                                   f"at {format_time(revoked_at)}")  # fmt: skip
    if is_redemption_id_used:
        return Finding(RecordClass.REPLAY, f"redemption id {record.redemption_id} has been used already")
    return None
