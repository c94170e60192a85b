"""Redemption at a distribution point (DESIGN section 7): what may be handed out, and what the ledger records.

A redemption hands a household some units of its entitlements at one point, in one go, under an id the client
made (so a retry after a lost answer is recognised, not repeated). The rules here are pure: the request and its
canonical form, the refusals and their stable codes, and the transfers one redemption posts:

* the entitlement gives back the units redeemed to the programme (``benefit:<programme>``);
* an in-kind basket leaves the point's stock, line by line (``commodity:<commodity>-<unit>``);
* the household's co-payment is collected by the point (``money:<currency>``);
* the programme owes the point the rest of the units' value (``money:<currency>``), which settlement pays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from canasta.domain.errors import ConflictError, ValidationError
from canasta.domain.ledger import (
    Account,
    AccountKind,
    Transfer,
    TransferKind,
    benefit_asset,
    commodity_asset,
    money_asset,
)
from canasta.domain.privacy import refuse_prohibited
from canasta.domain.programmes import BasketLine

__all__ = [
    "MAX_ITEMS",
    "EntitlementDue",
    "RedemptionItem",
    "RedemptionPath",
    "RedemptionRefusal",
    "RedemptionRefusedError",
    "RedemptionRequest",
    "differences",
    "plan_transfers",
    "stock_asset",
]

MAX_ITEMS = 20
MAX_UNITS = 1_000_000
MAX_REASON = 500


class RedemptionPath(StrEnum):
    """How the household was recognised."""

    CARD = "card"  # its card's QR code, verified
    ASSISTED = "assisted"  # by household reference, with the operator's reason (damaged, missing or refused card)
    OFFLINE = "offline"  # by a device without a connection, uploaded later


class RedemptionRefusal(StrEnum):
    """Why a redemption was refused: stable codes, each recorded with its detail, none half-posted."""

    CARD_REFUSED = "card_refused"  # the card did not verify (the card's own reason is in the detail)
    UNKNOWN_CARD = "unknown_card"  # a genuine card this registry never issued to a household
    UNKNOWN_HOUSEHOLD = "unknown_household"  # the assisted path's household reference names no active household
    UNKNOWN_POINT = "unknown_point"  # no active distribution point has that code
    WRONG_POINT = "wrong_point"  # the device belongs to another point than the request names
    NO_ENTITLEMENT = "no_entitlement"  # the household has no entitlement of that programme to redeem now
    OTHER_POINT = "entitlement_of_another_point"  # its entitlement is leased to another distribution point
    NOT_YET_VALID = "entitlement_not_yet_valid"  # before the cycle's period starts
    EXPIRED = "entitlement_expired"  # after the period, and the programme does not carry it over
    MORE_THAN_DUE = "more_than_due"  # more units than are left on the entitlement
    OUT_OF_STOCK = "out_of_stock"  # the point does not hold enough of a basket's commodity
    DEVICE_REVOKED = "device_revoked"  # the device was revoked


PLAIN_LANGUAGE: dict[RedemptionRefusal, str] = {
    RedemptionRefusal.CARD_REFUSED: "The card could not be checked; the operator can serve you by looking you up.",
    RedemptionRefusal.UNKNOWN_CARD: "This card was not issued by this programme's registry.",
    RedemptionRefusal.UNKNOWN_HOUSEHOLD: "No household with that reference is registered.",
    RedemptionRefusal.UNKNOWN_POINT: "This distribution point is not registered or not active.",
    RedemptionRefusal.WRONG_POINT: "This device is registered to another distribution point.",
    RedemptionRefusal.NO_ENTITLEMENT: "There is nothing of this programme to collect now.",
    RedemptionRefusal.OTHER_POINT: "This benefit is collected at another distribution point.",
    RedemptionRefusal.NOT_YET_VALID: "This benefit cannot be collected yet.",
    RedemptionRefusal.EXPIRED: "The period to collect this benefit has ended.",
    RedemptionRefusal.MORE_THAN_DUE: "That is more than is still due.",
    RedemptionRefusal.OUT_OF_STOCK: "The point does not have enough in stock; nothing was taken from your benefit.",
    RedemptionRefusal.DEVICE_REVOKED: "This device may no longer hand out benefits.",
}


class RedemptionRefusedError(ConflictError):
    """A redemption that may not happen; ``code`` is the refusal's stable code, nothing was posted."""

    def __init__(self, refusal: RedemptionRefusal, detail: str, **fields: Any) -> None:
        super().__init__(detail, code=refusal.value, **fields)
        self.refusal = refusal


def stock_asset(line: BasketLine) -> str:
    """The asset a basket line's goods are counted in: ``commodity:<commodity>-<unit>`` (``commodity:rice-g``)."""
    return commodity_asset(f"{line.commodity}-{line.unit}".lower())


@dataclass(frozen=True, slots=True)
class RedemptionItem:
    """``units`` of the household's entitlement of the programme ``programme``."""

    programme: str
    units: int


def _text(body: Mapping[str, Any], name: str, *, limit: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise ValidationError(f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationError(f"{name} must be text of 1 to {limit} characters", field=name)
    return value.strip()


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    """What a client asks for. Exactly one of ``card`` (the QR text) or ``household`` (a reference, the assisted
    path, which needs a ``reason``) names the household."""

    redemption_id: UUID
    point: str
    items: tuple[RedemptionItem, ...]
    card: str | None = None
    household: str | None = None
    reason: str | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RedemptionRequest:
        """Validate a request body; raises :class:`ValidationError` naming the field (``items[1].units``)."""
        raw_id = body.get("redemption_id")
        try:
            redemption_id = raw_id if isinstance(raw_id, UUID) else UUID(str(raw_id))
        except ValueError:
            raise ValidationError("redemption_id must be a UUID the client made", field="redemption_id") from None
        if raw_id is None:
            raise ValidationError("redemption_id is required", field="redemption_id")
        point = _text(body, "point", limit=32, required=True)
        card = _text(body, "card", limit=4096)
        household = _text(body, "household", limit=64)
        reason = _text(body, "reason", limit=MAX_REASON)
        if (card is None) == (household is None):
            raise ValidationError("give either the card's QR text or a household reference", field="card")
        if household is not None and reason is None:
            raise ValidationError("the assisted path needs the operator's reason", field="reason")
        if reason is not None:  # stored with the redemption: it may say why, never who someone is or believes
            refuse_prohibited([reason], where="redemption reason")
        raw_items = body.get("items")
        if not isinstance(raw_items, Sequence) or isinstance(raw_items, str) or not 0 < len(raw_items) <= MAX_ITEMS:
            raise ValidationError(f"items must list 1 to {MAX_ITEMS} programmes and units", field="items")
        items: list[RedemptionItem] = []
        for index, raw in enumerate(raw_items):
            where = f"items[{index}]"
            if not isinstance(raw, Mapping):
                raise ValidationError("each item is an object with programme and units", field=where)
            programme = raw.get("programme")
            units = raw.get("units")
            if not isinstance(programme, str) or not 0 < len(programme) <= 32:
                raise ValidationError("programme must be a programme code", field=f"{where}.programme")
            if type(units) is not int or not 0 < units <= MAX_UNITS:
                raise ValidationError(f"units must be a whole number from 1 to {MAX_UNITS}", field=f"{where}.units")
            items.append(RedemptionItem(programme, units))
        if len({item.programme for item in items}) != len(items):
            raise ValidationError("each programme may appear once", field="items")
        return cls(redemption_id, str(point), tuple(items), card, household, reason)

    @property
    def path(self) -> RedemptionPath:
        return RedemptionPath.CARD if self.card is not None else RedemptionPath.ASSISTED

    def canonical(self) -> dict[str, Any]:
        """The request as stored and compared: every field, items in the order given."""
        return {
            "redemption_id": str(self.redemption_id),
            "point": self.point,
            "card": self.card,
            "household": self.household,
            "reason": self.reason,
            "items": [{"programme": item.programme, "units": item.units} for item in self.items],
        }

    def fingerprint(self) -> str:
        """SHA-256 of the canonical form: equal requests, equal fingerprints."""
        encoded = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()


def differences(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """The fields in which two canonical requests differ (``items[0].units``, ``point``), in a stable order."""
    names: list[str] = []
    for key in sorted(set(stored) | set(given)):
        before, after = stored.get(key), given.get(key)
        if key == "items" and isinstance(before, list) and isinstance(after, list):
            for index in range(max(len(before), len(after))):
                if index >= len(before) or index >= len(after):
                    names.append(f"items[{index}]")
                    continue
                names += [
                    f"items[{index}].{field}"
                    for field in ("programme", "units")
                    if before[index].get(field) != after[index].get(field)
                ]
        elif before != after:
            names.append(key)
    return names


@dataclass(frozen=True, slots=True)
class EntitlementDue:
    """An entitlement as a redemption needs it: whose, which programme, where and what it is worth per unit."""

    entitlement_id: UUID
    programme_id: UUID
    programme_code: str
    currency: str
    unit_value: int
    co_payment: int
    basket: tuple[BasketLine, ...]


def plan_transfers(due: EntitlementDue, *, units: int, point_id: UUID, reference: str) -> list[Transfer]:
    """The ledger transfers of redeeming ``units`` of ``due`` at the point ``point_id``, in posting order.

    Posting them all or none is the storage's job; the entitlement and stock accounts refuse to go below zero,
    so "more than due" and "out of stock" are found by the posting itself, under concurrency too.
    """
    benefit = benefit_asset(due.programme_code)
    transfers = [
        Transfer(
            debit=Account(AccountKind.HOUSEHOLD_ENTITLEMENT, benefit, due.entitlement_id),
            credit=Account(AccountKind.PROGRAMME_SUBSIDY, benefit, due.programme_id),
            amount=units,
            kind=TransferKind.REDEEM,
            reference=reference,
        )
    ]
    for line in due.basket:
        goods = stock_asset(line)
        transfers.append(
            Transfer(
                debit=Account(AccountKind.POINT_STOCK, goods, point_id),
                credit=Account(AccountKind.EXTERNAL, goods, point_id),
                amount=line.quantity * units,
                kind=TransferKind.REDEEM,
                reference=reference,
            )
        )
    money = money_asset(due.currency)
    if due.co_payment > 0:
        transfers.append(
            Transfer(
                debit=Account(AccountKind.EXTERNAL, money, point_id),
                credit=Account(AccountKind.CO_PAYMENTS_COLLECTED, money, point_id),
                amount=due.co_payment * units,
                kind=TransferKind.CO_PAYMENT,
                reference=reference,
            )
        )
    owed = (due.unit_value - due.co_payment) * units
    if owed > 0:
        transfers.append(
            Transfer(
                debit=Account(AccountKind.PROGRAMME_SUBSIDY, money, due.programme_id),
                credit=Account(AccountKind.SUBSIDY_OWED, money, point_id),
                amount=owed,
                kind=TransferKind.REDEEM,
                reference=reference,
            )
        )
    return transfers
