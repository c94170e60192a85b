"""Field encryption and blind indexes (DESIGN section 4).

Each household has its own 256-bit data key, stored wrapped (AES-256-GCM) by the deployment's key-encryption
key with the household id as associated data. Sensitive fields (identifiers, phone, health needs) are sealed
with AES-256-GCM under the household's data key, the associated data binding the record id and the column, so
a ciphertext copied to another row or column does not open. Erasing a household's data key makes all its
sealed fields unreadable at once.

Layouts (all binary): wrapped key = ``0x01 | nonce(12) | ciphertext(32) | tag(16)``; sealed field =
``0x01 | nonce(12) | ciphertext | tag(16)``. Blind index = first 16 bytes of HMAC-SHA256(blind-index key,
``kind 0x00 normalised value``): equal values of one kind give equal indexes, and nothing else is revealed
without the key.
"""

from __future__ import annotations

import hmac
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from canasta.adapters.crypto.keyfile import KeyMaterial

__all__ = ["FieldSealer", "HouseholdCipher", "UnsealError"]

_VERSION = b"\x01"
_WRAP_CONTEXT = b"canasta/data-key/v1|"


class UnsealError(Exception):
    """A sealed value or wrapped key did not authenticate (wrong key, wrong record, or tampering)."""


class HouseholdCipher:
    """Seals and opens one household's fields under its data key."""

    __slots__ = ("_aead",)

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)

    def seal(self, record_id: UUID, column: str, plaintext: str) -> bytes:
        nonce = os.urandom(12)
        associated = column.encode() + b"|" + record_id.bytes
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), associated)

    def open(self, record_id: UUID, column: str, sealed: bytes) -> str:
        if sealed[:1] != _VERSION or len(sealed) < 29:
            raise UnsealError(f"{column}: unknown sealed format")
        associated = column.encode() + b"|" + record_id.bytes
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], associated).decode()
        except InvalidTag:
            raise UnsealError(f"{column}: does not authenticate") from None


class FieldSealer:
    """Makes, wraps and unwraps household data keys, and computes blind indexes."""

    def __init__(self, keys: KeyMaterial) -> None:
        self._kek = AESGCM(keys.kek)
        self._blind_key = keys.blind_index_key

    def new_household_key(self, household_id: UUID) -> tuple[HouseholdCipher, bytes]:
        """A fresh data key for ``household_id``: its cipher, and the wrapped key to store."""
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        wrapped = _VERSION + nonce + self._kek.encrypt(nonce, data_key, _WRAP_CONTEXT + household_id.bytes)
        return HouseholdCipher(data_key), wrapped

    def household_cipher(self, household_id: UUID, wrapped: bytes) -> HouseholdCipher:
        """The cipher for a stored wrapped key; raises :class:`UnsealError` if it does not unwrap."""
        if wrapped[:1] != _VERSION or len(wrapped) != 61:
            raise UnsealError("data key: unknown wrapped format")
        try:
            data_key = self._kek.decrypt(wrapped[1:13], wrapped[13:], _WRAP_CONTEXT + household_id.bytes)
        except InvalidTag:
            raise UnsealError("data key: does not unwrap under this key-encryption key") from None
        return HouseholdCipher(data_key)

    def blind_index(self, kind: str, value: str) -> bytes:
        """The keyed index of an identifier ``value`` of ``kind`` (already normalised)."""
        return hmac.digest(self._blind_key, kind.encode() + b"\x00" + value.encode(), "sha256")[:16]
