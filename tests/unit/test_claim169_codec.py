"""The Claim 169 codec: the exact layers canasta writes, the claims it refuses to issue, and arbitrary claims that
survive encoding and decoding unchanged."""

from __future__ import annotations

import dataclasses
import zlib
from datetime import date

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from canasta.adapters.crypto import base45, claim169, cose
from canasta.adapters.crypto.claim169 import decode_credential, encode_credential
from canasta.adapters.crypto.signing import Ed25519Signer, key_id_for
from canasta.domain.credentials import (
    CLAIM169_FIELDS,
    DEFAULT_CARD_FIELDS,
    Biometric,
    CardClaims,
    ClaimField,
    ClaimKind,
    ClaimValue,
    Credential,
    CredentialRefusedError,
    Refusal,
    card_fields,
    claims_as_json,
    credential_from_values,
)
from canasta.domain.errors import ProhibitedCategoryError, ValidationError

SIGNER = Ed25519Signer.from_private_bytes(bytes(range(32)))
ISSUER = "https://canasta.example/issuer"


def card(**claims: object) -> Credential:
    values: dict[str, object] = {"card_id": "K7Q2M9X4P1", "full_name": "María José Quispe", "date_of_birth": "19800229"}
    values.update(claims)
    return Credential(issuer=ISSUER, issued_at=1_750_000_000, expires_at=1_850_000_000, claims=CardClaims(**values))  # type: ignore[arg-type]


def layers(text: str) -> cbor2.CBORTag:
    decoded: cbor2.CBORTag = cbor2.loads(zlib.decompress(base45.decode(text)))
    return decoded


def test_a_card_is_base45_of_zlib_of_a_tag_18_cose_sign1() -> None:
    message = layers(encode_credential(card(), SIGNER))
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert protected == bytes.fromhex("a10127")  # {1: -8}, EdDSA
    assert dict(unprotected) == {4: key_id_for(SIGNER.public_key)}
    assert len(signature) == 64
    assert cbor2.loads(payload) == {
        1: ISSUER,
        4: 1_850_000_000,
        6: 1_750_000_000,
        169: {1: "K7Q2M9X4P1", 4: "María José Quispe", 8: "19800229"},
    }


def test_claim_169_is_a_plain_map_with_ascending_integer_keys() -> None:
    extra = {"gender": 2, "locationCode": "849VCWC8+R9", "version": "1.0"}
    payload = layers(encode_credential(card(extra=extra), SIGNER)).value[2]
    cwt = cbor2.loads(payload)  # a decoded dict keeps the order of the keys on the wire
    assert list(cwt) == [1, 4, 6, 169]
    assert list(cwt[169]) == [1, 2, 4, 8, 9, 21]
    assert cwt[169][9] == 2
    assert payload.index(b"\x18\xa9\xa6") > 0  # key 169, then a map of six entries, not a byte string


def test_the_signature_covers_the_rfc_9052_sig_structure() -> None:
    message = layers(encode_credential(card(), SIGNER)).value
    expected = cbor2.dumps(["Signature1", message[0], b"", message[2]])
    Ed25519PublicKey.from_public_bytes(SIGNER.public_key).verify(message[3], expected)


@given(st.binary(max_size=70_000), st.binary(max_size=300), st.binary(max_size=30))
@settings(max_examples=60, deadline=None)
def test_the_sig_structure_is_byte_for_byte_what_cbor2_encodes(
    payload: bytes, protected: bytes, external_aad: bytes
) -> None:
    if protected == b"\xa0":  # an empty map enters the Sig_structure as an empty string (tested with the vectors)
        protected = b"\xa1\x01\x27"
    assert cose.signature_input(protected, payload, external_aad) == cbor2.dumps(
        ["Signature1", protected, external_aad, payload]
    )


def test_without_a_key_id_the_unprotected_header_is_empty() -> None:
    message = layers(encode_credential(card(), SIGNER, with_key_id=False))
    assert dict(message.value[1]) == {}


def test_the_text_uses_only_the_qr_alphanumeric_alphabet() -> None:
    text = encode_credential(card(), SIGNER)
    assert set(text) <= set(base45.ALPHABET)


@pytest.mark.parametrize(
    ("claims", "field", "message"),
    [
        ({"card_id": ""}, "id", "non-empty text"),
        ({"full_name": ""}, "fullName", "non-empty text"),
        ({"full_name": "\udcff"}, "fullName", "not valid Unicode"),
        ({"date_of_birth": "1980"}, "dateOfBirth", "YYYYMMDD"),
        ({"date_of_birth": "1980-01-01"}, "dateOfBirth", "YYYYMMDD"),
        ({"date_of_birth": "19810229"}, "dateOfBirth", "not a calendar date"),
        ({"extra": {"gender": 4}}, "gender", "1..3"),
        ({"extra": {"gender": "2"}}, "gender", "1..3"),
        ({"extra": {"gender": True}}, "gender", "1..3"),
        ({"extra": {"photoFormat": 0}}, "photoFormat", "1..4"),
        ({"extra": {"bestQualityFingers": (1, 11)}}, "bestQualityFingers", "0..10"),
        ({"extra": {"bestQualityFingers": ()}}, "bestQualityFingers", "non-empty tuple"),
        ({"extra": {"photo": "not bytes"}}, "photo", "bytes"),
        ({"extra": {"face": (Biometric(b"x", format=4),)}}, "face.format", "0..3"),
        ({"extra": {"face": ("x",)}}, "face", "Biometric samples"),
        ({"extra": {"fullName": "again"}}, "fullName", "own attribute"),
        ({"extra": {"favouriteColour": "blue"}}, "favouriteColour", "not a Claim 169 field"),
        ({"unknown": {30: "x"}}, "unknown", "only fields of the Claim 169 table"),
    ],
)
def test_claims_canasta_would_not_issue_are_refused_naming_the_field(
    claims: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        encode_credential(card(**claims), SIGNER)
    assert refused.value.field == field


def test_a_prohibited_category_is_refused_as_such_even_outside_the_table() -> None:
    with pytest.raises(ProhibitedCategoryError) as refused:
        encode_credential(card(extra={"religion": "x"}), SIGNER)
    assert refused.value.category == "religion or belief"
    assert refused.value.fields["where"] == "card claim"
    assert "card claim 'religion'" in refused.value.detail


def test_an_expiry_not_after_the_issue_time_is_refused() -> None:
    credential = Credential(issuer=ISSUER, issued_at=10, expires_at=10, claims=CardClaims("K1"))
    with pytest.raises(ValidationError, match="exp must be later than iat"):
        encode_credential(credential, SIGNER)


def test_cards_carry_the_card_id_name_and_date_of_birth_by_default() -> None:
    assert DEFAULT_CARD_FIELDS == ("id", "fullName", "dateOfBirth")
    assert card_fields() == DEFAULT_CARD_FIELDS


def test_a_deployment_may_add_fields_of_the_table() -> None:
    assert card_fields(["gender", "fullName", "locationCode"]) == (*DEFAULT_CARD_FIELDS, "gender", "locationCode")


@pytest.mark.parametrize(("name", "category"), [("ethnicity", "ethnicity or race"), ("partido", "political")])
def test_a_deployment_can_never_add_a_prohibited_category(name: str, category: str) -> None:
    with pytest.raises(ProhibitedCategoryError, match=category):
        card_fields([name])


def test_a_deployment_cannot_add_a_field_outside_the_table() -> None:
    with pytest.raises(ValidationError, match="not a Claim 169 field") as refused:
        card_fields(["householdIncome"])
    assert refused.value.code == "unknown_card_claim"


def test_no_field_of_the_claim_169_table_names_a_prohibited_category() -> None:
    card_fields([f.name for f in CLAIM169_FIELDS if f.name not in DEFAULT_CARD_FIELDS])


def test_claims_read_as_json_with_the_specification_names() -> None:
    claims = CardClaims(
        "K1", "Ana", "19900101", {"gender": 2, "photo": b"\x00\x01", "face": (Biometric(b"\xff", 0, 1, "cam"),)}
    )
    assert claims_as_json(claims) == {
        "id": "K1",
        "fullName": "Ana",
        "dateOfBirth": "19900101",
        "gender": 2,
        "photo": "AAE=",
        "face": [{"data": "/w==", "format": 0, "subFormat": 1, "issuer": "cam"}],
    }


# --- arbitrary claims -------------------------------------------------------------------------------------------

texts = st.text(max_size=40)
dates = st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}")
biometrics = st.builds(
    Biometric,
    data=st.binary(max_size=40),
    format=st.none() | st.integers(0, 3),
    sub_format=st.none() | st.integers(0, 2**31 - 1),
    issuer=st.none() | texts,
)


def values_for(spec: ClaimField) -> st.SearchStrategy[ClaimValue]:
    allowed = spec.allowed or range(-(2**63), 2**63)
    integers = st.integers(allowed.start, allowed.stop - 1)
    by_kind: dict[ClaimKind, st.SearchStrategy[ClaimValue]] = {
        ClaimKind.TEXT: texts,
        ClaimKind.INTEGER: integers,
        ClaimKind.BYTES: st.binary(max_size=60),
        ClaimKind.INTEGER_LIST: st.lists(integers, min_size=1, max_size=5).map(tuple),
        ClaimKind.BIOMETRICS: st.lists(biometrics, min_size=1, max_size=3).map(tuple),
    }
    return by_kind[spec.kind]


extra_fields = [spec for spec in CLAIM169_FIELDS if spec.name not in DEFAULT_CARD_FIELDS]
extras = st.lists(
    st.sampled_from(extra_fields).flatmap(lambda spec: st.tuples(st.just(spec.name), values_for(spec))),
    max_size=8,
).map(dict)
claim_sets = st.builds(
    CardClaims,
    card_id=st.text(min_size=1, max_size=30),
    full_name=st.none() | st.text(min_size=1, max_size=60),
    date_of_birth=st.none() | dates,
    extra=extras,
)
credentials = st.builds(
    lambda issuer, issued_at, lifetime, not_before, subject, claims: Credential(
        issuer, issued_at, issued_at + lifetime, claims, not_before, subject
    ),
    st.text(min_size=1, max_size=40),
    st.integers(0, 2**40),
    st.integers(1, 2**31),
    st.none() | st.integers(0, 2**40),
    st.none() | st.text(min_size=1, max_size=20),
    claim_sets,
)


@given(credentials)
@settings(max_examples=150, deadline=None)
def test_arbitrary_claims_survive_encoding_and_decoding_unchanged(credential: Credential) -> None:
    decoded = decode_credential(encode_credential(credential, SIGNER))
    assert decoded.credential == credential
    assert decoded.key_id == SIGNER.key_id


# --- the fast reading of canasta's own COSE layout agrees with the general CBOR path ------------------------------


def canasta_layout(kid: bytes, payload: bytes, signature: bytes) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(18, [b"\xa1\x01\x27", {4: kid}, payload, signature]))


@given(st.binary(max_size=23), st.binary(max_size=70_000), st.binary(min_size=64, max_size=64))
@settings(max_examples=80, deadline=None)
def test_canasta_layout_reads_as_cbor_reads_it(kid: bytes, payload: bytes, signature: bytes) -> None:
    data = canasta_layout(kid, payload, signature)
    message = cose.decode_sign1(data)
    assert (message.protected, message.kid, message.payload, message.signature) == (
        b"\xa1\x01\x27",
        kid,
        payload,
        signature,
    )
    assert dict(message.unprotected) == {4: kid}
    assert message.alg == -8


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_whatever_the_fast_layout_reader_accepts_the_strict_decoder_reads_the_same(data: st.DataObject) -> None:
    # The layout reader is private; it is tested directly because the general path would hide its mistakes.
    original = canasta_layout(data.draw(st.binary(max_size=23)), data.draw(st.binary(max_size=300)), bytes(64))
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(mutated)))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "insert" or position == len(mutated):
            mutated.insert(position, data.draw(st.integers(0, 255)))
        elif action == "replace":
            mutated[position] = data.draw(st.integers(0, 255))
        else:
            del mutated[position]
    fast = cose._read_canasta_layout(bytes(mutated))
    split = cose.split_canasta_sign1(bytes(mutated))
    assert (fast is None) is (split is None)
    if fast is not None and split is not None:
        item = cose.decode_cbor(bytes(mutated))
        assert isinstance(item, cbor2.CBORTag)
        assert item.tag == 18
        protected, unprotected, payload, signature = item.value
        assert (protected, dict(unprotected), payload, signature) == (
            fast.protected,
            dict(fast.unprotected),
            fast.payload,
            fast.signature,
        )
        assert split == (unprotected[4], payload, signature, cose.signature_input(protected, payload))


@given(st.binary(max_size=23), st.binary(max_size=1_000), st.binary(min_size=64, max_size=64))
@settings(max_examples=80, deadline=None)
def test_the_split_layout_carries_the_sig_structure_the_general_path_builds(
    kid: bytes, payload: bytes, signature: bytes
) -> None:
    split = cose.split_canasta_sign1(canasta_layout(kid, payload, signature))
    assert split == (kid, payload, signature, cose.signature_input(b"\xa1\x01\x27", payload))


@pytest.mark.parametrize(
    ("size", "longer_header"),
    [
        (0, b"\x58\x00"),
        (23, b"\x58\x17"),
        (24, b"\x59\x00\x18"),
        (255, b"\x59\x00\xff"),
        (256, b"\x5a\x00\x00\x01\x00"),
    ],
)
def test_a_payload_length_written_longer_than_needed_is_left_to_the_general_path(
    size: int, longer_header: bytes
) -> None:
    # The split reuses the payload's byte string in the Sig_structure, which is only right for the shortest header.
    payload = bytes(size)
    shortest = canasta_layout(b"kid", payload, bytes(64))
    longer = shortest.replace(cbor2.dumps(payload), longer_header + payload, 1)
    assert cose.split_canasta_sign1(shortest) is not None
    assert cose.split_canasta_sign1(longer) is None
    assert cose.decode_sign1(longer).payload == payload


# --- the fast reading of canasta's own CWT payload agrees with the general CBOR path ------------------------------


def canasta_payload(issuer: str, expires_at: int, issued_at: int, claims: dict[int, object]) -> bytes:
    return cbor2.dumps({1: issuer, 4: expires_at, 6: issued_at, 169: claims})


card_times = st.integers(0x10000, 0xFFFFFFFF)


@given(
    st.text(max_size=80),
    card_times,
    card_times,
    st.text(min_size=1, max_size=30),
    st.text(max_size=90),
    st.text(min_size=8, max_size=8),
)
@settings(max_examples=200, deadline=None)
def test_the_fast_payload_reader_reads_what_the_general_path_reads(
    issuer: str, expires_at: int, issued_at: int, card_id: str, full_name: str, date_of_birth: str
) -> None:
    payload = canasta_payload(issuer, expires_at, issued_at, {1: card_id, 4: full_name, 8: date_of_birth})
    fast = claim169._read_canasta_payload(payload)
    assert claim169._read_any_payload(payload) == claim169._read_payload(payload)
    if len(card_id.encode()) < 24 and len(date_of_birth.encode()) == 8:
        assert fast == claim169._read_any_payload(payload)
        assert type(fast) is Credential
        assert type(fast.claims) is CardClaims
    else:
        assert fast is None


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_whatever_the_fast_payload_reader_accepts_the_general_path_reads_the_same(data: st.DataObject) -> None:
    # Like the COSE layout reader, the payload reader is private and tested directly.
    original = canasta_payload(
        data.draw(st.text(max_size=30)),
        data.draw(card_times),
        data.draw(card_times),
        {1: data.draw(st.text(min_size=1, max_size=12)), 4: data.draw(st.text(max_size=30)), 8: "19800229"},
    )
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(mutated)))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "insert" or position == len(mutated):
            mutated.insert(position, data.draw(st.integers(0, 255)))
        elif action == "replace":
            mutated[position] = data.draw(st.integers(0, 255))
        else:
            del mutated[position]
    fast = claim169._read_canasta_payload(bytes(mutated))
    if fast is not None:
        assert fast == claim169._read_any_payload(bytes(mutated))


@pytest.mark.parametrize(
    "claims",
    [
        {1: "K1", 4: "Ana"},  # no date of birth
        {1: "K1", 4: "Ana", 8: "19800101", 9: 2},  # an extra field
        {1: "K" * 24, 4: "Ana", 8: "19800101"},  # a card id of 24 bytes
        {1: "", 4: "Ana", 8: "19800101"},  # an empty card id, refused by the general path
        {1: "K1", 8: "19800101", 4: "Ana"},  # keys out of order
    ],
)
def test_other_claims_are_left_to_the_general_path(claims: dict[int, object]) -> None:
    assert claim169._read_canasta_payload(canasta_payload("https://x", 1_850_000_000, 1_750_000_000, claims)) is None


def test_a_payload_with_text_that_is_not_utf8_is_left_to_the_general_path() -> None:
    good = canasta_payload("https://x", 1_850_000_000, 1_750_000_000, {1: "K1", 4: "Ana", 8: "19800101"})
    bad = good.replace(b"Ana", b"A\xffa")
    assert claim169._read_canasta_payload(good) is not None
    assert claim169._read_canasta_payload(bad) is None
    with pytest.raises(CredentialRefusedError) as refused:
        claim169._read_payload(bad)
    assert refused.value.reason is Refusal.MALFORMED_CWT


def test_a_credential_from_values_is_the_one_the_constructors_make() -> None:
    made = credential_from_values("https://x", 1, 2, "K1", "Ana", None)
    assert made == Credential("https://x", 1, 2, CardClaims("K1", "Ana"))
    assert (type(made), type(made.claims)) == (Credential, CardClaims)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.issuer = "https://y"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.claims.card_id = "K2"  # type: ignore[misc]


def test_the_shared_cbor_decoder_recovers_after_a_refusal() -> None:
    for bad in (b"\x81" * 40, b"\xa2\x01\x02\x01\x03", b"\xc1\x00", b"\x82\x01"):
        with pytest.raises(CredentialRefusedError):
            cose.decode_cbor(bad)
        assert cose.decode_cbor(b"\xa1\x01\x82\x02\x03") == {1: [2, 3]}
