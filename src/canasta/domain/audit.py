"""The access log's rules: what an entry says, how entries are chained, and how a chain is checked (DESIGN 8).

Every read or write of a household's personal data appends one :class:`AccessEntry`. A sealer later gives
each entry the next position in one hash chain::

    entry_hash  = SHA-256(canonical form of the entry)
    chain_hash  = SHA-256("canasta/audit/v1" | previous chain_hash | position | entry_hash)

and signs a :class:`Checkpoint` of the chain's head. :func:`verify_chain` walks the chain and names every entry
that was changed (its hash differs), removed (a position or its entry is missing), inserted or reordered (the
chain breaks), and a cut-off tail (a checkpoint, or an anchor an auditor kept, lies beyond the chain's end).

Pure: no I/O. The storage and the signature check are handed in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

__all__ = [
    "FIELD_CATEGORIES",
    "GENESIS",
    "RECORD_CATEGORIES",
    "AccessEntry",
    "Action",
    "Category",
    "Checkpoint",
    "Finding",
    "SealedLink",
    "categories_of",
    "chain_hash",
    "checkpoint_message",
    "entry_hash",
    "verify_chain",
]

GENESIS = bytes(32)
_DOMAIN = b"canasta/audit/v1"


class Category(StrEnum):
    """Categories of personal data an access touched; the log names categories, never values."""

    IDENTITY = "identity"  # names, birth date, sex, relationship
    IDENTIFIERS = "identifiers"  # national id and other typed identifiers
    CONTACT = "contact"  # phone, address
    HEALTH = "health"  # disability (Washington Group), health needs
    SOCIO_ECONOMIC = "socio_economic"  # income, dwelling, assets, land, schooling, employment
    CONSENT = "consent"
    HISTORY = "history"  # earlier versions of a record
    ELIGIBILITY = "eligibility"  # decisions and their reasons
    APPEALS = "appeals"
    ENTITLEMENTS = "entitlements"  # what is due and what was collected
    CARD = "card"
    CUSTOM = "custom"  # fields a deployment declared, each with its own purpose
    STATUS = "status"  # a record made inactive, with its reason


#: which category each registry field belongs to (a write logs the categories of the fields it changed)
FIELD_CATEGORIES: dict[str, Category] = {
    **dict.fromkeys(("given_name", "family_name", "birth_date", "sex", "relationship", "reference"), Category.IDENTITY),
    **dict.fromkeys(("national_id", "identifiers"), Category.IDENTIFIERS),
    **dict.fromkeys(("phone", "address", "area_code"), Category.CONTACT),
    **dict.fromkeys(
        ("wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_self_care", "wg_communication", "health_needs"),
        Category.HEALTH,
    ),
    **dict.fromkeys(
        ("monthly_income", "currency", "dwelling_type", "tenure", "assets", "land_m2", "schooling", "employment"),
        Category.SOCIO_ECONOMIC,
    ),
    "custom": Category.CUSTOM,
    **dict.fromkeys(("status", "status_reason"), Category.STATUS),
}

#: what reading a whole household or person shows
RECORD_CATEGORIES = (
    Category.IDENTITY, Category.IDENTIFIERS, Category.CONTACT, Category.HEALTH, Category.SOCIO_ECONOMIC, Category.CUSTOM
)  # fmt: skip


def categories_of(fields: Iterable[str]) -> tuple[str, ...]:
    """The categories of the named fields (status and bookkeeping fields belong to none)."""
    names = {name.removesuffix("_sealed") for name in fields}  # sealed columns count as their field
    return tuple(sorted({FIELD_CATEGORIES[name].value for name in names if name in FIELD_CATEGORIES}))


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    SEARCH = "search"  # the subject turned up in a search result


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One access: who (name, role, office), to whose record, which categories, why, in which request."""

    id: UUID
    at: datetime
    actor_id: UUID | None
    actor_name: str
    actor_role: str
    actor_areas: tuple[str, ...]
    action: str
    household_id: UUID | None
    person_id: UUID | None
    categories: tuple[str, ...]
    purpose: str
    request_id: str
    route: str

    def canonical(self) -> bytes:
        """The entry's bytes for hashing: sorted-key JSON, UTC times to the microsecond."""
        document = {
            "id": str(self.id),
            "at": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor_id": str(self.actor_id) if self.actor_id is not None else None,
            "actor_name": self.actor_name,
            "actor_role": self.actor_role,
            "actor_areas": list(self.actor_areas),
            "action": self.action,
            "household_id": str(self.household_id) if self.household_id is not None else None,
            "person_id": str(self.person_id) if self.person_id is not None else None,
            "categories": list(self.categories),
            "purpose": self.purpose,
            "request_id": self.request_id,
            "route": self.route,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AccessEntry) -> bytes:
    return hashlib.sha256(entry.canonical()).digest()


def chain_hash(previous: bytes, position: int, entry_digest: bytes) -> bytes:
    return hashlib.sha256(_DOMAIN + previous + position.to_bytes(8, "big") + entry_digest).digest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: the chain up to ``position`` ends in ``chain_hash``."""

    position: int
    chain_hash: bytes
    sealed_at: datetime
    key_id: str
    signature: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "position": self.position,
            "chain_hash": self.chain_hash.hex(),
            "sealed_at": self.sealed_at.astimezone(UTC).isoformat(),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, document: dict[str, object]) -> Checkpoint:
        return cls(
            position=int(str(document["position"])),
            chain_hash=bytes.fromhex(str(document["chain_hash"])),
            sealed_at=datetime.fromisoformat(str(document["sealed_at"])),
            key_id=str(document["key_id"]),
            signature=bytes.fromhex(str(document["signature"])),
        )


def checkpoint_message(position: int, chain_digest: bytes, sealed_at: datetime) -> bytes:
    """What a checkpoint's signature covers."""
    stamp = sealed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _DOMAIN + b"|checkpoint|" + position.to_bytes(8, "big") + chain_digest + stamp.encode()


@dataclass(frozen=True, slots=True)
class SealedLink:
    """One row of the seal table joined with its entry (``entry`` is None when the entry row is gone)."""

    position: int
    entry_id: UUID
    entry_hash: bytes
    chain_hash: bytes
    entry: AccessEntry | None


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong with the log, at a position of the chain (0 when it concerns no one position)."""

    kind: str  # modified, deleted, chain_broken, gap, truncated, bad_checkpoint, unsealed
    position: int
    detail: str


@dataclass(slots=True)
class ChainReport:
    """What :func:`verify_chain` saw."""

    sealed: int = 0
    checkpoints: int = 0
    head: bytes = GENESIS
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def verify_chain(
    links: Iterable[SealedLink],
    checkpoints: Sequence[Checkpoint],
    *,
    signature_ok: Callable[[Checkpoint], bool],
    anchors: Sequence[Checkpoint] = (),
    max_findings: int = 100,
) -> ChainReport:
    """Walk ``links`` in position order and check each against its entry, the chain, and the checkpoints.

    ``anchors`` are checkpoints kept outside the database (by an auditor): the chain must still reach them with
    the same hash, which is what catches a tail cut off together with its checkpoints.
    """
    report = ChainReport()
    expected_at = {checkpoint.position: checkpoint for checkpoint in checkpoints}
    anchor_at = {anchor.position: anchor for anchor in anchors}
    for checkpoint in checkpoints:
        if not signature_ok(checkpoint):
            _note(report, max_findings, Finding("bad_checkpoint", checkpoint.position, "signature does not verify"))
    for anchor in anchors:
        if not signature_ok(anchor):
            _note(report, max_findings, Finding("bad_checkpoint", anchor.position, "the anchor's signature fails"))
    previous = GENESIS
    position = 0
    for link in links:
        position += 1
        gap = link.position != position
        if gap:
            _note(report, max_findings, Finding("gap", position, f"positions {position}..{link.position - 1} are gone"))
            position = link.position
        if link.entry is None:
            _note(report, max_findings, Finding("deleted", link.position, f"entry {link.entry_id} is gone"))
        elif link.entry.id != link.entry_id or entry_hash(link.entry) != link.entry_hash:
            _note(report, max_findings, Finding("modified", link.position, f"entry {link.entry_id} was changed"))
        recomputed = chain_hash(previous, link.position, link.entry_hash)
        if recomputed != link.chain_hash and not gap:
            _note(
                report, max_findings,
                Finding("chain_broken", link.position, "the chain does not follow on: inserted, removed or reordered"),
            )  # fmt: skip
        # Carry on from the stored hash, so one break is reported once and the rest is still checked.
        previous = link.chain_hash
        for mark in (expected_at.get(link.position), anchor_at.get(link.position)):
            if mark is not None and mark.chain_hash != link.chain_hash:
                _note(report, max_findings, Finding("bad_checkpoint", link.position, "the chain no longer ends here"))
        report.sealed += 1
    report.head = previous
    report.checkpoints = len(checkpoints)
    furthest = max([mark.position for mark in (*checkpoints, *anchors)], default=0)
    if furthest > position:
        _note(
            report, max_findings,
            Finding("truncated", position, f"a checkpoint covers position {furthest}; the chain ends at {position}"),
        )  # fmt: skip
    return report


def _note(report: ChainReport, limit: int, finding: Finding) -> None:
    if len(report.findings) < limit:
        report.findings.append(finding)
