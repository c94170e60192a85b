"""COSE_Sign1 (RFC 9052) over ``cbor2`` and ``cryptography``: encode, decode, Sig_structure and verify.

A COSE_Sign1 is ``18([protected: bstr, unprotected: map, payload: bstr, signature: bstr])``. The protected header
is a CBOR map serialised into a byte string so that the signature covers it exactly as sent; the signature is
computed over the Sig_structure ``["Signature1", protected, external_aad, payload]``.

This module knows COSE, not cards: it decodes any COSE_Sign1 and verifies EdDSA (Ed25519, Ed448) and ECDSA
(ES256, ES384, ES512) signatures, so it can be checked against the COSE working group's examples. Card policy
(EdDSA only, ``alg`` protected, a trusted ``kid``) is in :mod:`canasta.adapters.crypto.claim169`.

Decoding is strict about structure: exactly one CBOR item with nothing after it, at most :data:`MAX_DEPTH`
nested containers, no duplicate map keys, and none of cbor2's semantic tags (dates, bignums, shared references
and the like are refused rather than turned into objects). Every refusal is a
:class:`~canasta.domain.credentials.CredentialRefusedError` whose ``reason`` names the layer.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from canasta.domain.credentials import CredentialRefusedError, Refusal

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "HEADER_ALG",
    "HEADER_CONTENT_TYPE",
    "HEADER_CRIT",
    "HEADER_KID",
    "MAX_DEPTH",
    "TAG_ENCRYPT0",
    "TAG_SIGN1",
    "PublicKey",
    "Sign1",
    "decode_cbor",
    "decode_sign1",
    "encode_sign1",
    "signature_input",
    "split_canasta_sign1",
    "verify_sign1",
]

ALG_EDDSA = -8
ALG_ES256 = -7
HEADER_ALG = 1
HEADER_CRIT = 2
HEADER_CONTENT_TYPE = 3
HEADER_KID = 4
TAG_ENCRYPT0 = 16
TAG_SIGN1 = 18

#: Deepest nesting of arrays and maps accepted; a card needs 4 (COSE array, CWT map, claim 169, a biometric).
MAX_DEPTH = 16

#: Any public key :func:`verify_sign1` can check.
PublicKey = Ed25519PublicKey | Ed448PublicKey | ec.EllipticCurvePublicKey

# ECDSA algorithms name the hash; the curve is the key's (RFC 9053 recommends, but does not require, P-256 with
# ES256 and so on, and the COSE examples sign with P-256 and SHA-512).
_ECDSA_HASHES: dict[int, hashes.HashAlgorithm] = {-7: hashes.SHA256(), -35: hashes.SHA384(), -36: hashes.SHA512()}
# cbor2's built-in semantic tags (6.x), each mapped to None so that cbor2 refuses them instead of decoding.
_NO_SEMANTIC_TAGS: dict[int, None] = dict.fromkeys(
    (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 1004, 43000, 55799)
)
_SIGNATURE1 = b"\x84\x6aSignature1"  # array of 4, then the text "Signature1"
_EMPTY_MAP = b"\xa0"
# {1: -8}, the protected header of every canasta card: recognised without decoding it.
_EDDSA_PROTECTED = b"\xa1\x01\x27"
_EDDSA_HEADER: Mapping[object, object] = MappingProxyType({HEADER_ALG: ALG_EDDSA})
_EMPTY_HEADER: Mapping[object, object] = MappingProxyType({})
# canasta's own messages: tag 18, array of 4, the protected header above, an unprotected map {4: kid}; then the
# signature's byte-string header (64 bytes). The smallest such message has an empty kid and an empty payload.
_CANASTA_PREFIX = b"\xd2\x84\x43" + _EDDSA_PROTECTED + b"\xa1\x04"
_ED25519_SIGNATURE_HEADER = b"\x58\x40"
_SMALLEST_CANASTA_LAYOUT = len(_CANASTA_PREFIX) + 1 + 1 + 2 + 64
_UNDERSTOOD_CRITICAL = frozenset({HEADER_ALG, HEADER_CONTENT_TYPE, HEADER_KID})


class Sign1(NamedTuple):
    """A decoded COSE_Sign1. ``protected`` is the serialised header exactly as received (the signature covers it).

    A named tuple rather than a dataclass: one is made per card scanned, and it is the cheapest immutable record.
    """

    protected: bytes
    protected_header: Mapping[object, object]
    unprotected: Mapping[object, object]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> object:
        """The protected ``alg`` (label 1), or None when the protected header has none."""
        return self.protected_header.get(HEADER_ALG)

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` (label 4) from either header; a text kid is read as its UTF-8 bytes."""
        kid = self.unprotected.get(HEADER_KID)
        if kid is None:
            kid = self.protected_header.get(HEADER_KID)
        if type(kid) is bytes:
            return kid
        return kid.encode("utf-8") if isinstance(kid, str) else None


def _new_decoder() -> cbor2.CBORDecoder:
    return cbor2.CBORDecoder(
        io.BytesIO(b""),
        max_depth=MAX_DEPTH,
        allow_duplicate_keys=False,
        semantic_decoders=_NO_SEMANTIC_TAGS,  # type: ignore[arg-type]  # None refuses a tag; the stub omits it
    )


# One decoder per thread, pointed at each new input: making one with these options costs more than decoding a card.
_decoders = threading.local()


def decode_cbor(data: bytes) -> object:
    """Decode exactly one CBOR item; raises ``CredentialRefusedError(MALFORMED_CBOR)`` otherwise."""
    stream = io.BytesIO(data)
    decoder: cbor2.CBORDecoder | None = getattr(_decoders, "decoder", None)
    if decoder is None:
        decoder = _decoders.decoder = _new_decoder()
    decoder.fp = stream
    try:
        try:
            item = decoder.decode()
        except BaseException:
            _decoders.decoder = None  # a decoder stopped half-way is never reused
            raise
    except cbor2.CBORDecodeError as exc:
        raise CredentialRefusedError(Refusal.MALFORMED_CBOR, f"not well-formed CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise CredentialRefusedError(Refusal.MALFORMED_CBOR, f"{len(data) - stream.tell()} bytes after the CBOR item")
    return item


def decode_sign1(data: bytes) -> Sign1:
    """Decode a COSE_Sign1, tagged 18 or untagged.

    Raises ``CredentialRefusedError`` with ``MALFORMED_CBOR``, ``ENCRYPTED`` (a COSE_Encrypt0, tag 16) or
    ``MALFORMED_COSE`` (any other tag, wrong members, a header that is not a map, a label in both headers, a
    critical header this module does not understand, a detached payload).
    """
    message = _read_canasta_layout(data)
    if message is not None:
        return message
    item = decode_cbor(data)
    if type(item) is cbor2.CBORTag:
        if item.tag == TAG_ENCRYPT0:
            raise CredentialRefusedError(Refusal.ENCRYPTED, "a COSE_Encrypt0 (tag 16), not a signed credential")
        if item.tag != TAG_SIGN1:
            raise CredentialRefusedError(Refusal.MALFORMED_COSE, f"CBOR tag {item.tag} is not COSE_Sign1 (18)")
        item = item.value
    if not isinstance(item, (list, tuple)) or len(item) != 4:  # a tuple of types checks faster than a union
        raise CredentialRefusedError(Refusal.MALFORMED_COSE, "not a COSE_Sign1 array of four members")
    protected, unprotected, payload, signature = item
    if type(protected) is not bytes or type(payload) is not bytes or type(signature) is not bytes:
        detail = "detached payloads are not supported" if payload is None else "a member is not a byte string"
        raise CredentialRefusedError(Refusal.MALFORMED_COSE, detail)
    if not isinstance(unprotected, Mapping):
        raise CredentialRefusedError(Refusal.MALFORMED_COSE, "the unprotected header is not a map")
    header = _protected_header(protected)
    if unprotected and (
        HEADER_ALG in unprotected if header is _EDDSA_HEADER else any(label in unprotected for label in header)
    ):
        raise CredentialRefusedError(Refusal.MALFORMED_COSE, "a header label is both protected and unprotected")
    return Sign1(protected, header, unprotected, payload, signature)


def split_canasta_sign1(data: bytes) -> tuple[bytes, bytes, bytes, bytes] | None:
    """``(kid, payload, signature, Sig_structure)`` of a message in the exact layout canasta writes, or None.

    The layout is ``d2 84 43 a10127 a1 04 <kid: bstr of 0-23 bytes> <payload: bstr> 58 40 <signature>``: tag 18,
    the protected header ``{1: -8}`` (EdDSA), an unprotected header holding the kid alone, and a 64-byte signature,
    with nothing after it. The payload's length header must be the shortest one, because the Sig_structure reuses
    the payload's byte string as sent, and :func:`signature_input` writes the shortest. Every input it splits is a
    COSE_Sign1 that :func:`decode_sign1` reads to the same message, and the Sig_structure is byte for byte what
    :func:`signature_input` builds (the tests hold it to both); anything else is None, for the general path. It only
    saves a CBOR decoder, and building the Sig_structure twice, on the hot path.
    """
    if len(data) < _SMALLEST_CANASTA_LAYOUT or not data.startswith(_CANASTA_PREFIX):
        return None
    kid_end = data[8] - 0x37  # 9 + the kid's length, which its header 0x40-0x57 holds
    if not 9 <= kid_end <= 32:
        return None
    head = data[kid_end]
    if head == 0x58:
        start = kid_end + 2
        end = start + data[kid_end + 1]
        if end - start < 24:  # not the shortest header
            return None
    elif 0x40 <= head <= 0x57:
        start = kid_end + 1
        end = start + head - 0x40
    elif head == 0x59:
        start = kid_end + 3
        end = start + ((data[kid_end + 1] << 8) | data[kid_end + 2])
        if end - start < 0x100:
            return None
    else:
        return None
    if len(data) != end + 66 or data[end : end + 2] != _ED25519_SIGNATURE_HEADER:
        return None
    return data[9:kid_end], data[start:end], data[end + 2 :], _EDDSA_SIGNATURE1_PREFIX + data[kid_end:end]


def _read_canasta_layout(data: bytes) -> Sign1 | None:
    """The message :func:`split_canasta_sign1` splits, or None."""
    layout = split_canasta_sign1(data)
    if layout is None:
        return None
    kid, payload, signature, _ = layout
    return Sign1(_EDDSA_PROTECTED, _EDDSA_HEADER, {HEADER_KID: kid}, payload, signature)


def _protected_header(protected: bytes) -> Mapping[object, object]:
    if protected == _EDDSA_PROTECTED:
        return _EDDSA_HEADER
    if not protected:
        return _EMPTY_HEADER
    try:
        header = decode_cbor(protected)
    except CredentialRefusedError as exc:
        raise CredentialRefusedError(Refusal.MALFORMED_COSE, f"protected header: {exc.detail}") from None
    if not isinstance(header, Mapping):
        raise CredentialRefusedError(Refusal.MALFORMED_COSE, "the protected header is not a map")
    critical = header.get(HEADER_CRIT)
    if critical is not None and (
        type(critical) not in (list, tuple)
        or not critical
        or any(label not in _UNDERSTOOD_CRITICAL or label not in header for label in critical)
    ):
        raise CredentialRefusedError(Refusal.MALFORMED_COSE, "a critical header parameter is not understood")
    return header


def _bstr(data: bytes) -> bytes:
    """``data`` as a CBOR byte string (shortest length header)."""
    size = len(data)
    if size < 24:
        return bytes((0x40 | size,)) + data
    if size < 0x100:
        return bytes((0x58, size)) + data
    if size < 0x10000:
        return b"\x59" + size.to_bytes(2, "big") + data
    if size < 0x100000000:
        return b"\x5a" + size.to_bytes(4, "big") + data
    return b"\x5b" + size.to_bytes(8, "big") + data


_EDDSA_SIGNATURE1_PREFIX = _SIGNATURE1 + _bstr(_EDDSA_PROTECTED) + _bstr(b"")


def signature_input(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The Sig_structure ``["Signature1", protected, external_aad, payload]`` that is signed and verified.

    A protected header that is an empty map (``h'a0'``) enters as an empty byte string, as RFC 9052 section 3
    prescribes for the serialisation structures.
    """
    if protected == _EDDSA_PROTECTED and not external_aad:
        return _EDDSA_SIGNATURE1_PREFIX + _bstr(payload)
    if protected == _EMPTY_MAP:
        protected = b""
    return _SIGNATURE1 + _bstr(protected) + _bstr(external_aad) + _bstr(payload)


def encode_sign1(
    payload: bytes,
    sign: Callable[[bytes], bytes],
    *,
    alg: int = ALG_EDDSA,
    kid: bytes | None = None,
    protected: Mapping[int, object] | None = None,
    external_aad: bytes = b"",
) -> bytes:
    """Return ``18([protected, unprotected, payload, signature])``.

    The protected header is ``{1: alg}`` plus ``protected``; the unprotected header is ``{4: kid}`` when a kid is
    given, otherwise empty. ``sign`` receives the Sig_structure and returns the signature bytes.
    """
    header = cbor2.dumps({HEADER_ALG: alg, **(protected or {})})
    unprotected = {HEADER_KID: kid} if kid is not None else {}
    signature = sign(signature_input(header, payload, external_aad))
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, [header, unprotected, payload, signature]))


def verify_sign1(
    message: Sign1,
    public_key: PublicKey,
    *,
    external_aad: bytes = b"",
    require_protected_alg: bool = True,
) -> None:
    """Return when ``message`` is signed by ``public_key``; raise ``CredentialRefusedError`` otherwise.

    Reasons: ``ALG_NOT_PROTECTED`` (no ``alg`` in the protected header; with ``require_protected_alg=False`` an
    unprotected one is accepted, as RFC 9052 allows), ``UNSUPPORTED_ALG`` (an algorithm this module does not
    verify, or one that does not match the key) and ``BAD_SIGNATURE``.
    """
    alg = message.alg
    if alg is None and not require_protected_alg:
        alg = message.unprotected.get(HEADER_ALG)
    if alg is None:
        raise CredentialRefusedError(Refusal.ALG_NOT_PROTECTED, "no alg in the protected header")
    to_be_signed = signature_input(message.protected, message.payload, external_aad)
    try:
        if isinstance(public_key, Ed25519PublicKey | Ed448PublicKey) and alg == ALG_EDDSA and type(alg) is int:
            public_key.verify(message.signature, to_be_signed)
            return
        digest = _ECDSA_HASHES.get(alg) if type(alg) is int else None
        if digest is None or not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise CredentialRefusedError(Refusal.UNSUPPORTED_ALG, f"alg {alg!r} is not supported for this key")
        size = (public_key.curve.key_size + 7) // 8
        if len(message.signature) != 2 * size:
            raise CredentialRefusedError(Refusal.BAD_SIGNATURE, "the signature has the wrong length")
        r = int.from_bytes(message.signature[:size], "big")
        s = int.from_bytes(message.signature[size:], "big")
        public_key.verify(encode_dss_signature(r, s), to_be_signed, ec.ECDSA(digest))
    except InvalidSignature:
        raise CredentialRefusedError(Refusal.BAD_SIGNATURE, "the signature does not verify") from None
