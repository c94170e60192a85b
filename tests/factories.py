"""Builders for test data: an import file, a gazetteer, and a bootstrapped canasta on a throwaway database."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from canasta.adapters.clock import FixedClock
from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.repositories import load_areas
from canasta.adapters.db.schema import upgrade_schema
from canasta.bootstrap import Canasta, bootstrap
from canasta.config import Settings
from canasta.domain.household_rows import HOUSEHOLD_COLUMNS, PERSON_COLUMNS

AREAS = [
    ("VE-01", "Estado Uno", "state", ""),
    ("VE-01-01", "Municipio Uno", "municipality", "VE-01"),
    ("VE-01-01-01", "Parroquia Uno", "parish", "VE-01-01"),
    ("VE-01-01-02", "Parroquia Dos", "parish", "VE-01-01"),
    ("VE-02", "Estado Dos", "state", ""),
    ("VE-02-01", "Municipio Tres", "municipality", "VE-02"),
    ("VE-02-01-01", "Parroquia Tres", "parish", "VE-02-01"),
]
COLUMNS = (*HOUSEHOLD_COLUMNS, *PERSON_COLUMNS)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def person_row(household: str, person: str, **values: Any) -> dict[str, str]:
    """One valid import row; ``values`` override columns."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        household_ref=household, area_code="VE-01-01-01", address="Calle Real 1", monthly_income="150000",
        currency="VES", dwelling_type="house", tenure="owned", assets="refrigerator;television", land_m2="0",
        person_ref=person, given_name="José", family_name="Peña Núñez", birth_date="1980-03-04", sex="1",
        relationship="head", wg_seeing="1", schooling="secondary", employment="employed",
    )  # fmt: skip
    row.update({key: str(value) for key, value in values.items()})
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_canasta(database_url: str, *, keys: KeyMaterial | None = None) -> Canasta:
    """A canasta on ``database_url`` with the test gazetteer loaded and a fixed clock."""
    settings = Settings(
        database_url=database_url, key_file=Path("/nonexistent/keys.json"), import_batch_size=100,
        audit_seal_seconds=0,  # tests seal when they mean to; one test runs the server's sealer thread
    )  # fmt: skip
    engine = make_engine(database_url)
    upgrade_schema(engine)
    with engine.begin() as connection:
        if not connection.exec_driver_sql("SELECT 1 FROM areas").first():
            load_areas(connection, [(i, list(area)) for i, area in enumerate(AREAS, start=2)])
    return bootstrap(settings, engine=engine, keys=keys or KeyMaterial.generate(), clock=FixedClock(NOW))


TEST_PASSWORD = "correct horse battery staple"  # the test users' password, not a secret


def sign_in(
    app: Canasta, users: Iterable[tuple[str, str, list[str]]], *, password: str = TEST_PASSWORD
) -> dict[str, dict[str, str]]:
    """Add each ``(name, role, areas)`` user and give back an ``Authorization`` header per name (an hour's token)."""
    from datetime import timedelta

    from canasta.adapters.db.users import add_user, issue_token

    headers: dict[str, dict[str, str]] = {}
    with app.engine.begin() as connection:
        for name, role, areas in users:
            add_user(connection, user_id=app.new_ids(1)[0], name=name, role=role, password=password,
                     area_codes=areas, at=NOW)  # fmt: skip
            token = issue_token(connection, token_id=app.new_ids(1)[0], name=name, at=NOW, lifetime=timedelta(hours=1))
            headers[name] = {"Authorization": f"Bearer {token}"}
    return headers
