"""The set path into the ledger: a cycle's grants, for every entitlement at once, in a few SQL statements.

No Python loop over entitlements: accounts are opened with ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, the
grants still due are listed once in a temporary table, the balances change with one ``UPDATE ... FROM`` per side,
and the transfers are written with one ``INSERT ... SELECT``. Running it again posts nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    exists,
    insert,
    literal,
    select,
    update,
)

from canasta.adapters.db.eligibility_tables import cycles, entitlements, programmes
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.adapters.db.sql_functions import NewUuid7
from canasta.adapters.db.types import UtcDateTime
from canasta.domain.errors import NotFoundError
from canasta.domain.ledger import AccountKind, TransferKind

__all__ = ["grant_entitlements", "insert_new", "lapse_entitlements"]

# Scratch space of one call, never part of the schema (its own metadata, so migrations do not see it).
pending_table = Table(
    "ledger_pending_grants",
    MetaData(),
    Column("credit_id", Uuid, primary_key=True),
    Column("debit_id", Uuid, nullable=False),
    Column("asset", String(64), nullable=False),
    Column("units", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)


def insert_new(connection: Connection, table: Any, key: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` for the connection's database."""
    from sqlalchemy.dialects import postgresql, sqlite

    if connection.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=key)


def grant_entitlements(connection: Connection, cycle_id: UUID, *, by: str, at: datetime) -> int:
    """Post a grant for every entitlement of cycle ``cycle_id`` that has none yet; returns how many were posted.

    The asset of an entitlement is ``benefit:<programme code>``; its units come from the programme's subsidy
    account. Accounts are opened as needed. Set-wise: a handful of statements whatever the number of
    entitlements, and running it again posts nothing twice (a reversed grant stays reversed). Raises
    :class:`NotFoundError` when there is no such cycle.
    """
    # Two runs for one cycle at once would both see the same entitlements as not granted: the second waits here.
    locked = connection.execute(select(cycles.c.id).where(cycles.c.id == cycle_id).with_for_update()).first()
    if locked is None:
        raise NotFoundError(f"no cycle {cycle_id}", cycle_id=cycle_id)
    moment = literal(at, UtcDateTime())
    asset = (literal("benefit:", String()) + programmes.c.code).label("asset")
    of_cycle = (
        select(entitlements.c.id, entitlements.c.programme_id, entitlements.c.units, asset)
        .join(programmes, programmes.c.id == entitlements.c.programme_id)
        .where(entitlements.c.cycle_id == cycle_id)
        .subquery("of_cycle")
    )
    for kind, owner in (
        (AccountKind.PROGRAMME_SUBSIDY, of_cycle.c.programme_id),
        (AccountKind.HOUSEHOLD_ENTITLEMENT, of_cycle.c.id),
    ):
        owners = select(owner.label("owner_id"), of_cycle.c.asset).distinct().subquery("owners")
        # The WHERE is always true; SQLite parses ``INSERT ... SELECT ... ON CONFLICT`` only when there is one.
        accounts = select(NewUuid7(), literal(kind.value), owners.c.asset, owners.c.owner_id, moment).where(
            owners.c.owner_id.is_not(None)
        )
        connection.execute(
            insert_new(connection, ledger_accounts, ["owner_id", "kind", "asset"]).from_select(
                ["id", "kind", "asset", "owner_id", "created_at"], accounts
            )
        )
        opened = (
            select(ledger_accounts.c.id, literal(0), moment)
            .join(
                owners, and_(ledger_accounts.c.owner_id == owners.c.owner_id, ledger_accounts.c.asset == owners.c.asset)
            )
            .where(ledger_accounts.c.kind == kind.value)
        )
        if kind is AccountKind.PROGRAMME_SUBSIDY:
            continue  # keeps no stored balance (DERIVED_KINDS)
        connection.execute(
            insert_new(connection, ledger_balances, ["account_id"]).from_select(
                ["account_id", "balance", "updated_at"], opened
            )
        )
    return _post_pending(
        connection, _pending_grants(of_cycle), kind=TransferKind.GRANT, reference=_reference(cycle_id), by=by,
        moment=moment, reason="",
    )  # fmt: skip


def _post_pending(
    connection: Connection, pending: Any, *, kind: TransferKind, reference: str, by: str, moment: Any, reason: str
) -> int:
    """Post one transfer per row of ``pending`` (labelled ``credit_id``: the entitlement's account, ``debit_id``: the
    programme's subsidy account, ``asset``, ``units``): a grant credits the entitlement, a lapse debits it.

    The rows are written down first, in a scratch table: inserting into the journal while an anti-join reads it
    makes every probe scan the rows the same statement is adding (quadratic in the cycle). The programme's subsidy
    account keeps no stored balance: only the entitlements' balances change.
    """
    pending_table.drop(connection, checkfirst=True)  # left over by a failed call whose caller went on
    pending_table.create(connection)
    connection.execute(insert(pending_table).from_select(list(pending.selected_columns.keys()), pending))
    sign = 1 if kind is TransferKind.GRANT else -1
    connection.execute(
        update(ledger_balances)
        .where(ledger_balances.c.account_id == pending_table.c.credit_id)
        .values(balance=ledger_balances.c.balance + sign * pending_table.c.units, updated_at=moment)
    )
    due = pending_table.c
    debit, credit = (due.debit_id, due.credit_id) if kind is TransferKind.GRANT else (due.credit_id, due.debit_id)
    rows = select(
        NewUuid7(), debit, credit, due.asset, due.units, literal(kind.value), literal(reference), moment, literal(by),
        literal(reason),
    )  # fmt: skip
    result = connection.execute(
        insert(ledger_transfers).from_select(
            ["id", "debit_account_id", "credit_account_id", "asset", "amount", "kind", "reference", "at", "by",
             "reason"],
            rows,
        ),
        execution_options={"preserve_rowcount": True},
    )  # fmt: skip
    pending_table.drop(connection)
    return int(result.rowcount)


def _reference(cycle_id: UUID) -> str:
    return f"cycle:{cycle_id}"


def _pending_grants(of_cycle: Any) -> Any:
    """``(debit_id, credit_id, asset, units)`` of each entitlement of the cycle whose account has no grant yet.

    Looked up by the credited account alone (its index), not by the cycle's reference, which every grant of the
    cycle shares: a probe by reference would read the whole cycle's grants for each entitlement.
    """
    entitlement_account = ledger_accounts.alias("entitlement_account")
    subsidy_account = ledger_accounts.alias("subsidy_account")
    granted = exists(
        select(1).where(
            ledger_transfers.c.credit_account_id == entitlement_account.c.id,
            ledger_transfers.c.kind == TransferKind.GRANT.value,
        )
    )
    return (
        select(
            subsidy_account.c.id.label("debit_id"),
            entitlement_account.c.id.label("credit_id"),
            of_cycle.c.asset,
            of_cycle.c.units,
        )
        .join(
            entitlement_account,
            and_(
                entitlement_account.c.owner_id == of_cycle.c.id,
                entitlement_account.c.kind == AccountKind.HOUSEHOLD_ENTITLEMENT.value,
                entitlement_account.c.asset == of_cycle.c.asset,
            ),
        )
        .join(
            subsidy_account,
            and_(
                subsidy_account.c.owner_id == of_cycle.c.programme_id,
                subsidy_account.c.kind == AccountKind.PROGRAMME_SUBSIDY.value,
                subsidy_account.c.asset == of_cycle.c.asset,
            ),
        )
        .where(~granted)
    )


def lapse_entitlements(connection: Connection, cycle_id: UUID, *, by: str, at: datetime) -> int:
    """Give back to the programme what is left on every lapsed entitlement of the cycle; returns how many lapsed.

    Set-wise like :func:`grant_entitlements`, and idempotent: an entitlement whose balance is already zero posts
    nothing. Run when a cycle closes, after its open entitlements were marked lapsed.
    """
    moment = literal(at, UtcDateTime())
    entitlement_account = ledger_accounts.alias("entitlement_account")
    subsidy_account = ledger_accounts.alias("subsidy_account")
    left = (
        select(
            entitlement_account.c.id.label("credit_id"),  # the column names of the scratch table: see below
            subsidy_account.c.id.label("debit_id"),
            entitlement_account.c.asset,
            ledger_balances.c.balance.label("units"),
        )
        .select_from(entitlements)
        .join(
            entitlement_account,
            and_(
                entitlement_account.c.owner_id == entitlements.c.id,
                entitlement_account.c.kind == AccountKind.HOUSEHOLD_ENTITLEMENT.value,
            ),
        )
        .join(ledger_balances, ledger_balances.c.account_id == entitlement_account.c.id)
        .join(
            subsidy_account,
            and_(
                subsidy_account.c.owner_id == entitlements.c.programme_id,
                subsidy_account.c.kind == AccountKind.PROGRAMME_SUBSIDY.value,
                subsidy_account.c.asset == entitlement_account.c.asset,
            ),
        )
        .where(entitlements.c.cycle_id == cycle_id, entitlements.c.state == "lapsed", ledger_balances.c.balance > 0)
    )
    return _post_pending(
        connection, left, kind=TransferKind.LAPSE, reference=_reference(cycle_id), by=by, moment=moment,
        reason="the cycle closed",
    )  # fmt: skip
