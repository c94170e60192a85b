"""QR symbols for cards: alphanumeric mode at error correction Q, printable size, read back from images."""

from __future__ import annotations

import io
import random

import base45
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from canasta.adapters.qr import (
    ALPHANUMERIC_CHARACTERS,
    MAX_PAYLOAD_CHARACTERS,
    MAX_VERSION,
    MODULE_SIZE_MM,
    QUIET_ZONE_MODULES,
    QrSymbol,
    encode_qr,
    qr_png,
    read_qr_codes,
)
from canasta.domain.errors import ValidationError


def credential_text(length: int, seed: int = 0) -> str:
    """A Base45 string of exactly ``length`` characters, like a compressed, signed credential."""
    chooser = random.Random(seed)
    text: str = base45.b45encode(chooser.randbytes(length // 3 * 2 + 2)).decode()
    return text[:length]


def segno_version(payload: str, mode: str) -> int:
    """The smallest version at error correction Q, according to an independent encoder."""
    return int(segno.make_qr(payload, error="q", mode=mode, boost_error=False).version)


def test_a_300_character_credential_fits_version_13_at_level_q() -> None:
    payload = credential_text(300)

    symbol = encode_qr(payload)

    assert (symbol.version, symbol.size, symbol.error_correction) == (13, 69, "Q")


def test_the_largest_card_symbol_prints_under_40_mm_with_modules_of_at_least_half_a_millimetre() -> None:
    side_with_quiet_zone = (17 + 4 * MAX_VERSION + 2 * QUIET_ZONE_MODULES) * MODULE_SIZE_MM

    assert MODULE_SIZE_MM >= 0.5
    assert side_with_quiet_zone == pytest.approx(39.116)


def test_payloads_are_encoded_in_alphanumeric_mode_not_byte_mode() -> None:
    payload = credential_text(300, seed=1)

    symbol = encode_qr(payload)

    # Byte mode would need version 16 for 300 characters at level Q; alphanumeric mode needs 13.
    assert symbol.version == segno_version(payload, "alphanumeric") == 13
    assert segno_version(payload, "byte") == 16


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet=sorted(ALPHANUMERIC_CHARACTERS), min_size=1, max_size=MAX_PAYLOAD_CHARACTERS))
def test_every_payload_gets_the_smallest_alphanumeric_version(payload: str) -> None:
    # A payload of digits only may go in numeric mode, smaller still (found by this test: thirty zeros).
    smallest = segno_version(payload, "numeric") if payload.isdigit() else segno_version(payload, "alphanumeric")
    assert encode_qr(payload).version == smallest


def test_the_longest_payload_a_card_holds_is_352_characters() -> None:
    assert encode_qr(credential_text(MAX_PAYLOAD_CHARACTERS)).version == MAX_VERSION

    with pytest.raises(ValidationError) as raised:
        encode_qr(credential_text(MAX_PAYLOAD_CHARACTERS + 1))

    assert raised.value.field == "qr_payload"
    assert raised.value.fields["version"] == 14
    assert raised.value.fields["length"] == 353


@pytest.mark.parametrize(
    ("payload", "position", "code_point"), [("ABC-def", 4, "U+0064"), ("6BFOXN\nTS3DA", 6, "U+000A")]
)
def test_a_character_outside_the_alphanumeric_alphabet_is_refused_by_position(
    payload: str, position: int, code_point: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        encode_qr(payload)

    assert raised.value.field == "qr_payload"
    assert raised.value.fields["position"] == position
    assert code_point in raised.value.detail
    assert payload not in raised.value.detail


def test_an_empty_payload_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        encode_qr("")


def test_packed_rows_are_one_bit_per_module_with_light_quiet_zone_and_padding() -> None:
    symbol = encode_qr("HELLO CANASTA")  # version 1: 21 modules
    quiet = 2
    width = symbol.size + 2 * quiet  # 25 bits, padded to 4 bytes per row

    packed = symbol.packed_rows(quiet_zone=quiet)

    assert len(packed) == 4 * width
    rows = [int.from_bytes(packed[row * 4 : row * 4 + 4], "big") for row in range(width)]

    def bit(row: int, column: int) -> int:  # 1 is light
        return (rows[row] >> (31 - column)) & 1

    assert all(bit(row, column) == 1 for row in range(width) for column in range(width, 32))
    assert all(rows[row] == 0xFFFFFFFF for row in (0, 1, width - 2, width - 1))
    assert all(
        bit(row + quiet, column + quiet) == (0 if symbol.is_dark(row, column) else 1)
        for row in range(symbol.size)
        for column in range(symbol.size)
    )


def test_packed_rows_scale_each_module_to_a_square_of_pixels() -> None:
    symbol = QrSymbol(size=1 * 4 + 17, modules=bytes(21 * 21), error_correction="Q")  # all dark

    packed = symbol.packed_rows(scale=3)

    assert len(packed) == 63 * 8  # 63 pixels wide, padded to 8 bytes
    assert packed[:8] == b"\x00" * 7 + b"\x01"


def test_a_png_prints_at_the_module_size_and_reads_back() -> None:
    payload = credential_text(260, seed=2)
    symbol = encode_qr(payload)

    image = Image.open(io.BytesIO(qr_png(symbol, dots_per_inch=600)))

    pixels_per_module = 12  # 0.508 mm at 600 dpi
    assert image.mode == "1"
    assert image.size == ((symbol.size + 2 * QUIET_ZONE_MODULES) * pixels_per_module,) * 2
    assert image.info["dpi"] == pytest.approx((600, 600), abs=0.01)
    corner = QUIET_ZONE_MODULES * pixels_per_module  # the top-left finder pattern starts here
    assert image.getpixel((corner, corner)) == 0
    assert image.getpixel((corner - 1, corner - 1)) == 255
    [found] = read_qr_codes(image)
    assert (found.text, found.version, found.error_correction) == (payload, symbol.version, "Q")


def test_reading_an_image_without_a_code_finds_nothing() -> None:
    assert read_qr_codes(Image.new("L", (200, 200), 255)) == []
