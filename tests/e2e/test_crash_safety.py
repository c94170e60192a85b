"""Crash safety: a real server killed with SIGKILL in the middle of a redemption load, restarted on the same
database, and every request that got no answer sent again with the same id and body.

Afterwards every acknowledged redemption exists once with all its ledger transfers, no id has two effects, the
ledger checks, and every answer given for an id (before the crash, to a retry, to a replay) is the same receipt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, func, select

from canasta.adapters.crypto.receipts import verify_signed
from canasta.adapters.db.ledger_check import check
from canasta.adapters.db.ledger_tables import ledger_transfers
from canasta.adapters.db.redemption_tables import redemption_failures, redemptions
from canasta.benchmarks.http_load import NO_ANSWER, Answer, Load, drive, encode_request
from canasta.benchmarks.redeem_setup import PROGRAMME, RedeemScene, prepare, server_environment
from canasta.benchmarks.server_process import ServerProcess
from canasta.domain.ledger import benefit_asset, commodity_asset, money_asset

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

HOUSEHOLDS = 300
IN_FLIGHT = 16
KILLED_AFTER = 100  # acknowledged redemptions before the SIGKILL
# What one redemption of one unit posts: (asset, amount) of each transfer, in any order.
PARTS = sorted(
    [
        (benefit_asset(PROGRAMME["code"]), 1),
        *((commodity_asset(f"{line['commodity']}-{line['unit']}"), line["quantity"]) for line in PROGRAMME["basket"]),
        (money_asset(PROGRAMME["currency"]), PROGRAMME["co_payment"]),
        (money_asset(PROGRAMME["currency"]), PROGRAMME["unit_value"] - PROGRAMME["co_payment"]),
    ]
)


@pytest.fixture
def scene(postgres_server: str) -> Iterator[tuple[RedeemScene, Engine]]:
    from canasta.benchmarks.scratch import scratch_database

    with scratch_database(postgres_server) as engine:
        yield prepare(engine, HOUSEHOLDS), engine


def _requests(scene: RedeemScene, host: str, ids: list[UUID]) -> list[bytes]:
    return [
        encode_request("POST", "/redemptions", host=host, token=scene.token_for(number, purchase.point),
                       body=purchase.body(redemption_id))
        for number, (purchase, redemption_id) in enumerate(zip(scene.purchases, ids, strict=True))
    ]  # fmt: skip


def _load_until_killed(server: ServerProcess, requests: list[bytes]) -> Load:
    """Drive the load and SIGKILL the server as the ``KILLED_AFTER``-th acknowledgement arrives."""
    acknowledged = 0

    def count(_index: int, answer: Answer) -> None:
        nonlocal acknowledged
        acknowledged += answer.status == 200
        if acknowledged == KILLED_AFTER:
            server.kill()

    return drive(server.host, server.port, requests, IN_FLIGHT, keep_bodies=True, timeout=30, on_answer=count)


def _parts_by_redemption(engine: Engine) -> dict[str, list[tuple[str, int]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ledger_transfers.c.reference, ledger_transfers.c.asset, ledger_transfers.c.amount).where(
                ledger_transfers.c.kind.in_(("redeem", "co_payment"))
            )
        )
        parts: dict[str, list[tuple[str, int]]] = {}
        for reference, asset, amount in rows:
            parts.setdefault(reference, []).append((asset, int(amount)))
    return {reference: sorted(found) for reference, found in parts.items()}


def test_a_server_killed_mid_load_loses_no_acknowledged_redemption_and_doubles_none(
    scene: tuple[RedeemScene, Engine], tmp_path: Path
) -> None:
    redeem_scene, engine = scene
    environment = server_environment(redeem_scene.database_url, redeem_scene.keys)
    ids = [uuid4() for _ in redeem_scene.purchases]
    server = ServerProcess(environment, log_path=tmp_path / "server.log")
    with server:
        requests = _requests(redeem_scene, server.host, ids)
        before = _load_until_killed(server, requests)
    statuses = before.statuses()
    assert set(statuses) <= {200, NO_ANSWER}, statuses
    assert statuses[200] >= KILLED_AFTER
    unanswered = [index for index, answer in enumerate(before.answers) if answer.status == NO_ANSWER]
    assert unanswered, "the server was killed after the load had finished"

    with ServerProcess(environment, port=server.port, log_path=tmp_path / "server.log") as restarted:
        retried = drive(restarted.host, restarted.port, [requests[i] for i in unanswered], IN_FLIGHT, keep_bodies=True)
        acknowledged = [index for index, answer in enumerate(before.answers) if answer.status == 200]
        replayed = drive(
            restarted.host, restarted.port, [requests[i] for i in acknowledged], IN_FLIGHT, keep_bodies=True
        )
    assert retried.statuses() == {200: len(unanswered)}, [a.body[:200] for a in retried.answers if a.status != 200]
    assert replayed.statuses() == {200: len(acknowledged)}

    # The receipt each id got first: before the crash, or, for an id that got no answer then, on its retry.
    answers: dict[str, Any] = {str(ids[index]): before.answers[index].json() for index in acknowledged}
    answers.update((str(ids[index]), answer.json()) for index, answer in zip(unanswered, retried.answers, strict=True))
    for index, answer in zip(acknowledged, replayed.answers, strict=True):
        assert answer.json() == answers[str(ids[index])], "a replay after the restart got another receipt"
    assert all(verify_signed(receipt, redeem_scene.receipt_key) for receipt in answers.values())
    assert len(answers) == len(redeem_scene.purchases)

    with engine.connect() as connection:
        stored = {str(row.id): (row.receipt, row.household_id) for row in connection.execute(select(redemptions))}
        failures = connection.execute(select(func.count()).select_from(redemption_failures)).scalar_one()
        report = check(connection)
    assert stored.keys() == answers.keys(), "a stored redemption differs from the acknowledged ones"
    assert all(stored[key][0] == receipt for key, receipt in answers.items()), "a stored receipt is not the answer"
    assert Counter(household for _, household in stored.values()).most_common(1)[0][1] == 1, "a household twice"
    parts = _parts_by_redemption(engine)
    assert parts.keys() == answers.keys()
    assert all(found == PARTS for found in parts.values()), "a redemption's transfers are missing or doubled"
    assert failures == 0
    assert report.is_consistent, report.discrepancies
