"""The schema itself names no prohibited category: no table or column could hold one."""

from __future__ import annotations

from canasta.adapters.db.tables import metadata
from canasta.domain.privacy import find_prohibited_category
from canasta.entrypoints.api.schemas import HouseholdCreate, HouseholdUpdate, PersonCreate, PersonUpdate


def test_no_table_or_column_names_a_prohibited_category() -> None:
    names = [table.name for table in metadata.tables.values()]
    names += [f"{table.name}.{column.name}" for table in metadata.tables.values() for column in table.columns]
    assert [name for name in names if find_prohibited_category(name) is not None] == []


def test_no_request_field_names_a_prohibited_category() -> None:
    fields = [
        name for model in (HouseholdCreate, HouseholdUpdate, PersonCreate, PersonUpdate) for name in model.model_fields
    ]
    assert [name for name in fields if find_prohibited_category(name) is not None] == []


def test_the_check_itself_can_fail() -> None:
    assert find_prohibited_category("people.voting_centre") is not None
