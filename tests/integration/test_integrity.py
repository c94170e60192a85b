"""The set-based integrity checks find a broken reference, and find none after real writes."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from canasta.adapters.db.integrity import REFERENCES, broken_references
from canasta.adapters.db.tables import identifiers
from tests.factories import NOW, make_canasta, person_row, write_csv
from tests.integration.test_import import run_import


def test_imports_leave_every_reference_whole_and_an_orphan_is_found(database_url: str, tmp_path: Path) -> None:
    canasta = make_canasta(database_url)
    try:
        rows = [person_row("H1", "P1", national_id="V-1001"), person_row("H2", "P2", national_id="V-1002")]
        assert run_import(canasta, write_csv(tmp_path / "people.csv", rows)).imported == 2
        with canasta.engine.connect() as connection:
            assert broken_references(connection) == {}
        with canasta.engine.begin() as connection:
            connection.execute(
                identifiers.insert().values(
                    id=UUID(int=7), person_id=UUID(int=99), kind="passport", value_sealed=b"x", blind_index=b"y" * 16,
                    created_at=NOW, created_by="test",
                )
            )  # fmt: skip
        with canasta.engine.connect() as connection:
            assert broken_references(connection) == {"identifier person": 1}
    finally:
        canasta.close()


def test_every_uuid_reference_column_is_checked() -> None:
    checked = {(ref.table.name, ref.column.name) for ref in REFERENCES}
    expected = {
        ("households", "area_code"), ("households", "import_id"), ("people", "household_id"), ("people", "import_id"),
        ("identifiers", "person_id"), ("consents", "household_id"), ("consents", "person_id"),
        ("cards", "household_id"), ("cards", "holder_id"), ("card_events", "card_id"),
        ("distribution_points", "area_code"), ("cycles", "programme_id"), ("decisions", "cycle_id"),
        ("decisions", "household_id"), ("decisions", "appeal_id"), ("entitlements", "programme_id"),
        ("entitlements", "cycle_id"), ("entitlements", "household_id"), ("entitlements", "decision_id"),
        ("entitlements", "home_point_id"), ("appeals", "decision_id"), ("appeals", "cycle_id"),
        ("appeals", "household_id"), ("appeals", "new_decision_id"), ("appeal_events", "appeal_id"),
    }  # fmt: skip
    assert checked == expected
