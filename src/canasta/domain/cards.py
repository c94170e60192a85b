"""Benefit cards: numbers that catch typing errors, and the states a card goes through.

A card belongs to a household and names one holder; the entitlements stay with the household, so a lost card
never costs anyone their benefit (DESIGN section 1). Card numbers are random (not sequential, not guessable)
with a Damm check digit, which catches every single-digit error and every adjacent transposition.
"""

from __future__ import annotations

from enum import StrEnum

from canasta.domain.errors import ConflictError, ValidationError

__all__ = [
    "CARD_NUMBER_DIGITS",
    "TRANSITIONS",
    "CardState",
    "check_transition",
    "damm_check_digit",
    "format_card_number",
    "is_valid_card_number",
    "make_card_number",
    "parse_card_number",
]

#: random digits in a card number; the check digit makes it 16
CARD_NUMBER_DIGITS = 15

# Damm's totally anti-symmetric quasigroup of order 10 (H. M. Damm, 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


class CardState(StrEnum):
    """Where a card is in its life. Legal transitions are listed in :data:`TRANSITIONS`."""

    ISSUED = "issued"  # made and printed, not yet handed to the household
    ACTIVE = "active"  # handed over; accepted at distribution points
    LOST = "lost"  # reported lost or stolen; refused, and the household is offered a reissue
    REVOKED = "revoked"  # withdrawn (reissued, fraud, error); refused everywhere, on the revocation list
    EXPIRED = "expired"  # past its expiry date; refused


#: state -> states it may move to. Every move is recorded with who, when and why.
TRANSITIONS: dict[CardState, frozenset[CardState]] = {
    CardState.ISSUED: frozenset({CardState.ACTIVE, CardState.REVOKED, CardState.EXPIRED}),
    CardState.ACTIVE: frozenset({CardState.LOST, CardState.REVOKED, CardState.EXPIRED}),
    CardState.LOST: frozenset({CardState.REVOKED}),  # a reissue revokes the lost card for good
    CardState.REVOKED: frozenset(),
    CardState.EXPIRED: frozenset(),
}

#: states whose cards must be refused by distribution points (they go on the revocation list)
REFUSED_STATES = frozenset({CardState.LOST, CardState.REVOKED})


def check_transition(current: CardState, target: CardState) -> None:
    """Raise :class:`ConflictError` unless a card in ``current`` may move to ``target``."""
    if target not in TRANSITIONS[current]:
        raise ConflictError(f"a card that is {current.value} cannot become {target.value}", code="invalid_transition")


def damm_check_digit(digits: str) -> int:
    """The Damm check digit of a string of decimal digits."""
    interim = 0
    for character in digits:
        interim = _DAMM[interim][ord(character) - 48]
    return interim


def make_card_number(random_digits: str) -> str:
    """A card number from ``CARD_NUMBER_DIGITS`` random digits (the caller draws them from a secure source)."""
    if len(random_digits) != CARD_NUMBER_DIGITS or not random_digits.isdigit():
        raise ValueError(f"need {CARD_NUMBER_DIGITS} random decimal digits")
    return random_digits + str(damm_check_digit(random_digits))


def is_valid_card_number(number: str) -> bool:
    """True when ``number`` is 16 digits whose Damm check passes."""
    return (
        len(number) == CARD_NUMBER_DIGITS + 1
        and number.isascii()
        and number.isdigit()
        and damm_check_digit(number) == 0
    )


def parse_card_number(text: str, *, field: str = "card_number") -> str:
    """A card number as typed (spaces and hyphens allowed) -> its 16 digits, or :class:`ValidationError`."""
    number = text.replace(" ", "").replace("-", "")
    if not is_valid_card_number(number):
        raise ValidationError("is not a valid card number (16 digits with a correct check digit)", field=field,
                              code="invalid_card_number")  # fmt: skip
    return number


def format_card_number(number: str) -> str:
    """Groups of four for printing: ``1234 5678 9012 3456``."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
