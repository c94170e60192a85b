"""The whole ledger checked against itself, in SQL: each check is one statement over every account or transfer.

Balances are a cache; the journal is the truth. :func:`check` folds the journal (credits minus debits per account)
and reports every stored balance that differs, every asset whose balances do not sum to zero, every reversal that
names no transfer or is not its original turned round, and every account below zero that may not go there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, literal, or_, select, union_all

from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.domain.ledger import (
    DERIVED_KINDS,
    NON_NEGATIVE_KINDS,
    Discrepancy,
    DiscrepancyKind,
    LedgerReport,
    TransferKind,
)

__all__ = ["check"]


def check(connection: Connection) -> LedgerReport:
    """Every discrepancy in the ledger (none when it holds), with how many accounts, transfers and assets it read."""
    found = [
        *_balance_mismatches(connection),
        *_unbalanced_assets(connection),
        *_broken_reversals(connection),
        *_negative_balances(connection),
    ]
    accounts, assets = connection.execute(
        select(func.count(), func.count(ledger_accounts.c.asset.distinct())).select_from(ledger_accounts)
    ).one()
    transfers = connection.execute(select(func.count()).select_from(ledger_transfers)).scalar_one()
    return LedgerReport(
        accounts=int(accounts), transfers=int(transfers), assets=int(assets), discrepancies=tuple(found)
    )


def _movements() -> Any:
    """Every transfer as two signed movements: ``+amount`` on the credited account, ``-amount`` on the debited."""
    return union_all(
        select(ledger_transfers.c.credit_account_id.label("account_id"), ledger_transfers.c.amount.label("change")),
        select(ledger_transfers.c.debit_account_id.label("account_id"), (-ledger_transfers.c.amount).label("change")),
    ).subquery("movements")


def _balance_mismatches(connection: Connection) -> list[Discrepancy]:
    movements = _movements()
    folded = (
        select(movements.c.account_id, func.sum(movements.c.change).label("balance"))
        .group_by(movements.c.account_id)
        .subquery("folded")
    )
    expected = func.coalesce(folded.c.balance, 0)
    rows = connection.execute(
        select(
            ledger_accounts.c.id, ledger_accounts.c.kind, ledger_accounts.c.asset, ledger_balances.c.balance, expected
        )
        .outerjoin(ledger_balances, ledger_balances.c.account_id == ledger_accounts.c.id)
        .outerjoin(folded, folded.c.account_id == ledger_accounts.c.id)
        .where(
            ledger_accounts.c.kind.not_in([kind.value for kind in DERIVED_KINDS]),
            or_(ledger_balances.c.balance.is_(None), ledger_balances.c.balance != expected),
        )
        .order_by(ledger_accounts.c.id)
    )
    return [
        Discrepancy(
            DiscrepancyKind.BALANCE_MISMATCH,
            f"{kind} {asset}: stored balance {'missing' if stored is None else stored}, the journal gives {fold}",
            account_id=account_id,
            asset=asset,
            stored=None if stored is None else int(stored),
            expected=int(fold),
        )
        for account_id, kind, asset, stored, fold in rows
    ]


def _unbalanced_assets(connection: Connection) -> list[Discrepancy]:
    """Per asset, the stored balances plus the journal's fold of the accounts that keep none must sum to zero."""
    derived = [kind.value for kind in DERIVED_KINDS]
    movements = _movements()
    parts = union_all(
        select(ledger_accounts.c.asset, ledger_balances.c.balance.label("amount"))
        .join(ledger_balances, ledger_balances.c.account_id == ledger_accounts.c.id)
        .where(ledger_accounts.c.kind.not_in(derived)),
        select(ledger_accounts.c.asset, movements.c.change.label("amount"))
        .join(movements, movements.c.account_id == ledger_accounts.c.id)
        .where(ledger_accounts.c.kind.in_(derived)),
    ).subquery("parts")
    total = func.sum(parts.c.amount)
    rows = connection.execute(
        select(parts.c.asset, total).group_by(parts.c.asset).having(total != 0).order_by(parts.c.asset)
    )
    return [
        Discrepancy(
            DiscrepancyKind.UNBALANCED_ASSET,
            f"{asset}: the balances sum to {int(value)}, not 0",
            asset=asset,
            stored=int(value),
            expected=0,
        )
        for asset, value in rows
    ]


def _broken_reversals(connection: Connection) -> list[Discrepancy]:
    reversal, original = ledger_transfers.alias("reversal"), ledger_transfers.alias("original")
    rows = connection.execute(
        select(reversal.c.id, reversal.c.reverses_id, original.c.id.is_(None).label("is_dangling"))
        .outerjoin(original, original.c.id == reversal.c.reverses_id)
        .where(reversal.c.reverses_id.is_not(None))
        .where(
            or_(
                original.c.id.is_(None),
                original.c.kind == TransferKind.REVERSAL.value,
                reversal.c.kind != TransferKind.REVERSAL.value,
                reversal.c.debit_account_id != original.c.credit_account_id,
                reversal.c.credit_account_id != original.c.debit_account_id,
                reversal.c.asset != original.c.asset,
                reversal.c.amount != original.c.amount,
            )
        )
        .order_by(reversal.c.id)
    )
    found = []
    for transfer_id, reverses_id, is_dangling in rows:
        if is_dangling:
            found.append(
                Discrepancy(
                    DiscrepancyKind.DANGLING_REVERSAL,
                    f"transfer {transfer_id} reverses {reverses_id}, which does not exist",
                    transfer_id=transfer_id,
                )
            )
        else:
            found.append(
                Discrepancy(
                    DiscrepancyKind.MISMATCHED_REVERSAL,
                    f"transfer {transfer_id} is not transfer {reverses_id} turned round",
                    transfer_id=transfer_id,
                )
            )
    return found


def _negative_balances(connection: Connection) -> list[Discrepancy]:
    rows = connection.execute(
        select(ledger_accounts.c.id, ledger_accounts.c.kind, ledger_accounts.c.asset, ledger_balances.c.balance)
        .join(ledger_balances, ledger_balances.c.account_id == ledger_accounts.c.id)
        .where(
            and_(
                ledger_accounts.c.kind.in_(sorted(kind.value for kind in NON_NEGATIVE_KINDS)),
                ledger_balances.c.balance < literal(0),
            )
        )
        .order_by(ledger_accounts.c.id)
    )
    return [
        Discrepancy(
            DiscrepancyKind.NEGATIVE_BALANCE,
            f"{kind} {asset}: balance {int(value)}, below zero where it may never go",
            account_id=account_id,
            asset=asset,
            stored=int(value),
            expected=0,
        )
        for account_id, kind, asset, value in rows
    ]
