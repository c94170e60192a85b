"""Signed trust lists and revocation lists: what a distribution point downloads to verify cards offline.

Both are COSE_Sign1 messages (tag 18) signed with Ed25519 by the *list-signing key*, a key that signs nothing
else (never a card) and whose public key a device receives when it is enrolled. The protected header names the
algorithm and the kind of list, so a revocation list can never pass for a trust list::

    18([<< {1: -8, 3: "application/vnd.canasta.trust-list+cbor"} >>, {4: kid}, payload, signature])

Payloads are CBOR maps with text keys::

    trust list       {"version": uint, "issued_at": uint, "keys": [[kid: bstr, public_key: bstr .size 32,
                                                                    not_after: uint / null], ...]}
    revocation list  {"version": uint, "issued_at": uint, "revoked": [card_id: tstr, ...]}

``version`` grows with every list the signer publishes; a device refuses a list older than the one it holds, so
an old list (with a key since retired, or without a recent revocation) cannot be replayed. ``issued_at`` is Unix
seconds. Reading a list raises :class:`ListRefusedError` with a :class:`ListRefusal` reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import cbor2

from canasta.adapters.crypto import cose
from canasta.adapters.crypto.signing import key_id_for, load_public_key
from canasta.domain.credentials import CredentialRefusedError, CredentialSigner, Refusal, TrustedKey
from canasta.domain.errors import ValidationError

__all__ = [
    "MAX_LIST_BYTES",
    "REVOCATION_LIST_TYPE",
    "TRUST_LIST_TYPE",
    "ListRefusal",
    "ListRefusedError",
    "RevocationList",
    "TrustList",
    "encode_revocation_list",
    "encode_trust_list",
    "read_revocation_list",
    "read_trust_list",
]

TRUST_LIST_TYPE = "application/vnd.canasta.trust-list+cbor"
REVOCATION_LIST_TYPE = "application/vnd.canasta.revocation-list+cbor"
#: Largest list accepted: about a million revoked card ids.
MAX_LIST_BYTES = 32 * 1024 * 1024


class ListRefusal(StrEnum):
    """Why a device refuses a downloaded list."""

    MALFORMED = "malformed"  # not a COSE_Sign1 of a CBOR map in the documented shape, or too large
    WRONG_TYPE = "wrong_type"  # the protected content type names another kind of list (or none)
    UNSUPPORTED_ALG = "unsupported_alg"  # no protected alg, or not EdDSA (-8)
    UNKNOWN_KEY = "unknown_key"  # the kid is not the list-signing key's
    BAD_SIGNATURE = "bad_signature"  # the signature does not verify with the list-signing key
    OLDER_VERSION = "older_version"  # its version is lower than that of the list already held


class ListRefusedError(ValidationError):
    """A downloaded list was refused; ``reason`` says why. The list already held stays in force."""

    code = "list_refused"

    def __init__(self, reason: ListRefusal, detail: str) -> None:
        super().__init__(detail, reason=reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TrustList:
    """The card keys a device trusts, as of ``version``."""

    version: int
    issued_at: int
    keys: tuple[TrustedKey, ...]


@dataclass(frozen=True, slots=True)
class RevocationList:
    """The card ids a device refuses, as of ``version``."""

    version: int
    issued_at: int
    revoked: frozenset[str] = field(default_factory=frozenset)


def _check_header(version: object, issued_at: object) -> None:
    for name, value in (("version", version), ("issued_at", issued_at)):
        if type(value) is not int or value < 0:
            raise ValidationError(f"{name} must be a non-negative integer", field=name)


def _sign(payload: Mapping[str, object], content_type: str, signer: CredentialSigner) -> bytes:
    return cose.encode_sign1(
        cbor2.dumps(payload),
        signer.sign,
        alg=cose.ALG_EDDSA,
        kid=signer.key_id,
        protected={cose.HEADER_CONTENT_TYPE: content_type},
    )


def encode_trust_list(trust_list: TrustList, signer: CredentialSigner) -> bytes:
    """The signed trust list. Raises :class:`ValidationError` for a bad entry or a key id given twice."""
    _check_header(trust_list.version, trust_list.issued_at)
    entries: list[list[object]] = []
    for key in trust_list.keys:
        load_public_key(key.public_key)
        if not isinstance(key.key_id, bytes) or not key.key_id:
            raise ValidationError("a key id is a non-empty byte string", field="keys.key_id")
        if key.not_after is not None and (type(key.not_after) is not int or key.not_after < 0):
            raise ValidationError("not_after is Unix seconds or None", field="keys.not_after")
        entries.append([key.key_id, key.public_key, key.not_after])
    if len({entry[0] for entry in entries}) != len(entries):
        raise ValidationError("a key id appears twice", field="keys.key_id")
    payload = {"version": trust_list.version, "issued_at": trust_list.issued_at, "keys": entries}
    return _sign(payload, TRUST_LIST_TYPE, signer)


def encode_revocation_list(revocations: RevocationList, signer: CredentialSigner) -> bytes:
    """The signed revocation list, card ids sorted. Raises :class:`ValidationError` for an empty card id."""
    _check_header(revocations.version, revocations.issued_at)
    if not all(isinstance(card_id, str) and card_id for card_id in revocations.revoked):
        raise ValidationError("a revoked card id is a non-empty text string", field="revoked")
    payload = {
        "version": revocations.version,
        "issued_at": revocations.issued_at,
        "revoked": sorted(revocations.revoked),
    }
    return _sign(payload, REVOCATION_LIST_TYPE, signer)


_REASONS = {
    Refusal.ALG_NOT_PROTECTED: ListRefusal.UNSUPPORTED_ALG,
    Refusal.UNSUPPORTED_ALG: ListRefusal.UNSUPPORTED_ALG,
    Refusal.BAD_SIGNATURE: ListRefusal.BAD_SIGNATURE,
}


def _open(data: bytes, list_key: bytes, content_type: str, held_version: int | None) -> Mapping[object, object]:
    """Check a signed list and return its payload map; raises :class:`ListRefusedError`."""
    public_key = load_public_key(list_key)
    if len(data) > MAX_LIST_BYTES:
        raise ListRefusedError(ListRefusal.MALFORMED, f"larger than {MAX_LIST_BYTES} bytes")
    try:
        message = cose.decode_sign1(data)
        if message.alg is not None and message.alg != cose.ALG_EDDSA:
            raise CredentialRefusedError(Refusal.UNSUPPORTED_ALG, f"alg {message.alg!r} is not EdDSA (-8)")
        if message.kid is not None and message.kid != key_id_for(list_key):
            raise ListRefusedError(ListRefusal.UNKNOWN_KEY, "signed by another key than the list-signing key")
        cose.verify_sign1(message, public_key)
        if message.protected_header.get(cose.HEADER_CONTENT_TYPE) != content_type:
            raise ListRefusedError(ListRefusal.WRONG_TYPE, f"not a {content_type} document")
        payload = cose.decode_cbor(message.payload)
    except CredentialRefusedError as exc:
        raise ListRefusedError(_REASONS.get(exc.reason, ListRefusal.MALFORMED), exc.detail) from None
    if not isinstance(payload, Mapping):
        raise ListRefusedError(ListRefusal.MALFORMED, "the payload is not a map")
    version, issued_at = payload.get("version"), payload.get("issued_at")
    if type(version) is not int or type(issued_at) is not int or version < 0 or issued_at < 0:
        raise ListRefusedError(ListRefusal.MALFORMED, "version and issued_at must be non-negative integers")
    if held_version is not None and version < held_version:
        raise ListRefusedError(ListRefusal.OLDER_VERSION, f"version {version} is older than {held_version}")
    return payload


def read_trust_list(data: bytes, list_key: bytes, *, held_version: int | None = None) -> TrustList:
    """The trust list in ``data`` if the list-signing key ``list_key`` (32 raw bytes) signed it.

    ``held_version`` is the version of the list the device holds: an older one is refused, the same one is
    accepted (a repeated download). Raises :class:`ListRefusedError`.
    """
    payload = _open(data, list_key, TRUST_LIST_TYPE, held_version)
    entries = payload.get("keys")
    if not isinstance(entries, list | tuple):
        raise ListRefusedError(ListRefusal.MALFORMED, "keys is not an array")
    keys: list[TrustedKey] = []
    for entry in entries:
        if not isinstance(entry, list | tuple) or len(entry) not in (2, 3):
            raise ListRefusedError(ListRefusal.MALFORMED, "a key entry is not [kid, public key, not_after]")
        key_id, public_key, not_after = (*entry, None) if len(entry) == 2 else entry
        if type(key_id) is not bytes or not key_id or type(public_key) is not bytes or len(public_key) != 32:
            raise ListRefusedError(ListRefusal.MALFORMED, "a key entry has a bad kid or public key")
        if not_after is not None and (type(not_after) is not int or not_after < 0):
            raise ListRefusedError(ListRefusal.MALFORMED, "a key entry has a bad not_after")
        keys.append(TrustedKey(key_id, public_key, not_after))
    if len({key.key_id for key in keys}) != len(keys):
        raise ListRefusedError(ListRefusal.MALFORMED, "a key id appears twice")
    return TrustList(payload["version"], payload["issued_at"], tuple(keys))  # type: ignore[arg-type]  # checked


def read_revocation_list(data: bytes, list_key: bytes, *, held_version: int | None = None) -> RevocationList:
    """The revocation list in ``data`` if ``list_key`` signed it; as :func:`read_trust_list` otherwise."""
    payload = _open(data, list_key, REVOCATION_LIST_TYPE, held_version)
    revoked = payload.get("revoked")
    if not isinstance(revoked, list | tuple) or not all(isinstance(i, str) and i for i in revoked):
        raise ListRefusedError(ListRefusal.MALFORMED, "revoked is not an array of card ids")
    return RevocationList(payload["version"], payload["issued_at"], frozenset(revoked))  # type: ignore[arg-type]
