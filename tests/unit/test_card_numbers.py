"""Card numbers: the check digit catches every single-digit error and adjacent transposition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canasta.domain.cards import (
    TRANSITIONS,
    CardState,
    check_transition,
    format_card_number,
    is_valid_card_number,
    make_card_number,
    parse_card_number,
)
from canasta.domain.errors import ConflictError, ValidationError

random_digits = st.text(alphabet="0123456789", min_size=15, max_size=15)


@given(random_digits)
def test_a_made_number_is_valid(digits: str) -> None:
    assert is_valid_card_number(make_card_number(digits))


@given(random_digits, st.integers(0, 15), st.integers(1, 9))
def test_every_single_digit_error_is_caught(digits: str, position: int, shift: int) -> None:
    number = make_card_number(digits)
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert not is_valid_card_number(wrong)


@given(random_digits, st.integers(0, 14))
def test_every_adjacent_transposition_is_caught(digits: str, position: int) -> None:
    number = make_card_number(digits)
    if number[position] == number[position + 1]:
        return
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert not is_valid_card_number(swapped)


def test_numbers_are_read_as_typed_and_printed_in_groups() -> None:
    number = make_card_number("123456789012345")
    assert parse_card_number(format_card_number(number)) == number
    assert parse_card_number(number[:4] + "-" + number[4:]) == number
    with pytest.raises(ValidationError) as refused:
        parse_card_number("1234")
    assert refused.value.code == "invalid_card_number"


def test_only_listed_transitions_are_allowed() -> None:
    for current in CardState:
        for target in CardState:
            if target in TRANSITIONS[current]:
                check_transition(current, target)
            else:
                with pytest.raises(ConflictError):
                    check_transition(current, target)
    assert TRANSITIONS[CardState.REVOKED] == frozenset()
