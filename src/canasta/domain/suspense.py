"""Suspense: offline records the server could not apply, each with a case, and what they handed out parked in the
point's suspense account until an officer settles it (DESIGN section 7: nothing is ever dropped).

A case is opened for every received record that is not applied (its kind is the record's
:class:`~canasta.domain.offline.RecordClass`). Only a ``conflict`` posts anything: the record is genuine and in
order, so its goods were handed out, but the ledger cannot book it as a redemption. :func:`plan_suspense` parks
it, all under the case's reference:

* the entitlement gives what it still holds to suspense (so it cannot be redeemed a second time), and suspense
  gives the programme the units handed out: the suspense balance of the benefit is minus the units not covered;
* each basket line's goods leave the point's stock for suspense as far as the stock holds them, and the rest
  comes from the point's external account (goods the ledger did not know were on the shelf);
* the co-payment collected moves from the point's external account into suspense. Nothing is owed to the point.

A record that cannot be trusted (a foreign signature, an edit, a replay, a revoked device, a malformed one) posts
nothing: the case holds it. A ``gap`` case closes by itself when the missing records arrive.

Settling a case (:class:`Resolution`): ``write_off`` keeps what was handed out as handed out and clears the case's
suspense balances (the benefit against the programme's subsidy account, goods and money against the point's
external account); ``dismiss`` says nothing was handed out and reverses every transfer of the case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from enum import StrEnum
from uuid import UUID

from canasta.domain.errors import ConflictError, ValidationError
from canasta.domain.ledger import (
    Account,
    AccountKind,
    PostedTransfer,
    Transfer,
    TransferKind,
    benefit_asset,
    money_asset,
)
from canasta.domain.redemption import EntitlementDue, stock_asset

__all__ = [
    "OFFICER_RESOLUTIONS",
    "CaseState",
    "Resolution",
    "case_reference",
    "check_resolution",
    "plan_suspense",
    "plan_write_off",
]


class CaseState(StrEnum):
    """Where a suspense case stands. Transition: open -> resolved (once, with who, when, how and why)."""

    OPEN = "open"  # waiting for an officer (or, for a gap, for the missing records)
    RESOLVED = "resolved"  # settled; its suspense balances are back to zero


class Resolution(StrEnum):
    """How a case was settled."""

    WRITE_OFF = "write_off"  # what was handed out stays handed out; the suspense balances are cleared
    DISMISS = "dismiss"  # nothing was handed out; the case's transfers are reversed
    FILLED = "filled"  # a gap whose missing records arrived (set by the server, never by an officer)


OFFICER_RESOLUTIONS = frozenset({Resolution.WRITE_OFF, Resolution.DISMISS})


def case_reference(case_id: UUID) -> str:
    """The ledger reference of every transfer a case posts: ``case:<id>``."""
    return f"case:{case_id}"


def check_resolution(state: str, resolution: str, reason: str) -> Resolution:
    """The officer's resolution of a case in ``state``; raises :class:`ValidationError` for an unknown resolution
    or a missing reason, :class:`ConflictError` (``case_resolved``) for a case settled before."""
    try:
        chosen = Resolution(resolution)
    except ValueError:
        chosen = None
    if chosen not in OFFICER_RESOLUTIONS:
        known = ", ".join(sorted(item.value for item in OFFICER_RESOLUTIONS))
        raise ValidationError(f"the resolution is one of: {known}", field="resolution")
    if len(reason.strip()) < 3:
        raise ValidationError("say why the case is settled this way", field="reason")
    if state != CaseState.OPEN:
        raise ConflictError("this case is settled already", code="case_resolved")
    assert chosen is not None
    return chosen


def plan_suspense(
    due: EntitlementDue,
    *,
    units: int,
    point_id: UUID,
    reference: str,
    reason: str,
    entitlement_held: int,
    stock_held: Mapping[str, int],
) -> list[Transfer]:
    """The transfers that park a conflicting record of ``units`` of ``due`` handed out at ``point_id``.

    ``entitlement_held`` is what the entitlement may give (0 when it is not this household's or not leased to this
    point), ``stock_held`` the point's stock per asset; both as read in the posting's transaction.
    """
    benefit = benefit_asset(due.programme_code)

    def suspense(asset: str) -> Account:
        return Account(AccountKind.SUSPENSE, asset, point_id)

    def move(debit: Account, credit: Account, amount: int) -> Transfer:
        return Transfer(debit, credit, amount, TransferKind.SUSPENSE, reference, reason=reason)

    transfers: list[Transfer] = []
    taken = min(max(entitlement_held, 0), units)
    if taken:
        entitlement = Account(AccountKind.HOUSEHOLD_ENTITLEMENT, benefit, due.entitlement_id)
        transfers.append(move(entitlement, suspense(benefit), taken))
    transfers.append(move(suspense(benefit), Account(AccountKind.PROGRAMME_SUBSIDY, benefit, due.programme_id), units))
    for line in due.basket:
        goods, needed = stock_asset(line), line.quantity * units
        from_stock = min(max(stock_held.get(goods, 0), 0), needed)
        if from_stock:
            transfers.append(move(Account(AccountKind.POINT_STOCK, goods, point_id), suspense(goods), from_stock))
        if needed > from_stock:
            transfers.append(move(Account(AccountKind.EXTERNAL, goods, point_id), suspense(goods), needed - from_stock))
    if due.co_payment > 0:
        money = money_asset(due.currency)
        transfers.append(move(Account(AccountKind.EXTERNAL, money, point_id), suspense(money), due.co_payment * units))
    return transfers


def plan_write_off(posted: Sequence[PostedTransfer], *, reference: str, reason: str) -> list[Transfer]:
    """The transfers that bring every suspense balance a case's transfers ``posted`` left back to zero: a benefit
    against the programme's subsidy account it went to, goods and money against the point's external account."""
    net: dict[Account, int] = defaultdict(int)
    counterpart: dict[str, Account] = {}
    for transfer in posted:
        for account, sign in ((transfer.credit, 1), (transfer.debit, -1)):
            if account.kind is AccountKind.SUSPENSE:
                net[account] += sign * transfer.amount
        if transfer.credit.kind is AccountKind.PROGRAMME_SUBSIDY:
            counterpart[transfer.asset] = transfer.credit
    transfers = []
    for account in sorted(net):
        amount = net[account]
        if amount == 0:
            continue
        other = counterpart.get(account.asset, Account(AccountKind.EXTERNAL, account.asset, account.owner_id))
        debit, credit = (account, other) if amount > 0 else (other, account)
        transfers.append(Transfer(debit, credit, abs(amount), TransferKind.SUSPENSE, reference, reason=reason))
    return transfers
