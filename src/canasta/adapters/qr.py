"""QR codes for benefit cards: encode a credential payload, draw it for print, read it back from an image.

The payload is the card's Base45 credential (DESIGN section 6), whose alphabet is exactly QR *alphanumeric*
mode: 11 bits per two characters instead of 16 in byte mode, so the same credential needs a smaller symbol.

Choices, and why:

* **Error correction Q** (recovers about 25% of the codewords). Cards live in wallets and get scratched, bent
  and stained; M (15%) would save only three versions for a 300-character credential (version 10 instead of 13)
  and the card has room for the larger symbol. H would need version 15, too large for the card at the module
  size below.
* **Module size 0.508 mm** (1/50 inch, 1.44 pt): 6 dots at 300 dpi and 12 at 600 dpi, so every module is a
  whole number of printer dots and modules do not jitter in width; at least 0.5 mm is what a cheap phone camera
  needs at arm's length. A version 13 symbol (69 modules, 352 characters at Q) is then 35.05 mm wide, plus the
  mandatory 4-module quiet zone (2.03 mm) on each side. Longer payloads are refused, never shrunk.
* **Generator: zxing-cpp** (``create_barcode``, built on libzint: alphanumeric mode is chosen automatically for
  such text, and the data mask is chosen by the standard's penalty rules). Measured on the project's 2-core
  machine over 300 realistic payloads of 160-268 characters at EC Q, median of 3 runs per QR:

  ==========================================  =========
  generator                                   ms per QR
  ==========================================  =========
  zxing-cpp 3.1.1 ``create_barcode``          1.2
  segno 1.6.6 ``make_qr`` (automatic mask)    16.3
  qrcode 8.2 (pure Python, not a dependency)  19.3
  ==========================================  =========

  Nine tenths of zxing-cpp's time is the automatic mask choice; fixing the mask would make it 0.2 ms but gives
  up the rule that keeps finder-like patterns out of the data, so we keep it.
* zxing-cpp ignores options it does not know without a word, so :func:`encode_qr` checks the error correction
  level of every symbol it makes rather than trusting the request.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

import zxingcpp

from canasta.domain.errors import ValidationError

__all__ = [
    "ALPHANUMERIC_CHARACTERS",
    "ERROR_CORRECTION",
    "MAX_PAYLOAD_CHARACTERS",
    "MAX_VERSION",
    "MODULE_SIZE_MM",
    "QUIET_ZONE_MODULES",
    "QrSymbol",
    "ReadQr",
    "encode_qr",
    "qr_png",
    "read_qr_codes",
]

#: the QR alphanumeric alphabet, which is also Base45's
ALPHANUMERIC_CHARACTERS: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
ERROR_CORRECTION: Final = "Q"
#: largest symbol a card prints (69 x 69 modules)
MAX_VERSION: Final = 13
#: alphanumeric characters a version 13 symbol holds at error correction Q (ISO/IEC 18004)
MAX_PAYLOAD_CHARACTERS: Final = 352
MODULE_SIZE_MM: Final = 0.508
QUIET_ZONE_MODULES: Final = 4

_DARK_TO_BIT: Final = bytes.maketrans(b"\x00\xff", b"01")  # zxing-cpp: 0 is dark; PDF/PNG gray: bit 0 is black
_MILLIMETRES_PER_INCH: Final = 25.4


@dataclass(frozen=True, slots=True)
class QrSymbol:
    """A QR symbol without its quiet zone.

    ``modules`` holds ``size * size`` bytes row by row from the top: 0 for a dark module, 255 for a light one.
    """

    size: int
    modules: bytes
    error_correction: str

    @property
    def version(self) -> int:
        """The QR version (1-40): ``size`` is ``17 + 4 * version``."""
        return (self.size - 17) // 4

    def is_dark(self, row: int, column: int) -> bool:
        """Whether the module at ``row``, ``column`` (from the top left, 0-based) is dark."""
        return self.modules[row * self.size + column] == 0

    def packed_rows(self, *, quiet_zone: int = 0, scale: int = 1) -> bytes:
        """The symbol as a 1-bit gray image, rows from the top, most significant bit first, 0 for black.

        Each module becomes ``scale`` x ``scale`` pixels, and ``quiet_zone`` light modules are added on every
        side; each row is padded with light bits to a whole byte, as PDF and PNG images expect.
        """
        width = (self.size + 2 * quiet_zone) * scale
        row_bytes = (width + 7) // 8
        bits = self.modules.translate(_DARK_TO_BIT)
        if scale > 1:
            bits = bytes(bit for bit in bits for _ in range(scale))
        left = b"1" * (quiet_zone * scale)
        right = left + b"1" * (row_bytes * 8 - width)
        step = self.size * scale
        light_rows = b"\xff" * (row_bytes * quiet_zone * scale)
        rows = (
            int(b"".join((left, bits[start : start + step], right)), 2).to_bytes(row_bytes, "big") * scale
            for start in range(0, len(bits), step)
        )
        return b"".join((light_rows, *rows, light_rows))


@dataclass(frozen=True, slots=True)
class ReadQr:
    """A QR code found in an image: its text, version, error correction and bounding box in pixels."""

    text: str
    version: int
    error_correction: str
    left: int
    top: int
    right: int
    bottom: int


def encode_qr(payload: str, *, max_version: int = MAX_VERSION) -> QrSymbol:
    """Encode ``payload`` as a QR symbol in alphanumeric mode at error correction Q.

    Raises :class:`~canasta.domain.errors.ValidationError` (field ``qr_payload``) when the payload is empty,
    holds a character outside the alphanumeric alphabet (naming its position, never the payload), or needs a
    version above ``max_version``.
    """
    if not payload:
        raise ValidationError("the QR payload is empty", field="qr_payload")
    if not ALPHANUMERIC_CHARACTERS.issuperset(payload):
        position = next(index for index, character in enumerate(payload) if character not in ALPHANUMERIC_CHARACTERS)
        raise ValidationError(
            f"the QR payload has U+{ord(payload[position]):04X} at position {position}, outside the QR "
            "alphanumeric alphabet (0-9 A-Z space $ % * + - . / :)",
            field="qr_payload",
            position=position,
        )
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_CORRECTION)
    if barcode.ec_level != ERROR_CORRECTION:  # pragma: no cover - guards against a silently ignored option
        raise RuntimeError(f"zxing-cpp made a QR code at level {barcode.ec_level}, not {ERROR_CORRECTION}")
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    size = int(image.shape[0])
    modules = bytes(memoryview(image))  # type: ignore[arg-type]  # zxingcpp.Image has the buffer protocol; its stub does not say so
    symbol = QrSymbol(size, modules, ERROR_CORRECTION)
    if symbol.version > max_version:
        raise ValidationError(
            f"a QR payload of {len(payload)} characters needs version {symbol.version}; cards print at most "
            f"version {max_version}",
            field="qr_payload",
            length=len(payload),
            version=symbol.version,
        )
    return symbol


def qr_png(symbol: QrSymbol, *, dots_per_inch: int = 600) -> bytes:
    """A 1-bit PNG of ``symbol`` with its quiet zone that prints at :data:`MODULE_SIZE_MM` per module.

    Each module is ``round(MODULE_SIZE_MM * dots_per_inch / 25.4)`` pixels (12 at 600 dpi, 6 at 300 dpi) and
    the resolution is recorded in the file, so printing at 100% gives the intended physical size.
    """
    scale = max(1, round(MODULE_SIZE_MM * dots_per_inch / _MILLIMETRES_PER_INCH))
    width = (symbol.size + 2 * QUIET_ZONE_MODULES) * scale
    bitmap = symbol.packed_rows(quiet_zone=QUIET_ZONE_MODULES, scale=scale)
    stride = (width + 7) // 8
    scanlines = b"".join(b"\x00" + bitmap[start : start + stride] for start in range(0, len(bitmap), stride))
    pixels_per_metre = round(dots_per_inch / _MILLIMETRES_PER_INCH * 1000)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)),  # 1-bit grayscale
            chunk(b"pHYs", struct.pack(">IIB", pixels_per_metre, pixels_per_metre, 1)),
            chunk(b"IDAT", zlib.compress(scanlines, 9)),
            chunk(b"IEND", b""),
        )
    )


def read_qr_codes(image: object) -> list[ReadQr]:
    """Every QR code zxing-cpp finds in ``image`` (a PIL image, a NumPy array or a buffer zxing-cpp accepts).

    Codes that are found but fail to decode are left out; an image without any code gives an empty list.
    """
    found = []
    for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)):
        corners = (
            barcode.position.top_left,
            barcode.position.top_right,
            barcode.position.bottom_right,
            barcode.position.bottom_left,
        )
        xs, ys = [corner.x for corner in corners], [corner.y for corner in corners]
        extra = barcode.extra if isinstance(barcode.extra, dict) else {}
        found.append(
            ReadQr(
                text=barcode.text,
                version=int(extra.get("Version", 0)),
                error_correction=barcode.ec_level,
                left=min(xs),
                top=min(ys),
                right=max(xs),
                bottom=max(ys),
            )
        )
    return found
