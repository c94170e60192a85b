"""MOSIP Claim 169 card credentials: encode, decode, and verify offline.

A card's QR text is, from the inside out (``docs/cards.md`` has the whole format)::

    CWT claims map {1: iss, 4: exp, 6: iat, 169: {1: card id, 4: full name, 8: date of birth}}
    -> COSE_Sign1 18([h'a10127' (alg EdDSA), {4: kid}, payload, Ed25519 signature])
    -> zlib -> Base45 (QR alphanumeric)

:class:`CardVerifier` is lenient on encoding and strict on cryptography. It accepts lower-case Base45, stray line
breaks and an untagged COSE_Sign1; it bounds decompression, requires ``alg`` EdDSA in the protected header, maps
the ``kid`` to a trusted Ed25519 key, verifies the signature before it reads the payload (so the claims parser
only ever sees what a trusted key signed), then checks the key's retirement, the time window against the clock
it is given and the revocation list. It answers with a :class:`~canasta.domain.credentials.Verification` and
never raises on any text.

Cards in exactly the layout canasta writes (the COSE message, then its CWT payload) are read by slicing; anything
else takes the general CBOR path, which reads the same bytes to the same result (the tests hold both readers to
that). Only the cost differs: a verification is meant to cost little more than its Ed25519 signature check.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from canasta.adapters.crypto import base45, cose
from canasta.adapters.crypto.signing import load_public_key
from canasta.domain.credentials import (
    Credential,
    CredentialRefusedError,
    CredentialSigner,
    Refusal,
    TrustedKey,
    Verification,
    credential_from_map,
    credential_from_values,
    credential_to_map,
    time_refusal,
)

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "MAX_TEXT_LENGTH",
    "CardVerifier",
    "DecodedCredential",
    "decode_credential",
    "encode_credential",
    "inflate",
    "read_envelope",
]

#: Largest inflated COSE message accepted: a canasta card is about 150 bytes, a foreign one with a face ~2 KiB.
MAX_DECOMPRESSED_BYTES = 65_536
#: Longest QR text accepted: a version 40 QR code holds 4296 alphanumeric characters, plus room for line breaks.
MAX_TEXT_LENGTH = 8_192


def encode_credential(
    credential: Credential, signer: CredentialSigner, *, compression_level: int = 6, with_key_id: bool = True
) -> str:
    """The QR text of ``credential`` signed by ``signer``.

    Raises :class:`~canasta.domain.errors.ValidationError` (naming the field) for claims canasta would not issue.
    ``with_key_id=False`` leaves the unprotected header empty; it exists to reproduce other issuers' vectors, since
    canasta's verifier refuses a card without a key id.
    """
    payload = cbor2.dumps(credential_to_map(credential))
    message = cose.encode_sign1(payload, signer.sign, alg=cose.ALG_EDDSA, kid=signer.key_id if with_key_id else None)
    return base45.encode(zlib.compress(message, compression_level))


def inflate(data: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Inflate one complete zlib stream of at most ``limit`` bytes.

    Never holds more than ``limit`` inflated bytes, so a zlib bomb costs neither time nor memory. Raises
    ``CredentialRefusedError(MALFORMED_ZLIB)`` for a bad, truncated or oversized stream or bytes after it.
    """
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise CredentialRefusedError(Refusal.MALFORMED_ZLIB, f"not a zlib stream ({exc})") from None
    if not inflater.eof:
        if inflater.unconsumed_tail or len(inflated) >= limit:
            raise CredentialRefusedError(Refusal.MALFORMED_ZLIB, f"inflates beyond {limit} bytes")
        raise CredentialRefusedError(Refusal.MALFORMED_ZLIB, "the zlib stream is truncated")
    if inflater.unused_data:
        raise CredentialRefusedError(Refusal.MALFORMED_ZLIB, "bytes after the zlib stream")
    return inflated


def _inflate_text(text: str, limit: int) -> bytes:
    """The COSE bytes of ``text``: its Base45 and zlib layers, refused naming the layer."""
    if len(text) > MAX_TEXT_LENGTH:
        raise CredentialRefusedError(Refusal.MALFORMED_BASE45, f"longer than {MAX_TEXT_LENGTH} characters")
    try:
        compressed = base45.decode(text)
    except base45.Base45Error as exc:
        raise CredentialRefusedError(Refusal.MALFORMED_BASE45, str(exc)) from None
    return inflate(compressed, limit)


def read_envelope(text: str, *, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> cose.Sign1:
    """Base45, zlib and COSE layers of ``text``; raises ``CredentialRefusedError`` naming the layer."""
    return cose.decode_sign1(_inflate_text(text, max_decompressed_bytes))


def _read_payload(payload: bytes) -> Credential:
    credential = _read_canasta_payload(payload)
    return _read_any_payload(payload) if credential is None else credential


def _read_any_payload(payload: bytes) -> Credential:
    try:
        claims = cose.decode_cbor(payload)
    except CredentialRefusedError as exc:
        raise CredentialRefusedError(Refusal.MALFORMED_CWT, f"payload: {exc.detail}") from None
    return credential_from_map(claims)


# After the issuer: 04 1a <exp: 4 bytes> 06 1a <iat: 4 bytes> 18 a9 a3 01, i.e. exp and iat as 32-bit unsigned
# integers, then key 169 and a map of three entries, the first of which is key 1 (the card id).
_TIMES_AND_CLAIM169 = struct.Struct(">HIHII")
_EXP_LABEL, _IAT_LABEL, _CLAIM169_OF_THREE = 0x041A, 0x061A, 0x18A9A301


def _read_canasta_payload(payload: bytes) -> Credential | None:
    """The credential in ``payload`` if it is laid out exactly as canasta writes a card, or None for anything else.

    The layout is ``a4 01 <iss> 04 1a <exp> 06 1a <iat> 18 a9 a3 01 <card id> 04 <full name> 08 68 <date of birth>``
    (text strings with a one-byte or inline length, a non-empty card id shorter than 24 bytes, an 8-byte date of
    birth), with nothing after it. Every payload it reads is one CBOR map that the general path reads to the same
    credential (the tests hold it to that); anything else, including any text that is not UTF-8, is None and goes
    to the general path, which accepts it or says why not.
    """
    try:
        if payload[0] != 0xA4 or payload[1] != 0x01:
            return None
        head = payload[2]
        if 0x60 <= head <= 0x77:
            end = head - 0x5D  # 3 + the issuer's length
            issuer = payload[3:end].decode()
        elif head == 0x78:
            end = 4 + payload[3]
            issuer = payload[4:end].decode()
        else:
            return None
        exp_label, expires_at, iat_label, issued_at, claims_head = _TIMES_AND_CLAIM169.unpack_from(payload, end)
        if exp_label != _EXP_LABEL or iat_label != _IAT_LABEL or claims_head != _CLAIM169_OF_THREE:
            return None
        head = payload[end + 16]
        if not 0x61 <= head <= 0x77:
            return None
        start = end + 17
        end = start + head - 0x60
        card_id = payload[start:end].decode()
        if payload[end] != 0x04:
            return None
        head = payload[end + 1]
        if 0x60 <= head <= 0x77:
            start = end + 2
            end = start + head - 0x60
        elif head == 0x78:
            start = end + 3
            end = start + payload[end + 2]
        else:
            return None
        full_name = payload[start:end].decode()
        if len(payload) != end + 10 or payload[end] != 0x08 or payload[end + 1] != 0x68:
            return None
        date_of_birth = payload[end + 2 :].decode()
    except (IndexError, struct.error, UnicodeDecodeError):  # shorter than its headers say, or not UTF-8
        return None
    return credential_from_values(issuer, issued_at, expires_at, card_id, full_name, date_of_birth)


def _read_message(data: bytes) -> tuple[bytes | None, bytes, bytes, bytes]:
    """``(kid, payload, signature, Sig_structure)`` of any COSE_Sign1 whose protected ``alg`` is EdDSA."""
    message = cose.decode_sign1(data)
    alg = message.protected_header.get(cose.HEADER_ALG)
    if alg is None:
        raise CredentialRefusedError(Refusal.ALG_NOT_PROTECTED, "no alg in the protected header")
    if alg != cose.ALG_EDDSA or type(alg) is not int:
        raise CredentialRefusedError(Refusal.UNSUPPORTED_ALG, f"alg {alg!r} is not EdDSA (-8)")
    return message.kid, message.payload, message.signature, cose.signature_input(message.protected, message.payload)


@dataclass(frozen=True, slots=True)
class DecodedCredential:
    """A credential read without checking its signature, time or revocation (for inspection and tests)."""

    credential: Credential
    message: cose.Sign1

    @property
    def key_id(self) -> bytes | None:
        return self.message.kid


def decode_credential(text: str, *, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> DecodedCredential:
    """Read every layer of ``text`` but trust none of it: the signature is not checked.

    Raises ``CredentialRefusedError`` whose ``reason`` is one of the ``MALFORMED_*`` reasons or ``ENCRYPTED``.
    Use :class:`CardVerifier` to decide whether a card is valid.
    """
    message = read_envelope(text, max_decompressed_bytes=max_decompressed_bytes)
    return DecodedCredential(_read_payload(message.payload), message)


class CardVerifier:
    """Verifies card QR texts offline against a trust list and a revocation list.

    Built once per list download: the Ed25519 key objects are made here, not per card. ``verify`` is safe to call
    from several threads.
    """

    __slots__ = ("_keys", "_limit", "_revoked")

    def __init__(
        self,
        trusted_keys: Iterable[TrustedKey],
        revoked_card_ids: Iterable[str] = (),
        *,
        max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
    ) -> None:
        self._keys: dict[bytes, tuple[Ed25519PublicKey, int | None]] = {
            key.key_id: (load_public_key(key.public_key), key.not_after) for key in trusted_keys
        }
        self._revoked = frozenset(revoked_card_ids)
        self._limit = max_decompressed_bytes

    def verify(self, text: str, *, now: datetime) -> Verification:
        """Decide whether ``text`` is a valid card at ``now`` (timezone-aware).

        Returns a valid :class:`Verification` with the credential, or one refused for the first rule broken in the
        order of :class:`~canasta.domain.credentials.Refusal`. A refusal found after the signature verified
        (retired key, time, revocation) still carries the authentic credential, so that an operator can help the
        holder by another route. Raises ``ValueError`` only for a naive ``now``, a programming error.
        """
        if now.tzinfo is None:
            raise ValueError("the verifier's clock must give a timezone-aware time")
        at = int(now.timestamp())
        key_id: bytes | None = None
        credential: Credential | None = None
        try:
            data = _inflate_text(text, self._limit)
            # canasta's own layout is split by slicing (its alg is EdDSA, protected); any other goes the general way.
            layout = cose.split_canasta_sign1(data)
            key_id, payload, signature, to_be_signed = _read_message(data) if layout is None else layout
            entry = self._keys.get(key_id) if key_id is not None else None
            if entry is None:
                detail = "no kid in the header" if key_id is None else "the kid is not in the trust list"
                raise CredentialRefusedError(Refusal.UNKNOWN_KEY, detail)
            public_key, not_after = entry
            try:
                public_key.verify(signature, to_be_signed)
            except InvalidSignature:
                raise CredentialRefusedError(Refusal.BAD_SIGNATURE, "the signature does not verify") from None
            credential = _read_canasta_payload(payload)
            if credential is None:
                credential = _read_any_payload(payload)
            if not_after is not None and credential.issued_at > not_after:
                raise CredentialRefusedError(Refusal.RETIRED_KEY, "issued after its key was retired")
            refusal = time_refusal(credential, at)
            if refusal is Refusal.NOT_YET_VALID:
                raise CredentialRefusedError(refusal, f"valid from {credential.not_before}, now is {at}")
            if refusal is Refusal.EXPIRED:
                raise CredentialRefusedError(refusal, f"expired at {credential.expires_at}, now is {at}")
            if credential.claims.card_id in self._revoked:
                raise CredentialRefusedError(Refusal.REVOKED, "the card id is on the revocation list")
        except CredentialRefusedError as refused:
            return Verification(refused.reason, credential, key_id, refused.detail)
        return Verification(None, credential, key_id)
