"""What a device redeems with offline: the bundle of its point's leases the server signs, and the limits that
bound an offline period (the package's docstring has the form)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from canasta.domain.errors import ConflictError, ValidationError
from canasta.domain.offline.records import ChainHead, format_time, parse_time
from canasta.domain.programmes import BasketLine

__all__ = ["BUNDLE_FORMAT", "Bundle", "Lease", "LimitRefusal", "OfflineLimits", "OfflineRefusedError", "check_limits"]

BUNDLE_FORMAT = "canasta.offline-bundle.v1"


@dataclass(frozen=True, slots=True)
class OfflineLimits:
    """How far a device may go between syncs: hours since the last one, redemptions, and their value."""

    hours: int
    count: int
    value: int  # minor units

    def to_document(self) -> dict[str, int]:
        return {"hours": self.hours, "count": self.count, "value": self.value}


@dataclass(frozen=True, slots=True)
class Lease:
    """One entitlement leased to the point, as of the bundle: what is due and to whom (by card or reference)."""

    entitlement_id: UUID
    household: str
    cards: tuple[str, ...]
    programme: str
    units_due: int
    unit_value: int
    co_payment: int
    currency: str
    basket: tuple[BasketLine, ...]
    valid_from: date
    valid_until: date | None  # None: carried over, redeemable until the lease is withdrawn

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def to_document(self) -> dict[str, Any]:
        return {
            "entitlement_id": str(self.entitlement_id), "household": self.household, "cards": list(self.cards),
            "programme": self.programme, "units_due": self.units_due, "unit_value": self.unit_value,
            "co_payment": self.co_payment, "currency": self.currency,
            "basket": [{"commodity": line.commodity, "quantity": line.quantity, "unit": line.unit}
                       for line in self.basket],
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until is not None else None,
        }  # fmt: skip

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Lease:
        until = document["valid_until"]
        return cls(
            entitlement_id=UUID(str(document["entitlement_id"])), household=str(document["household"]),
            cards=tuple(str(card) for card in document["cards"]), programme=str(document["programme"]),
            units_due=int(document["units_due"]), unit_value=int(document["unit_value"]),
            co_payment=int(document["co_payment"]), currency=str(document["currency"]),
            basket=tuple(BasketLine(str(line["commodity"]), int(line["quantity"]), str(line["unit"]))
                         for line in document["basket"]),
            valid_from=date.fromisoformat(str(document["valid_from"])),
            valid_until=date.fromisoformat(str(until)) if until is not None else None,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bundle:
    """Everything a device redeems with offline, as the server signed it."""

    point: str
    device: str
    device_id: UUID
    issued_at: datetime
    limits: OfflineLimits
    chain: ChainHead  # the last record of this device the server holds in its chain
    leases: tuple[Lease, ...]
    trust_list: bytes  # the signed card trust list (COSE), as ``canasta keys export-trust-list`` writes it
    revocation_list: bytes  # the signed revocation list (COSE)

    @property
    def valid_until(self) -> datetime:
        """When the device must stop redeeming offline until it syncs again."""
        return self.issued_at + timedelta(hours=self.limits.hours)

    def to_document(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT, "point": self.point, "device": self.device, "device_id": str(self.device_id),
            "issued_at": format_time(self.issued_at), "valid_until": format_time(self.valid_until),
            "limits": self.limits.to_document(), "chain": self.chain.to_document(),
            "leases": [lease.to_document() for lease in self.leases],
            "trust_list": base64.b64encode(self.trust_list).decode(),
            "revocation_list": base64.b64encode(self.revocation_list).decode(),
        }  # fmt: skip

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Bundle:
        """Read a bundle (whose signature the caller has checked); raises :class:`ValidationError`."""
        if document.get("format") != BUNDLE_FORMAT:
            raise ValidationError(f"not a {BUNDLE_FORMAT} document", field="format")
        try:
            limits = document["limits"]
            return cls(
                point=str(document["point"]), device=str(document["device"]),
                device_id=UUID(str(document["device_id"])),
                issued_at=parse_time(document["issued_at"], field="issued_at"),
                limits=OfflineLimits(int(limits["hours"]), int(limits["count"]), int(limits["value"])),
                chain=ChainHead.from_document(document["chain"]),
                leases=tuple(Lease.from_document(lease) for lease in document["leases"]),
                trust_list=base64.b64decode(document["trust_list"], validate=True),
                revocation_list=base64.b64decode(document["revocation_list"], validate=True),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as error:
            raise ValidationError(f"the bundle is malformed ({type(error).__name__})", field="bundle") from None


# --- limits ----------------------------------------------------------------------------------------------------


class LimitRefusal(StrEnum):
    """Why a device refuses to redeem offline until it syncs (codes of :class:`OfflineRefusedError`)."""

    SYNC_TOO_OLD = "sync_too_old"  # more hours since the last sync than the device's limit
    TOO_MANY = "offline_count_reached"  # as many redemptions since the last sync as the limit allows
    TOO_MUCH_VALUE = "offline_value_reached"  # this redemption would take the value since the sync past the limit


class OfflineRefusedError(ConflictError):
    """A device refused an offline redemption; ``code`` says why (a limit, or a redemption refusal code)."""


def check_limits(
    limits: OfflineLimits, *, synced_at: datetime, now: datetime, count: int, value: int, adding: int
) -> LimitRefusal | None:
    """Whether one more redemption worth ``adding`` fits: ``count`` redemptions worth ``value`` were made since
    the sync at ``synced_at``. None when it fits."""
    if now - synced_at > timedelta(hours=limits.hours) or now < synced_at:
        return LimitRefusal.SYNC_TOO_OLD
    if count + 1 > limits.count:
        return LimitRefusal.TOO_MANY
    if value + adding > limits.value:
        return LimitRefusal.TOO_MUCH_VALUE
    return None
