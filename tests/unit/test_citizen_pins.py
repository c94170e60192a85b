"""The rules of a household member's sign-in PIN, and how their view names who did what."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from canasta.domain.citizens import check_pin, citizen_user_name, shown_by
from canasta.domain.errors import ValidationError
from canasta.services.citizens import decode_cursor, encode_cursor

BORN = date(1985, 3, 7)


@pytest.mark.parametrize(
    "pin",
    [
        "000000", "777777",  # one digit
        "121212", "909090", "123123", "407407",  # a short pattern repeated
        "123456", "456789", "789012", "901234",  # ascending, wrapping round
        "654321", "210987", "098765",  # descending
        "070385", "030785", "850307", "850703",  # day, month and two-digit year in the usual orders
        "070319", "198503", "031985",  # runs of the date with its four-digit year
    ],
)  # fmt: skip
def test_guessable_pins_are_refused(pin: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_pin(pin, [BORN])
    assert (refused.value.code, refused.value.field) == ("weak_pin", "pin")


def test_a_relatives_birth_date_is_refused_too() -> None:
    child = date(2019, 12, 24)
    assert check_pin("241219", [BORN]) == "241219"
    with pytest.raises(ValidationError):
        check_pin("241219", [BORN, child])


@pytest.mark.parametrize("pin", ["48291", "4829160", "48 916", "４８２９１６", ""])
def test_only_six_ascii_digits_are_a_pin(pin: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_pin(pin, [BORN])
    assert refused.value.code == "invalid_pin"


@pytest.mark.parametrize("pin", ["482916", "730594", "112358", "135790"])
def test_other_pins_are_accepted(pin: str) -> None:
    assert check_pin(pin, [BORN]) == pin


def test_a_members_sign_in_name_comes_from_their_id_not_their_name() -> None:
    person_id = UUID("0193a0b4-1c2d-7e3f-8a9b-0c1d2e3f4a5b")
    assert citizen_user_name(person_id) == "citizen-0193a0b41c2d7e3f8a9b0c1d2e3f4a5b"


def test_staff_are_shown_by_role_and_the_household_as_you_or_your_household() -> None:
    me = "citizen:citizen-aa"
    assert shown_by("enrolment_officer:marta", own_label=me) == "enrolment_officer"
    assert shown_by(me, own_label=me) == "you"
    assert shown_by("citizen:citizen-bb", own_label=me) == "your household"
    assert shown_by(None, own_label=me) is None


def test_a_page_cursor_round_trips_to_the_microsecond() -> None:
    at = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
    row_id = UUID("0193a0b4-1c2d-7e3f-8a9b-0c1d2e3f4a5b")
    assert decode_cursor(encode_cursor(at, row_id)) == (at, row_id)
    assert decode_cursor(None) is None
    for bad in ("", "yesterday", "20261129T120000123456Z-nothex", "20261129-" + row_id.hex):
        with pytest.raises(ValidationError) as refused:
            decode_cursor(bad)
        assert (refused.value.code, refused.value.field) == ("invalid_cursor", "before")
