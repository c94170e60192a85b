"""Redemptions racing on PostgreSQL, really at once (threads released together, each with its own connection):
one unit is handed out once, one redemption id has one effect, and stock never goes below zero."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from canasta.adapters.db import ledger_check
from canasta.adapters.db.redemption_tables import redemptions
from canasta.domain.errors import DomainError
from canasta.domain.ledger import Account, AccountKind, benefit_asset
from tests.factories import make_canasta
from tests.redemption_scene import MILK, RICE, Scene, balance, build, deliver, enrol, redeem, second_cycle

pytestmark = pytest.mark.postgres
RACERS = 32


@pytest.fixture
def scene(postgres_server: str) -> Iterator[Scene]:
    from canasta.benchmarks.scratch import empty_database

    with empty_database(postgres_server) as url:
        app = make_canasta(url)
        try:
            yield build(app)
            with app.engine.connect() as connection:
                report = ledger_check.check(connection)
            assert report.is_consistent, report.discrepancies
        finally:
            app.close()


def race(work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for every racer at the same moment; each result is a value or the error raised."""
    barrier = threading.Barrier(RACERS)
    results: list[Any] = [None] * RACERS

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except DomainError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def body(scene: Scene, redemption_id: str | None = None) -> dict[str, Any]:
    return {"redemption_id": redemption_id or str(uuid4()), "point": "DP-1", "card": scene.card_text,
            "items": [{"programme": "canasta-ninos", "units": 1}]}  # fmt: skip


def test_the_last_unit_goes_to_exactly_one_of_32_requests(scene: Scene) -> None:
    redeem(scene, **body(scene))  # one unit of two left
    scene.app.engine.pool.dispose()
    results = race(lambda _: redeem(scene, **body(scene)))
    won = [result for result in results if isinstance(result, dict)]
    lost = Counter(result.code for result in results if isinstance(result, DomainError))
    assert len(won) == 1
    assert lost == {"more_than_due": RACERS - 1}
    assert balance(scene, Account(AccountKind.HOUSEHOLD_ENTITLEMENT, benefit_asset("canasta-ninos"),
                                  scene.entitlement_id)) == 0  # fmt: skip


def test_one_id_sent_32_times_at_once_has_one_effect_and_one_answer(scene: Scene) -> None:
    same = body(scene)
    scene.app.engine.pool.dispose()
    results = race(lambda _: redeem(scene, **same))
    assert all(isinstance(result, dict) for result in results), results
    assert len({result["signature"] for result in results}) == 1
    with scene.app.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(redemptions)).scalar_one() == 1
    assert balance(scene, Account(AccountKind.HOUSEHOLD_ENTITLEMENT, benefit_asset("canasta-ninos"),
                                  scene.entitlement_id)) == 1  # fmt: skip


def test_stock_never_goes_below_zero_when_many_households_race_for_it(postgres_server: str) -> None:
    from canasta.benchmarks.scratch import empty_database

    with empty_database(postgres_server) as url:
        app = make_canasta(url)
        try:
            first = build(app, stock=0)
            deliver(app, first.point_id, RICE, 2000 * 5)  # five baskets on the shelf
            deliver(app, first.point_id, MILK, 5)
            for index in range(1, RACERS):
                enrol(app, f"H-race-{index}")
            # every household of the area is now due two baskets at DP-1 (a second cycle of the same programme)
            households = second_cycle(app)
            app.engine.pool.dispose()
            results = race(lambda index: redeem(first, **{
                "redemption_id": str(uuid4()), "point": "DP-1", "household": households[index],
                "reason": "queue test", "items": [{"programme": "canasta-ninos", "units": 1}]}))  # fmt: skip
            won = [result for result in results if isinstance(result, dict)]
            lost = Counter(result.code for result in results if isinstance(result, DomainError))
            assert len(won) == 5
            assert lost == {"out_of_stock": RACERS - 5}
            assert balance(first, Account(AccountKind.POINT_STOCK, RICE, first.point_id)) == 0
            assert balance(first, Account(AccountKind.POINT_STOCK, MILK, first.point_id)) == 0
            with app.engine.connect() as connection:
                assert ledger_check.check(connection).is_consistent
        finally:
            app.close()
