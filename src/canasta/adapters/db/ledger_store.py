"""The ledger's storage: accounts opened on demand, transfers posted atomically, balances kept by guarded updates.

Every function works inside the caller's transaction (the unit of work) and commits nothing.

Concurrency. A posting never reads a balance to decide: it changes each balance with one ``UPDATE``, and for an
account that may not go negative the ``UPDATE`` itself carries the condition (``... WHERE balance >= :needed``).
On PostgreSQL the row lock that ``UPDATE`` takes makes concurrent posters to one account wait for each other, and
the condition is evaluated again on the row as the winner left it; SQLite has a single writer. Every posting
takes its row locks in one global order (accounts that may not go negative first, then the others, each by
account id), so postings touching the same accounts cannot deadlock; the others come after the transfers are
written, so a programme's account, which every redemption of the programme changes, is held only at the end.

A refused posting leaves no trace: the balances it had already changed are put back before
:class:`~canasta.domain.ledger.InsufficientBalanceError` is raised, and no transfer is written, so a caller may
record the refusal in the same transaction. (Any other error leaves the transaction to be rolled back.)

Account ids are remembered per engine once the transaction that saw them commits: accounts are never changed or
removed (triggers refuse it), so a committed id stays right for good, and a redemption need not look up its five
accounts again. (A database restored under a running server is the one case where the memory would be stale: the
server must be restarted after ``canasta restore``.)

The set path :func:`grant_entitlements` lives in :mod:`canasta.adapters.db.ledger_grants` and the whole-ledger
:func:`check` in :mod:`canasta.adapters.db.ledger_check`; both are re-exported here.
"""

from __future__ import annotations

import json
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Text,
    and_,
    bindparam,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.sql import Select

from canasta.adapters.db.driver import Prebuilt, execute, execute_many, fetch_one
from canasta.adapters.db.ledger_check import check
from canasta.adapters.db.ledger_grants import grant_entitlements, insert_new
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.adapters.db.types import UtcDateTime
from canasta.adapters.ids import new_ids
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.ledger import (
    Account,
    AccountKind,
    InsufficientBalanceError,
    PostedTransfer,
    Transfer,
    TransferKind,
    reversal_of,
)

__all__ = [
    "balance",
    "balances",
    "check",
    "grant_entitlements",
    "note_accounts",
    "open_account",
    "open_accounts",
    "post",
    "reverse",
    "transfer",
    "transfers_by_reference",
]


_KNOWN: weakref.WeakKeyDictionary[Engine, dict[Account, UUID]] = weakref.WeakKeyDictionary()
_SEEN = "canasta.ledger.accounts_seen"  # ids seen by the connection's open transaction, remembered at its commit


def _known(connection: Connection) -> dict[Account, UUID]:
    known = _KNOWN.get(connection.engine)
    if known is None:
        known = _KNOWN.setdefault(connection.engine, {})
    return known


@event.listens_for(Engine, "commit")
def _remember_seen(connection: Connection) -> None:
    seen = connection.info.pop(_SEEN, None)
    if seen:
        _known(connection).update(seen)


@event.listens_for(Engine, "rollback")
def _forget_seen(connection: Connection) -> None:
    connection.info.pop(_SEEN, None)


def _is_account(account: Account) -> ColumnElement[bool]:
    return and_(
        ledger_accounts.c.owner_id == account.owner_id,
        ledger_accounts.c.kind == account.kind.value,
        ledger_accounts.c.asset == account.asset,
    )


def _account_ids(connection: Connection, accounts: Sequence[Account]) -> dict[Account, UUID]:
    if not accounts:
        return {}
    rows = connection.execute(
        select(ledger_accounts.c.id, ledger_accounts.c.kind, ledger_accounts.c.asset, ledger_accounts.c.owner_id).where(
            or_(*(_is_account(account) for account in accounts))
        )
    )
    return {Account(AccountKind(kind), asset, owner_id): account_id for account_id, kind, asset, owner_id in rows}


def open_accounts(connection: Connection, accounts: Iterable[Account], *, at: datetime) -> dict[Account, UUID]:
    """The id of each account, opening (with a zero balance) those that do not exist yet."""
    known, seen = _known(connection), connection.info.get(_SEEN, {})
    wanted = set(accounts)
    if all(account in known or account in seen for account in wanted):
        return {account: known.get(account) or seen[account] for account in wanted}
    found = _seen(connection, wanted)
    missing = sorted(account for account in wanted if account not in found)  # one order: openers never deadlock
    if not missing:
        return found
    rows = [
        {"id": account_id, "kind": account.kind.value, "asset": account.asset, "owner_id": account.owner_id,
         "created_at": at}
        for account, account_id in zip(missing, new_ids(len(missing)), strict=True)
    ]  # fmt: skip
    connection.execute(insert_new(connection, ledger_accounts, ["owner_id", "kind", "asset"]), rows)
    found = _seen(connection, wanted)  # someone else's concurrent opening wins with its own id
    balance_rows = [
        {"account_id": found[account], "balance": 0, "updated_at": at} for account in missing if account.is_stored
    ]
    if balance_rows:
        connection.execute(insert_new(connection, ledger_balances, ["account_id"]), balance_rows)
    return found


def _seen(connection: Connection, accounts: Iterable[Account]) -> dict[Account, UUID]:
    """The ids of the accounts that exist, looked up, and noted for remembering when this transaction commits."""
    found = _account_ids(connection, list(accounts))
    note_accounts(connection, found)
    return found


def note_accounts(connection: Connection, found: Mapping[Account, UUID]) -> None:
    """Ids another query of this transaction read (an entitlement's account, say): no need to look them up again."""
    connection.info.setdefault(_SEEN, {}).update(found)


def forget_account(connection: Connection, account: Account) -> None:
    """Drop a remembered id (after a refusal, in case the database under the engine was replaced)."""
    _known(connection).pop(account, None)


def open_account(connection: Connection, account: Account, *, at: datetime) -> UUID:
    """The id of ``account``, opening it when it does not exist yet."""
    return open_accounts(connection, [account], at=at)[account]


def balances(connection: Connection, accounts: Iterable[Account]) -> dict[Account, int]:
    """The balance of each account (0 for an account never opened): stored, or for the kinds that keep none
    (:data:`~canasta.domain.ledger.DERIVED_KINDS`) folded from the journal, which reads all their transfers."""
    wanted = list(set(accounts))
    ids = _account_ids(connection, wanted)
    if not ids:
        return dict.fromkeys(wanted, 0)
    stored_ids = [ids[account] for account in ids if account.is_stored]
    derived_ids = [ids[account] for account in ids if not account.is_stored]
    found: dict[UUID, int] = {}
    if stored_ids:
        rows = connection.execute(
            select(ledger_balances.c.account_id, ledger_balances.c.balance).where(
                ledger_balances.c.account_id.in_(stored_ids)
            )
        )
        found |= {account_id: int(value) for account_id, value in rows}
    for account_id in derived_ids:
        credits = select(func.coalesce(func.sum(ledger_transfers.c.amount), 0)).where(
            ledger_transfers.c.credit_account_id == account_id
        )
        debits = select(func.coalesce(func.sum(ledger_transfers.c.amount), 0)).where(
            ledger_transfers.c.debit_account_id == account_id
        )
        found[account_id] = int(
            connection.execute(select(credits.scalar_subquery() - debits.scalar_subquery())).scalar_one()
        )
    return {account: found.get(ids[account], 0) if account in ids else 0 for account in wanted}


def balance(connection: Connection, account: Account) -> int:
    """The stored balance of ``account``: credits minus debits (0 for an account never opened)."""
    return balances(connection, [account])[account]


def post(connection: Connection, transfers: Sequence[Transfer], *, by: str, at: datetime) -> list[UUID]:
    """Post ``transfers`` together, all or none; returns their new ids in order.

    Raises :class:`InsufficientBalanceError` when an account that may not go negative would (then nothing is
    posted), and :class:`ValidationError` for a reversal (those go through :func:`reverse`).
    """
    for item in transfers:
        if item.kind is TransferKind.REVERSAL:
            raise ValidationError("a reversal is posted with reverse(), which checks its original", field="kind")
    return _post(connection, transfers, by=by, at=at)


def reverse(connection: Connection, transfer_id: UUID, *, by: str, reason: str, at: datetime) -> UUID:
    """Undo transfer ``transfer_id`` with a new transfer the other way, linked to it; returns the new id.

    Raises :class:`NotFoundError` for an unknown transfer, :class:`ConflictError` (``already_reversed``) when it
    was reversed before, (``reversal_not_reversible``) when it is itself a reversal, and
    :class:`InsufficientBalanceError` when what it gave has been used (a redeemed grant).
    """
    # Locking the original makes a second reversal of it wait here and then find the first (PostgreSQL).
    original = _posted(connection, ledger_transfers.c.id == transfer_id, lock=True)
    if not original:
        raise NotFoundError(f"no ledger transfer {transfer_id}", transfer_id=transfer_id)
    reversed_by = connection.execute(
        select(ledger_transfers.c.id).where(ledger_transfers.c.reverses_id == transfer_id)
    ).scalar_one_or_none()
    if reversed_by is not None:
        raise ConflictError(
            "this transfer has been reversed already",
            code="already_reversed",
            transfer_id=transfer_id,
            reversal_id=reversed_by,
        )
    return _post(connection, [reversal_of(original[0], reason=reason)], by=by, at=at)[0]


def _post(connection: Connection, transfers: Sequence[Transfer], *, by: str, at: datetime) -> list[UUID]:
    if not transfers:
        return []
    account_ids = open_accounts(connection, [side for item in transfers for side in (item.debit, item.credit)], at=at)
    changes: dict[Account, int] = defaultdict(int)
    for item in transfers:
        changes[item.debit] -= item.amount
        changes[item.credit] += item.amount
    in_lock_order = sorted(changes, key=lambda account: (account.can_go_negative, account_ids[account]))
    # The balances that may not go negative first, each guarded; last, the stored balances that may: they cannot
    # refuse, so their row locks are best taken just before the caller commits. Programme and external accounts
    # keep no stored balance (DERIVED_KINDS).
    guarded = [(account, changes[account]) for account in in_lock_order if not account.can_go_negative]
    others = [
        (account, changes[account])
        for account in in_lock_order
        if account.can_go_negative and account.is_stored and changes[account]
    ]
    transfer_ids = new_ids(len(transfers))
    rows = [
        {"id": transfer_id, "debit_account_id": account_ids[item.debit], "credit_account_id": account_ids[item.credit],
         "asset": item.asset, "amount": item.amount, "kind": item.kind.value, "reference": item.reference,
         "reverses_id": item.reverses, "at": at, "by": by, "reason": item.reason}
        for transfer_id, item in zip(transfer_ids, transfers, strict=True)
    ]  # fmt: skip
    if connection.dialect.name == "postgresql":
        _post_in_one_statement(connection, [item for item in guarded if item[1]], others, rows, account_ids, at=at)
        return transfer_ids
    _change_guarded_balances(connection, guarded, account_ids, at=at)
    execute_many(connection, _INSERT_TRANSFERS, rows)
    for account, change in others:
        if not _change_balance(connection, account_ids[account], change, at=at):
            raise LookupError(f"ledger account {account_ids[account]} has no balance row; run `canasta ledger check`")
    return transfer_ids


_POST = text("SELECT canasta_post(CAST(:posting AS json), :posted_at, :posted_by)").bindparams(
    bindparam("posting", type_=Text()),
    bindparam("posted_at", type_=UtcDateTime()),
    bindparam("posted_by", type_=Text()),
)
_POST_PREBUILT = Prebuilt(_POST)


def _post_in_one_statement(
    connection: Connection,
    guarded: Sequence[tuple[Account, int]],
    others: Sequence[tuple[Account, int]],
    rows: Sequence[Mapping[str, Any]],
    account_ids: Mapping[Account, UUID],
    *,
    at: datetime,
) -> None:
    """The same steps as the SQLite path, as one call of ``canasta_post`` (migration 0014) on PostgreSQL."""
    # One JSON text: the driver adapts a list parameter element by element in Python, a string as it is.
    posting = {
        "guarded": [[str(account_ids[account]), change] for account, change in guarded],
        "others": [[str(account_ids[account]), change] for account, change in others],
        "transfers": [
            [str(row["id"]), str(row["debit_account_id"]), str(row["credit_account_id"]), row["asset"], row["amount"],
             row["kind"], row["reference"], None if row["reverses_id"] is None else str(row["reverses_id"]),
             row["reason"]]
            for row in rows
        ],
    }  # fmt: skip
    values = {"posting": json.dumps(posting, separators=(",", ":")), "posted_at": at, "posted_by": rows[0]["by"]}
    found = fetch_one(connection, _POST_PREBUILT, values)
    outcome = int(next(iter(found.values()))) if found else 0
    if outcome == 0:
        return
    position = abs(outcome) - 1
    account, change = guarded[position] if position < len(guarded) else others[position - len(guarded)]
    forget_account(connection, account)
    if outcome < 0:
        raise LookupError(f"ledger account {account_ids[account]} has no balance row; run `canasta ledger check`")
    raise InsufficientBalanceError(account, balance_needed=-change)


_CHANGE_STATEMENT = (
    update(ledger_balances)
    .where(ledger_balances.c.account_id == bindparam("account"))
    .values(balance=ledger_balances.c.balance + bindparam("change"), updated_at=bindparam("at"))
)
_CHANGE = Prebuilt(_CHANGE_STATEMENT)
_CHANGE_ABOVE_ZERO = Prebuilt(_CHANGE_STATEMENT.where(ledger_balances.c.balance >= bindparam("needed")))
_INSERT_TRANSFERS = Prebuilt(insert(ledger_transfers), [column.name for column in ledger_transfers.c])


def _change_balance(
    connection: Connection, account_id: UUID, change: int, *, at: datetime, floor: bool = False
) -> bool:
    """Add ``change`` to the balance; with ``floor``, only if it stays at or above zero. False when nothing changed."""
    values: dict[str, Any] = {"account": account_id, "change": change, "at": at}
    statement = _CHANGE
    if floor and change < 0:
        statement, values["needed"] = _CHANGE_ABOVE_ZERO, -change
    return execute(connection, statement, values) == 1


def _change_guarded_balances(
    connection: Connection, changes: Sequence[tuple[Account, int]], account_ids: Mapping[Account, UUID], *, at: datetime
) -> None:
    """Apply each net change to accounts that may not go negative; on a refusal, put back what was applied."""
    applied: list[tuple[UUID, int]] = []
    for account, change in changes:
        if change == 0:
            continue
        if not _change_balance(connection, account_ids[account], change, at=at, floor=True):
            # Undone here rather than with a savepoint: SQLite's driver does not nest transactions reliably, and
            # these rows are still locked by this transaction, so putting the amounts back is exact.
            for undo_id, undo_change in applied:
                _change_balance(connection, undo_id, -undo_change, at=at)
            forget_account(connection, account)
            if change > 0:
                raise LookupError(
                    f"ledger account {account_ids[account]} has no balance row; run `canasta ledger check`"
                )
            raise InsufficientBalanceError(account, balance_needed=-change)
        applied.append((account_ids[account], change))


def _posted(connection: Connection, condition: ColumnElement[bool], *, lock: bool = False) -> list[PostedTransfer]:
    debit, credit = ledger_accounts.alias("debit_account"), ledger_accounts.alias("credit_account")
    query: Select[Any] = (
        select(ledger_transfers, debit.c.kind, debit.c.owner_id, credit.c.kind, credit.c.owner_id)
        .join(debit, debit.c.id == ledger_transfers.c.debit_account_id)
        .join(credit, credit.c.id == ledger_transfers.c.credit_account_id)
        .where(condition)
        .order_by(ledger_transfers.c.id)
    )
    if lock:
        query = query.with_for_update(of=ledger_transfers)
    posted = []
    for row in connection.execute(query):
        values = row._mapping
        asset = values[ledger_transfers.c.asset]
        posted.append(
            PostedTransfer(
                id=values[ledger_transfers.c.id],
                debit=Account(AccountKind(values[debit.c.kind]), asset, values[debit.c.owner_id]),
                credit=Account(AccountKind(values[credit.c.kind]), asset, values[credit.c.owner_id]),
                amount=int(values[ledger_transfers.c.amount]),
                kind=TransferKind(values[ledger_transfers.c.kind]),
                reference=values[ledger_transfers.c.reference],
                reason=values[ledger_transfers.c.reason],
                reverses=values[ledger_transfers.c.reverses_id],
                at=values[ledger_transfers.c.at],
                by=values[ledger_transfers.c.by],
            )
        )
    return posted


def transfer(connection: Connection, transfer_id: UUID) -> PostedTransfer | None:
    """Transfer ``transfer_id`` as posted, or None when there is none."""
    found = _posted(connection, ledger_transfers.c.id == transfer_id)
    return found[0] if found else None


def transfers_by_reference(connection: Connection, reference: str) -> list[PostedTransfer]:
    """Every transfer posted under ``reference`` (a redemption's, say), oldest first."""
    return _posted(connection, ledger_transfers.c.reference == reference)
