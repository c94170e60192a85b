"""The offline card verifier: one precise reason for every refusal, leniency on encoding, strictness on
cryptography, a bounded inflater and an injected clock."""

from __future__ import annotations

import json
import time
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
import segno
from PIL import Image
from typer.testing import CliRunner

from canasta.adapters.crypto import base45, cose
from canasta.adapters.crypto.claim169 import (
    MAX_DECOMPRESSED_BYTES,
    CardVerifier,
    encode_credential,
    inflate,
)
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.adapters.crypto.trust import RevocationList, TrustList, encode_revocation_list, encode_trust_list
from canasta.domain.credentials import CardClaims, Credential, CredentialRefusedError, Refusal, TrustedKey
from canasta.domain.errors import ValidationError
from canasta.entrypoints.cli.cards import app as cards_app

SIGNER = Ed25519Signer.from_private_bytes(bytes(range(32)))
STRANGER = Ed25519Signer.from_private_bytes(bytes(range(1, 33)))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AT = int(NOW.timestamp())
ISSUED, EXPIRES = AT - 86_400, AT + 365 * 86_400
ISSUER = "https://canasta.example/issuer"
EDDSA = b"\xa1\x01\x27"
VERIFIER = CardVerifier([SIGNER.trusted_key()], ["K-REVOKED"])


def claims(**changes: object) -> dict[int, object]:
    """A CWT claims map as canasta writes it, with ``changes`` (a value of None removes the key)."""
    payload: dict[int, object] = {
        1: ISSUER,
        4: EXPIRES,
        6: ISSUED,
        169: {1: "K7Q2M9X4P1", 4: "Ana Pérez", 8: "19800101"},
    }
    for key, value in changes.items():
        label = int(key.removeprefix("k"))
        if value is None:
            payload.pop(label, None)
        else:
            payload[label] = value
    return payload


def message(
    payload: object = None,
    *,
    protected: bytes = EDDSA,
    unprotected: object = None,
    signer: Ed25519Signer = SIGNER,
    tag: int | None = 18,
) -> bytes:
    """A COSE_Sign1 with a real signature over whatever it is given."""
    body = payload if isinstance(payload, bytes) else cbor2.dumps(claims() if payload is None else payload)
    signature = signer.sign(cose.signature_input(protected, body))
    header = {4: signer.key_id} if unprotected is None else unprotected
    members = [protected, header, body, signature]
    return cbor2.dumps(members if tag is None else cbor2.CBORTag(tag, members))


def qr(raw: bytes) -> str:
    return base45.encode(zlib.compress(raw))


def sign1_of(members: list[object], *, tag: int = 18) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(tag, members))


def card(**claim_changes: object) -> str:
    return qr(message(claims(**claim_changes)))


def test_a_good_card_is_valid_with_its_claims_and_key_id() -> None:
    result = VERIFIER.verify(card(), now=NOW)
    assert result.is_valid
    assert result.refusal is None
    assert result.key_id == SIGNER.key_id
    assert result.credential == Credential(ISSUER, ISSUED, EXPIRES, CardClaims("K7Q2M9X4P1", "Ana Pérez", "19800101"))


def test_a_card_canasta_issues_is_valid() -> None:
    credential = Credential(ISSUER, ISSUED, EXPIRES, CardClaims("K1", "Luz", "20010911"))
    result = VERIFIER.verify(encode_credential(credential, SIGNER), now=NOW)
    assert (result.refusal, result.credential) == (None, credential)


def _flip_payload_byte() -> str:
    good = cbor2.loads(message())
    protected, unprotected, payload, signature = good.value
    tampered = payload.replace(b"Ana", b"Eva")
    return qr(cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected), tampered, signature])))


def _flip_signature_bit() -> str:
    good = cbor2.loads(message())
    protected, unprotected, payload, signature = good.value
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    return qr(cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected), payload, forged])))


def _deep_nesting() -> str:
    return qr(b"\x81" * 40 + b"\x01")


REFUSALS: list[tuple[str, Callable[[], str], Refusal, str]] = [
    ("a character outside Base45", lambda: "THIS!IS@NOT#BASE45", Refusal.MALFORMED_BASE45, "position 4"),
    ("3n+1 characters", lambda: card()[:151], Refusal.MALFORMED_BASE45, "3n + 1"),
    ("longer than a QR code", lambda: "0" * 9_000, Refusal.MALFORMED_BASE45, "longer than 8192"),
    ("not zlib", lambda: base45.encode(message()), Refusal.MALFORMED_ZLIB, "not a zlib stream"),
    ("truncated zlib", lambda: base45.encode(zlib.compress(message())[:-6]), Refusal.MALFORMED_ZLIB, "truncated"),
    ("bytes after zlib", lambda: base45.encode(zlib.compress(message()) + b"\0"), Refusal.MALFORMED_ZLIB, "after"),
    ("a zlib bomb", lambda: base45.encode(zlib.compress(bytes(4_000_000), 9)), Refusal.MALFORMED_ZLIB, "beyond 65536"),
    ("not CBOR", lambda: qr(b"\xff\xfe"), Refusal.MALFORMED_CBOR, "not well-formed CBOR"),
    ("bytes after the COSE item", lambda: qr(message() + b"\x00"), Refusal.MALFORMED_CBOR, "1 bytes after"),
    ("nesting too deep", _deep_nesting, Refusal.MALFORMED_CBOR, "depth"),
    ("a CBOR date tag", lambda: qr(cbor2.dumps(cbor2.CBORTag(1, 0))), Refusal.MALFORMED_CBOR, "semantic tag 1"),
    ("an array of two", lambda: qr(cbor2.dumps(["hello", 42])), Refusal.MALFORMED_COSE, "array of four"),
    (
        "a CWT tag around COSE",
        lambda: qr(cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(message())))),
        Refusal.MALFORMED_COSE,
        "tag 61",
    ),
    ("a COSE_Sign (tag 98)", lambda: qr(message(tag=98)), Refusal.MALFORMED_COSE, "tag 98"),
    (
        "a text payload",
        lambda: qr(cbor2.dumps(cbor2.CBORTag(18, [EDDSA, {}, "x", b""]))),
        Refusal.MALFORMED_COSE,
        "not a byte",
    ),
    (
        "a detached payload",
        lambda: qr(cbor2.dumps(cbor2.CBORTag(18, [EDDSA, {}, None, b""]))),
        Refusal.MALFORMED_COSE,
        "detached",
    ),
    ("a protected array", lambda: qr(message(protected=b"\x81\x01")), Refusal.MALFORMED_COSE, "not a map"),
    ("an unprotected array", lambda: qr(message(unprotected=[1])), Refusal.MALFORMED_COSE, "not a map"),
    (
        "alg in both headers",
        lambda: qr(message(unprotected={1: -8, 4: SIGNER.key_id})),
        Refusal.MALFORMED_COSE,
        "both protected and unprotected",
    ),
    (
        "a critical header not understood",
        lambda: qr(message(protected=cbor2.dumps({1: -8, 2: [99], 99: 0}))),
        Refusal.MALFORMED_COSE,
        "critical",
    ),
    (
        "COSE_Encrypt0",
        lambda: qr(cbor2.dumps(cbor2.CBORTag(16, [b"\xa1\x01\x03", {}, b"x"]))),
        Refusal.ENCRYPTED,
        "tag 16",
    ),
    (
        "alg only unprotected",
        lambda: qr(message(protected=b"", unprotected={1: -8, 4: SIGNER.key_id})),
        Refusal.ALG_NOT_PROTECTED,
        "no alg",
    ),
    ("an empty protected map", lambda: qr(message(protected=b"\xa0")), Refusal.ALG_NOT_PROTECTED, "no alg"),
    ("ES256", lambda: qr(message(protected=cbor2.dumps({1: -7}))), Refusal.UNSUPPORTED_ALG, "alg -7"),
    ("alg as text", lambda: qr(message(protected=cbor2.dumps({1: "EdDSA"}))), Refusal.UNSUPPORTED_ALG, "'EdDSA'"),
    ("no kid", lambda: qr(message(unprotected={})), Refusal.UNKNOWN_KEY, "no kid"),
    ("a stranger's kid", lambda: qr(message(signer=STRANGER)), Refusal.UNKNOWN_KEY, "not in the trust list"),
    ("a changed payload", _flip_payload_byte, Refusal.BAD_SIGNATURE, "does not verify"),
    ("a changed signature", _flip_signature_bit, Refusal.BAD_SIGNATURE, "does not verify"),
    (
        "a stranger's signature under our kid",
        lambda: qr(message(signer=STRANGER, unprotected={4: SIGNER.key_id})),
        Refusal.BAD_SIGNATURE,
        "does not verify",
    ),
    ("a payload that is not CBOR", lambda: qr(message(b"\xff")), Refusal.MALFORMED_CWT, "payload: not well-formed"),
    ("a payload that is an array", lambda: qr(message([1, 2])), Refusal.MALFORMED_CWT, "not a CWT claims map"),
    ("no iss", lambda: card(k1=None), Refusal.MALFORMED_CWT, "iss (1)"),
    ("no exp", lambda: card(k4=None), Refusal.MALFORMED_CWT, "exp (4)"),
    ("a text iat", lambda: card(k6="yesterday"), Refusal.MALFORMED_CWT, "iat (6)"),
    ("no claim 169", lambda: card(k169=None), Refusal.MALFORMED_CLAIM169, "missing"),
    ("claim 169 in a byte string", lambda: card(k169=cbor2.dumps({1: "K1"})), Refusal.MALFORMED_CLAIM169, "not a map"),
    ("no card id", lambda: card(k169={4: "Ana"}), Refusal.MALFORMED_CLAIM169, "card id"),
    ("a text key", lambda: card(k169={1: "K1", "4": "Ana"}), Refusal.MALFORMED_CLAIM169, "not an integer"),
    ("a text gender", lambda: card(k169={1: "K1", 9: "F"}), Refusal.MALFORMED_CLAIM169, "gender (key 9)"),
    ("a numeric name", lambda: card(k169={1: "K1", 4: 7}), Refusal.MALFORMED_CLAIM169, "fullName"),
    ("a bad biometric", lambda: card(k169={1: "K1", 62: [{1: 0}]}), Refusal.MALFORMED_CLAIM169, "face (key 62)"),
    ("nbf after now", lambda: card(k5=AT + 1), Refusal.NOT_YET_VALID, f"valid from {AT + 1}, now is {AT}"),
    ("exp is now", lambda: card(k4=AT), Refusal.EXPIRED, f"expired at {AT}, now is {AT}"),
    ("exp before now", lambda: card(k4=AT - 3600), Refusal.EXPIRED, "expired at"),
    ("a revoked card", lambda: card(k169={1: "K-REVOKED"}), Refusal.REVOKED, "revocation list"),
]


@pytest.mark.parametrize(("case", "make", "reason", "detail"), REFUSALS, ids=[case[0] for case in REFUSALS])
def test_each_refusal_names_one_precise_reason(
    case: str, make: Callable[[], str], reason: Refusal, detail: str
) -> None:
    result = VERIFIER.verify(make(), now=NOW)
    assert not result.is_valid
    assert result.refusal is reason
    assert detail in result.detail


def test_every_reason_has_a_refusal_case() -> None:
    assert {case[2] for case in REFUSALS} | {Refusal.RETIRED_KEY} == set(Refusal)


def test_a_key_retired_before_the_card_was_issued_is_refused() -> None:
    retired = CardVerifier([SIGNER.trusted_key(not_after=ISSUED - 1)])
    still_good = CardVerifier([SIGNER.trusted_key(not_after=ISSUED)])
    assert retired.verify(card(), now=NOW).refusal is Refusal.RETIRED_KEY
    assert still_good.verify(card(), now=NOW).is_valid


def test_the_first_rule_broken_is_the_one_reported() -> None:
    both = qr(message(claims(k4=AT - 1, k169={1: "K-REVOKED"})))
    assert VERIFIER.verify(both, now=NOW).refusal is Refusal.EXPIRED
    # A broken signature is reported before anything in the payload is read.
    garbage_payload_stranger = qr(message(b"\xff", signer=STRANGER, unprotected={4: SIGNER.key_id}))
    assert VERIFIER.verify(garbage_payload_stranger, now=NOW).refusal is Refusal.BAD_SIGNATURE


def test_the_clock_is_the_one_given() -> None:
    text = card()
    assert VERIFIER.verify(text, now=datetime.fromtimestamp(EXPIRES - 1, UTC)).is_valid
    assert VERIFIER.verify(text, now=datetime.fromtimestamp(EXPIRES, UTC)).refusal is Refusal.EXPIRED
    assert VERIFIER.verify(text, now=NOW + timedelta(days=3650)).refusal is Refusal.EXPIRED


def test_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        VERIFIER.verify(card(), now=datetime(2026, 1, 1))


def test_refusals_after_the_signature_carry_the_authentic_credential() -> None:
    expired = VERIFIER.verify(card(k4=AT - 1), now=NOW)
    assert expired.credential is not None
    assert expired.credential.claims.card_id == "K7Q2M9X4P1"
    forged = VERIFIER.verify(_flip_payload_byte(), now=NOW)
    assert (forged.credential, forged.key_id) == (None, SIGNER.key_id)


def test_a_refusal_never_carries_personal_data_in_its_detail() -> None:
    for _, make, _, _ in REFUSALS:
        assert "Ana" not in VERIFIER.verify(make(), now=NOW).detail


def test_lower_case_base45_and_stray_line_breaks_are_accepted() -> None:
    text = card()
    wrapped = "\n".join(text[i : i + 50] for i in range(0, len(text), 50)).lower() + "\r\n"
    assert VERIFIER.verify(wrapped, now=NOW).is_valid


def test_a_payload_length_written_longer_than_needed_is_accepted() -> None:
    # The signature covers the Sig_structure, which writes the payload's length in the shortest form whatever the
    # message used; the verifier must not take the length header as sent.
    body = cbor2.dumps(claims())
    assert 24 <= len(body) < 256
    stretched = message(body).replace(cbor2.dumps(body), b"\x59" + len(body).to_bytes(2, "big") + body, 1)
    result = VERIFIER.verify(qr(stretched), now=NOW)
    assert result.is_valid
    assert result.credential == VERIFIER.verify(card(), now=NOW).credential


def test_an_untagged_cose_sign1_is_accepted() -> None:
    assert VERIFIER.verify(qr(message(tag=None)), now=NOW).is_valid


def test_a_text_kid_is_read_as_its_utf8_bytes() -> None:
    named = CardVerifier([TrustedKey(b"card-key-1", SIGNER.public_key)])
    assert named.verify(qr(message(unprotected={4: "card-key-1"})), now=NOW).is_valid


def test_a_zlib_bomb_is_refused_quickly_with_little_memory() -> None:
    packer = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    bomb = b"".join(packer.compress(chunk) for _ in range(256)) + packer.flush()  # 256 MiB of zeros
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(CredentialRefusedError) as refused:
        inflate(bomb)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.reason is Refusal.MALFORMED_ZLIB
    assert f"beyond {MAX_DECOMPRESSED_BYTES} bytes" in refused.value.detail
    assert elapsed < 0.5
    # zlib keeps a copy of the input it has not read; beyond that, memory stays a small multiple of the bound.
    assert peak < len(bomb) + 4 * MAX_DECOMPRESSED_BYTES


def test_a_stream_exactly_at_the_bound_inflates() -> None:
    assert inflate(zlib.compress(bytes(1000)), 1000) == bytes(1000)
    with pytest.raises(CredentialRefusedError, match="beyond 999 bytes"):
        inflate(zlib.compress(bytes(1000)), 999)


def test_a_trust_list_key_must_be_an_ed25519_key() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        CardVerifier([TrustedKey(b"k", b"short")])


# --- the command line ---------------------------------------------------------------------------------------------

LIST_SIGNER = Ed25519Signer.from_private_bytes(bytes(range(100, 132)))
RUNNER = CliRunner()


def list_options(tmp_path: Path, *, signer: Ed25519Signer = LIST_SIGNER) -> list[str]:
    trust = tmp_path / "trust.cbor"
    trust.write_bytes(encode_trust_list(TrustList(1, AT, (SIGNER.trusted_key(),)), signer))
    revocations = tmp_path / "revoked.cbor"
    revocations.write_bytes(encode_revocation_list(RevocationList(1, AT, frozenset({"K-REVOKED"})), signer))
    return ["--trust-list", str(trust), "--revocations", str(revocations), "--list-key", LIST_SIGNER.public_key.hex()]


def test_the_command_says_a_good_card_is_valid(tmp_path: Path) -> None:
    result = RUNNER.invoke(cards_app, ["verify", card(), *list_options(tmp_path), "--at", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output == "valid: card K7Q2M9X4P1, Ana Pérez, born 19800101\n"


def test_the_command_refuses_with_the_reason_and_exit_code_1(tmp_path: Path) -> None:
    expired = card(k4=AT - 60)
    result = RUNNER.invoke(cards_app, ["verify", expired, *list_options(tmp_path), "--at", "2026-03-01T12:00:00"])
    assert result.exit_code == 1
    assert result.output == f"refused: expired (expired at {AT - 60}, now is {AT})\n"


def test_the_command_answers_in_json(tmp_path: Path) -> None:
    revoked = card(k169={1: "K-REVOKED", 4: "Ana Pérez"})
    arguments = ["verify", revoked, *list_options(tmp_path), "--at", NOW.isoformat(), "--json"]
    result = RUNNER.invoke(cards_app, arguments)
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "valid": False,
        "reason": "revoked",
        "detail": "the card id is on the revocation list",
        "key_id": SIGNER.key_id.hex(),
        "issuer": ISSUER,
        "issued_at": ISSUED,
        "expires_at": EXPIRES,
        "claims": {"id": "K-REVOKED", "fullName": "Ana Pérez"},
    }


def test_the_command_reads_the_qr_code_from_an_image(tmp_path: Path) -> None:
    picture = tmp_path / "card.png"
    segno.make_qr(card(), error="m").save(picture, scale=4, border=4)
    result = RUNNER.invoke(
        cards_app, ["verify", "--image", str(picture), *list_options(tmp_path), "--at", NOW.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: card K7Q2M9X4P1")


def test_the_command_refuses_an_image_without_a_qr_code(tmp_path: Path) -> None:
    picture = tmp_path / "blank.png"
    Image.new("L", (80, 80), 255).save(picture)
    result = RUNNER.invoke(cards_app, ["verify", "--image", str(picture), *list_options(tmp_path)])
    assert result.exit_code == 2
    assert "no QR code found" in result.output


def test_the_command_refuses_lists_the_list_key_did_not_sign(tmp_path: Path) -> None:
    result = RUNNER.invoke(cards_app, ["verify", card(), *list_options(tmp_path, signer=STRANGER)])
    assert result.exit_code == 2
    assert "unknown_key" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "give the QR text or --image"),
        (["--list-key", "zz"], "not hexadecimal"),
        (["--list-key", "abcd"], "64 hex digits"),
        (["--at", "yesterday"], "not an ISO 8601 time"),
    ],
)
def test_the_command_explains_bad_usage_with_exit_code_2(tmp_path: Path, arguments: list[str], message: str) -> None:
    text = [] if not arguments else [card()]
    result = RUNNER.invoke(cards_app, ["verify", *text, *list_options(tmp_path), *arguments])
    assert result.exit_code == 2
    assert message in result.output
