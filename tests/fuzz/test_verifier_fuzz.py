"""The verifier answers every input with a Verification and never raises: random text, random bytes at each
layer, random CBOR, payloads signed by a trusted key (so the claims parser is reached), and mutated good cards."""

from __future__ import annotations

import os
import zlib
from datetime import UTC, datetime

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canasta.adapters.crypto import base45, cose
from canasta.adapters.crypto.claim169 import CardVerifier, encode_credential
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.domain.credentials import CardClaims, Credential, Refusal, Verification

SIGNER = Ed25519Signer.from_private_bytes(bytes(range(32)))
NOW = datetime(2026, 3, 1, tzinfo=UTC)
VERIFIER = CardVerifier([SIGNER.trusted_key()], ["K-REVOKED"])
GOOD = Credential(
    "https://canasta.example/issuer", 1_770_000_000, 1_870_000_000, CardClaims("K7Q2M9X4P1", "Ana Pérez", "19800101")
)
GOOD_TEXT = encode_credential(GOOD, SIGNER)
ENVELOPE_REFUSALS = {
    Refusal.MALFORMED_BASE45,
    Refusal.MALFORMED_ZLIB,
    Refusal.MALFORMED_CBOR,
    Refusal.MALFORMED_COSE,
    Refusal.ENCRYPTED,
    Refusal.ALG_NOT_PROTECTED,
    Refusal.UNSUPPORTED_ALG,
    Refusal.UNKNOWN_KEY,
    Refusal.BAD_SIGNATURE,
}
# CANASTA_FUZZ_EXAMPLES raises the number of examples for a longer run (say 10000) than the suite's default.
FUZZ = settings(
    max_examples=int(os.environ.get("CANASTA_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def answer(text: str) -> Verification:
    result = VERIFIER.verify(text, now=NOW)
    assert isinstance(result, Verification)
    assert (result.refusal is None) is result.is_valid
    if result.is_valid:
        assert result.credential is not None
    return result


def qr(raw: bytes) -> str:
    return base45.encode(zlib.compress(raw))


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.binary(max_size=40),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-5, 200) | st.text(max_size=3), children, max_size=5)
        | st.builds(cbor2.CBORTag, st.sampled_from([1, 2, 16, 18, 24, 61, 98, 258, 55799, 40000]), children)
    ),
    max_leaves=30,
)


@given(st.text(max_size=400))
@FUZZ
def test_random_text(text: str) -> None:
    answer(text)


@given(st.text(alphabet=base45.ALPHABET + base45.ALPHABET.lower() + "\n\r\t", max_size=400))
@FUZZ
def test_random_base45_text(text: str) -> None:
    answer(text)


@given(st.binary(max_size=400))
@FUZZ
def test_random_bytes_behind_base45(data: bytes) -> None:
    assert answer(base45.encode(data)).refusal is not None


@given(st.binary(max_size=400))
@FUZZ
def test_random_bytes_behind_zlib(data: bytes) -> None:
    assert answer(qr(data)).refusal is not None


@given(cbor_values)
@FUZZ
def test_random_cbor(value: object) -> None:
    assert answer(qr(cbor2.dumps(value))).refusal is not None


@given(cbor_values, cbor_values, cbor_values, cbor_values, st.sampled_from([None, 18]))
@FUZZ
def test_random_cose_members(
    protected: object, unprotected: object, payload: object, signature: object, tag: int | None
) -> None:
    members = [protected, unprotected, payload, signature]
    assert answer(qr(cbor2.dumps(members if tag is None else cbor2.CBORTag(tag, members)))).refusal is not None


@given(cbor_values.map(cbor2.dumps) | st.binary(max_size=200))
@FUZZ
def test_random_payloads_signed_by_a_trusted_key(payload: bytes) -> None:
    text = qr(cose.encode_sign1(payload, SIGNER.sign, kid=SIGNER.key_id))
    # A trusted signature takes any payload past the envelope to the claims parser, which must answer too.
    assert answer(text).refusal not in ENVELOPE_REFUSALS


@given(st.binary(max_size=200))
@FUZZ
def test_random_signatures_under_a_trusted_kid(signature: bytes) -> None:
    good = cbor2.loads(cose_message()).value
    forged = cbor2.dumps(cbor2.CBORTag(18, [good[0], {4: SIGNER.key_id}, good[2], signature]))
    assert answer(qr(forged)).refusal is Refusal.BAD_SIGNATURE


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=100))
@FUZZ
def test_random_text_with_surrogates_and_controls(text: str) -> None:
    answer(text)


@given(
    st.dictionaries(st.integers(-3, 300), cbor_values, max_size=6),
    st.dictionaries(st.integers(-3, 100), cbor_values, max_size=6),
)
@FUZZ
def test_random_claims_signed_by_a_trusted_key(cwt: dict[int, object], identity: dict[int, object]) -> None:
    body = cbor2.dumps({1: "https://x", 4: 1_870_000_000, 6: 1_770_000_000, **cwt, 169: {1: "K1", **identity}})
    assert answer(qr(cose.encode_sign1(body, SIGNER.sign, kid=SIGNER.key_id))).refusal not in ENVELOPE_REFUSALS


@given(st.data())
@FUZZ
def test_mutated_good_cards(data: st.DataObject) -> None:
    layer = data.draw(st.sampled_from(["text", "compressed", "message"]))
    if layer == "text":
        original = GOOD_TEXT
    elif layer == "compressed":
        original = zlib.compress(cose_message())
    else:
        original = cose_message()
    mutated = mutate(data, original)
    if isinstance(mutated, bytes):
        mutated = base45.encode(mutated) if layer == "compressed" else qr(mutated)
    result = answer(mutated)
    if result.is_valid:
        # Only changes outside what is signed (letter case, a re-encoded header) may leave a card valid,
        # and then it must say exactly what the good card says.
        assert result.credential == GOOD


def cose_message() -> bytes:
    return zlib.decompress(base45.decode(GOOD_TEXT))


def mutate(data: st.DataObject, original: str | bytes) -> str | bytes:
    """Flip, replace, delete or insert at a drawn position, one to three times."""
    value = original
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, max(len(value) - 1, 0)))
        action = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        if isinstance(value, str):
            character = data.draw(st.sampled_from(base45.ALPHABET + "abc!\n é"))
            value = _edit(value, position, action, character)
        else:
            byte = bytes([data.draw(st.integers(0, 255))])
            value = _edit(value, position, action, byte)
    return value


def _edit(value: str | bytes, position: int, action: str, piece: str | bytes) -> str | bytes:
    if action == "replace":
        return value[:position] + piece + value[position + 1 :]  # type: ignore[operator]
    if action == "delete":
        return value[:position] + value[position + 1 :]
    if action == "insert":
        return value[:position] + piece + value[position:]  # type: ignore[operator]
    return value[:position]
