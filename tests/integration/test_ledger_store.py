"""The ledger's storage on SQLite and PostgreSQL: postings, refusals that leave no trace, reversals, grants."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, func, select

from canasta.adapters.db import ledger_store
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.ledger import (
    AccountKind,
    InsufficientBalanceError,
    Transfer,
    TransferKind,
    benefit_asset,
    commodity_asset,
    money_asset,
)
from tests.factories import NOW
from tests.ledger_builders import (
    BY,
    add_cycle,
    add_entitlements,
    co_payments,
    deliver,
    entitlement,
    grant,
    hand_out,
    ledger_engine,
    outside,
    redeem,
    seed_cycle,
    stock,
    subsidy,
)

BASKET = benefit_asset("canasta-ninos")
RICE = commodity_asset("rice-kg")
VES = money_asset("VES")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with ledger_engine(database_url) as engine:
        yield engine


def transfer_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(ledger_transfers)).scalar_one())


def test_opening_an_account_twice_gives_the_same_account_with_a_zero_balance(engine: Engine) -> None:
    account = entitlement(uuid4(), BASKET)
    with engine.begin() as connection:
        first = ledger_store.open_account(connection, account, at=NOW)
        assert ledger_store.open_account(connection, account, at=NOW) == first
        assert ledger_store.balance(connection, account) == 0
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ledger_accounts)).scalar_one() == 1
        assert ledger_store.balance(connection, entitlement(uuid4(), BASKET)) == 0  # never opened


def test_a_redemption_with_goods_and_a_co_payment_moves_every_balance_and_the_assets_still_sum_to_zero(
    engine: Engine,
) -> None:
    programme, household, point = uuid4(), uuid4(), uuid4()
    with engine.begin() as connection:
        ledger_store.post(connection, [grant(programme, household, BASKET, 3), deliver(point, RICE, 10)], by=BY, at=NOW)
    redemption = [
        redeem(point, household, BASKET, 2, "redemption-7"),
        hand_out(point, RICE, 4, "redemption-7"),
        Transfer(outside(point, VES), co_payments(point, VES), 2000, TransferKind.CO_PAYMENT, "redemption-7"),
    ]
    with engine.begin() as connection:
        ids = ledger_store.post(connection, redemption, by="operator", at=NOW)
    with engine.connect() as connection:
        assert ledger_store.balances(
            connection, [entitlement(household, BASKET), subsidy(programme, BASKET), outside(point, BASKET),
                         stock(point, RICE), outside(point, RICE), co_payments(point, VES), outside(point, VES)]
        ) == {entitlement(household, BASKET): 1, subsidy(programme, BASKET): -3, outside(point, BASKET): 2,
              stock(point, RICE): 6, outside(point, RICE): -6, co_payments(point, VES): 2000,
              outside(point, VES): -2000}  # fmt: skip
        posted = ledger_store.transfers_by_reference(connection, "redemption-7")
        assert ledger_store.check(connection).is_consistent
    assert [item.id for item in posted] == sorted(ids)
    assert all(transfer_id.version == 7 for transfer_id in ids)
    assert {(item.kind, item.asset, item.amount, item.by) for item in posted} == {
        (TransferKind.REDEEM, BASKET, 2, "operator"),
        (TransferKind.REDEEM, RICE, 4, "operator"),
        (TransferKind.CO_PAYMENT, VES, 2000, "operator"),
    }


def test_redeeming_more_than_is_due_is_refused_with_a_stable_code_and_changes_nothing(engine: Engine) -> None:
    programme, household, point = uuid4(), uuid4(), uuid4()
    with engine.begin() as connection:
        ledger_store.post(connection, [grant(programme, household, BASKET, 1)], by=BY, at=NOW)
    with engine.begin() as connection:  # the caller goes on in the same transaction after the refusal
        with pytest.raises(InsufficientBalanceError) as refused:
            ledger_store.post(connection, [redeem(point, household, BASKET, 2, "r-1")], by=BY, at=NOW)
        assert ledger_store.balance(connection, entitlement(household, BASKET)) == 1
        assert ledger_store.balance(connection, outside(point, BASKET)) == 0
        assert connection.execute(select(func.count()).select_from(ledger_transfers)).scalar_one() == 1
        ledger_store.post(connection, [redeem(point, household, BASKET, 1, "r-1")], by=BY, at=NOW)
    assert refused.value.code == "insufficient_balance"
    assert refused.value.fields["account_kind"] == "household_entitlement"
    assert refused.value.fields["owner_id"] == household
    with engine.connect() as connection:
        assert ledger_store.balance(connection, entitlement(household, BASKET)) == 0
        assert ledger_store.balance(connection, subsidy(programme, BASKET)) == -1
        assert ledger_store.balance(connection, outside(point, BASKET)) == 1
        assert [item.amount for item in ledger_store.transfers_by_reference(connection, "r-1")] == [1]
        assert ledger_store.check(connection).is_consistent
    assert transfer_count(engine) == 2


def test_a_posting_refused_at_its_second_account_puts_the_first_back(engine: Engine) -> None:
    programme, household, point = uuid4(), uuid4(), uuid4()
    with engine.begin() as connection:
        ledger_store.post(connection, [grant(programme, household, BASKET, 2), deliver(point, RICE, 1)], by=BY, at=NOW)
    with engine.begin() as connection:
        with pytest.raises(InsufficientBalanceError) as refused:
            ledger_store.post(
                connection,
                [redeem(point, household, BASKET, 1, "r-2"), hand_out(point, RICE, 5, "r-2")],
                by=BY,
                at=NOW,
            )
        assert refused.value.fields["account_kind"] == "point_stock"
        assert ledger_store.balance(connection, entitlement(household, BASKET)) == 2
        assert ledger_store.balance(connection, outside(point, BASKET)) == 0
    with engine.connect() as connection:
        assert ledger_store.balance(connection, stock(point, RICE)) == 1
        assert ledger_store.check(connection).is_consistent
    assert transfer_count(engine) == 2


def test_a_posting_is_judged_by_its_net_effect_on_each_account(engine: Engine) -> None:
    programme, household, point = uuid4(), uuid4(), uuid4()
    with engine.begin() as connection:
        ledger_store.post(
            connection,
            [redeem(point, household, BASKET, 2, "r-3"), grant(programme, household, BASKET, 2, "r-3")],
            by=BY,
            at=NOW,
        )
        assert ledger_store.balance(connection, entitlement(household, BASKET)) == 0
        assert ledger_store.check(connection).is_consistent


def test_a_reversal_restores_the_balances_once_and_is_itself_never_reversed(engine: Engine) -> None:
    point = uuid4()
    with engine.begin() as connection:
        (delivery,) = ledger_store.post(connection, [deliver(point, RICE, 7)], by=BY, at=NOW)
        reversal = ledger_store.reverse(
            connection, delivery, by="auditor", reason="delivery note entered twice", at=NOW
        )
        assert ledger_store.balance(connection, stock(point, RICE)) == 0
        assert ledger_store.balance(connection, outside(point, RICE)) == 0
        posted = ledger_store.transfer(connection, reversal)
    assert posted is not None
    assert (posted.kind, posted.reverses, posted.amount, posted.reference) == (
        TransferKind.REVERSAL, delivery, 7, "delivery-note-1",
    )  # fmt: skip
    assert (posted.debit, posted.credit) == (stock(point, RICE), outside(point, RICE))
    with engine.begin() as connection, pytest.raises(ConflictError) as twice:
        ledger_store.reverse(connection, delivery, by="auditor", reason="again", at=NOW)
    assert twice.value.code == "already_reversed"
    with engine.begin() as connection, pytest.raises(ConflictError) as chained:
        ledger_store.reverse(connection, reversal, by="auditor", reason="undo the undo", at=NOW)
    assert chained.value.code == "reversal_not_reversible"
    with engine.begin() as connection, pytest.raises(NotFoundError):
        ledger_store.reverse(connection, uuid4(), by="auditor", reason="nothing", at=NOW)
    with engine.connect() as connection:
        assert ledger_store.check(connection).is_consistent
    assert transfer_count(engine) == 2


def test_a_grant_already_redeemed_cannot_be_reversed(engine: Engine) -> None:
    programme, household, point = uuid4(), uuid4(), uuid4()
    with engine.begin() as connection:
        (granted,) = ledger_store.post(connection, [grant(programme, household, BASKET, 1)], by=BY, at=NOW)
        ledger_store.post(connection, [redeem(point, household, BASKET, 1, "r-4")], by=BY, at=NOW)
    with engine.begin() as connection, pytest.raises(InsufficientBalanceError):
        ledger_store.reverse(connection, granted, by="auditor", reason="granted in error", at=NOW)
    assert transfer_count(engine) == 2


def test_a_reversal_cannot_be_posted_directly(engine: Engine) -> None:
    point = uuid4()
    forged = Transfer(stock(point, RICE), outside(point, RICE), 1, TransferKind.REVERSAL, "x", "forged", uuid4())
    with engine.begin() as connection, pytest.raises(ValidationError) as refused:
        ledger_store.post(connection, [forged], by=BY, at=NOW)
    assert refused.value.field == "kind"


def test_granting_a_cycle_opens_accounts_and_posts_each_entitlement_once(engine: Engine) -> None:
    with engine.begin() as connection:
        programme, cycle, households = seed_cycle(connection, code="canasta-ninos", units=[1, 2, 3])
        assert ledger_store.grant_entitlements(connection, cycle, by=BY, at=NOW) == 3
        assert ledger_store.grant_entitlements(connection, cycle, by=BY, at=NOW) == 0
    with engine.connect() as connection:
        assert [ledger_store.balance(connection, entitlement(e, BASKET)) for e in households] == [1, 2, 3]
        assert ledger_store.balance(connection, subsidy(programme, BASKET)) == -6
        grants = ledger_store.transfers_by_reference(connection, f"cycle:{cycle}")
        assert ledger_store.check(connection).is_consistent
    assert {(item.kind, item.by, item.debit) for item in grants} == {
        (TransferKind.GRANT, BY, subsidy(programme, BASKET))
    }
    assert all(item.id.version == 7 for item in grants)
    with engine.begin() as connection:  # an entitlement added later (an upheld appeal), and one grant reversed
        (late,) = add_entitlements(connection, programme, cycle, [4])
        first = next(item.id for item in grants if item.credit == entitlement(households[0], BASKET))
        ledger_store.reverse(connection, first, by="auditor", reason="decision replaced on appeal", at=NOW)
        assert ledger_store.grant_entitlements(connection, cycle, by=BY, at=NOW) == 1
    with engine.connect() as connection:
        assert ledger_store.balance(connection, entitlement(late, BASKET)) == 4
        assert ledger_store.balance(connection, entitlement(households[0], BASKET)) == 0  # stays reversed
        assert ledger_store.balance(connection, subsidy(programme, BASKET)) == -9
        assert ledger_store.check(connection).is_consistent
    with engine.begin() as connection, pytest.raises(NotFoundError):
        ledger_store.grant_entitlements(connection, uuid4(), by=BY, at=NOW)


def test_the_cycles_of_one_programme_share_its_subsidy_account_and_programmes_do_not(engine: Engine) -> None:
    with engine.begin() as connection:
        programme, first, _ = seed_cycle(connection, code="canasta-ninos", units=[2, 2])
        second = add_cycle(connection, programme, uuid4(), number=2)
        add_entitlements(connection, programme, second, [3])
        _, other, _ = seed_cycle(connection, code="bono-gas", units=[5])
        for cycle in (first, second, other):
            ledger_store.grant_entitlements(connection, cycle, by=BY, at=NOW)
        assert ledger_store.balance(connection, subsidy(programme, BASKET)) == -7
        subsidies = connection.execute(
            select(ledger_accounts.c.asset).where(ledger_accounts.c.kind == AccountKind.PROGRAMME_SUBSIDY.value)
        ).scalars()
        assert sorted(subsidies) == ["benefit:bono-gas", BASKET]
        assert ledger_store.check(connection).is_consistent


def test_stored_accounts_get_a_balance_row_and_the_stored_balances_are_the_journal_folded(engine: Engine) -> None:
    with engine.begin() as connection:
        programme, cycle, _ = seed_cycle(connection, code="canasta-ninos", units=[1] * 25)
        ledger_store.grant_entitlements(connection, cycle, by=BY, at=NOW)
        accounts = connection.execute(select(func.count()).select_from(ledger_accounts)).scalar_one()
        rows = connection.execute(select(func.count()).select_from(ledger_balances)).scalar_one()
        report = ledger_store.check(connection)
        # the programme's subsidy account keeps no stored balance: it is folded from the journal when asked
        folded = ledger_store.balance(connection, subsidy(programme, "benefit:canasta-ninos"))
    assert (accounts, rows, folded) == (26, 25, -25)
    assert (report.accounts, report.transfers, report.assets, report.discrepancies) == (26, 25, 1, ())


def test_transfers_name_their_accounts_by_id(engine: Engine) -> None:
    programme, household = uuid4(), uuid4()
    with engine.begin() as connection:
        (granted,) = ledger_store.post(connection, [grant(programme, household, BASKET, 1)], by=BY, at=NOW)
        row = connection.execute(select(ledger_transfers).where(ledger_transfers.c.id == granted)).mappings().one()
        debit_id = ledger_store.open_account(connection, subsidy(programme, BASKET), at=NOW)
        credit_id = ledger_store.open_account(connection, entitlement(household, BASKET), at=NOW)
    assert (row["debit_account_id"], row["credit_account_id"], row["asset"], row["amount"]) == (
        debit_id, credit_id, BASKET, 1,
    )  # fmt: skip
    assert isinstance(row["id"], UUID)
