"""Signed answers the server gives distribution points: redemption receipts (and device bundles).

A signed document is ``{"document": ..., "key_id": hex, "signature": base64url}``: an Ed25519 signature by the
server's active ``list`` key (the key that signs the trust and revocation lists, which devices already trust) over
the document's canonical JSON (sorted keys, no spaces, UTF-8). Anyone holding the trust list's list key can check
it offline with :func:`verify_signed`.

The card check used online is here too: :class:`CardChecks` keeps one :class:`CardVerifier` per minute, built from
the trusted card keys, so a redemption verifies a card without reading the keys on every request. Revocation is
not its job online: the redemption reads the card's own row, which is always current.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Connection

from canasta.adapters.crypto.claim169 import CardVerifier
from canasta.adapters.crypto.keyring import SealedKeyring
from canasta.adapters.crypto.signing import load_public_key
from canasta.domain.credentials import TrustedKey
from canasta.services.redemption import CardCheck

__all__ = ["CardChecks", "ReceiptSigner", "canonical_json", "verify_signed"]

REFRESH_SECONDS = 60.0


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: sorted keys, no insignificant space, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class _Every:
    """A value loaded again when older than ``seconds``; safe to share between threads. The loader is given the
    caller's connection, so that loading never waits for a second connection from a pool a burst has emptied."""

    def __init__(self, load: Callable[[Any], Any], seconds: float) -> None:
        self._load, self._seconds = load, seconds
        self._value: Any = None
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    def get(self, connection: Any) -> Any:
        if time.monotonic() - self._loaded > self._seconds:
            with self._lock:
                if time.monotonic() - self._loaded > self._seconds:
                    self._value = self._load(connection)
                    self._loaded = time.monotonic()
        return self._value


class ReceiptSigner:
    """Signs documents with the active list key, read at most once a minute."""

    def __init__(self, keyring: SealedKeyring, load_key: Callable[[Connection], Mapping[str, Any] | None]) -> None:
        self._keyring = keyring
        self._key = _Every(load_key, REFRESH_SECONDS)

    def sign(self, document: Mapping[str, Any], connection: Connection) -> dict[str, Any]:
        key = self._key.get(connection)
        if key is None:
            raise RuntimeError("no active list key: run `canasta keys create --purpose list`")
        signature = self._keyring.sign(key["key_id"], bytes(key["private_key_sealed"]), canonical_json(document))
        return {
            "document": dict(document),
            "key_id": key["key_id"],
            "signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        }


def verify_signed(envelope: Mapping[str, Any], public_key: bytes) -> bool:
    """True when ``envelope`` (from :class:`ReceiptSigner`) was signed by ``public_key`` and not changed since."""
    try:
        signature = base64.urlsafe_b64decode(str(envelope["signature"]) + "==")
        load_public_key(public_key).verify(signature, canonical_json(envelope["document"]))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


class CardChecks:
    """Verifies card QR texts online against the trusted card keys, rebuilt at most once a minute."""

    def __init__(self, load_keys: Callable[[Connection], list[TrustedKey]]) -> None:
        self._verifier = _Every(lambda connection: CardVerifier(load_keys(connection)), REFRESH_SECONDS)

    def check(self, text: str, now: datetime, connection: Connection) -> CardCheck:
        verifier: CardVerifier = self._verifier.get(connection)
        result = verifier.verify(text, now=now)
        credential = result.credential
        return CardCheck(
            card_number=credential.claims.card_id if credential is not None else None,
            refusal=result.refusal.value if result.refusal is not None else None,
            detail=result.detail,
        )
