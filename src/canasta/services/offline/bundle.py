"""The bundle a device downloads: its point's leases, its limits, its chain as the server holds it, and the card
trust and revocation lists, signed by the server with the list key (as receipts are)."""

from __future__ import annotations

from typing import Any

from canasta.domain.access import Actor
from canasta.domain.errors import PermissionDeniedError
from canasta.domain.offline import Bundle, Lease, OfflineLimits
from canasta.domain.redemption import RedemptionRefusal, RedemptionRefusedError
from canasta.services.offline.ports import Offline
from canasta.services.redemption import entitlement_due

__all__ = ["download_bundle"]


def download_bundle(offline: Offline, actor: Actor) -> dict[str, Any]:
    """The signed bundle of the calling device: its point's leases, limits, chain head and the card lists.

    Raises :class:`PermissionDeniedError` for a caller that is not a device and
    :class:`RedemptionRefusedError` (``device_revoked``) for a revoked one.
    """
    with offline.transaction() as unit:
        store = unit.store
        device = store.device_of_user(actor.user_id)
        if device is None:
            raise PermissionDeniedError("only a registered device downloads a bundle")
        if device["status"] != "active":
            raise RedemptionRefusedError(RedemptionRefusal.DEVICE_REVOKED, "this device was revoked")
        point = store.point(device["point_id"])
        assert point is not None  # a device's point is a foreign key
        now = offline.clock.now()
        active_cards = store.active_cards(point["id"])
        leases = tuple(
            Lease(
                entitlement_id=row["id"],
                household=row["household_reference"],
                cards=tuple(active_cards.get(row["household_id"], ())),
                programme=row["programme_code"],
                units_due=int(row["balance"]),
                unit_value=int(row["unit_value"]),
                co_payment=int(row["co_payment"]),
                currency=row["currency"],
                basket=entitlement_due(row).basket,
                valid_from=row["valid_from"],
                valid_until=None if row["state"] == "carried_over" else row["valid_until"],
            )
            for row in store.leases(point["id"], now.date())
            if row["balance"] is not None and int(row["balance"]) > 0
        )
        trust_list, revocation_list = unit.lists()
        bundle = Bundle(
            point=point["code"], device=device["name"], device_id=device["id"], issued_at=now,
            limits=OfflineLimits(device["max_offline_hours"], device["max_offline_count"],
                                 int(device["max_offline_value"])),
            chain=store.chain_head(device["id"]), leases=leases, trust_list=trust_list,
            revocation_list=revocation_list,
        )  # fmt: skip
        return unit.sign(bundle.to_document())
