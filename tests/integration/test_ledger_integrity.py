"""The ledger defends itself: the database refuses changes to the journal, and ``check`` finds what got past.

Each test runs on SQLite and PostgreSQL; the append-only triggers are tested on a database built by the migrations
and on one built from the table metadata, since both exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from canasta.adapters.db import ledger_store
from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.domain.ledger import DiscrepancyKind, benefit_asset, commodity_asset
from tests.factories import NOW
from tests.ledger_builders import BY, deliver, entitlement, grant, ledger_engine, redeem, stock, subsidy

BASKET = benefit_asset("canasta-ninos")
RICE = commodity_asset("rice-kg")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with ledger_engine(database_url) as engine:
        yield engine


@pytest.fixture(params=["migrations", "metadata"])
def any_built_engine(request: pytest.FixtureRequest, database_url: str) -> Iterator[Engine]:
    """An engine on a database whose ledger tables came from the migrations, or from ``metadata.create_all``."""
    if request.param == "migrations":
        with ledger_engine(database_url) as engine:
            yield engine
        return
    engine = make_engine(database_url)
    ledger_accounts.metadata.create_all(engine, tables=[ledger_accounts, ledger_transfers, ledger_balances])
    try:
        yield engine
    finally:
        engine.dispose()


def seed(engine: Engine) -> tuple[UUID, UUID, UUID]:
    """A grant, a partial redemption and a delivery: (programme, entitlement, point)."""
    programme, household, point = uuid4(), uuid4(), uuid4()
    with engine.begin() as connection:
        ledger_store.post(
            connection,
            [
                grant(programme, household, BASKET, 3),
                redeem(point, household, BASKET, 1, "r-1"),
                deliver(point, RICE, 5),
            ],
            by=BY,
            at=NOW,
        )
    return programme, household, point


def account_id(connection: Connection, account: Any) -> UUID:
    return ledger_store.open_account(connection, account, at=NOW)


def snapshot(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as connection:
        accounts = connection.execute(select(ledger_accounts).order_by(ledger_accounts.c.id)).all()
        transfers = connection.execute(select(ledger_transfers).order_by(ledger_transfers.c.id)).all()
    return accounts, transfers


REFUSED_CHANGES = [
    "UPDATE ledger_accounts SET kind = 'suspense'",
    "UPDATE ledger_accounts SET owner_id = account_id_placeholder",
    "DELETE FROM ledger_accounts",
    "UPDATE ledger_transfers SET amount = amount + 1",
    "UPDATE ledger_transfers SET reason = 'rewritten'",
    "DELETE FROM ledger_transfers",
]


def test_the_database_refuses_to_update_or_delete_accounts_and_transfers(any_built_engine: Engine) -> None:
    seed(any_built_engine)
    before = snapshot(any_built_engine)
    statements = [statement.replace("account_id_placeholder", "id") for statement in REFUSED_CHANGES]
    if any_built_engine.dialect.name == "postgresql":
        statements += ["TRUNCATE ledger_transfers CASCADE", "TRUNCATE ledger_accounts CASCADE"]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), any_built_engine.begin() as connection:
            connection.execute(text(statement))
    assert snapshot(any_built_engine) == before
    assert (len(before[0]), len(before[1])) == (5, 3)
    with any_built_engine.begin() as connection:  # balances are the one table that changes
        # (the stored ones: programme and external accounts keep none)
        assert connection.execute(update(ledger_balances).values(updated_at=NOW)).rowcount == 2


@pytest.mark.postgres
def test_switching_off_ordinary_triggers_does_not_switch_off_the_refusal(postgres_server: str) -> None:
    from canasta.benchmarks.scratch import scratch_database

    with scratch_database(postgres_server) as engine:
        seed(engine)
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text("DELETE FROM ledger_transfers"))
            connection.rollback()
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(ledger_transfers)).scalar_one() == 3


def raw_transfer(connection: Connection, **values: Any) -> UUID:
    row = {"id": uuid4(), "asset": BASKET, "amount": 1, "kind": "adjustment", "reference": "raw", "reverses_id": None,
           "at": NOW, "by": BY, "reason": "written by hand"} | values  # fmt: skip
    connection.execute(insert(ledger_transfers).values(**row))
    return UUID(str(row["id"]))


BROKEN_RULES: dict[str, dict[str, Any]] = {
    "amount zero": {"amount": 0},
    "amount negative": {"amount": -4},
    "debit is credit": {"same_account": True},
    "asset of neither account": {"asset": RICE},
    "reversal without its original": {"kind": "reversal"},
    "unknown kind": {"kind": "teleport"},
}


def is_accepted(engine: Engine, **values: Any) -> bool:
    """True when the database takes the raw transfer ``values`` (nothing is kept either way)."""
    with engine.connect() as connection:
        try:
            raw_transfer(connection, **values)
        except IntegrityError:
            return False
        finally:
            connection.rollback()
    return True


def test_the_database_refuses_a_transfer_that_breaks_a_rule(engine: Engine) -> None:
    programme, household, _ = seed(engine)
    with engine.begin() as connection:
        debit = account_id(connection, subsidy(programme, BASKET))
        credit = account_id(connection, entitlement(household, BASKET))
        point_stock = account_id(connection, stock(uuid4(), RICE))
    assert is_accepted(engine, debit_account_id=debit, credit_account_id=credit)  # the row the others break
    accepted = []
    for rule, change in BROKEN_RULES.items():
        columns = {name: value for name, value in change.items() if name != "same_account"}
        values = {"debit_account_id": debit, "credit_account_id": debit if "same_account" in change else credit}
        if is_accepted(engine, **(values | columns)):
            accepted.append(rule)
    if is_accepted(engine, debit_account_id=point_stock, credit_account_id=credit, asset=RICE):
        accepted.append("asset of only one account")
    assert accepted == []


def test_a_transfer_can_be_reversed_only_once_even_past_the_store(engine: Engine) -> None:
    _, _, point = seed(engine)
    with engine.begin() as connection:
        (delivery,) = ledger_store.post(connection, [deliver(point, RICE, 2, "note-2")], by=BY, at=NOW)
        ledger_store.reverse(connection, delivery, by=BY, reason="entered twice", at=NOW)
        shelf, outside_id = (account_id(connection, stock(point, RICE)),
                             connection.execute(select(ledger_transfers.c.debit_account_id)
                                                .where(ledger_transfers.c.id == delivery)).scalar_one())  # fmt: skip
    with pytest.raises(IntegrityError), engine.begin() as connection:
        raw_transfer(connection, debit_account_id=shelf, credit_account_id=outside_id, asset=RICE, amount=2,
                     kind="reversal", reverses_id=delivery)  # fmt: skip


def kinds(engine: Engine) -> list[tuple[DiscrepancyKind, str | None]]:
    with engine.connect() as connection:
        report = ledger_store.check(connection)
    return sorted((found.kind, found.asset) for found in report.discrepancies)


def test_check_finds_a_tampered_balance_and_the_asset_it_unbalances(engine: Engine) -> None:
    _, household, _ = seed(engine)
    assert kinds(engine) == []
    with engine.begin() as connection:
        tampered = account_id(connection, entitlement(household, BASKET))
        connection.execute(
            update(ledger_balances)
            .where(ledger_balances.c.account_id == tampered)
            .values(balance=ledger_balances.c.balance + 5)
        )
    with engine.connect() as connection:
        report = ledger_store.check(connection)
    assert not report.is_consistent
    mismatch, unbalanced = sorted(report.discrepancies, key=lambda found: found.kind.value)
    assert (mismatch.kind, mismatch.account_id, mismatch.stored, mismatch.expected) == (
        DiscrepancyKind.BALANCE_MISMATCH, tampered, 7, 2,
    )  # fmt: skip
    assert (unbalanced.kind, unbalanced.asset, unbalanced.stored) == (DiscrepancyKind.UNBALANCED_ASSET, BASKET, 5)


def test_check_finds_a_negative_entitlement_and_a_missing_balance_row(engine: Engine) -> None:
    _, household, point = seed(engine)
    with engine.begin() as connection:
        owed = account_id(connection, entitlement(household, BASKET))
        connection.execute(update(ledger_balances).where(ledger_balances.c.account_id == owed).values(balance=-1))
        shelf = account_id(connection, stock(point, RICE))
        connection.execute(ledger_balances.delete().where(ledger_balances.c.account_id == shelf))
    with engine.connect() as connection:
        found = ledger_store.check(connection).discrepancies
    by_account = {(item.kind, item.account_id): item for item in found if item.account_id is not None}
    assert set(by_account) == {
        (DiscrepancyKind.BALANCE_MISMATCH, owed), (DiscrepancyKind.NEGATIVE_BALANCE, owed),
        (DiscrepancyKind.BALANCE_MISMATCH, shelf),
    }  # fmt: skip
    assert by_account[(DiscrepancyKind.BALANCE_MISMATCH, shelf)].stored is None
    assert by_account[(DiscrepancyKind.BALANCE_MISMATCH, shelf)].expected == 5
    # the stored balances plus the folds of the programme's and the outside's accounts no longer sum to zero
    assert [(item.kind, item.asset) for item in found if item.account_id is None] == [
        (DiscrepancyKind.UNBALANCED_ASSET, BASKET),
        (DiscrepancyKind.UNBALANCED_ASSET, RICE),
    ]


def without_foreign_keys(connection: Connection) -> None:
    """Switch foreign-key checks off for this connection's next transaction (to write what they would refuse)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # acts outside a transaction only
        connection.commit()
    else:
        connection.execute(text("SET LOCAL session_replication_role = replica"))


def test_check_finds_reversals_that_point_nowhere_or_do_not_mirror_their_original(engine: Engine) -> None:
    programme, household, _ = seed(engine)
    with engine.begin() as connection:
        debit = account_id(connection, subsidy(programme, BASKET))
        credit = account_id(connection, entitlement(household, BASKET))
        granted = connection.execute(
            select(ledger_transfers.c.id).where(ledger_transfers.c.kind == "grant")
        ).scalar_one()
    with engine.connect() as connection:
        without_foreign_keys(connection)
        dangling = raw_transfer(connection, debit_account_id=credit, credit_account_id=debit, kind="reversal",
                                reverses_id=uuid4(), reason="undo")  # fmt: skip
        lopsided = raw_transfer(connection, debit_account_id=credit, credit_account_id=debit, kind="reversal",
                                reverses_id=granted, amount=2, reason="undo")  # fmt: skip
        connection.commit()
    with engine.connect() as connection:
        found = ledger_store.check(connection).discrepancies
    assert {(item.kind, item.transfer_id) for item in found if item.transfer_id is not None} == {
        (DiscrepancyKind.DANGLING_REVERSAL, dangling),
        (DiscrepancyKind.MISMATCHED_REVERSAL, lopsided),
    }
    # written without their balances: the entitlement's stored balance and the asset's sum give them away too
    assert {item.kind for item in found if item.transfer_id is None} == {
        DiscrepancyKind.BALANCE_MISMATCH,
        DiscrepancyKind.UNBALANCED_ASSET,
    }


def test_the_posting_function_of_the_metadata_is_the_one_migration_0014_writes() -> None:
    import importlib.util

    from canasta.adapters.db import ledger_tables
    from canasta.adapters.db.schema import MIGRATIONS

    path = MIGRATIONS / "versions" / "0014_ledger_posting_function.py"
    spec = importlib.util.spec_from_file_location("migration_0014", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.POSTING_FUNCTION == ledger_tables.POSTING_FUNCTION
    assert "CREATE OR REPLACE FUNCTION canasta_post(" in ledger_tables.POSTING_FUNCTION


@pytest.mark.postgres
def test_a_refused_posting_in_one_statement_puts_back_what_it_changed(postgres_server: str) -> None:
    """PostgreSQL posts through canasta_post: when the second guarded balance in the lock order would go negative,
    the first one's change is put back and no transfer is written, as the step-by-step path does on SQLite."""
    from canasta.benchmarks.scratch import scratch_database
    from canasta.domain.ledger import InsufficientBalanceError
    from tests.ledger_builders import hand_out, stock

    with scratch_database(postgres_server) as engine, engine.begin() as connection:
        programme, entitlement_id, point = uuid4(), uuid4(), uuid4()
        benefit, rice = benefit_asset("food"), commodity_asset("rice")
        ledger_store.post(connection, [grant(programme, entitlement_id, benefit, 2)], by=BY, at=NOW)
        ledger_store.post(connection, [deliver(point, rice, 5)], by=BY, at=NOW)
        held, shelf = entitlement(entitlement_id, benefit), stock(point, rice)
        ids = ledger_store.open_accounts(connection, [held, shelf], at=NOW)
        assert ids[held] < ids[shelf]  # opened first: the entitlement comes first in the lock order
        journal = connection.execute(select(func.count()).select_from(ledger_transfers)).scalar_one()
        with pytest.raises(InsufficientBalanceError) as refused:
            ledger_store.post(
                connection, [redeem(point, entitlement_id, benefit, 1, "r-1"), hand_out(point, rice, 6, "r-1")],
                by=BY, at=NOW,
            )  # fmt: skip
        assert refused.value.account == shelf
        assert refused.value.fields["needed"] == 6
        assert ledger_store.balances(connection, [held, shelf]) == {held: 2, shelf: 5}
        assert connection.execute(select(func.count()).select_from(ledger_transfers)).scalar_one() == journal
