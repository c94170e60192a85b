"""The eligibility benchmark itself: it runs end to end on a small population, canasta and the hand-written
baseline decide alike, and on PostgreSQL the copied households beyond the imported ones are real households."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.schema import upgrade_schema
from canasta.adapters.db.tables import households, people
from canasta.benchmarks import eligibility
from canasta.config import Settings


@pytest.mark.parametrize("size", [120])
def test_the_benchmark_runs_end_to_end(database_url: str, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eligibility, "IMPORTED_AT_MOST", 50)  # PostgreSQL: 50 imported, 70 copied
    result = eligibility.run(Settings(database_url=database_url), size)
    assert result["name"] == "eligibility"
    assert result["size"] == size
    assert result["decisions"] == size  # one decision per household, imported or copied
    assert 0 < result["entitlements"] <= size
    assert result["leased"] == result["entitlements"]  # a point in every state: every household has a home point
    assert result["seconds"] > 0
    assert result["baseline_seconds"] > 0
    # The times are rounded to the millisecond; at this size that alone moves their quotient by several percent.
    low = max(result["baseline_seconds"] - 0.0005, 0) / (result["seconds"] + 0.0005)
    high = (result["baseline_seconds"] + 0.0005) / max(result["seconds"] - 0.0005, 1e-9)
    assert low - 0.001 <= result["ratio"] <= high + 0.001


@pytest.mark.postgres
def test_copies_are_new_households_with_the_same_members(postgres_server: str) -> None:
    from canasta.benchmarks.scratch import empty_database

    with empty_database(postgres_server) as url:
        engine = make_engine(url)
        try:
            upgrade_schema(engine)
            eligibility.IMPORTED_AT_MOST, saved = 40, eligibility.IMPORTED_AT_MOST
            try:
                persons = eligibility._load(engine, 100)
            finally:
                eligibility.IMPORTED_AT_MOST = saved
            with engine.connect() as connection:
                count = connection.execute(select(func.count()).select_from(households)).scalar_one()
                members = connection.execute(select(func.count()).select_from(people)).scalar_one()
                ids = connection.execute(select(households.c.id, households.c.reference)).all()
                orphans = connection.execute(
                    select(func.count())
                    .select_from(people.outerjoin(households, households.c.id == people.c.household_id))
                    .where(households.c.id.is_(None))
                ).scalar_one()
                per_copy = connection.execute(
                    select(func.count())
                    .select_from(people.join(households, households.c.id == people.c.household_id))
                    .where(households.c.reference.like("%~1"))
                ).scalar_one()
                originals = connection.execute(
                    select(func.count())
                    .select_from(people.join(households, households.c.id == people.c.household_id))
                    .where(households.c.reference.not_like("%~%"))
                ).scalar_one()
        finally:
            engine.dispose()
    assert count == 100
    assert persons == members
    assert len({household_id for household_id, _ in ids}) == 100
    assert sum(reference.endswith("~2") for _, reference in ids) == 20  # 40 + 40 + the first 20 again
    assert orphans == 0
    assert per_copy == originals  # a full copy has every member of the households it copies
    assert all(household_id.version == 7 for household_id, _ in ids)


def test_the_row_by_row_comparison_finds_a_difference(tmp_path: Any) -> None:
    from sqlalchemy import update

    from canasta.adapters.db.eligibility_tables import entitlements

    engine = make_engine(f"sqlite:///{tmp_path / 'bench.db'}")
    try:
        upgrade_schema(engine)
        eligibility._load(engine, 60)
        _, _, ours = eligibility._canasta_run(engine)
        _, _, theirs = eligibility._canasta_run(engine)
        assert eligibility._disagreements(engine, ours, theirs) == 0
        with engine.begin() as connection:
            changed = connection.execute(
                update(entitlements)
                .where(entitlements.c.cycle_id == theirs, entitlements.c.id == select(func.min(entitlements.c.id))
                       .where(entitlements.c.cycle_id == theirs).scalar_subquery())
                .values(units=entitlements.c.units + 1)
            ).rowcount  # fmt: skip
        assert changed == 1
        assert eligibility._disagreements(engine, ours, theirs) == 2  # one row only in each cycle
    finally:
        engine.dispose()
