"""The birth-date boundary the facts SQL compares with gives the same ages as the Python facts."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from canasta.adapters.db.facts_sql import born_by
from canasta.domain.facts import age_on


def test_a_leap_day_reference_in_a_common_year_reads_as_28_february() -> None:
    assert born_by(date(2028, 2, 29), 5) == date(2023, 2, 28)
    assert born_by(date(2028, 2, 29), 4) == date(2024, 2, 29)


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=90),
    st.integers(min_value=-3, max_value=3),
)
def test_born_by_is_exactly_the_age_boundary(reference: date, years: int, shift: int) -> None:
    boundary = born_by(reference, years)
    birth = boundary + timedelta(days=shift)
    assert (age_on(birth, reference) >= years) == (birth <= boundary)
