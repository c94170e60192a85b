"""Conformance of the COSE_Sign1 layer with the COSE working group's examples in ``../shared/testdata/cose``:
the sign1 pass and fail cases, the EdDSA and ECDSA examples, and the RFC 8392 CWT examples."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey, Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from canasta.adapters.crypto import cose
from canasta.domain.credentials import CredentialRefusedError, Refusal, credential_from_map

pytestmark = pytest.mark.shared_testdata

# Each COSE_Sign1 example, and what canasta's COSE layer makes of it: None verifies, a reason refuses.
SIGN1_OUTCOMES: dict[str, Refusal | None] = {
    "sign1-tests/sign-pass-01": None,  # alg only in the unprotected header, verified with require_protected_alg off
    "sign1-tests/sign-pass-02": None,  # external AAD
    "sign1-tests/sign-pass-03": None,  # no tag
    "sign1-tests/sign-fail-01": Refusal.MALFORMED_COSE,  # tag 998
    "sign1-tests/sign-fail-02": Refusal.BAD_SIGNATURE,  # payload changed
    "sign1-tests/sign-fail-03": Refusal.UNSUPPORTED_ALG,  # alg -999
    "sign1-tests/sign-fail-04": Refusal.UNSUPPORTED_ALG,  # alg "unknown"
    "sign1-tests/sign-fail-06": Refusal.BAD_SIGNATURE,  # protected attribute added
    "sign1-tests/sign-fail-07": Refusal.BAD_SIGNATURE,  # protected attribute removed
    "eddsa-examples/eddsa-sig-01": None,  # Ed25519
    "eddsa-examples/eddsa-sig-02": None,  # Ed448
    "ecdsa-examples/ecdsa-sig-01": None,  # P-256
    "ecdsa-examples/ecdsa-sig-02": None,  # P-384
    "ecdsa-examples/ecdsa-sig-03": None,  # P-521
    "ecdsa-examples/ecdsa-sig-04": None,  # P-256 with SHA-512
}
# COSE_Sign (tag 98, several signers) is not a COSE_Sign1: these do not apply beyond being refused as such.
MULTI_SIGNER = [
    "eddsa-examples/eddsa-01",
    "eddsa-examples/eddsa-02",
    "ecdsa-examples/ecdsa-01",
    "ecdsa-examples/ecdsa-02",
    "ecdsa-examples/ecdsa-03",
    "ecdsa-examples/ecdsa-04",
]


def example(shared_testdata: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((shared_testdata / "cose" / f"{name}.json").read_text())
    return loaded


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _coordinate(key: dict[str, str], name: str) -> bytes:
    return bytes.fromhex(key[f"{name}_hex"]) if f"{name}_hex" in key else _b64url(key[name])


def public_key(key: dict[str, str]) -> cose.PublicKey:
    """The public key of a COSE example's JWK-like key."""
    if key["kty"] == "OKP":
        x = _coordinate(key, "x")
        return Ed25519PublicKey.from_public_bytes(x) if key["crv"] == "Ed25519" else Ed448PublicKey.from_public_bytes(x)
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}[key["crv"]]
    x, y = (int.from_bytes(_coordinate(key, name), "big") for name in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, curve).public_key()


def test_the_example_set_is_the_one_these_tests_know(shared_testdata: Path) -> None:
    found = {
        p.relative_to(shared_testdata / "cose").with_suffix("").as_posix()
        for p in shared_testdata.glob("cose/*/*.json")
        if p.parent.name != "CWT"
    }
    assert found == {*SIGN1_OUTCOMES, *MULTI_SIGNER}


@pytest.mark.parametrize("name", sorted(SIGN1_OUTCOMES))
def test_each_sign1_example_verifies_or_is_refused_for_its_fault(shared_testdata: Path, name: str) -> None:
    data = example(shared_testdata, name)
    signer = data["input"]["sign0"]
    outcome = SIGN1_OUTCOMES[name]
    assert data.get("fail", False) is (outcome is not None)
    external_aad = bytes.fromhex(signer.get("external", ""))

    def check() -> None:
        message = cose.decode_sign1(bytes.fromhex(data["output"]["cbor"]))
        if outcome is None:
            assert message.payload == data["input"]["plaintext"].encode()
        cose.verify_sign1(message, public_key(signer["key"]), external_aad=external_aad, require_protected_alg=False)

    if outcome is None:
        check()
    else:
        with pytest.raises(CredentialRefusedError) as refused:
            check()
        assert refused.value.reason is outcome


def test_an_alg_only_in_the_unprotected_header_is_refused_by_default(shared_testdata: Path) -> None:
    data = example(shared_testdata, "sign1-tests/sign-pass-01")
    message = cose.decode_sign1(bytes.fromhex(data["output"]["cbor"]))
    with pytest.raises(CredentialRefusedError) as refused:
        cose.verify_sign1(message, public_key(data["input"]["sign0"]["key"]))
    assert refused.value.reason is Refusal.ALG_NOT_PROTECTED


@pytest.mark.parametrize("name", sorted(SIGN1_OUTCOMES))
def test_the_sig_structure_matches_the_example_intermediates(shared_testdata: Path, name: str) -> None:
    data = example(shared_testdata, name)
    item = cose.decode_cbor(bytes.fromhex(data["output"]["cbor"]))
    protected, _, payload, _ = item.value if hasattr(item, "value") else item  # type: ignore[attr-defined]
    external_aad = bytes.fromhex(data["input"]["sign0"].get("external", ""))
    ours = cose.signature_input(protected, payload, external_aad).hex()
    # The intermediates are those of the message as signed: a fault other than the tag changes what is signed.
    changes_what_is_signed = SIGN1_OUTCOMES[name] is not None and name != "sign1-tests/sign-fail-01"
    assert (ours != data["intermediates"]["ToBeSign_hex"].lower()) is changes_what_is_signed


def test_the_ed25519_example_is_reproduced_byte_for_byte(shared_testdata: Path) -> None:
    data = example(shared_testdata, "eddsa-examples/eddsa-sig-01")
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(data["input"]["sign0"]["key"]["d_hex"]))
    encoded = cose.encode_sign1(data["input"]["plaintext"].encode(), key.sign, kid=b"11", protected={3: 0})
    assert encoded.hex().upper() == data["output"]["cbor"]


def test_the_ed448_example_is_reproduced_byte_for_byte(shared_testdata: Path) -> None:
    data = example(shared_testdata, "eddsa-examples/eddsa-sig-02")
    key = Ed448PrivateKey.from_private_bytes(bytes.fromhex(data["input"]["sign0"]["key"]["d_hex"]))
    encoded = cose.encode_sign1(data["input"]["plaintext"].encode(), key.sign, kid=b"ed448")
    assert encoded.hex().upper() == data["output"]["cbor"]


@pytest.mark.parametrize("name", MULTI_SIGNER)
def test_a_cose_sign_with_several_signers_is_refused_as_not_sign1(shared_testdata: Path, name: str) -> None:
    data = example(shared_testdata, name)
    with pytest.raises(CredentialRefusedError, match="tag 98") as refused:
        cose.decode_sign1(bytes.fromhex(data["output"]["cbor"]))
    assert refused.value.reason is Refusal.MALFORMED_COSE


def test_the_rfc_8392_signed_cwt_verifies_and_lacks_claim_169(shared_testdata: Path) -> None:
    data = json.loads((shared_testdata / "cose" / "CWT" / "A_3.json").read_text())
    message = cose.decode_sign1(bytes.fromhex(data["output"]["cbor"]))
    cose.verify_sign1(message, public_key(data["input"]["sign0"]["key"]))
    with pytest.raises(CredentialRefusedError, match="claim 169 is missing") as refused:
        credential_from_map(cose.decode_cbor(message.payload))
    assert refused.value.reason is Refusal.MALFORMED_CLAIM169


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("A_4", Refusal.MALFORMED_COSE),
        ("A_5", Refusal.ENCRYPTED),
        ("A_6", Refusal.ENCRYPTED),
        ("A_7", Refusal.MALFORMED_COSE),
    ],
)
def test_the_rfc_8392_mac_and_encrypted_cwts_are_refused(shared_testdata: Path, name: str, reason: Refusal) -> None:
    data = json.loads((shared_testdata / "cose" / "CWT" / f"{name}.json").read_text())
    with pytest.raises(CredentialRefusedError) as refused:
        cose.decode_sign1(bytes.fromhex(data["output"]["cbor"]))
    assert refused.value.reason is reason
