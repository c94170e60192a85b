"""``canasta ledger check`` as a user runs it: exit 0 and a summary when the ledger holds, 1 naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

from sqlalchemy import update

from canasta.adapters.db import ledger_store
from canasta.adapters.db.ledger_tables import ledger_balances
from canasta.domain.ledger import benefit_asset, commodity_asset
from tests.e2e.test_cli import run
from tests.factories import NOW
from tests.ledger_builders import BY, deliver, grant, ledger_engine, stock


def test_ledger_check_passes_a_sound_ledger_and_names_every_discrepancy(tmp_path: Path) -> None:
    empty = run("ledger", "check", cwd=tmp_path)  # a fresh database: the schema is made on the way
    assert empty.returncode == 0, empty.stderr
    assert "the ledger holds: 0 account(s), 0 transfer(s), 0 asset(s)" in empty.stderr

    point, rice = uuid4(), commodity_asset("rice-kg")
    with ledger_engine(f"sqlite:///{tmp_path / 'canasta.db'}") as engine, engine.begin() as connection:
        basket = benefit_asset("canasta-ninos")
        ledger_store.post(connection, [grant(uuid4(), uuid4(), basket, 2), deliver(point, rice, 9)], by=BY, at=NOW)
    sound = run("ledger", "check", "--json", cwd=tmp_path)
    assert sound.returncode == 0, sound.stderr
    assert json.loads(sound.stdout) == {"is_consistent": True, "accounts": 4, "transfers": 2, "assets": 2,
                                        "discrepancies": []}  # fmt: skip

    with ledger_engine(f"sqlite:///{tmp_path / 'canasta.db'}") as engine, engine.begin() as connection:
        shelf = ledger_store.open_account(connection, stock(point, rice), at=NOW)
        connection.execute(update(ledger_balances).where(ledger_balances.c.account_id == shelf).values(balance=-1))
    broken = run("ledger", "check", cwd=tmp_path)
    assert broken.returncode == 1
    assert broken.stdout.splitlines() == [
        f"balance_mismatch: point_stock {rice}: stored balance -1, the journal gives 9",
        f"unbalanced_asset: {rice}: the balances sum to -10, not 0",
        f"negative_balance: point_stock {rice}: balance -1, below zero where it may never go",
    ]
    assert "does not hold: 3 discrepancy(ies)" in broken.stderr
    report = json.loads(run("ledger", "check", "--json", cwd=tmp_path).stdout)
    assert report["is_consistent"] is False
    assert [(found["kind"], found["account_id"]) for found in report["discrepancies"]] == [
        ("balance_mismatch", str(shelf)), ("unbalanced_asset", None), ("negative_balance", str(shelf)),
    ]  # fmt: skip
