"""Ledger invariants under any sequence of operations, on SQLite and PostgreSQL (a hypothesis state machine).

Grants, redemptions (with goods and a co-payment), deliveries, stock moves and counts, and reversals are run in
random order against the real store and against a plain dictionary of balances. After every step the stored
balances equal the model's, no protected account is below zero, each asset's balances sum to zero, and ``check``
finds nothing. Refusals happen as often as successes: the model predicts which postings must be refused.

The journal cannot be emptied between runs (it is append-only, by design), so every run works on accounts and
assets of its own; ``check`` still reads the whole database, every run before it included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from uuid import UUID, uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import Engine

from canasta.adapters.db import ledger_store
from canasta.domain.errors import ConflictError
from canasta.domain.ledger import (
    Account,
    InsufficientBalanceError,
    Transfer,
    TransferKind,
    benefit_asset,
    commodity_asset,
    money_asset,
)
from tests.factories import NOW
from tests.ledger_builders import co_payments, entitlement, ledger_engine, outside, stock, subsidy, subsidy_owed

ENTITLEMENTS = 3
POINTS = 2
CO_PAYMENT, UNIT_VALUE = 1000, 30000  # minor units per basket


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        run = uuid4().hex[:10]
        self.basket, self.rice, self.money = (
            benefit_asset(f"p{run}"),
            commodity_asset(f"rice-kg-{run}"),
            money_asset("VES"),
        )
        self.programme = uuid4()
        self.entitlements = [uuid4() for _ in range(ENTITLEMENTS)]
        self.points = [uuid4() for _ in range(POINTS)]
        self.model: dict[Account, int] = defaultdict(int)
        self.posted: list[tuple[UUID, Transfer]] = []  # everything posted, reversals included
        self.reversed: set[UUID] = set()
        self.refusals = 0

    def post(self, transfers: Sequence[Transfer]) -> None:
        changes: dict[Account, int] = defaultdict(int)
        for item in transfers:
            changes[item.debit] -= item.amount
            changes[item.credit] += item.amount
        must_refuse = any(not a.can_go_negative and self.model[a] + change < 0 for a, change in changes.items())
        refused: InsufficientBalanceError | None = None
        with self.engine.begin() as connection:  # a refusal is caught and the transaction committed all the same
            try:
                ids = ledger_store.post(connection, transfers, by="machine", at=NOW)
            except InsufficientBalanceError as error:
                refused = error
        if refused is not None:
            assert must_refuse, f"refused although the model allows it: {refused.detail}"
            self.refusals += 1
            return
        assert not must_refuse, "posted although an account would go below zero"
        for account, change in changes.items():
            self.model[account] += change
        self.posted.extend(zip(ids, transfers, strict=True))

    @rule(which=st.integers(0, ENTITLEMENTS - 1), units=st.integers(1, 4))
    def grant(self, which: int, units: int) -> None:
        owed = entitlement(self.entitlements[which], self.basket)
        self.post([Transfer(subsidy(self.programme, self.basket), owed, units, TransferKind.GRANT, "cycle:machine")])

    @rule(
        which=st.integers(0, ENTITLEMENTS - 1),
        point=st.integers(0, POINTS - 1),
        units=st.integers(1, 3),
        rice_per_unit=st.integers(0, 3),
        pays_co_payment=st.booleans(),
        is_given_back=st.booleans(),
    )
    def redeem(
        self, which: int, point: int, units: int, rice_per_unit: int, pays_co_payment: bool, is_given_back: bool
    ) -> None:
        place, reference = self.points[point], f"redemption-{uuid4()}"
        owed = entitlement(self.entitlements[which], self.basket)
        to = subsidy(self.programme, self.basket) if is_given_back else outside(place, self.basket)
        posting = [Transfer(owed, to, units, TransferKind.REDEEM, reference)]
        if rice_per_unit:
            posting.append(
                Transfer(stock(place, self.rice), outside(place, self.rice), units * rice_per_unit, TransferKind.REDEEM,
                         reference)
            )  # fmt: skip
        if pays_co_payment:
            posting.append(
                Transfer(outside(place, self.money), co_payments(place, self.money), units * CO_PAYMENT,
                         TransferKind.CO_PAYMENT, reference)
            )  # fmt: skip
        rest = units * (UNIT_VALUE - CO_PAYMENT if pays_co_payment else UNIT_VALUE)
        posting.append(
            Transfer(subsidy(self.programme, self.money), subsidy_owed(place, self.money), rest, TransferKind.REDEEM,
                     reference)
        )  # fmt: skip
        self.post(posting)

    @rule(point=st.integers(0, POINTS - 1), amount=st.integers(1, 100_000))
    def settle(self, point: int, amount: int) -> None:
        place = self.points[point]
        paid = Transfer(subsidy_owed(place, self.money), outside(place, self.money), amount, TransferKind.SETTLEMENT,
                        "settlement")  # fmt: skip
        self.post([paid])

    @rule(point=st.integers(0, POINTS - 1), quantity=st.integers(1, 12))
    def deliver(self, point: int, quantity: int) -> None:
        place = self.points[point]
        self.post(
            [Transfer(outside(place, self.rice), stock(place, self.rice), quantity, TransferKind.DELIVERY, "note")]
        )

    @rule(source=st.integers(0, POINTS - 1), quantity=st.integers(1, 8))
    def move_stock(self, source: int, quantity: int) -> None:
        there, here = self.points[source], self.points[(source + 1) % POINTS]
        self.post([Transfer(stock(there, self.rice), stock(here, self.rice), quantity, TransferKind.MOVE, "move")])

    @rule(point=st.integers(0, POINTS - 1), quantity=st.integers(1, 6), is_write_off=st.booleans())
    def adjust_stock(self, point: int, quantity: int, is_write_off: bool) -> None:
        shelf, world = stock(self.points[point], self.rice), outside(self.points[point], self.rice)
        debit, credit = (shelf, world) if is_write_off else (world, shelf)
        self.post([Transfer(debit, credit, quantity, TransferKind.ADJUSTMENT, "count", reason="stock count")])

    @precondition(lambda self: bool(self.posted))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        transfer_id, original = data.draw(st.sampled_from(self.posted))
        must_refuse = (
            transfer_id in self.reversed
            or original.kind is TransferKind.REVERSAL
            or (not original.credit.can_go_negative and self.model[original.credit] < original.amount)
        )
        refused: ConflictError | None = None
        with self.engine.begin() as connection:
            try:
                reversal = ledger_store.reverse(connection, transfer_id, by="auditor", reason="machine", at=NOW)
            except ConflictError as error:
                refused = error
        if refused is not None:
            assert must_refuse, f"reversal refused although the model allows it: {refused.code}"
            expected = (
                "already_reversed" if transfer_id in self.reversed
                else "reversal_not_reversible" if original.kind is TransferKind.REVERSAL
                else "insufficient_balance"
            )  # fmt: skip
            assert refused.code == expected
            self.refusals += 1
            return
        assert not must_refuse
        self.model[original.credit] -= original.amount
        self.model[original.debit] += original.amount
        self.reversed.add(transfer_id)
        mirror = Transfer(original.credit, original.debit, original.amount, TransferKind.REVERSAL, original.reference,
                          "machine", transfer_id)  # fmt: skip
        self.posted.append((reversal, mirror))

    @invariant()
    def the_ledger_agrees_with_the_model(self) -> None:
        with self.engine.connect() as connection:
            stored = ledger_store.balances(connection, self.model)
            report = ledger_store.check(connection)
        assert stored == dict(self.model)
        assert [account for account, value in stored.items() if not account.can_go_negative and value < 0] == []
        trial: dict[str, int] = defaultdict(int)
        for account, value in stored.items():
            trial[account.asset] += value
        assert all(total == 0 for total in trial.values()), trial
        assert report.discrepancies == ()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with ledger_engine(database_url) as engine:
        yield engine


def test_any_sequence_of_operations_keeps_every_ledger_invariant(engine: Engine) -> None:
    machines: list[LedgerMachine] = []

    def machine() -> LedgerMachine:
        machines.append(LedgerMachine(engine))
        return machines[-1]

    run_state_machine_as_test(machine, settings=settings(max_examples=12, stateful_step_count=25, deadline=None))
    # The property is only worth something if both outcomes happened: postings, and refusals the model predicted.
    assert sum(len(each.posted) for each in machines) > 50
    assert sum(each.refusals for each in machines) > 5
