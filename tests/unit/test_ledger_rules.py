"""The ledger's rules, without a database: assets, accounts, transfers, routes, reversals and the error codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canasta.domain.errors import ConflictError, ValidationError
from canasta.domain.ledger import (
    MAX_AMOUNT,
    NON_NEGATIVE_KINDS,
    ROUTES,
    Account,
    AccountKind,
    Discrepancy,
    DiscrepancyKind,
    InsufficientBalanceError,
    LedgerReport,
    PostedTransfer,
    Transfer,
    TransferKind,
    benefit_asset,
    check_asset,
    commodity_asset,
    money_asset,
    reversal_of,
)

BASKET = benefit_asset("canasta-ninos")
PROGRAMME, HOUSEHOLD, POINT = UUID(int=1), UUID(int=2), UUID(int=3)
SUBSIDY = Account(AccountKind.PROGRAMME_SUBSIDY, BASKET, PROGRAMME)
OWED = Account(AccountKind.HOUSEHOLD_ENTITLEMENT, BASKET, HOUSEHOLD)


def transfer(**overrides: Any) -> Transfer:
    values: dict[str, Any] = {"debit": SUBSIDY, "credit": OWED, "amount": 2, "kind": TransferKind.GRANT,
                              "reference": "cycle:1"} | overrides  # fmt: skip
    return Transfer(**values)


def test_assets_are_named_by_family() -> None:
    assert benefit_asset("canasta-ninos") == "benefit:canasta-ninos"
    assert commodity_asset("rice-kg") == "commodity:rice-kg"
    assert money_asset("VES") == "money:VES"


@pytest.mark.parametrize(
    "asset",
    ["", "rice", "basket:canasta-ninos", "benefit:", "benefit:Canasta", "commodity:Rice", "money:ves", "money:VESX",
     "commodity:rice kg", "money:VES "],
)  # fmt: skip
def test_a_malformed_asset_is_refused_naming_the_field(asset: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_asset(asset)
    assert refused.value.field == "asset"


def test_only_entitlements_and_point_stock_are_kept_from_going_negative() -> None:
    assert [kind for kind in AccountKind if not Account(kind, BASKET, POINT).can_go_negative] == [
        AccountKind.HOUSEHOLD_ENTITLEMENT,
        AccountKind.POINT_STOCK,
    ]


def test_an_account_takes_its_kind_by_value_and_refuses_an_unknown_one() -> None:
    assert Account("point_stock", BASKET, POINT).kind is AccountKind.POINT_STOCK  # type: ignore[arg-type]  # by value
    with pytest.raises(ValidationError) as refused:
        Account("wallet", BASKET, POINT)  # type: ignore[arg-type]  # an unknown kind on purpose
    assert refused.value.field == "kind"
    with pytest.raises(ValidationError):
        Account(AccountKind.POINT_STOCK, BASKET, "not-a-uuid")  # type: ignore[arg-type]  # a wrong owner on purpose


@pytest.mark.parametrize("amount", [0, -1, True, 1.0, "3", MAX_AMOUNT + 1])
def test_the_amount_is_a_positive_whole_number(amount: object) -> None:
    with pytest.raises(ValidationError) as refused:
        transfer(amount=amount)
    assert refused.value.field == "amount"


@given(st.integers(1, MAX_AMOUNT))
@settings(max_examples=50)
def test_any_positive_whole_amount_up_to_the_column_limit_is_accepted(amount: int) -> None:
    assert transfer(amount=amount).amount == amount


def test_a_transfer_moves_between_two_accounts_of_one_asset() -> None:
    with pytest.raises(ValidationError) as same:
        transfer(credit=SUBSIDY)
    assert same.value.field == "credit"
    rice = Account(AccountKind.HOUSEHOLD_ENTITLEMENT, commodity_asset("rice-kg"), HOUSEHOLD)
    with pytest.raises(ValidationError) as mixed:
        transfer(credit=rice)
    assert mixed.value.field == "asset"
    assert transfer().asset == BASKET


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"reference": "x" * 65}, "reference"),
        ({"reference": "line\nbreak"}, "reference"),
        ({"reason": "x" * 501}, "reason"),
        ({"kind": "gift"}, "kind"),
        ({"reverses": uuid4()}, "reverses"),
    ],
)
def test_references_reasons_kinds_and_links_are_checked(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        transfer(**overrides)
    assert refused.value.field == field


def test_corrections_need_a_reason() -> None:
    stock = Account(AccountKind.POINT_STOCK, BASKET, POINT)
    outside = Account(AccountKind.EXTERNAL, BASKET, POINT)
    with pytest.raises(ValidationError) as refused:
        Transfer(stock, outside, 1, TransferKind.ADJUSTMENT, "count-1", reason="  ")
    assert refused.value.field == "reason"
    assert Transfer(stock, outside, 1, TransferKind.ADJUSTMENT, "count-1", reason="damaged").reason == "damaged"


def test_each_kind_moves_units_only_along_its_routes() -> None:
    owners = {kind: uuid4() for kind in AccountKind}
    for kind, routes in ROUTES.items():
        if kind is TransferKind.REVERSAL:
            continue
        reason = "because" if kind in (TransferKind.ADJUSTMENT, TransferKind.SUSPENSE) else ""
        for debit_kind in AccountKind:
            for credit_kind in AccountKind:
                debit = Account(debit_kind, BASKET, owners[debit_kind])
                credit = Account(credit_kind, BASKET, owners[credit_kind] if debit_kind != credit_kind else uuid4())
                if (debit_kind, credit_kind) in routes:
                    assert Transfer(debit, credit, 1, kind, "ref", reason).kind is kind
                else:
                    with pytest.raises(ValidationError):
                        Transfer(debit, credit, 1, kind, "ref", reason)


def test_a_redemption_never_adds_to_what_is_due_or_on_the_shelves() -> None:
    assert {credit for _, credit in ROUTES[TransferKind.REDEEM]} & NON_NEGATIVE_KINDS == set()
    with pytest.raises(ValidationError):
        Transfer(SUBSIDY, OWED, 1, TransferKind.REDEEM, "redemption-1")
    settled = Account(AccountKind.SUBSIDY_OWED, money_asset("VES"), POINT)
    paid = Account(AccountKind.EXTERNAL, money_asset("VES"), POINT)
    assert Transfer(settled, paid, 29000, TransferKind.SETTLEMENT, "settlement-2026-12").asset == "money:VES"


def posted(original: Transfer) -> PostedTransfer:
    return PostedTransfer(
        id=uuid4(), debit=original.debit, credit=original.credit, amount=original.amount, kind=original.kind,
        reference=original.reference, reason=original.reason, reverses=original.reverses,
        at=datetime(2026, 12, 1, tzinfo=UTC), by="ana",
    )  # fmt: skip


def test_a_reversal_is_the_original_turned_round_and_linked_to_it() -> None:
    original = posted(transfer())
    reversal = reversal_of(original, reason="granted to the wrong household")
    assert (reversal.debit, reversal.credit, reversal.amount, reversal.asset) == (OWED, SUBSIDY, 2, BASKET)
    assert (reversal.kind, reversal.reverses, reversal.reference) == (TransferKind.REVERSAL, original.id, "cycle:1")
    with pytest.raises(ValidationError) as no_reason:
        reversal_of(original, reason="")
    assert no_reason.value.field == "reason"
    with pytest.raises(ConflictError) as chained:
        reversal_of(posted(reversal), reason="undo the undo")
    assert chained.value.code == "reversal_not_reversible"


def test_the_insufficient_balance_error_has_a_stable_code_and_names_the_account_kind() -> None:
    error = InsufficientBalanceError(OWED, balance_needed=3)
    assert isinstance(error, ConflictError)
    assert error.code == "insufficient_balance"
    assert error.fields == {"account_kind": "household_entitlement", "asset": BASKET, "owner_id": HOUSEHOLD,
                            "needed": 3}  # fmt: skip
    assert "household_entitlement" in error.detail


def test_a_report_is_consistent_only_without_discrepancies() -> None:
    assert LedgerReport(accounts=2, transfers=1, assets=1).is_consistent
    found = Discrepancy(DiscrepancyKind.UNBALANCED_ASSET, "basket sums to 1", asset=BASKET, stored=1, expected=0)
    assert not LedgerReport(accounts=2, transfers=1, assets=1, discrepancies=(found,)).is_consistent
