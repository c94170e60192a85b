"""Signatures of offline records: Ed25519 by the device's own key over the record's canonical bytes.

A signed record travels as ``{"record": {...}, "signature": base64url}`` (no padding), the form of
:mod:`canasta.domain.offline`. The device signs with the 32-byte seed ``canasta devices register --key-out``
wrote; the server verifies with the public key registered for the device.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.domain.errors import ValidationError
from canasta.domain.offline import OfflineRecord, canonical_bytes

__all__ = ["load_device_key", "sign_record", "verify_record_signature"]


def load_device_key(path: Path) -> Ed25519Signer:
    """The device's signer from its key file (32 raw bytes); raises :class:`ValidationError` for another size."""
    seed = path.read_bytes()
    if len(seed) != 32:
        raise ValidationError(f"{path} is not a device key (32 bytes)", field="key")
    return Ed25519Signer.from_private_bytes(seed)


def sign_record(signer: Ed25519Signer, record: OfflineRecord) -> dict[str, Any]:
    """``{"record": ..., "signature": ...}`` for ``record`` signed by ``signer``."""
    document = record.to_document()
    signature = signer.sign(canonical_bytes(document))
    return {"record": document, "signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode()}


def verify_record_signature(public_key: bytes, document: Any, signature: str) -> bool:
    """True when ``signature`` (base64url, unpadded) is ``public_key``'s Ed25519 signature of ``document``'s
    canonical bytes."""
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != signature:
            return False  # one encoding per signature: a record re-sent with another spelling is not a new one
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, canonical_bytes(document))
    except (InvalidSignature, ValueError, TypeError, binascii.Error):
        return False
    return True
