"""A household member's own view of their record: the rules of their sign-in PIN and of what they are shown.

A member signs in with three things (docs/citizens.md): the household's card number (something they hold), their
birth date (something staff and relatives may know, so it only picks the member) and a 6-digit PIN set at the
office (something only they know). The PIN is the one secret, so the guessable ones are refused here.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from canasta.domain.access import Role
from canasta.domain.errors import ValidationError

__all__ = ["PIN_LENGTH", "check_pin", "citizen_user_name", "role_of_label", "shown_by"]

PIN_LENGTH = 6


def _birth_date_forms(born: date) -> set[str]:
    """The 6-digit PINs a birth date makes as people write it: day, month and two-digit year in the usual orders,
    and every 6-digit run of the date written with a four-digit year."""
    day, month, year, short = f"{born.day:02d}", f"{born.month:02d}", f"{born.year:04d}", f"{born.year % 100:02d}"
    forms = {day + month + short, month + day + short, short + month + day, short + day + month}
    for written in (day + month + year, month + day + year, year + month + day):
        forms |= {written[start : start + PIN_LENGTH] for start in range(len(written) - PIN_LENGTH + 1)}
    return forms


def _is_run(pin: str, step: int) -> bool:
    """Each digit is the one before plus ``step`` (mod 10): 123456, 789012, 654321, 210987."""
    return all((int(pin[index + 1]) - int(pin[index])) % 10 == step % 10 for index in range(len(pin) - 1))


def check_pin(pin: str, birth_dates: Iterable[date]) -> str:
    """The PIN if it is 6 digits and not guessable, else :class:`ValidationError` (``field`` ``pin``).

    Refused: a pattern of one to three digits repeated (``111111``, ``121212``, ``123123``), an ascending or
    descending run (``123456``, ``987654``, wrapping round as ``890123``), and any 6-digit run of a birth date in
    ``birth_dates`` (the member's own and their household's, which relatives know) in the usual written orders.
    """
    if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
        raise ValidationError(f"must be exactly {PIN_LENGTH} digits", field="pin", code="invalid_pin")
    if any(pin == pin[:period] * (PIN_LENGTH // period) for period in (1, 2, 3)):
        raise ValidationError("is a repeated pattern; choose digits that do not repeat", field="pin", code="weak_pin")
    if _is_run(pin, 1) or _is_run(pin, -1):
        raise ValidationError("is a run of consecutive digits; choose another", field="pin", code="weak_pin")
    if any(pin in _birth_date_forms(born) for born in birth_dates):
        raise ValidationError(
            "is made of a birth date in the household, which others know; choose another", field="pin",
            code="weak_pin",
        )  # fmt: skip
    return pin


def citizen_user_name(person_id: UUID) -> str:
    """The user name of a household member's sign-in: from the person's id, never their name (it is logged)."""
    return f"citizen-{person_id.hex}"


def role_of_label(label: str) -> str:
    """The role of a record's ``role:name`` label (staff names are not shown to households: their safety)."""
    role, _, _ = label.partition(":")
    return role


def shown_by(label: str | None, *, own_label: str) -> str | None:
    """How a ``role:name`` label is shown to a household member: ``you``, ``your household`` (another member: a
    citizen acts on their own household only), or the role alone."""
    if label is None:
        return None
    if label == own_label:
        return "you"
    role = role_of_label(label)
    return "your household" if role == Role.CITIZEN.value else role
