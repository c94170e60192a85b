"""Signed trust lists and revocation lists: what a device accepts, and every reason it refuses one."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from canasta.adapters.crypto import cose
from canasta.adapters.crypto.claim169 import CardVerifier, encode_credential
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.adapters.crypto.trust import (
    REVOCATION_LIST_TYPE,
    TRUST_LIST_TYPE,
    ListRefusal,
    ListRefusedError,
    RevocationList,
    TrustList,
    encode_revocation_list,
    encode_trust_list,
    read_revocation_list,
    read_trust_list,
)
from canasta.domain.credentials import CardClaims, Credential, Refusal, TrustedKey
from canasta.domain.errors import ValidationError

LIST_SIGNER = Ed25519Signer.from_private_bytes(bytes(range(100, 132)))
CARD_KEY = Ed25519Signer.from_private_bytes(bytes(range(32)))
OLD_CARD_KEY = Ed25519Signer.from_private_bytes(bytes(range(50, 82)))
TRUST = TrustList(
    version=7,
    issued_at=1_770_000_000,
    keys=(CARD_KEY.trusted_key(), OLD_CARD_KEY.trusted_key(not_after=1_760_000_000)),
)
REVOKED = RevocationList(version=3, issued_at=1_770_000_100, revoked=frozenset({"K-2", "K-1"}))


def test_a_trust_list_round_trips() -> None:
    assert read_trust_list(encode_trust_list(TRUST, LIST_SIGNER), LIST_SIGNER.public_key) == TRUST


def test_a_revocation_list_round_trips() -> None:
    assert read_revocation_list(encode_revocation_list(REVOKED, LIST_SIGNER), LIST_SIGNER.public_key) == REVOKED


def test_the_documents_have_the_documented_shape() -> None:
    trust = cbor2.loads(encode_trust_list(TRUST, LIST_SIGNER))
    protected, unprotected, payload, _ = trust.value
    assert trust.tag == 18
    assert cbor2.loads(protected) == {1: -8, 3: TRUST_LIST_TYPE}
    assert dict(unprotected) == {4: LIST_SIGNER.key_id}
    assert cbor2.loads(payload) == {
        "version": 7,
        "issued_at": 1_770_000_000,
        "keys": [
            [CARD_KEY.key_id, CARD_KEY.public_key, None],
            [OLD_CARD_KEY.key_id, OLD_CARD_KEY.public_key, 1_760_000_000],
        ],
    }
    revocations = cbor2.loads(encode_revocation_list(REVOKED, LIST_SIGNER))
    assert cbor2.loads(revocations.value[0]) == {1: -8, 3: REVOCATION_LIST_TYPE}
    assert cbor2.loads(revocations.value[2]) == {"version": 3, "issued_at": 1_770_000_100, "revoked": ["K-1", "K-2"]}


def test_a_verifier_built_from_downloaded_lists_applies_both() -> None:
    trust = read_trust_list(encode_trust_list(TRUST, LIST_SIGNER), LIST_SIGNER.public_key)
    revoked = read_revocation_list(encode_revocation_list(REVOKED, LIST_SIGNER), LIST_SIGNER.public_key)
    verifier = CardVerifier(trust.keys, revoked.revoked)
    now = datetime(2026, 3, 1, tzinfo=UTC)

    def issue(card_id: str, signer: Ed25519Signer, issued_at: int) -> str:
        credential = Credential("https://canasta.example", issued_at, issued_at + 10**8, CardClaims(card_id))
        return encode_credential(credential, signer)

    assert verifier.verify(issue("K-9", CARD_KEY, 1_765_000_000), now=now).is_valid
    assert verifier.verify(issue("K-1", CARD_KEY, 1_765_000_000), now=now).refusal is Refusal.REVOKED
    assert verifier.verify(issue("K-9", OLD_CARD_KEY, 1_750_000_000), now=now).is_valid
    assert verifier.verify(issue("K-9", OLD_CARD_KEY, 1_765_000_000), now=now).refusal is Refusal.RETIRED_KEY


def test_an_older_version_than_the_one_held_is_refused() -> None:
    document = encode_trust_list(TRUST, LIST_SIGNER)
    with pytest.raises(ListRefusedError, match="version 7 is older than 8") as refused:
        read_trust_list(document, LIST_SIGNER.public_key, held_version=8)
    assert refused.value.reason is ListRefusal.OLDER_VERSION


def test_the_same_version_as_the_one_held_is_accepted() -> None:
    document = encode_revocation_list(REVOKED, LIST_SIGNER)
    assert read_revocation_list(document, LIST_SIGNER.public_key, held_version=3).version == 3


def test_a_list_signed_by_a_card_key_is_refused() -> None:
    with pytest.raises(ListRefusedError) as refused:
        read_trust_list(encode_trust_list(TRUST, CARD_KEY), LIST_SIGNER.public_key)
    assert refused.value.reason is ListRefusal.UNKNOWN_KEY


def test_a_list_with_another_signature_under_the_list_kid_is_refused() -> None:
    impostor = Ed25519Signer(Ed25519PrivateKey.generate(), key_id=LIST_SIGNER.key_id)
    with pytest.raises(ListRefusedError) as refused:
        read_trust_list(encode_trust_list(TRUST, impostor), LIST_SIGNER.public_key)
    assert refused.value.reason is ListRefusal.BAD_SIGNATURE


def test_a_changed_list_is_refused() -> None:
    document = encode_revocation_list(REVOKED, LIST_SIGNER)
    with pytest.raises(ListRefusedError) as refused:
        read_revocation_list(document.replace(b"K-1", b"K-7"), LIST_SIGNER.public_key)
    assert refused.value.reason is ListRefusal.BAD_SIGNATURE


def test_a_revocation_list_never_passes_for_a_trust_list() -> None:
    with pytest.raises(ListRefusedError, match="trust-list") as refused:
        read_trust_list(encode_revocation_list(REVOKED, LIST_SIGNER), LIST_SIGNER.public_key)
    assert refused.value.reason is ListRefusal.WRONG_TYPE


def signed_list(payload: object, protected: dict[int, object] | None = None) -> bytes:
    return cose.encode_sign1(
        cbor2.dumps(payload),
        LIST_SIGNER.sign,
        kid=LIST_SIGNER.key_id,
        protected={3: TRUST_LIST_TYPE} if protected is None else protected,
    )


@pytest.mark.parametrize(
    ("document", "reason", "detail"),
    [
        (b"\x00", ListRefusal.MALFORMED, "array of four"),
        (b"", ListRefusal.MALFORMED, "not well-formed CBOR"),
        (signed_list([1, 2]), ListRefusal.MALFORMED, "not a map"),
        (signed_list({"version": -1, "issued_at": 0, "keys": []}), ListRefusal.MALFORMED, "non-negative"),
        (signed_list({"version": 1, "issued_at": 0}), ListRefusal.MALFORMED, "keys is not an array"),
        (signed_list({"version": 1, "issued_at": 0, "keys": [[b"k"]]}), ListRefusal.MALFORMED, "not [kid"),
        (signed_list({"version": 1, "issued_at": 0, "keys": [[b"k", b"short"]]}), ListRefusal.MALFORMED, "public key"),
        (
            signed_list({"version": 1, "issued_at": 0, "keys": [[b"k", bytes(32), "never"]]}),
            ListRefusal.MALFORMED,
            "not_after",
        ),
        (
            signed_list({"version": 1, "issued_at": 0, "keys": [[b"k", bytes(32)], [b"k", bytes(32)]]}),
            ListRefusal.MALFORMED,
            "appears twice",
        ),
        (signed_list({"version": 1, "issued_at": 0, "keys": []}, {}), ListRefusal.WRONG_TYPE, "trust-list"),
        (
            cose.encode_sign1(b"\xa0", LIST_SIGNER.sign, alg=-7, protected={3: TRUST_LIST_TYPE}),
            ListRefusal.UNSUPPORTED_ALG,
            "alg -7",
        ),
        (bytes(40_000_000), ListRefusal.MALFORMED, "larger than"),
    ],
)
def test_a_malformed_trust_list_is_refused_with_its_reason(document: bytes, reason: ListRefusal, detail: str) -> None:
    with pytest.raises(ListRefusedError, match=re.escape(detail)) as refused:
        read_trust_list(document, LIST_SIGNER.public_key)
    assert refused.value.reason is reason


def test_a_trust_list_without_any_key_is_valid_and_trusts_nothing() -> None:
    empty = read_trust_list(signed_list({"version": 1, "issued_at": 0, "keys": []}), LIST_SIGNER.public_key)
    assert empty.keys == ()


def test_a_revocation_list_of_anything_but_card_ids_is_refused() -> None:
    document = signed_list({"version": 1, "issued_at": 0, "revoked": ["K-1", ""]}, {3: REVOCATION_LIST_TYPE})
    with pytest.raises(ListRefusedError, match="array of card ids") as refused:
        read_revocation_list(document, LIST_SIGNER.public_key)
    assert refused.value.reason is ListRefusal.MALFORMED


@pytest.mark.parametrize(
    ("trust_list", "field"),
    [
        (TrustList(-1, 0, ()), "version"),
        (TrustList(1, 0, (TrustedKey(b"", bytes(32)),)), "keys.key_id"),
        (TrustList(1, 0, (TrustedKey(b"k", bytes(31)),)), "public_key"),
        (TrustList(1, 0, (TrustedKey(b"k", CARD_KEY.public_key, -5),)), "keys.not_after"),
        (TrustList(1, 0, (CARD_KEY.trusted_key(), CARD_KEY.trusted_key())), "keys.key_id"),
    ],
)
def test_a_bad_trust_list_is_not_signed(trust_list: TrustList, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        encode_trust_list(trust_list, LIST_SIGNER)
    assert refused.value.field == field


def test_an_empty_card_id_is_never_revoked() -> None:
    with pytest.raises(ValidationError, match="non-empty"):
        encode_revocation_list(RevocationList(1, 0, frozenset({""})), LIST_SIGNER)


def test_the_list_key_must_be_an_ed25519_public_key() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        read_trust_list(encode_trust_list(TRUST, LIST_SIGNER), b"short")
