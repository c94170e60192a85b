"""Base45 (RFC 9285): bytes as text in the QR alphanumeric alphabet.

Each pair of bytes ``[a, b]`` is the number ``n = a * 256 + b``, written as three characters ``c d e`` with
``n = c + d * 45 + e * 45**2`` (least significant first); a last odd byte is two characters. The alphabet is
``0-9``, ``A-Z`` and `` $%*+-./:`` (space included) in that order.

:func:`decode` is lenient on presentation and strict on content: it accepts lower-case letters and ignores
tabs, carriage returns and line feeds (a scanner or a copy-paste adds them), but a space is an alphabet character
and is always data. It refuses anything else outside the alphabet, a length of ``3n + 1`` and a triple above
65535 with :class:`Base45Error`.

The decoder is on the hot path of card verification, so it does the arithmetic on whole strings at once rather
than in a loop per triple: the digit string read as one big-endian integer holds each triple in a 3-byte lane as
``65536 c + 256 d + e``; masks pick ``c``, ``d`` and ``e`` out of every lane at once, and ``c + 45 d + 2025 e`` is
then computed for all lanes in three multiplications (a lane holds at most 91124, so no carry crosses a lane).
A lane whose high byte is not zero is a triple above 65535; the two low bytes of every lane are the output.
"""

from __future__ import annotations

__all__ = ["ALPHABET", "Base45Error", "decode", "encode"]

#: The 45 characters, each at the position of its value.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

_INVALID = 0xFF
_IGNORED = 0xFE
_WHITESPACE = b"\t\n\r\x0b\x0c"  # whitespace other than the space, which is an alphabet character


def _digit_table() -> bytes:
    # Ignored characters get a mark of their own rather than going through translate's (slow) delete argument:
    # most texts have none, and those that do lose them in one replace.
    table = bytearray([_INVALID] * 256)
    for value, character in enumerate(ALPHABET):
        table[ord(character)] = value
        table[ord(character.lower())] = value
    for code in _WHITESPACE:
        table[code] = _IGNORED
    return bytes(table)


_DIGITS = _digit_table()


class Base45Error(ValueError):
    """Text that is not Base45; the message says where."""


def encode(data: bytes) -> str:
    """Return the Base45 text of ``data``, in upper case."""
    characters: list[str] = []
    append = characters.append
    for start in range(0, len(data) - 1, 2):
        rest, c = divmod(data[start] * 256 + data[start + 1], 45)
        e, d = divmod(rest, 45)
        append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        append(ALPHABET[c] + ALPHABET[d])
    return "".join(characters)


def decode(text: str) -> bytes:
    """Return the bytes ``text`` encodes. Raises :class:`Base45Error` (a ``ValueError``) when it is not Base45."""
    if not text.isascii():
        raise Base45Error(f"character at position {_first_non_ascii(text)} is not in the Base45 alphabet")
    raw = text.encode()  # ASCII, so its UTF-8 bytes are its ASCII bytes (and no codec is looked up by name)
    digits = raw.translate(_DIGITS)
    if _IGNORED in digits:
        digits = digits.replace(b"\xfe", b"")
    if _INVALID in digits:
        raise Base45Error(f"character at position {_first_invalid(raw)} is not in the Base45 alphabet")
    triples, rest = divmod(len(digits), 3)
    if rest == 1:
        raise Base45Error(f"{len(digits)} characters: a Base45 text never has 3n + 1 characters")
    width = triples * 3
    lanes = int.from_bytes(digits[:width] if rest else digits)
    masks = _MASKS.get(triples)
    if masks is None:
        masks = _masks(triples)
    low, high = masks
    values = (lanes >> 16 & low) + 45 * (lanes >> 8 & low) + 2025 * (lanes & low)
    if values & high:
        raise Base45Error(
            f"triple {_first_large_triple(values.to_bytes(width, 'big')) + 1} encodes a value above 65535"
        )
    out = bytearray(values.to_bytes(width, "big"))
    del out[0::3]
    if rest:
        last = digits[width] + 45 * digits[width + 1]
        if last > 0xFF:
            raise Base45Error(f"the last pair encodes {last}, above 255")
        out.append(last)
    return bytes(out)


# Masks by number of triples. Cards come in a few lengths only, so the first 64 lengths seen are kept (a plain dict
# is cheaper to consult than a cache wrapper); the dict never grows beyond that, whatever texts arrive.
_MASKS: dict[int, tuple[int, int]] = {}


def _masks(triples: int) -> tuple[int, int]:
    """Masks of the low byte and of the high byte of every 3-byte lane."""
    low = int.from_bytes(b"\x00\x00\xff" * triples)
    masks = low, low << 16
    if len(_MASKS) < 64:
        _MASKS[triples] = masks
    return masks


def _first_non_ascii(text: str) -> int:
    return next(i for i, character in enumerate(text) if not character.isascii())


def _first_invalid(raw: bytes) -> int:
    return next(i for i, byte in enumerate(raw) if _DIGITS[byte] == _INVALID)


def _first_large_triple(values: bytes) -> int:
    return next(i for i, high in enumerate(values[0::3]) if high)
