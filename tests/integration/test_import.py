"""The household import on real SQLite and PostgreSQL: validation, batches, idempotence, sealing."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from canasta.adapters.db.bulk import make_bulk_writer
from canasta.adapters.db.repositories import SqlImportJournal, load_custom_fields, parish_codes
from canasta.adapters.db.tables import households, identifiers, imports, people
from canasta.adapters.tabular import open_tabular
from canasta.bootstrap import Canasta
from canasta.domain.errors import ProhibitedCategoryError, ValidationError
from canasta.services.importing import ImportResult, import_households
from tests.factories import COLUMNS, make_canasta, person_row, write_csv


def run_import(canasta: Canasta, path: Path) -> ImportResult:
    source = open_tabular(path)
    with canasta.engine.connect() as connection:
        areas = parish_codes(connection)
        definitions = load_custom_fields(connection)
    writer = make_bulk_writer(canasta.engine)
    try:
        return import_households(
            header=source.header, rows=source.rows(), source_name=path.name, sha256=source.sha256,
            report_path=path.with_name(path.name + ".rejected.csv"), writer=writer, sealer=canasta.sealer,
            journal=SqlImportJournal(canasta.engine), clock=canasta.clock, import_id=canasta.new_ids(1)[0],
            new_ids=canasta.new_ids, area_codes=areas, definitions=definitions, actor="test",
            batch_size=canasta.settings.import_batch_size,
        )  # fmt: skip
    finally:
        writer.close()


def count(canasta: Canasta, table: Any) -> int:
    with canasta.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def report(path: Path) -> list[dict[str, str]]:
    with path.with_name(path.name + ".rejected.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def canasta(database_url: str) -> Any:
    app = make_canasta(database_url)
    yield app
    app.close()


def family(household: str, prefix: str, **head: Any) -> list[dict[str, str]]:
    return [
        person_row(household, f"{prefix}1", national_id=f"V-{prefix}001", phone="+584121234567", **head),
        person_row(household, f"{prefix}2", given_name="María", birth_date="2015-05-06", sex="2",
                   relationship="child", address="", monthly_income=""),
    ]  # fmt: skip


def test_valid_rows_are_imported_with_households(canasta: Canasta, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", family("H1", "A") + family("H2", "B"))
    result = run_import(canasta, path)
    assert (result.imported, result.households_imported, result.rejected) == (4, 2, 0)
    assert count(canasta, people) == 4
    assert count(canasta, households) == 2
    assert count(canasta, identifiers) == 2
    assert result.report_path is None


def test_rerunning_the_same_file_writes_nothing_twice(canasta: Canasta, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "people.csv", family("H1", "A") + family("H2", "B"))
    run_import(canasta, path)
    again = run_import(canasta, path)
    assert (again.imported, again.already_present, again.rejected) == (0, 4, 0)
    assert count(canasta, people) == 4
    assert count(canasta, households) == 2
    with canasta.engine.connect() as connection:
        statuses = connection.execute(select(imports.c.status, imports.c.rows_imported)).all()
    assert sorted(statuses) == [("finished", 0), ("finished", 4)]


def test_an_interrupted_import_is_completed_by_running_it_again(canasta: Canasta, tmp_path: Path) -> None:
    rows = [row for i in range(30) for row in family(f"H{i}", f"P{i}x")]
    first_half = write_csv(tmp_path / "first.csv", rows[:30])
    run_import(canasta, first_half)
    whole = write_csv(tmp_path / "whole.csv", rows)
    result = run_import(canasta, whole)
    assert (result.imported, result.already_present) == (30, 30)
    assert count(canasta, people) == 60


def test_a_bad_row_rejects_its_whole_household_and_nothing_else(canasta: Canasta, tmp_path: Path) -> None:
    rows = family("H1", "A") + family("H2", "B")
    rows[3]["birth_date"] = "2015-13-06"  # second person of H2
    path = write_csv(tmp_path / "people.csv", rows)
    result = run_import(canasta, path)
    assert (result.imported, result.rejected) == (2, 2)
    assert [(r["row"], r["column"], r["code"]) for r in report(path)] == [
        ("4", "", "household_rejected"),
        ("5", "birth_date", "invalid_date"),
    ]
    with canasta.engine.connect() as connection:
        assert connection.execute(select(households.c.reference)).scalars().all() == ["H1"]


@pytest.mark.parametrize(
    ("change", "column", "code"),
    [
        ({"monthly_income": "-5"}, "monthly_income", "negative"),
        ({"monthly_income": "12.5"}, "monthly_income", "invalid_integer"),
        ({"area_code": "VE-99-99-99"}, "area_code", "unknown_area"),
        ({"area_code": "VE-01"}, "area_code", "unknown_area"),
        ({"birth_date": "04/03/1980"}, "birth_date", "invalid_date"),
        ({"birth_date": "2030-01-01"}, "birth_date", "date_in_future"),
        ({"birth_date": "1850-01-01"}, "birth_date", "date_too_early"),
        ({"sex": "3"}, "sex", "invalid_choice"),
        ({"relationship": "boss"}, "relationship", "invalid_choice"),
        ({"wg_walking": "5"}, "wg_walking", "invalid_choice"),
        ({"currency": "bolivar"}, "currency", "invalid_currency"),
        ({"assets": "yacht"}, "assets", "invalid_choice"),
        ({"given_name": ""}, "given_name", "required"),
        ({"person_ref": "bad ref!"}, "person_ref", "invalid_reference"),
        ({"national_id": "V1"}, "national_id", "invalid_identifier"),
        ({"phone": "12"}, "phone", "invalid_phone"),
        ({"relationship": "child"}, "relationship", "head_count"),
    ],
)
def test_each_kind_of_bad_value_is_reported_with_row_column_and_code(
    canasta: Canasta, tmp_path: Path, change: dict[str, str], column: str, code: str
) -> None:
    path = write_csv(tmp_path / "people.csv", [person_row("H1", "P1", **change)])
    result = run_import(canasta, path)
    assert (result.imported, result.rejected, result.is_useful) == (0, 1, False)
    assert [(r["row"], r["column"], r["code"]) for r in report(path)] == [("2", column, code)]
    assert count(canasta, people) == 0
    assert count(canasta, households) == 0


def test_duplicate_person_rows_are_rejected(canasta: Canasta, tmp_path: Path) -> None:
    rows = [*family("H1", "A"), person_row("H1", "A2", given_name="Otra", relationship="child")]
    rows.append(person_row("H1", "A9", given_name="María", birth_date="2015-05-06", relationship="child"))
    path = write_csv(tmp_path / "people.csv", rows)
    run_import(canasta, path)
    codes = {(r["row"], r["code"]) for r in report(path)}
    assert ("4", "duplicate_person") in codes
    assert ("5", "duplicate_person") in codes
    assert count(canasta, people) == 0


def test_a_national_id_registered_to_someone_else_is_refused(canasta: Canasta, tmp_path: Path) -> None:
    run_import(canasta, write_csv(tmp_path / "first.csv", family("H1", "A")))
    clash = family("H2", "B")
    clash[0]["national_id"] = "V-A001"
    path = write_csv(tmp_path / "second.csv", clash)
    result = run_import(canasta, path)
    assert result.imported == 0
    assert ("2", "national_id", "identifier_taken") in {(r["row"], r["column"], r["code"]) for r in report(path)}


def test_scattered_rows_join_their_household(canasta: Canasta, tmp_path: Path) -> None:
    rows = [*family("H1", "A"), *family("H2", "B")]
    rows.append(person_row("H1", "A3", given_name="Luis", birth_date="2018-01-01", relationship="child"))
    result = run_import(canasta, write_csv(tmp_path / "people.csv", rows))
    assert (result.imported, result.households_imported, result.rejected) == (5, 2, 0)


def test_a_prohibited_column_stops_the_import_before_anything_is_written(canasta: Canasta, tmp_path: Path) -> None:
    rows = [{**person_row("H1", "P1"), "afiliacion_politica": "x"}]
    path = write_csv(tmp_path / "people.csv", rows, (*COLUMNS, "afiliacion_politica"))
    with pytest.raises(ProhibitedCategoryError) as refused:
        run_import(canasta, path)
    assert refused.value.category == "political opinion or party membership"
    assert refused.value.name == "afiliacion_politica"
    assert count(canasta, people) == 0
    assert count(canasta, imports) == 0


def test_unknown_and_missing_columns_are_refused_by_name(canasta: Canasta, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "extra.csv", [{**person_row("H1", "P1"), "colour": "x"}], (*COLUMNS, "colour"))
    with pytest.raises(ValidationError, match="unknown column 'colour'"):
        run_import(canasta, path)
    columns = tuple(column for column in COLUMNS if column != "birth_date")
    row = {k: v for k, v in person_row("H1", "P1").items() if k != "birth_date"}
    with pytest.raises(ValidationError, match=r"missing required column.*birth_date"):
        run_import(canasta, write_csv(tmp_path / "missing.csv", [row], columns))


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = ",".join(COLUMNS) + "\n" + ",".join(person_row("H1", "P1").values()) + "\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValidationError, match="line 2: the file is not UTF-8"):
        open_tabular(path)


def test_canary_values_are_not_stored_in_clear(canasta: Canasta, tmp_path: Path) -> None:
    canaries = {"national_id": "CANARY-7731", "phone": "+5899977731", "health_needs": "canaryinsulin7731"}
    path = write_csv(tmp_path / "people.csv", [person_row("H1", "P1", **canaries)])
    assert run_import(canasta, path).imported == 1
    url = canasta.engine.url
    if url.get_backend_name() == "sqlite":
        canasta.engine.dispose()
        stored = b"".join(p.read_bytes() for p in Path(url.database or "").parent.glob("canasta.db*"))
    else:
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "-h", url.host or "127.0.0.1", "-U", url.username or "postgres",
             "-p", str(url.port or 5432), url.database or ""],
            capture_output=True, check=True,
        )  # fmt: skip
        stored = dump.stdout
    # The scan reads the real stored bytes: names, which are not sealed, are found in clear.
    assert "Peña Núñez".encode() in stored
    for value in canaries.values():
        assert value.encode() not in stored


def test_an_xlsx_workbook_imports_like_its_csv(canasta: Canasta, tmp_path: Path) -> None:
    from datetime import date

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(COLUMNS))
    for row in family("H1", "A"):
        values: list[object] = list(row.values())
        values[COLUMNS.index("birth_date")] = date.fromisoformat(row["birth_date"])  # a real date cell
        values[COLUMNS.index("monthly_income")] = int(row["monthly_income"]) if row["monthly_income"] else None
        sheet.append(values)
    path = tmp_path / "people.xlsx"
    workbook.save(path)
    result = run_import(canasta, path)
    assert (result.imported, result.households_imported, result.rejected) == (2, 1, 0)
