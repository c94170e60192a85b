"""Base45 (RFC 9285): the RFC's examples, leniency on presentation, exact refusals, and agreement with the
``base45`` package on arbitrary data."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import base45 as reference
import pytest
from hypothesis import given
from hypothesis import strategies as st

from canasta.adapters.crypto import base45 as ours
from canasta.adapters.crypto.base45 import ALPHABET, Base45Error, decode, encode

RFC_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
    (b"", ""),
]


@pytest.mark.parametrize(("data", "text"), RFC_EXAMPLES)
def test_the_rfc_examples_encode_and_decode(data: bytes, text: str) -> None:
    assert encode(data) == text
    assert decode(text) == data


@pytest.mark.shared_testdata
def test_the_rfc_9285_vector_file_encodes_decodes_and_refuses(shared_testdata: Path) -> None:
    cases = json.loads((shared_testdata / "base45" / "rfc9285.json").read_text())
    checked = refused = 0
    for case in cases:
        if "error" in case:
            with pytest.raises(Base45Error, match="above 65535"):
                decode(case["encoded"])
            refused += 1
        else:
            assert encode(case["decoded"].encode()) == case["encoded"]
            assert decode(case["encoded"]) == case["decoded"].encode()
            checked += 1
    assert (checked, refused) == (4, 1)


def test_lower_case_letters_decode_like_upper_case() -> None:
    assert decode("%69 vd92ex0") == b"Hello!!"


def test_line_breaks_and_tabs_are_ignored_anywhere() -> None:
    assert decode("\n%69 VD\r\n92E\tX0\n") == b"Hello!!"


def test_a_space_is_data_not_whitespace() -> None:
    # "%69 VD92EX0" has a space inside a triple: dropping it would change the bytes or the length.
    with pytest.raises(Base45Error, match="3n \\+ 1"):
        decode("%69VD92EX0")


def test_a_character_outside_the_alphabet_is_refused_with_its_position() -> None:
    with pytest.raises(Base45Error, match="position 4 is not in the Base45 alphabet"):
        decode("BB8B!B8")


def test_a_non_ascii_character_is_refused_with_its_position() -> None:
    with pytest.raises(Base45Error, match="position 3 is not in the Base45 alphabet"):
        decode("BB8é")


def test_a_length_of_three_n_plus_one_is_refused() -> None:
    with pytest.raises(Base45Error, match="4 characters"):
        decode("BB8B")


def test_a_triple_above_65535_is_refused_naming_the_triple() -> None:
    # ":::" is 44 + 44*45 + 44*2025 = 91124
    with pytest.raises(Base45Error, match="triple 2 encodes a value above 65535"):
        decode("BB8:::")


def test_a_last_pair_above_255_is_refused() -> None:
    # "::" is 44 + 44*45 = 2024
    with pytest.raises(Base45Error, match="last pair encodes 2024"):
        decode("BB8::")


def test_the_largest_triple_and_pair_decode() -> None:
    assert decode("FGW") == b"\xff\xff"
    assert decode("U5") == b"\xff"


@given(st.binary(max_size=600))
def test_arbitrary_bytes_survive_a_round_trip(data: bytes) -> None:
    assert decode(encode(data)) == data


@given(st.binary(max_size=600))
def test_encoding_agrees_with_the_base45_package(data: bytes) -> None:
    assert encode(data) == reference.b45encode(data).decode("ascii")


@given(st.text(alphabet=ALPHABET, max_size=60))
def test_decoding_agrees_with_the_base45_package_on_any_alphabet_text(text: str) -> None:
    try:
        expected: bytes | None = reference.b45decode(text)
    except ValueError:
        expected = None
    try:
        ours: bytes | None = decode(text)
    except Base45Error:
        ours = None
    assert ours == expected


@given(st.text(max_size=60))
def test_any_text_decodes_or_raises_base45_error_only(text: str) -> None:
    with contextlib.suppress(Base45Error):
        assert isinstance(decode(text), bytes)


def test_the_decoder_keeps_masks_for_a_bounded_number_of_lengths() -> None:
    for size in range(0, 600, 2):  # 300 lengths
        assert decode(encode(bytes(size))) == bytes(size)
    assert len(ours._MASKS) <= 64
