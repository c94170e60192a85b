"""The reference offline client: what a distribution point's device runs to redeem without a connection.

It holds the device's private key (the file ``canasta devices register --key-out`` wrote), the last bundle the
server signed, and its chain, in a state file replaced atomically (:class:`~canasta.adapters.device.state.StateFile`).

* :meth:`OfflineDevice.sync` uploads what is pending, downloads a bundle, checks the server's signature on it and on
  the card lists inside with the list key the device was given, and starts a new offline period.
* :meth:`OfflineDevice.redeem` verifies the card offline against the bundle's trust and revocation lists (or takes
  the household's reference and the operator's reason), finds the lease, checks what is still due (the bundle's
  units less what this device handed out since) and the offline limits, then signs the next record of the chain
  and **writes it down before anything is handed out**: a crash before the write loses a record nobody acted on,
  a crash after it loses nothing.
* :meth:`OfflineDevice.upload` sends the records the server has not settled; answers are matched by hash, so a lost
  answer, a repeated or reordered upload is harmless (the server stores each record once).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from canasta.adapters.crypto.claim169 import CardVerifier
from canasta.adapters.crypto.receipts import verify_signed
from canasta.adapters.crypto.records import sign_record
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.adapters.crypto.trust import read_revocation_list, read_trust_list
from canasta.adapters.device.state import StateFile
from canasta.adapters.device.transport import DeviceTransport
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.offline import (
    GENESIS,
    MAX_BATCH,
    Bundle,
    ChainHead,
    Lease,
    OfflineRecord,
    OfflineRefusedError,
    RecordOutcome,
    check_limits,
    format_time,
)
from canasta.domain.redemption import RedemptionRefusal
from canasta.services.ports import Clock

__all__ = ["OfflineDevice", "new_state"]

PENDING = "pending"  # signed and written down here, no answer from the server yet
SETTLED = frozenset({RecordOutcome.APPLIED.value, RecordOutcome.SUSPENSE.value})  # the server's final answers


def new_state(*, server: str, token: str, key_file: str, list_key: bytes) -> dict[str, Any]:
    """The state of a device before its first sync."""
    if len(list_key) != 32:
        raise ValidationError("the list key is the server's 32-byte Ed25519 public key (64 hex digits)",
                              field="list_key")  # fmt: skip
    return {
        "server": server, "token": token, "key_file": key_file, "list_key": list_key.hex(), "device": None,
        "device_id": None, "point": None, "bundle": None, "trust_version": None, "revocation_version": None,
        "chain": GENESIS.to_document(), "since_sync": {"count": 0, "value": 0}, "records": [],
    }  # fmt: skip


class OfflineDevice:
    """A device's offline client over its state file, key, transport and clock (all injectable)."""

    def __init__(
        self,
        state_file: StateFile,
        key: Ed25519Signer,
        transport: DeviceTransport,
        *,
        clock: Clock,
        new_id: Callable[[], UUID] = uuid4,
    ) -> None:
        self.state_file, self.key, self.transport, self.clock, self.new_id = state_file, key, transport, clock, new_id
        self._state = state_file.load()
        self._verifier: CardVerifier | None = None

    # --- what the device knows -----------------------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        """A copy of the state as last written down."""
        return copy.deepcopy(self._state)

    @property
    def bundle(self) -> Bundle:
        """The bundle in force; raises :class:`ConflictError` (``no_bundle``) before the first sync."""
        if self._state["bundle"] is None:
            raise ConflictError("this device has no bundle yet: sync first", code="no_bundle")
        return Bundle.from_document(self._state["bundle"]["document"])

    def pending(self) -> list[dict[str, Any]]:
        """Records the server has not settled, lowest counter first."""
        return [entry for entry in self._state["records"] if entry["status"] not in SETTLED]

    def handed_out(self, entitlement_id: UUID) -> int:
        """Units of ``entitlement_id`` this device handed out that the bundle in force does not count yet."""
        since = self.bundle.chain.counter
        return sum(
            int(entry["record"]["units"])
            for entry in self._state["records"]
            if entry["record"]["counter"] > since and entry["record"]["entitlement_id"] == str(entitlement_id)
        )

    def status(self) -> dict[str, Any]:
        state, now = self._state, self.clock.now()
        summary: dict[str, Any] = {
            "device": state["device"], "point": state["point"], "server": state["server"],
            "chain": state["chain"], "pending": len(self.pending()), "since_sync": state["since_sync"],
        }  # fmt: skip
        if state["bundle"] is not None:
            bundle = self.bundle
            summary |= {
                "bundle_issued_at": format_time(bundle.issued_at),
                "bundle_valid_until": format_time(bundle.valid_until),
                "is_bundle_valid": bundle.issued_at <= now <= bundle.valid_until, "leases": len(bundle.leases),
                "limits": bundle.limits.to_document(),
            }  # fmt: skip
        return summary

    def _save(self, state: dict[str, Any]) -> None:
        self.state_file.save(state)
        self._state = state

    # --- sync ----------------------------------------------------------------------------------------------

    def sync(self) -> dict[str, Any]:
        """Upload what is pending, then download and check a new bundle; returns the upload's summary and the
        bundle's leases. Raises :class:`ValidationError` (``bundle_refused`` or ``list_refused``) for a bundle or
        list the list key did not sign, or an older list, and the transport's errors."""
        uploaded = self.upload() if self.pending() else {"sent": 0, "results": []}
        token, list_key = self._state["token"], bytes.fromhex(self._state["list_key"])
        envelope = self.transport.get_bundle(token)
        if not verify_signed(envelope, list_key):
            raise ValidationError("the bundle is not signed by the server's list key", code="bundle_refused")
        bundle = Bundle.from_document(envelope["document"])
        if self._state["device_id"] not in (None, str(bundle.device_id)):
            raise ValidationError("the bundle is for another device", code="bundle_refused", field="device_id")
        trust = read_trust_list(bundle.trust_list, list_key, held_version=self._state["trust_version"])
        revocations = read_revocation_list(bundle.revocation_list, list_key,
                                           held_version=self._state["revocation_version"])  # fmt: skip
        state = self.state
        mine = ChainHead.from_document(state["chain"])
        if bundle.chain.counter > mine.counter:  # restored from an older copy: continue from the server's chain
            state["chain"] = bundle.chain.to_document()
        state |= {
            "bundle": envelope, "device": bundle.device, "device_id": str(bundle.device_id), "point": bundle.point,
            "trust_version": trust.version, "revocation_version": revocations.version,
            "since_sync": {"count": 0, "value": 0},
            "records": [entry for entry in state["records"]
                        if entry["status"] not in SETTLED or entry["record"]["counter"] > bundle.chain.counter],
        }  # fmt: skip
        self._save(state)
        self._verifier = None
        return {"uploaded": uploaded, "leases": len(bundle.leases), "issued_at": format_time(bundle.issued_at)}

    def _card_verifier(self) -> CardVerifier:
        if self._verifier is None:
            bundle, list_key = self.bundle, bytes.fromhex(self._state["list_key"])
            self._verifier = CardVerifier(
                read_trust_list(bundle.trust_list, list_key).keys,
                read_revocation_list(bundle.revocation_list, list_key).revoked,
            )
        return self._verifier

    # --- redeem --------------------------------------------------------------------------------------------

    def redeem(
        self,
        *,
        programme: str,
        units: int,
        card: str | None = None,
        household: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Redeem ``units`` of the household's ``programme`` offline; returns what to hand out and the signed record.

        The household is named by its card's QR text, or by its reference with the operator's ``reason``. Raises
        :class:`OfflineRefusedError` (code ``card_refused``, ``no_entitlement``, ``more_than_due``, an offline limit
        ...) and :class:`ValidationError` for a bad request; nothing is written down then.
        """
        if type(units) is not int or units < 1:
            raise ValidationError("units must be a whole number from 1", field="units")
        if (card is None) == (household is None) or (household is not None and not reason):
            raise ValidationError("give a card, or a household reference and the reason", field="card")
        bundle, now = self.bundle, self.clock.now().replace(microsecond=0)
        card_number = self._card_number(card, now) if card is not None else None
        lease = self._lease(bundle, programme, units, now, card_number=card_number, household=household)
        since = self._state["since_sync"]
        refusal = check_limits(bundle.limits, synced_at=bundle.issued_at, now=now, count=since["count"],
                               value=since["value"], adding=lease.unit_value * units)  # fmt: skip
        if refusal is not None:
            raise OfflineRefusedError(f"offline limit: {refusal.value}; sync first", code=refusal.value)
        head = ChainHead.from_document(self._state["chain"])
        record = OfflineRecord(
            device_id=bundle.device_id, counter=head.counter + 1, prev_hash=head.hash, redemption_id=self.new_id(),
            entitlement_id=lease.entitlement_id, units=units, at=now, card_number=card_number,
            household=household, reason=reason if household is not None else None,
        )  # fmt: skip
        signed = sign_record(self.key, record)
        state = self.state
        state["records"].append({**signed, "hash": record.digest(), "status": PENDING, "case_id": None})
        state["chain"] = {"counter": record.counter, "hash": record.digest()}
        state["since_sync"] = {"count": since["count"] + 1, "value": since["value"] + lease.unit_value * units}
        self._save(state)  # written down before anything is handed out
        return {
            "record": signed, "programme": lease.programme, "units": units, "currency": lease.currency,
            "co_payment": lease.co_payment * units,
            "goods": [{"commodity": line.commodity, "quantity": line.quantity * units, "unit": line.unit}
                      for line in lease.basket],
        }  # fmt: skip

    def _card_number(self, card: str, now: datetime) -> str:
        result = self._card_verifier().verify(card, now=now)
        if result.refusal is not None or result.credential is None:
            reason = result.refusal.value if result.refusal is not None else "unreadable"
            raise OfflineRefusedError(
                f"the card was refused ({reason}); serve the household by its reference",
                code=RedemptionRefusal.CARD_REFUSED.value, card_reason=reason,
            )  # fmt: skip
        return result.credential.claims.card_id

    def _lease(
        self, bundle: Bundle, programme: str, units: int, now: datetime, *, card_number: str | None,
        household: str | None,
    ) -> Lease:  # fmt: skip
        mine = [
            lease for lease in bundle.leases
            if lease.programme == programme
            and (card_number in lease.cards if card_number is not None else lease.household == household)
        ]  # fmt: skip
        if not mine:
            raise OfflineRefusedError(
                f"nothing of {programme} is leased to this point for that household",
                code=RedemptionRefusal.NO_ENTITLEMENT.value,
            )
        current = [lease for lease in mine if lease.is_valid_on(now.date())]
        if not current:
            raise OfflineRefusedError(f"the {programme} entitlement is not valid today",
                                      code=RedemptionRefusal.EXPIRED.value)  # fmt: skip
        for lease in current:
            left = lease.units_due - self.handed_out(lease.entitlement_id)
            if left >= units:
                return lease
        raise OfflineRefusedError(f"more than is still due of {programme}", code=RedemptionRefusal.MORE_THAN_DUE.value)

    # --- upload --------------------------------------------------------------------------------------------

    def upload(self, *, token: str | None = None) -> dict[str, Any]:
        """Send up to ``MAX_BATCH`` unsettled records; returns ``{"sent", "results"}`` (the server's answers).

        ``token`` replaces the device's own, for an operator carrying a revoked or broken device's records in.
        Raises the transport's errors; then nothing here changed and the upload can simply be tried again.
        """
        batch = self.pending()[:MAX_BATCH]
        if not batch:
            return {"sent": 0, "results": []}
        body = {
            "device": self._state["device"],
            "records": [{"record": entry["record"], "signature": entry["signature"]} for entry in batch],
        }
        answer = self.transport.upload(token or self._state["token"], body)
        results = {result["hash"]: result for result in answer.get("results", ())}
        state = self.state
        for entry in state["records"]:
            result = results.get(entry["hash"])
            if result is not None:
                entry["status"], entry["case_id"] = result["status"], result.get("case_id")
        self._save(state)
        return {"sent": len(batch), "results": answer.get("results", [])}

    def record(self, counter: int) -> dict[str, Any]:
        """The record ``counter`` as kept here; raises :class:`NotFoundError` once it is settled and pruned."""
        for entry in self._state["records"]:
            if entry["record"]["counter"] == counter:
                return copy.deepcopy(dict(entry))
        raise NotFoundError(f"no record {counter} kept on this device", field="counter")
