"""Card credentials: what a card's signed QR code says, and why a verifier refuses one.

A card carries a MOSIP Claim 169 credential: a CBOR Web Token whose claim 169 is a map of identity fields keyed by
small integers (:data:`CLAIM169_FIELDS`). canasta's cards carry only the card id, the full name and the date of
birth (:data:`DEFAULT_CARD_FIELDS`), which is what a distribution point needs to recognise the holder; a deployment
may add other fields of the table, never a prohibited category (:func:`card_fields`).

This module is pure: it turns claims into plain maps of integers, strings and bytes and back, and decides the
time window. CBOR, COSE, zlib, Base45 and signatures live in ``canasta.adapters.crypto``. Refusals are values of
:class:`Refusal`; a verifier returns them in a :class:`Verification` rather than raising.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple, Protocol

from canasta.domain.errors import ValidationError
from canasta.domain.privacy import refuse_prohibited

__all__ = [
    "CLAIM169_FIELDS",
    "DEFAULT_CARD_FIELDS",
    "Biometric",
    "CardClaims",
    "ClaimField",
    "ClaimKind",
    "ClaimValue",
    "Credential",
    "CredentialRefusedError",
    "CredentialSigner",
    "Refusal",
    "TrustedKey",
    "Verification",
    "card_fields",
    "claims_as_json",
    "credential_from_map",
    "credential_from_values",
    "credential_to_map",
    "time_refusal",
]


class ClaimKind(StrEnum):
    """The CBOR type of a Claim 169 field's value."""

    TEXT = "text"  # a text string
    INTEGER = "integer"  # an integer from a small enumeration (gender, marital status, photo format)
    BYTES = "bytes"  # a byte string (the photograph)
    INTEGER_LIST = "integer_list"  # an array of integers 0-10 (best quality fingers)
    BIOMETRICS = "biometrics"  # an array of biometric maps {0: data, 1: format, 2: sub format, 3: issuer}


@dataclass(frozen=True, slots=True)
class ClaimField:
    """One row of the Claim 169 key table. ``allowed`` bounds an integer (or each integer of a list)."""

    key: int
    name: str
    kind: ClaimKind
    allowed: range | None = None


_T, _I, _B, _L, _BIO = ClaimKind.TEXT, ClaimKind.INTEGER, ClaimKind.BYTES, ClaimKind.INTEGER_LIST, ClaimKind.BIOMETRICS

#: The Claim 169 key table (MOSIP Claim 169 v1.0: demographics 1-23, biometrics 50-65). Names are the
#: specification's camelCase JSON names. The enumerations' ranges are the ones the specification defines; the
#: independent decoder silently drops a value outside them, so canasta never issues one.
CLAIM169_FIELDS: tuple[ClaimField, ...] = (
    ClaimField(1, "id", _T),
    ClaimField(2, "version", _T),
    ClaimField(3, "language", _T),
    ClaimField(4, "fullName", _T),
    ClaimField(5, "firstName", _T),
    ClaimField(6, "middleName", _T),
    ClaimField(7, "lastName", _T),
    ClaimField(8, "dateOfBirth", _T),
    ClaimField(9, "gender", _I, range(1, 4)),  # 1 male, 2 female, 3 other
    ClaimField(10, "address", _T),
    ClaimField(11, "email", _T),
    ClaimField(12, "phone", _T),
    ClaimField(13, "nationality", _T),
    ClaimField(14, "maritalStatus", _I, range(1, 4)),  # 1 unmarried, 2 married, 3 divorced
    ClaimField(15, "guardian", _T),
    ClaimField(16, "photo", _B),
    ClaimField(17, "photoFormat", _I, range(1, 5)),  # 1 JPEG, 2 JPEG 2000, 3 AVIF, 4 WebP
    ClaimField(18, "bestQualityFingers", _L, range(0, 11)),  # 0 unknown, 1-5 right thumb..little, 6-10 left
    ClaimField(19, "secondaryFullName", _T),
    ClaimField(20, "secondaryLanguage", _T),
    ClaimField(21, "locationCode", _T),
    ClaimField(22, "legalStatus", _T),
    ClaimField(23, "countryOfIssuance", _T),
    ClaimField(50, "rightThumb", _BIO),
    ClaimField(51, "rightPointerFinger", _BIO),
    ClaimField(52, "rightMiddleFinger", _BIO),
    ClaimField(53, "rightRingFinger", _BIO),
    ClaimField(54, "rightLittleFinger", _BIO),
    ClaimField(55, "leftThumb", _BIO),
    ClaimField(56, "leftPointerFinger", _BIO),
    ClaimField(57, "leftMiddleFinger", _BIO),
    ClaimField(58, "leftRingFinger", _BIO),
    ClaimField(59, "leftLittleFinger", _BIO),
    ClaimField(60, "rightIris", _BIO),
    ClaimField(61, "leftIris", _BIO),
    ClaimField(62, "face", _BIO),
    ClaimField(63, "rightPalm", _BIO),
    ClaimField(64, "leftPalm", _BIO),
    ClaimField(65, "voice", _BIO),
)
_BY_KEY: dict[int, ClaimField] = {f.key: f for f in CLAIM169_FIELDS}
_BY_NAME: dict[str, ClaimField] = {f.name: f for f in CLAIM169_FIELDS}
_CARD_ID, _FULL_NAME, _DATE_OF_BIRTH = 1, 4, 8
_OWN_ATTRIBUTES = frozenset({"id", "fullName", "dateOfBirth"})

#: What a canasta card carries unless a deployment adds fields: enough to recognise the holder, nothing else.
DEFAULT_CARD_FIELDS: tuple[str, ...] = ("id", "fullName", "dateOfBirth")

# CWT claim keys (RFC 8392) and claim 169.
_ISS, _SUB, _EXP, _NBF, _IAT, _CLAIM169 = 1, 2, 4, 5, 6, 169
_BIOMETRIC_FORMATS = range(0, 4)  # 0 image, 1 template, 2 sound, 3 bio hash
_INT64 = range(-(2**63), 2**63)
_YYYYMMDD = re.compile(r"\d{8}")


@dataclass(frozen=True, slots=True)
class Biometric:
    """One biometric sample of a Claim 169 biometrics field (keys 0-3 of its map; other keys are ignored)."""

    data: bytes
    format: int | None = None
    sub_format: int | None = None
    issuer: str | None = None


#: A Claim 169 field value: text, an integer, bytes, a tuple of integers, or a tuple of biometric samples.
ClaimValue = str | int | bytes | tuple[int, ...] | tuple[Biometric, ...]


@dataclass(frozen=True, slots=True)
class CardClaims:
    """The Claim 169 map of a card.

    ``card_id`` (key 1) is required: revocation and redemption name the card by it. ``date_of_birth`` (key 8) is
    ``YYYYMMDD`` when canasta issues it; a decoded one is kept as written. ``extra`` holds other fields of
    :data:`CLAIM169_FIELDS` by name; ``unknown`` holds keys outside the table as decoded, for forward
    compatibility (a decoder keeps them, the encoder refuses them).
    """

    card_id: str
    full_name: str | None = None
    date_of_birth: str | None = None
    extra: Mapping[str, ClaimValue] = field(default_factory=dict)
    unknown: Mapping[int, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Credential:
    """A card credential: the CWT claims around claim 169. Times are Unix seconds (UTC)."""

    issuer: str
    issued_at: int
    expires_at: int
    claims: CardClaims
    not_before: int | None = None
    subject: str | None = None


class Refusal(StrEnum):
    """Why a verifier refuses a card: exactly one reason, the first rule broken in the order listed here."""

    MALFORMED_BASE45 = "malformed_base45"  # a character outside the alphabet, a length of 3n+1, a triple > 65535
    MALFORMED_ZLIB = "malformed_zlib"  # not one complete zlib stream, or it inflates beyond the size bound
    MALFORMED_CBOR = "malformed_cbor"  # not exactly one well-formed CBOR item (within the depth bound, no odd tags)
    MALFORMED_COSE = "malformed_cose"  # CBOR, but not a COSE_Sign1 (tag 18, four members of the right types)
    ENCRYPTED = "encrypted"  # a COSE_Encrypt0 (tag 16): cards are signed, never encrypted; no decryption key held
    ALG_NOT_PROTECTED = "alg_not_protected"  # no algorithm in the protected header (an unprotected one is ignored)
    UNSUPPORTED_ALG = "unsupported_alg"  # the protected algorithm is not EdDSA (-8) with Ed25519
    UNKNOWN_KEY = "unknown_key"  # no key id, or a key id that is not in the trust list
    BAD_SIGNATURE = "bad_signature"  # the Ed25519 signature does not verify over the Sig_structure
    MALFORMED_CWT = "malformed_cwt"  # the signed payload is not a CWT claims map with iss, iat and exp
    MALFORMED_CLAIM169 = "malformed_claim169"  # claim 169 missing, not a map, a field of the wrong type, no card id
    RETIRED_KEY = "retired_key"  # the card says it was issued after its key's not_after in the trust list
    NOT_YET_VALID = "not_yet_valid"  # the clock is before the card's nbf
    EXPIRED = "expired"  # the clock is at or after the card's exp
    REVOKED = "revoked"  # the card id is on the revocation list


class CredentialRefusedError(ValidationError):
    """A credential broke a rule of its format; ``reason`` says which. Verifiers turn it into a refusal."""

    code = "credential_refused"

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(detail, reason=reason.value)
        self.reason = reason


class Verification(NamedTuple):
    """A verifier's answer: valid with the credential, or refused with one reason (``detail`` explains it).

    ``key_id`` is the kid the card named, when it got that far. ``detail`` never contains the claims. A named tuple
    rather than a frozen dataclass: a verifier makes one per scan, and a frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field) costs several times as much.
    """

    refusal: Refusal | None
    credential: Credential | None = None
    key_id: bytes | None = None
    detail: str = ""

    @property
    def is_valid(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key a distribution point trusts for cards.

    ``not_after`` (Unix seconds) retires the key: a card claiming to be issued after it is refused, while cards
    issued before stay valid. None means no limit.
    """

    key_id: bytes
    public_key: bytes
    not_after: int | None = None


class CredentialSigner(Protocol):
    """Signs credentials with one key, named by ``key_id`` in every credential it signs."""

    @property
    def key_id(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


# A verifier makes a Credential and its CardClaims for every card it reads. A frozen dataclass's generated __init__
# sets each field through object.__setattr__, several times what a plain attribute store costs. So the functions
# below fill a draft, a plain class with the same slots (hence the same memory layout), by plain stores, and then
# make it the frozen class by assigning __class__, which Python allows between classes of the same layout (and
# refuses with TypeError otherwise, so a field added to one class and not the other fails on the first card read).
# They are for values a decoder has already checked. The objects are the same either way (the tests compare them
# with ones made by the constructors), and the classes stay frozen to everyone else.


class _ClaimsDraft:
    __slots__ = ("card_id", "date_of_birth", "extra", "full_name", "unknown")
    card_id: str
    full_name: str | None
    date_of_birth: str | None
    extra: Mapping[str, ClaimValue]
    unknown: Mapping[int, object]


class _CredentialDraft:
    __slots__ = ("claims", "expires_at", "issued_at", "issuer", "not_before", "subject")
    issuer: str
    issued_at: int
    expires_at: int
    claims: CardClaims
    not_before: int | None
    subject: str | None


def _new_claims(
    card_id: str,
    full_name: str | None,
    date_of_birth: str | None,
    extra: Mapping[str, ClaimValue],
    unknown: Mapping[int, object],
) -> CardClaims:
    claims = _ClaimsDraft()
    claims.card_id = card_id
    claims.full_name = full_name
    claims.date_of_birth = date_of_birth
    claims.extra = extra
    claims.unknown = unknown
    claims.__class__ = CardClaims  # type: ignore[assignment]  # same slots: see above
    return claims  # type: ignore[return-value]  # it is a CardClaims now


def _new_credential(
    issuer: str, issued_at: int, expires_at: int, claims: CardClaims, not_before: int | None, subject: str | None
) -> Credential:
    credential = _CredentialDraft()
    credential.issuer = issuer
    credential.issued_at = issued_at
    credential.expires_at = expires_at
    credential.claims = claims
    credential.not_before = not_before
    credential.subject = subject
    credential.__class__ = Credential  # type: ignore[assignment]  # same slots: see above
    return credential  # type: ignore[return-value]  # it is a Credential now


def credential_from_values(
    issuer: str, issued_at: int, expires_at: int, card_id: str, full_name: str | None, date_of_birth: str | None
) -> Credential:
    """The credential :func:`credential_from_map` reads from ``{1: issuer, 4: expires_at, 6: issued_at, 169: {1:
    card_id, 4: full_name, 8: date_of_birth}}`` (a None leaves that field out), with no other claim.

    For a decoder that reads canasta's own layout and has checked the types itself (text strings, integer times, a
    non-empty card id): this function checks nothing, and refuses nothing.
    """
    return _new_credential(
        issuer, issued_at, expires_at, _new_claims(card_id, full_name, date_of_birth, {}, {}), None, None
    )


def card_fields(extra_names: Iterable[str] = ()) -> tuple[str, ...]:
    """Return the field names a deployment's cards carry: the defaults plus ``extra_names``.

    Raises :class:`~canasta.domain.errors.ProhibitedCategoryError` for a name of a prohibited category (checked
    first, so the error names the category) and :class:`ValidationError` for a name outside the Claim 169 table.
    """
    names = list(extra_names)
    refuse_prohibited(names, where="card claim")
    for name in names:
        if name not in _BY_NAME:
            raise ValidationError(f"{name!r} is not a Claim 169 field", field=name, code="unknown_card_claim")
    return DEFAULT_CARD_FIELDS + tuple(name for name in names if name not in DEFAULT_CARD_FIELDS)


def credential_to_map(credential: Credential) -> dict[int, object]:
    """The CWT claims map ``{1: iss, [5: nbf,] 4: exp, 6: iat, 169: {...}}`` with ascending keys.

    Raises :class:`ValidationError` (naming the field) for a claim canasta would not issue: an empty card id or
    name, a date of birth that is not a real ``YYYYMMDD`` date, an extra field outside the table, of the wrong
    type or out of its range, a prohibited category, or an unknown key.
    """
    _require_text(credential.issuer, "iss", empty=False)
    times = {"iat": credential.issued_at, "exp": credential.expires_at, "nbf": credential.not_before}
    for name, value in times.items():
        if value is not None and (type(value) is not int or value < 0):
            raise ValidationError(f"{name} must be a non-negative integer (Unix seconds)", field=name)
    if credential.expires_at <= credential.issued_at:
        raise ValidationError("exp must be later than iat", field="exp")
    cwt: dict[int, object] = {_ISS: credential.issuer}
    if credential.subject is not None:
        cwt[_SUB] = _require_text(credential.subject, "sub", empty=False)
    cwt[_EXP] = credential.expires_at
    if credential.not_before is not None:
        cwt[_NBF] = credential.not_before
    cwt[_IAT] = credential.issued_at
    cwt[_CLAIM169] = _claims_to_map(credential.claims)
    return cwt


def _claims_to_map(claims: CardClaims) -> dict[int, object]:
    if claims.unknown:
        raise ValidationError("canasta issues only fields of the Claim 169 table", field="unknown")
    refuse_prohibited(claims.extra, where="card claim")
    values: dict[int, object] = {_CARD_ID: _require_text(claims.card_id, "id", empty=False)}
    if claims.full_name is not None:
        values[_FULL_NAME] = _require_text(claims.full_name, "fullName", empty=False)
    if claims.date_of_birth is not None:
        values[_DATE_OF_BIRTH] = _require_date(claims.date_of_birth)
    for name, value in claims.extra.items():
        spec = _BY_NAME.get(name)
        if spec is None:
            raise ValidationError(f"{name!r} is not a Claim 169 field", field=name, code="unknown_card_claim")
        if name in _OWN_ATTRIBUTES:
            raise ValidationError(f"{name!r} has its own attribute; do not repeat it in extra", field=name)
        values[spec.key] = _encode_value(spec, value)
    return dict(sorted(values.items()))


def _require_text(value: object, name: str, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise ValidationError(f"{name} must be {'a' if empty else 'a non-empty'} text string", field=name)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(f"{name} is not valid Unicode text", field=name) from exc
    return value


def _require_date(value: object) -> str:
    # The independent decoder refuses anything but a real calendar date, so a year alone cannot be issued.
    if not isinstance(value, str) or not _YYYYMMDD.fullmatch(value):
        raise ValidationError("dateOfBirth must be YYYYMMDD", field="dateOfBirth")
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as exc:
        raise ValidationError(f"dateOfBirth {value!r} is not a calendar date", field="dateOfBirth") from exc
    return value


def _require_int(value: object, name: str, allowed: range) -> int:
    if type(value) is not int or value not in allowed:
        raise ValidationError(f"{name} must be an integer in {allowed.start}..{allowed.stop - 1}", field=name)
    return value


def _encode_value(spec: ClaimField, value: object) -> object:
    name, kind = spec.name, spec.kind
    if kind is ClaimKind.TEXT:
        return _require_text(value, name)
    if kind is ClaimKind.INTEGER:
        return _require_int(value, name, spec.allowed or _INT64)
    if kind is ClaimKind.BYTES:
        if not isinstance(value, bytes):
            raise ValidationError(f"{name} must be bytes", field=name)
        return value
    if not isinstance(value, tuple | list) or not value:
        raise ValidationError(f"{name} must be a non-empty tuple", field=name)
    if kind is ClaimKind.INTEGER_LIST:
        return [_require_int(item, name, spec.allowed or _INT64) for item in value]
    return [_encode_biometric(item, name) for item in value]


def _encode_biometric(sample: object, name: str) -> dict[int, object]:
    if not isinstance(sample, Biometric) or not isinstance(sample.data, bytes):
        raise ValidationError(f"{name} must hold Biometric samples with bytes data", field=name)
    encoded: dict[int, object] = {0: sample.data}
    if sample.format is not None:
        encoded[1] = _require_int(sample.format, f"{name}.format", _BIOMETRIC_FORMATS)
    if sample.sub_format is not None:
        encoded[2] = _require_int(sample.sub_format, f"{name}.subFormat", range(0, 2**31))
    if sample.issuer is not None:
        encoded[3] = _require_text(sample.issuer, f"{name}.issuer")
    return encoded


def credential_from_map(cwt: object) -> Credential:
    """Read a decoded CWT claims map (as a CBOR decoder returns it) into a :class:`Credential`.

    Lenient where it costs nothing (other CWT claims are ignored, a float time is truncated, unknown claim 169
    keys are kept); raises :class:`CredentialRefusedError` with ``MALFORMED_CWT`` or ``MALFORMED_CLAIM169``.
    """
    if type(cwt) is not dict and not isinstance(cwt, Mapping):
        raise CredentialRefusedError(Refusal.MALFORMED_CWT, "the payload is not a CWT claims map")
    issuer = cwt.get(_ISS)
    if type(issuer) is not str:
        raise CredentialRefusedError(Refusal.MALFORMED_CWT, "iss (1) is missing or not a text string")
    subject = cwt.get(_SUB)
    if subject is not None and type(subject) is not str:
        raise CredentialRefusedError(Refusal.MALFORMED_CWT, "sub (2) is not a text string")
    # Integer times are the rule; the helper is only called for anything else.
    expires_at = cwt.get(_EXP)
    if type(expires_at) is not int:
        expires_at = _numeric_date(expires_at, "exp (4)")
    issued_at = cwt.get(_IAT)
    if type(issued_at) is not int:
        issued_at = _numeric_date(issued_at, "iat (6)")
    not_before = cwt.get(_NBF)
    if not_before is not None and type(not_before) is not int:
        not_before = _numeric_date(not_before, "nbf (5)")
    claims = cwt.get(_CLAIM169)
    if claims is None:
        raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, "claim 169 is missing")
    return _new_credential(issuer, issued_at, expires_at, _claims_from_map(claims), not_before, subject)


def _numeric_date(value: object, name: str) -> int:
    # RFC 8392 allows a fractional NumericDate; anything else (or NaN, infinity) is malformed.
    if type(value) is float and value == value and abs(value) < 2.0**63:
        return int(value)
    raise CredentialRefusedError(Refusal.MALFORMED_CWT, f"{name} is missing or not a NumericDate")


def _claims_from_map(claims: object) -> CardClaims:
    if type(claims) is not dict and not isinstance(claims, Mapping):
        raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, "claim 169 is not a map")
    card_id: object = None
    full_name: object = None
    date_of_birth: object = None
    extra: dict[str, ClaimValue] = {}
    unknown: dict[int, object] = {}
    for key, value in claims.items():
        if type(key) is not int:
            raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, "a claim 169 key is not an integer")
        if key == _CARD_ID:
            card_id = value
        elif key == _FULL_NAME:
            full_name = value
        elif key == _DATE_OF_BIRTH:
            date_of_birth = value
        elif (spec := _BY_KEY.get(key)) is None:
            unknown[key] = value
        else:
            extra[spec.name] = _decode_value(spec, value)
    if not isinstance(card_id, str) or not card_id:
        raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, "the card id (key 1) is missing or not text")
    if full_name is not None and not isinstance(full_name, str):
        raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, "fullName (key 4) is not text")
    if date_of_birth is not None and not isinstance(date_of_birth, str):
        raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, "dateOfBirth (key 8) is not text")
    return _new_claims(card_id, full_name, date_of_birth, extra, unknown)


def _decode_value(spec: ClaimField, value: object) -> ClaimValue:
    kind = spec.kind
    if kind is ClaimKind.TEXT and isinstance(value, str):
        return value
    if kind is ClaimKind.INTEGER and type(value) is int:
        return value
    if kind is ClaimKind.BYTES and isinstance(value, bytes):
        return value
    if kind is ClaimKind.INTEGER_LIST and isinstance(value, list | tuple) and all(type(i) is int for i in value):
        return tuple(value)
    if kind is ClaimKind.BIOMETRICS and isinstance(value, list | tuple):
        return tuple(_decode_biometric(sample, spec) for sample in value)
    raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, f"{spec.name} (key {spec.key}) is not {kind.value}")


def _decode_biometric(sample: object, spec: ClaimField) -> Biometric:
    if isinstance(sample, Mapping):
        data, format_, sub_format, issuer = sample.get(0), sample.get(1), sample.get(2), sample.get(3)
        if (
            isinstance(data, bytes)
            and (format_ is None or type(format_) is int)
            and (sub_format is None or type(sub_format) is int)
            and (issuer is None or isinstance(issuer, str))
        ):
            return Biometric(data, format_, sub_format, issuer)
    raise CredentialRefusedError(Refusal.MALFORMED_CLAIM169, f"a {spec.name} (key {spec.key}) sample is malformed")


def time_refusal(credential: Credential, now: int) -> Refusal | None:
    """The time rule ``credential`` breaks at ``now`` (Unix seconds), or None.

    RFC 8392: a token is not valid before ``nbf`` and not valid on or after ``exp``.
    """
    if credential.not_before is not None and now < credential.not_before:
        return Refusal.NOT_YET_VALID
    if now >= credential.expires_at:
        return Refusal.EXPIRED
    return None


def claims_as_json(claims: CardClaims) -> dict[str, object]:
    """The claims as JSON-ready data with the specification's camelCase names; bytes become base64 text."""

    def plain(value: object) -> object:
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, Biometric):
            sample = {"data": plain(value.data), "format": value.format, "subFormat": value.sub_format}
            return {k: v for k, v in (*sample.items(), ("issuer", value.issuer)) if v is not None}
        if isinstance(value, tuple | list):
            return [plain(item) for item in value]
        return value

    result: dict[str, object] = {"id": claims.card_id}
    if claims.full_name is not None:
        result["fullName"] = claims.full_name
    if claims.date_of_birth is not None:
        result["dateOfBirth"] = claims.date_of_birth
    result.update((name, plain(value)) for name, value in claims.extra.items())
    return result
