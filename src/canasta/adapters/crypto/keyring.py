"""Card and list signing keys: made here, stored sealed, used to sign cards and the lists devices download.

A private key never leaves this module in clear: it is stored as its 32-byte Ed25519 seed sealed with
AES-256-GCM under the deployment's key-encryption key, the key id bound as associated data, so a sealed key
copied onto another key's row does not open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from canasta.adapters.crypto.claim169 import encode_credential
from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.crypto.signing import Ed25519Signer, key_id_for
from canasta.adapters.crypto.trust import RevocationList, TrustList, encode_revocation_list, encode_trust_list
from canasta.domain.credentials import Credential, TrustedKey

__all__ = ["GeneratedKey", "SealedKeyError", "SealedKeyring"]

_VERSION = b"\x01"
_CONTEXT = b"canasta/signing-key/v1|"


class SealedKeyError(Exception):
    """A sealed private key did not open: wrong key-encryption key, or a row tampered with."""


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key: its id (hex of the COSE kid), public key, and sealed private key."""

    key_id: str
    public_key: bytes
    private_key_sealed: bytes


class SealedKeyring:
    """Signs with keys stored sealed under the key-encryption key."""

    def __init__(self, keys: KeyMaterial) -> None:
        self._kek = AESGCM(keys.kek)
        self._signers: dict[str, Ed25519Signer] = {}

    def generate(self) -> GeneratedKey:
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes_raw()
        public = private.public_key().public_bytes_raw()
        key_id = key_id_for(public).hex()
        nonce = os.urandom(12)
        sealed = _VERSION + nonce + self._kek.encrypt(nonce, seed, _CONTEXT + key_id.encode())
        return GeneratedKey(key_id=key_id, public_key=public, private_key_sealed=sealed)

    def _signer(self, key_id: str, sealed: bytes) -> Ed25519Signer:
        signer = self._signers.get(key_id)
        if signer is None:
            if sealed[:1] != _VERSION:
                raise SealedKeyError(f"key {key_id}: unknown sealed format")
            try:
                seed = self._kek.decrypt(sealed[1:13], sealed[13:], _CONTEXT + key_id.encode())
            except InvalidTag:
                raise SealedKeyError(f"key {key_id}: does not open under this key-encryption key") from None
            signer = Ed25519Signer.from_private_bytes(seed, key_id=bytes.fromhex(key_id))
            self._signers[key_id] = signer
        return signer

    def sign(self, key_id: str, sealed: bytes, message: bytes) -> bytes:
        """The Ed25519 signature of ``message`` by the key ``key_id`` (receipts, device bundles)."""
        return self._signer(key_id, sealed).sign(message)

    def sign_card(self, key_id: str, sealed: bytes, credential: Credential) -> str:
        """The QR text of ``credential`` signed by the key ``key_id``."""
        return encode_credential(credential, self._signer(key_id, sealed))

    def trust_list(
        self, *, version: int, issued_at: datetime, keys: list[TrustedKey], list_key_id: str, list_key_sealed: bytes
    ) -> bytes:
        document = TrustList(version=version, issued_at=int(issued_at.timestamp()), keys=tuple(keys))
        return encode_trust_list(document, self._signer(list_key_id, list_key_sealed))

    def revocation_list(
        self, *, version: int, issued_at: datetime, card_numbers: list[str], list_key_id: str, list_key_sealed: bytes
    ) -> bytes:
        document = RevocationList(
            version=version, issued_at=int(issued_at.timestamp()), revoked=frozenset(card_numbers)
        )
        return encode_revocation_list(document, self._signer(list_key_id, list_key_sealed))
