"""Redeem at a distribution point: verify the card (or look the household up, with a reason), check the
entitlement's lease, period and balance and the point's stock, post the ledger transfers, and answer with a
receipt the server signs. One transaction, the caller's; a refusal leaves nothing behind but its own record.

A client redemption id has at most one effect: the same id with the same request returns the stored receipt, the
same id with a different request is refused naming what differs. A refused request stores no answer, so a
retry after the cause is fixed (stock delivered, a card activated) is decided afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor, is_in_scope
from canasta.domain.audit import Action, Category
from canasta.domain.errors import ConflictError, DomainError
from canasta.domain.ledger import AccountKind, InsufficientBalanceError, Transfer
from canasta.domain.programmes import BasketLine
from canasta.domain.redemption import (
    EntitlementDue,
    RedemptionRefusal,
    RedemptionRefusedError,
    RedemptionRequest,
    differences,
    plan_transfers,
)
from canasta.services.audit import AccessRecorder
from canasta.services.ports import Clock

__all__ = ["CardCheck", "RedemptionStore", "Redemptions", "entitlement_due", "record_refusal", "redeem"]

Row = Mapping[str, Any]
LIVE_CARD_STATES = ("active",)


class RedemptionStore(Protocol):
    """Storage (``adapters.db.redemption_store.SqlRedemptionStore``)."""

    def context(self, redemption_id: UUID, point_code: str, user_id: UUID, card_number: str | None = None) -> Row: ...
    def household_by_reference(self, reference: str) -> Row | None: ...
    def entitlements_due(self, household_id: UUID, programme_code: str) -> Sequence[Row]: ...
    def claim(self, values: Mapping[str, Any], spent: Sequence[UUID] = ()) -> bool: ...
    def redemption(self, redemption_id: UUID) -> Row | None: ...
    def post(self, transfers: Sequence[Transfer], *, by: str, at: datetime) -> list[UUID]: ...
    def insert_failure(self, values: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class CardCheck:
    """What the card verifier said: the card number when the credential could be read, the refusal if any."""

    card_number: str | None
    refusal: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class Redemptions:
    """The redemption use cases' collaborators for one unit of work."""

    store: RedemptionStore
    check_card: Callable[[str, datetime], CardCheck]
    sign: Callable[[Mapping[str, Any]], dict[str, Any]]  # the receipt -> the signed envelope
    clock: Clock
    new_ids: Callable[[int], list[UUID]]
    access: AccessRecorder | None = None  # the request's access log (None off the request path, e.g. in tests)


@dataclass(frozen=True, slots=True)
class _Chosen:
    due: EntitlementDue
    units: int
    remaining_before: int


def _refuse(refusal: RedemptionRefusal, detail: str, **fields: Any) -> RedemptionRefusedError:
    return RedemptionRefusedError(refusal, detail, **fields)


def _replay(existing: Row, request: RedemptionRequest) -> dict[str, Any]:
    if existing["fingerprint"] == request.fingerprint() and existing["receipt"] is not None:
        return dict(existing["receipt"])
    differing = differences(existing["request"], request.canonical())
    raise ConflictError(
        f"redemption id {request.redemption_id} was used for another request (differs in: {', '.join(differing)})",
        code="redemption_id_reused",
        differs=differing,
    )


def _point(actor: Actor, request: RedemptionRequest, context: Row) -> tuple[Row, Row | None]:
    """The point and the caller's device (None for a person at a counter), from :meth:`RedemptionStore.context`."""
    point = {name: context[f"point_{name}"] for name in ("id", "code", "area_code", "status")}
    if point["id"] is None or point["status"] != "active" or not is_in_scope(point["area_code"], actor.area_codes):
        raise _refuse(RedemptionRefusal.UNKNOWN_POINT, f"no active distribution point {request.point!r} in your areas")
    if context["device_id"] is None:
        return point, None
    device = {name: context[f"device_{name}"] for name in ("id", "point_id", "status", "name")}
    if device["status"] != "active":
        raise _refuse(RedemptionRefusal.DEVICE_REVOKED, "this device was revoked", device=device["name"])
    if device["point_id"] != point["id"]:
        raise _refuse(RedemptionRefusal.WRONG_POINT, f"this device belongs to another point than {request.point}")
    return point, device


def _household(
    r: Redemptions, request: RedemptionRequest, checked: CardCheck | None, context: Row
) -> tuple[UUID, str | None]:
    """The household served, by its card (``checked``, whose record came with ``context``) or its reference."""
    if checked is None:
        found = r.store.household_by_reference(str(request.household))
        if found is None or found["status"] != "active":
            raise _refuse(RedemptionRefusal.UNKNOWN_HOUSEHOLD, "no active household has that reference")
        return found["id"], None
    if checked.refusal is not None:
        raise _refuse(
            RedemptionRefusal.CARD_REFUSED,
            f"the card was refused ({checked.refusal}): {checked.detail}; serve the household by looking it up",
            card_reason=checked.refusal,
            card_number=checked.card_number,
        )
    if context["card_state"] is None:
        raise _refuse(RedemptionRefusal.UNKNOWN_CARD, "the card is genuine but this registry has no such card number")
    if context["card_state"] not in LIVE_CARD_STATES:
        raise _refuse(
            RedemptionRefusal.CARD_REFUSED,
            f"the card is {context['card_state']}, not active; serve the household by looking it up",
            card_reason=f"card_{context['card_state']}",
            card_number=checked.card_number,
            household_id=context["card_household_id"],
        )
    if context["card_household_status"] != "active":
        raise _refuse(RedemptionRefusal.UNKNOWN_HOUSEHOLD, "the card's household is not active")
    return context["card_household_id"], checked.card_number


def entitlement_due(row: Row) -> EntitlementDue:
    """An entitlement row (with ``programme_code`` and its cycle's ``programme_document``) as a redemption needs it."""
    document = row["programme_document"] or {}
    basket = tuple(
        BasketLine(str(line["commodity"]), int(line["quantity"]), str(line["unit"]))
        for line in document.get("basket", ())
    )
    return EntitlementDue(
        entitlement_id=row["id"], programme_id=row["programme_id"], programme_code=row["programme_code"],
        currency=row["currency"], unit_value=int(row["unit_value"]), co_payment=int(row["co_payment"]), basket=basket,
    )  # fmt: skip


def _choose(r: Redemptions, household_id: UUID, point_id: UUID, programme: str, units: int, today: date) -> _Chosen:
    """The household's entitlement of ``programme`` redeemable at this point today; refusals say why not."""
    rows = [
        row
        for row in r.store.entitlements_due(household_id, programme)
        if row["cycle_state"] == "distributing" or (row["cycle_state"] == "closed" and row["state"] != "lapsed")
    ]
    if not rows:
        raise _refuse(RedemptionRefusal.NO_ENTITLEMENT, f"the household has no open entitlement of {programme}")
    here = [row for row in rows if row["home_point_id"] == point_id]
    if not here:
        raise _refuse(RedemptionRefusal.OTHER_POINT, f"the {programme} entitlement is leased to another point")
    current = [
        row
        for row in here
        if row["valid_from"] <= today and (row["valid_until"] >= today or row["state"] == "carried_over")
    ]
    if not current:
        if all(row["valid_from"] > today for row in here):
            first = min(row["valid_from"] for row in here)
            raise _refuse(RedemptionRefusal.NOT_YET_VALID, f"the {programme} entitlement is valid from {first}")
        raise _refuse(RedemptionRefusal.EXPIRED, f"the {programme} entitlement's period has ended")
    for row in current:
        if row["held"] > 0:
            return _Chosen(entitlement_due(row), units, int(row["held"]))
    raise _refuse(RedemptionRefusal.MORE_THAN_DUE, f"nothing of the {programme} entitlement is left")


def _receipt(
    request: RedemptionRequest, chosen: list[_Chosen], *, point: Row, household_id: UUID, card: str | None, at: datetime
) -> dict[str, Any]:
    items = []
    co_payments: dict[str, int] = {}
    for choice in chosen:
        due = choice.due
        co_payment = due.co_payment * choice.units
        co_payments[due.currency] = co_payments.get(due.currency, 0) + co_payment
        items.append(
            {
                "programme": due.programme_code,
                "entitlement_id": str(due.entitlement_id),
                "units": choice.units,
                "remaining": choice.remaining_before - choice.units,
                "co_payment": co_payment,
                "currency": due.currency,
                "goods": [
                    {"commodity": line.commodity, "quantity": line.quantity * choice.units, "unit": line.unit}
                    for line in due.basket
                ],
            }
        )
    return {
        "redemption_id": str(request.redemption_id),
        "point": point["code"],
        "household_id": str(household_id),
        "card_number": card,
        "path": request.path.value,
        "items": items,
        "co_payments": co_payments,
        "at": at.isoformat(),
    }


def redeem(r: Redemptions, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
    """Redeem, or replay the answer to an earlier request with the same id; returns the signed receipt.

    Raises :class:`RedemptionRefusedError` (its code names the refusal), :class:`ConflictError`
    (``redemption_id_reused``) and :class:`ValidationError` for a malformed body; nothing is posted then.
    """
    request = RedemptionRequest.from_body(body)
    now = r.clock.now()
    # The card is read first (no storage needed) so that its record comes with the context in one round trip; a
    # refusal of it is raised only after a replay and the point were looked at, as if it had been read then.
    checked = r.check_card(request.card, now) if request.card is not None else None
    number = checked.card_number if checked is not None and checked.refusal is None else None
    context = r.store.context(request.redemption_id, request.point, actor.user_id, number)
    if context["earlier_fingerprint"] is not None:
        return _replay(_existing(r, request), request)
    point, device = _point(actor, request, context)
    household_id, card_number = _household(r, request, checked, context)
    today = now.date()
    chosen = [_choose(r, household_id, point["id"], item.programme, item.units, today) for item in request.items]
    # The receipt is signed before anything is written: if a posting is refused, the transaction (claim included)
    # is rolled back and the signature is never seen.
    receipt = r.sign(_receipt(request, chosen, point=point, household_id=household_id, card=card_number, at=now))
    # The entitlements this redemption uses up are marked redeemed with the claim; a refused posting below rolls
    # the whole transaction back, marks included.
    spent = [choice.due.entitlement_id for choice in chosen if choice.remaining_before == choice.units]
    claimed = r.store.claim(
        {
            "id": request.redemption_id, "point_id": point["id"], "device_id": device["id"] if device else None,
            "household_id": household_id, "card_number": card_number, "path": request.path.value,
            "reason": request.reason, "fingerprint": request.fingerprint(), "request": request.canonical(),
            "receipt": receipt, "at": now, "by": actor.label,
        },
        spent,
    )  # fmt: skip
    if not claimed:  # a concurrent request with this id got there first and has committed
        return _replay(_existing(r, request), request)
    reference = str(request.redemption_id)
    transfers = [
        transfer
        for choice in chosen
        for transfer in plan_transfers(choice.due, units=choice.units, point_id=point["id"], reference=reference)
    ]
    try:
        r.store.post(transfers, by=actor.label, at=now)
    except InsufficientBalanceError as short:
        if short.account.kind is AccountKind.POINT_STOCK:
            raise _refuse(
                RedemptionRefusal.OUT_OF_STOCK,
                f"the point holds less {short.account.asset.removeprefix('commodity:')} than the basket needs",
                household_id=household_id,
            ) from None
        raise _refuse(
            RedemptionRefusal.MORE_THAN_DUE,
            f"more units of {short.account.asset.removeprefix('benefit:')} than are left on the entitlement",
            household_id=household_id,
        ) from None
    if r.access is not None:  # the household's entitlements were read and drawn on: it may see who and where
        r.access.record(Action.WRITE, household_id, (Category.ENTITLEMENTS, Category.CARD))
    return receipt


def _existing(r: Redemptions, request: RedemptionRequest) -> Row:
    existing = r.store.redemption(request.redemption_id)
    if existing is None:  # claimed by a transaction that has not committed yet (SQLite) or rolled back
        raise ConflictError("the redemption id is being used by another request; retry", code="retry")
    return existing


def record_refusal(r: Redemptions, actor: Actor, body: Mapping[str, Any], error: DomainError) -> None:
    """Write a refused attempt down (in its own transaction, after the refused one rolled back): a failed check
    is a failure with its reason, never "did not come"."""
    fields = error.fields
    raw_id = body.get("redemption_id")
    try:
        redemption_id: UUID | None = UUID(str(raw_id)) if raw_id is not None else None
    except ValueError:
        redemption_id = None
    point = body.get("point")
    path = "assisted" if body.get("household") else "card" if body.get("card") else None
    household_id = fields.get("household_id")
    r.store.insert_failure(
        {
            "id": r.new_ids(1)[0], "redemption_id": redemption_id,
            "point_code": point[:32] if isinstance(point, str) else None,
            "household_id": household_id if isinstance(household_id, UUID) else None,
            "card_number": fields.get("card_number"), "path": path, "code": error.code[:40],
            "detail": error.detail[:500], "at": r.clock.now(), "by": actor.label,
        }
    )  # fmt: skip
