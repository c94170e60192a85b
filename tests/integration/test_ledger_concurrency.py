"""Concurrent redemptions of one entitlement on PostgreSQL: real threads, each with its own connection.

All threads hold an open transaction and are released together by a barrier, so their guarded updates reach the
same balance row at the same moment; PostgreSQL's row lock lets exactly as many through as there are units.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, func, select

from canasta.adapters.db import ledger_store
from canasta.adapters.db.ledger_tables import ledger_transfers
from canasta.benchmarks.scratch import empty_database
from canasta.domain.errors import DomainError
from canasta.domain.ledger import TransferKind, benefit_asset
from tests.factories import NOW
from tests.ledger_builders import BY, entitlement, grant, ledger_engine, redeem, subsidy

pytestmark = pytest.mark.postgres

THREADS = 32
BASKET = benefit_asset("canasta-ninos")


@pytest.fixture
def engine(postgres_server: str) -> Iterator[Engine]:
    with empty_database(postgres_server) as url, ledger_engine(url, pool_size=THREADS, max_overflow=0) as engine:
        yield engine


def redeem_all_at_once(engine: Engine, household: UUID) -> list[str]:
    """Each thread redeems one unit; returns ``"ok"`` or the error code of each."""
    barrier = threading.Barrier(THREADS, timeout=60)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(number: int) -> None:
        outcome = "ok"
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("SELECT 1")  # the transaction and its connection are open before the race
                barrier.wait()
                # Each at a point of its own (a copied card shown everywhere at once): the entitlement's balance
                # row is the only one they share.
                ledger_store.post(connection, [redeem(uuid4(), household, BASKET, 1, f"client-{number}")], by=BY,
                                  at=NOW)  # fmt: skip
        except DomainError as error:
            outcome = error.code
        except Exception as error:  # anything else (a deadlock, a timeout) is a failure the test must show
            outcome = f"{type(error).__name__}: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


@pytest.mark.parametrize("units", [1, 10])
def test_concurrent_redemptions_of_one_entitlement_let_through_exactly_what_is_due(engine: Engine, units: int) -> None:
    programme, household = uuid4(), uuid4()
    with engine.begin() as connection:
        ledger_store.post(connection, [grant(programme, household, BASKET, units)], by=BY, at=NOW)

    outcomes = redeem_all_at_once(engine, household)

    assert sorted(outcomes) == sorted(["ok"] * units + ["insufficient_balance"] * (THREADS - units))
    with engine.connect() as connection:
        assert ledger_store.balance(connection, entitlement(household, BASKET)) == 0
        assert ledger_store.balance(connection, subsidy(programme, BASKET)) == -units
        redemptions = connection.execute(
            select(func.count()).where(ledger_transfers.c.kind == TransferKind.REDEEM.value)
        ).scalar_one()
        report = ledger_store.check(connection)
    assert redemptions == units
    assert report.discrepancies == ()
    assert report.transfers == units + 1
