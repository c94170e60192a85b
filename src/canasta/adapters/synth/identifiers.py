"""Unique national identity numbers and phone numbers, drawn without any table of numbers already used.

Each is a fixed permutation of a range (multiplication by a constant coprime with the range's size) started at
a seed-dependent offset, so the n-th number handed out is unique, looks random and differs between seeds, and
memory stays flat however many are drawn.

National numbers are the 7-8 digit numbers of ``V-12345678``. Genuine people only ever get the first
:data:`ISSUABLE` positions of the permutation; a mistyped copy (see ``duplicates.py``) is only given a number
whose position lies beyond them, so a typo never lands on the number of a real person of the population.
"""

from __future__ import annotations

import random

__all__ = ["ISSUABLE", "NationalNumbers", "PhoneNumbers"]

_FIRST = 1_000_000
_SIZE = 90_000_000
_MULTIPLIER = 61_728_397  # coprime with 90,000,000 = 2^7 3^2 5^7: multiplication by it permutes the range
_INVERSE = pow(_MULTIPLIER, -1, _SIZE)
#: how many genuine national numbers a population can hold (about 19 million households)
ISSUABLE = 45_000_000

_PHONE_SIZE = 50_000_000  # five operators times seven digits
_PHONE_MULTIPLIER = 27_182_819  # coprime with 2^7 5^8
_OPERATORS = ("412", "414", "416", "424", "426")


class NationalNumbers:
    """The national numbers of one seed's population, handed out in order."""

    def __init__(self, seed: int) -> None:
        self._offset = random.Random(f"canasta synthetic national numbers {seed}").randrange(_SIZE)
        self._issued = 0

    def issue(self) -> int:
        """The next genuine number. Raises OverflowError once :data:`ISSUABLE` numbers are out."""
        if self._issued >= ISSUABLE:
            raise OverflowError(f"a synthetic population holds at most {ISSUABLE:,} national numbers")
        number = _FIRST + ((self._issued + self._offset) * _MULTIPLIER) % _SIZE
        self._issued += 1
        return number

    def is_never_issued(self, number: int) -> bool:
        """True when no genuine person of this seed's population can hold ``number``, however large it is."""
        if not _FIRST <= number < _FIRST + _SIZE:
            return True
        return ((number - _FIRST) * _INVERSE - self._offset) % _SIZE >= ISSUABLE


class PhoneNumbers:
    """Mobile numbers (``+58`` and an operator code) of one seed's population, unique up to 50 million."""

    def __init__(self, seed: int) -> None:
        self._next = random.Random(f"canasta synthetic phone numbers {seed}").randrange(_PHONE_SIZE)

    def issue(self) -> str:
        """The next number, e.g. ``+584141234567``."""
        number = (self._next * _PHONE_MULTIPLIER) % _PHONE_SIZE
        self._next += 1
        return f"+58{_OPERATORS[number // 10_000_000]}{number % 10_000_000:07d}"
