"""Ed25519 signing keys for cards and lists, and their key ids.

A key id (COSE ``kid``) is the first 8 bytes of the SHA-256 of the raw 32-byte public key: short enough for a QR
code, derived rather than assigned so that an issuer and a device can never disagree about which key it names.
Key storage, encryption at rest and rotation are the key store's business; this module only signs.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from canasta.domain.credentials import TrustedKey
from canasta.domain.errors import ValidationError

__all__ = ["KEY_ID_LENGTH", "Ed25519Signer", "key_id_for", "load_public_key"]

KEY_ID_LENGTH = 8
_RAW_KEY_LENGTH = 32


def key_id_for(public_key: bytes) -> bytes:
    """The key id of a raw Ed25519 public key: ``SHA-256(public_key)[:8]``."""
    return hashlib.sha256(public_key).digest()[:KEY_ID_LENGTH]


def load_public_key(public_key: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key object from its 32 raw bytes; raises :class:`ValidationError` otherwise."""
    if not isinstance(public_key, bytes) or len(public_key) != _RAW_KEY_LENGTH:
        raise ValidationError("an Ed25519 public key is 32 bytes", field="public_key")
    try:
        return Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise ValidationError("not an Ed25519 public key", field="public_key") from exc


class Ed25519Signer:
    """Signs with one Ed25519 private key (the ``CredentialSigner`` role). ``repr`` never shows the key."""

    __slots__ = ("_key", "_key_id", "_public_key")

    def __init__(self, private_key: Ed25519PrivateKey, *, key_id: bytes | None = None) -> None:
        self._key = private_key
        self._public_key = private_key.public_key().public_bytes_raw()
        self._key_id = key_id if key_id is not None else key_id_for(self._public_key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        """A signer with a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, private_key: bytes, *, key_id: bytes | None = None) -> Ed25519Signer:
        """A signer from a raw 32-byte private key (an RFC 8032 seed); raises :class:`ValidationError`."""
        if len(private_key) != _RAW_KEY_LENGTH:
            raise ValidationError("an Ed25519 private key is 32 bytes", field="private_key")
        return cls(Ed25519PrivateKey.from_private_bytes(private_key), key_id=key_id)

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self._key_id.hex()})"

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def trusted_key(self, *, not_after: int | None = None) -> TrustedKey:
        """This key as a trust-list entry."""
        return TrustedKey(key_id=self._key_id, public_key=self._public_key, not_after=not_after)
