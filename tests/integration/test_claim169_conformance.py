"""Conformance of the Claim 169 codec with work nobody on this project wrote: the idpass/claim-169 vectors in
``../shared/testdata/claim169`` and the independent ``claim169`` decoder (Rust), with the clock pinned."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cbor2
import claim169
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from canasta.adapters.crypto import base45, cose
from canasta.adapters.crypto.claim169 import CardVerifier, decode_credential, encode_credential
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.domain.credentials import (
    CLAIM169_FIELDS,
    Biometric,
    CardClaims,
    ClaimKind,
    Credential,
    CredentialRefusedError,
    Refusal,
    claims_as_json,
    credential_from_map,
    time_refusal,
)

# The vectors expire in 2026 and 2027: every time check uses this instant, never the wall clock.
PINNED = datetime(2025, 6, 1, tzinfo=UTC)
PINNED_SECONDS = int(PINNED.timestamp())

DECODABLE = [
    "valid/claim169-example",
    "valid/demographics-full",
    "valid/ecdsa-p256-signed",
    "valid/ed25519-signed",
    "valid/minimal",
    "valid/refugee-identity",
    "valid/with-all-biometrics",
    "valid/with-face",
    "valid/with-fingerprints",
    "edge/expired",
    "edge/not-yet-valid",
    "edge/unknown-fields",
]
ENCRYPTED = ["valid/encrypted-aes256", "valid/encrypted-signed"]
# The vectors' error names (from the reference decoder) and the refusal canasta gives for each.
INVALID = {
    "invalid/bad-base45": ("Base45Decode", Refusal.MALFORMED_BASE45),
    # Its bytes do not start with the zlib header 0x78; canasta requires zlib, so it fails there.
    "invalid/bad-zlib": ("Decompress", Refusal.MALFORMED_ZLIB),
    "invalid/missing-169": ("Claim169NotFound", Refusal.MALFORMED_CLAIM169),
    "invalid/not-cose": ("CoseParse", Refusal.MALFORMED_COSE),
}
BINARY_FIELDS = {f.name for f in CLAIM169_FIELDS if f.kind in (ClaimKind.BYTES, ClaimKind.BIOMETRICS)}
# with-face.json's expected JSON gives the face data as "//3+4AAQ" (ff fd fe e0 00 10), but its QR data holds
# ff d8 ff e0 00 10 (a JPEG start), which is also what the independent decoder reads: the JSON is wrong there.
VECTOR_ERRATA = {("valid/with-face", "face", 0, "data"): "//3+4AAQ"}


def vector(shared_testdata: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((shared_testdata / "claim169" / f"{name}.json").read_text())
    return loaded


@pytest.mark.shared_testdata
def test_the_vector_set_is_the_one_these_tests_know(shared_testdata: Path) -> None:
    found = {
        p.relative_to(shared_testdata / "claim169").with_suffix("").as_posix()
        for p in shared_testdata.glob("claim169/*/*.json")
    }
    assert found == {*DECODABLE, *ENCRYPTED, *INVALID}


@pytest.mark.shared_testdata
def test_the_ed25519_vector_is_reproduced_byte_for_byte(shared_testdata: Path) -> None:
    data = vector(shared_testdata, "valid/ed25519-signed")
    signer = Ed25519Signer.from_private_bytes(bytes.fromhex(data["signing_key"]["private_key_hex"]))
    assert signer.public_key.hex() == data["signing_key"]["public_key_hex"]
    meta, expected = data["expected_cwt_meta"], data["expected_claim169"]
    credential = Credential(
        issuer=meta["issuer"],
        issued_at=meta["issuedAt"],
        expires_at=meta["expiresAt"],
        claims=CardClaims(card_id=expected["id"], full_name=expected["fullName"]),
    )
    assert encode_credential(credential, signer, with_key_id=False) == data["qr_data"]


def assert_claims_match(name: str, expected: dict[str, Any], claims: CardClaims) -> None:
    ours = claims_as_json(claims)
    for field, value in expected.items():
        if field in BINARY_FIELDS and isinstance(value, list):
            assert len(ours[field]) == len(value)  # type: ignore[arg-type]
            for index, (want, got) in enumerate(zip(value, ours[field], strict=True)):  # type: ignore[call-overload]
                for key, item in want.items():
                    if (name, field, index, key) in VECTOR_ERRATA:
                        assert item == VECTOR_ERRATA[name, field, index, key]
                        continue
                    assert got[key] == item, (field, index, key)
        else:
            assert ours[field] == value, field
    # The vectors leave out binary fields (photos, biometrics) that their QR data does carry.
    assert set(ours) - set(expected) <= BINARY_FIELDS


def assert_meta_matches(expected: dict[str, Any], credential: Credential) -> None:
    assert {
        "issuer": credential.issuer,
        "subject": credential.subject,
        "expiresAt": credential.expires_at,
        "notBefore": credential.not_before,
        "issuedAt": credential.issued_at,
    } == {key: expected.get(key) for key in ("issuer", "subject", "expiresAt", "notBefore", "issuedAt")}


@pytest.mark.shared_testdata
@pytest.mark.parametrize("name", DECODABLE)
def test_every_decodable_vector_gives_its_expected_claims(shared_testdata: Path, name: str) -> None:
    data = vector(shared_testdata, name)
    decoded = decode_credential(data["qr_data"])
    assert_claims_match(name, data["expected_claim169"], decoded.credential.claims)
    assert_meta_matches(data["expected_cwt_meta"], decoded.credential)


@pytest.mark.shared_testdata
@pytest.mark.parametrize("name", DECODABLE)
def test_every_decodable_vector_reads_as_the_independent_decoder_reads_it(shared_testdata: Path, name: str) -> None:
    data = vector(shared_testdata, name)
    ours = decode_credential(data["qr_data"]).credential.claims
    theirs = claim169.decode_unverified(data["qr_data"], validate_timestamps=False).claim169
    assert_same_claims(ours, theirs)


def assert_same_claims(ours: CardClaims, theirs: Any) -> None:
    """Every field the independent decoder exposes equals ours."""
    their_fields = dict(theirs.to_dict())
    if "bestQualityFingers" in their_fields:  # the reference returns the finger numbers as bytes
        their_fields["bestQualityFingers"] = tuple(their_fields["bestQualityFingers"])
    our_fields: dict[str, object] = {"id": ours.card_id, **dict(ours.extra)}
    our_fields.update({"fullName": ours.full_name, "dateOfBirth": ours.date_of_birth})
    for spec in CLAIM169_FIELDS:
        if spec.kind is ClaimKind.BIOMETRICS:
            samples = getattr(theirs, "_".join(_snake(spec.name)))
            got = [Biometric(s.data, s.format, s.sub_format, s.issuer) for s in samples] if samples else None
            assert got == (list(our_fields[spec.name]) if spec.name in our_fields else None), spec.name  # type: ignore[call-overload]
        elif spec.name in their_fields or our_fields.get(spec.name) is not None:
            assert their_fields.get(spec.name) == our_fields.get(spec.name), spec.name


def _snake(camel: str) -> list[str]:
    words, current = [], ""
    for character in camel:
        if character.isupper():
            words.append(current)
            current = character.lower()
        else:
            current += character
    return [*words, current]


@pytest.mark.shared_testdata
def test_the_edge_vectors_are_refused_for_time_at_the_pinned_clock(shared_testdata: Path) -> None:
    expired = decode_credential(vector(shared_testdata, "edge/expired")["qr_data"]).credential
    future = decode_credential(vector(shared_testdata, "edge/not-yet-valid")["qr_data"]).credential
    valid = decode_credential(vector(shared_testdata, "valid/minimal")["qr_data"]).credential
    assert time_refusal(expired, PINNED_SECONDS) is Refusal.EXPIRED
    assert time_refusal(future, PINNED_SECONDS) is Refusal.NOT_YET_VALID
    assert time_refusal(valid, PINNED_SECONDS) is None


@pytest.mark.shared_testdata
def test_the_unknown_fields_vector_keeps_its_unknown_keys(shared_testdata: Path) -> None:
    claims = decode_credential(vector(shared_testdata, "edge/unknown-fields")["qr_data"]).credential.claims
    assert claims.unknown == {30: "reserved field 30", 45: 12345, 70: b"\x01\x02\x03", 99: True}


@pytest.mark.shared_testdata
@pytest.mark.parametrize("name", sorted(INVALID))
def test_every_invalid_vector_is_refused_at_its_layer(shared_testdata: Path, name: str) -> None:
    data = vector(shared_testdata, name)
    their_error, refusal = INVALID[name]
    assert data["expected_error"] == their_error
    with pytest.raises(CredentialRefusedError) as refused:
        decode_credential(data["qr_data"])
    assert refused.value.reason is refusal
    result = CardVerifier([]).verify(data["qr_data"], now=PINNED)
    # The verifier checks the signature before it reads the claims: without a kid, missing-169 stops there.
    assert result.refusal is (Refusal.UNKNOWN_KEY if refusal is Refusal.MALFORMED_CLAIM169 else refusal)


@pytest.mark.shared_testdata
def test_the_ed25519_vector_signature_verifies_and_the_verifier_wants_a_kid(shared_testdata: Path) -> None:
    data = vector(shared_testdata, "valid/ed25519-signed")
    public_key = bytes.fromhex(data["signing_key"]["public_key_hex"])
    message = decode_credential(data["qr_data"]).message
    cose.verify_sign1(message, Ed25519PublicKey.from_public_bytes(public_key))
    # canasta names the key of every card; a card without a kid cannot be matched to the trust list.
    verifier = CardVerifier([Ed25519Signer.from_private_bytes(bytes(32)).trusted_key()])
    result = verifier.verify(data["qr_data"], now=PINNED)
    assert (result.refusal, result.detail) == (Refusal.UNKNOWN_KEY, "no kid in the header")


@pytest.mark.shared_testdata
def test_the_ecdsa_vector_verifies_at_the_cose_layer_and_the_card_verifier_refuses_its_alg(
    shared_testdata: Path,
) -> None:
    data = vector(shared_testdata, "valid/ecdsa-p256-signed")
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), bytes.fromhex(data["signing_key"]["public_key_hex"])
    )
    message = decode_credential(data["qr_data"]).message
    cose.verify_sign1(message, public_key)
    result = CardVerifier([]).verify(data["qr_data"], now=PINNED)
    assert (result.refusal, result.detail) == (Refusal.UNSUPPORTED_ALG, "alg -7 is not EdDSA (-8)")


@pytest.mark.shared_testdata
@pytest.mark.parametrize("name", ENCRYPTED)
def test_encrypted_vectors_are_refused_and_decrypt_to_their_claims(shared_testdata: Path, name: str) -> None:
    data = vector(shared_testdata, name)
    with pytest.raises(CredentialRefusedError) as refused:
        decode_credential(data["qr_data"])
    assert refused.value.reason is Refusal.ENCRYPTED
    assert CardVerifier([]).verify(data["qr_data"], now=PINNED).refusal is Refusal.ENCRYPTED
    # The layers inside are still canasta's to read once a test holding the key has decrypted them.
    envelope = cbor2.loads(zlib.decompress(base45.decode(data["qr_data"])))
    protected, unprotected, ciphertext = envelope.value
    key = bytes.fromhex(data["encryption_key"]["symmetric_key_hex"])
    structure = cbor2.dumps(["Encrypt0", protected, b""])
    plaintext = AESGCM(key).decrypt(unprotected[5], ciphertext, structure)
    if "signing_key" in data:
        inner = cose.decode_sign1(plaintext)
        signer_key = bytes.fromhex(data["signing_key"]["public_key_hex"])
        cose.verify_sign1(inner, Ed25519PublicKey.from_public_bytes(signer_key))
        plaintext = inner.payload
    credential = credential_from_map(cose.decode_cbor(plaintext))
    assert_claims_match(name, data["expected_claim169"], credential.claims)
    assert_meta_matches(data["expected_cwt_meta"], credential)


# --- every card canasta issues decodes and verifies in the independent decoder ----------------------------------

SIGNER = Ed25519Signer.from_private_bytes(bytes(range(7, 39)))
in_range_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(
    lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"
)
demographics = st.fixed_dictionaries(
    {},
    optional={
        "gender": st.integers(1, 3),
        "maritalStatus": st.integers(1, 3),
        "locationCode": st.text(max_size=12),
        "nationality": st.text(max_size=3),
        "phone": st.text(max_size=15),
        "secondaryFullName": st.text(max_size=30),
        "photo": st.binary(max_size=40),
        "photoFormat": st.integers(1, 4),
        "bestQualityFingers": st.lists(st.integers(0, 10), min_size=1, max_size=4).map(tuple),
        "face": st.lists(
            st.builds(Biometric, st.binary(min_size=1, max_size=20), st.none() | st.integers(0, 3)),
            min_size=1,
            max_size=2,
        ).map(tuple),
    },
)
issued_cards = st.builds(
    lambda card_id, name, dob, extra, issued_at: Credential(
        "https://canasta.example/issuer", issued_at, issued_at + 3 * 365 * 86_400, CardClaims(card_id, name, dob, extra)
    ),
    st.text(min_size=1, max_size=20),
    st.none() | st.text(min_size=1, max_size=60),
    st.none() | in_range_dates,
    demographics,
    st.integers(1_600_000_000, 1_900_000_000),
)


@given(issued_cards)
@settings(max_examples=120, deadline=None)
def test_every_card_canasta_issues_verifies_in_the_independent_decoder(credential: Credential) -> None:
    text = encode_credential(credential, SIGNER)
    result = claim169.decode(text, verify_with_ed25519=SIGNER.public_key, validate_timestamps=False)
    assert result.is_verified()
    assert bytes(result.key_id) == SIGNER.key_id
    assert result.algorithm == "EdDSA"
    meta = result.cwt_meta
    assert (meta.issuer, meta.issued_at, meta.expires_at) == (
        credential.issuer,
        credential.issued_at,
        credential.expires_at,
    )
    assert_same_claims(credential.claims, result.claim169)
