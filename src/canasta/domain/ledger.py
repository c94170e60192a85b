"""The double-entry ledger's rules (DESIGN section 7): accounts, assets, transfers and what may never happen.

Every transfer debits one account and credits another by a positive whole number of units of one asset. Accounts
and transfers are never changed or removed; a correction is a reversal, a new transfer the other way that names
the one it undoes. Balances are derived from the journal and can be recomputed at any time.

**Sign convention.** An account's balance is the sum of the amounts credited to it minus the sum of the amounts
debited from it. A household entitlement holding three baskets has balance 3; the programme's subsidy account
that granted them has -3. Since every transfer adds its amount to one account and takes it from another of the
same asset, the balances of all the accounts of one asset always sum to zero (the trial balance).

**Assets** are strings ``family:name``:

* ``benefit:<programme code>``: units of a programme's benefit, what an entitlement counts (one basket of an
  in-kind programme, one ``unit_value`` of a cash or voucher programme, one unit of a service);
* ``commodity:<name>``: goods held at distribution points, the unit in the name (``commodity:rice-kg``);
* ``money:<ISO 4217 code>``: money in minor units (``money:VES``), e.g. co-payments.

**Flows** (:data:`ROUTES` lists them all). A cycle grants each entitlement its units from the programme's subsidy
account; units unredeemed at the end of a cycle lapse back to it. A redemption at a distribution point moves the
units out of the entitlement (to the outside world at the point, or back to the programme's subsidy account), the
goods out of the point's stock and the co-payment into the point's co-payments account; what the programme owes
the point for the rest moves from the programme's subsidy account to the point's ``subsidy_owed`` account, which
settlement empties. An account of a programme is one balance row that every redemption of the programme changes;
the storage changes such accounts last in a posting, so each holds its row lock only briefly.

Errors (all from :mod:`canasta.domain.errors`)::

    ValidationError              a transfer or account that breaks a rule here (field names the part)
    ConflictError                  reversal_not_reversible, already_reversed (code says which)
    └── InsufficientBalanceError   insufficient_balance: a posting would take an account below zero that may
                                   not go there (fields: account_kind, asset, owner_id, needed)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from canasta.domain.errors import ConflictError, ValidationError

__all__ = [
    "DERIVED_KINDS",
    "MAX_AMOUNT",
    "NON_NEGATIVE_KINDS",
    "ROUTES",
    "Account",
    "AccountKind",
    "Discrepancy",
    "DiscrepancyKind",
    "InsufficientBalanceError",
    "LedgerReport",
    "PostedTransfer",
    "Transfer",
    "TransferKind",
    "benefit_asset",
    "check_asset",
    "commodity_asset",
    "money_asset",
    "reversal_of",
]

MAX_AMOUNT = 2**63 - 1  # the largest amount a 64-bit column holds
MAX_REFERENCE = 64
MAX_REASON = 500

_BENEFIT = re.compile(r"benefit:[a-z][a-z0-9_-]{1,31}")  # the programme code's own pattern
_COMMODITY = re.compile(r"commodity:[a-z][a-z0-9_.-]{0,47}")
_MONEY = re.compile(r"money:[A-Z]{3}")
_ASSET = re.compile(f"{_BENEFIT.pattern}|{_COMMODITY.pattern}|{_MONEY.pattern}")


class AccountKind(StrEnum):
    """What an account holds, and whose it is (``owner_id`` names the owner)."""

    # owner: a programme; source of the benefit units it grants and of the money it owes points (may go negative).
    PROGRAMME_SUBSIDY = "programme_subsidy"
    HOUSEHOLD_ENTITLEMENT = "household_entitlement"  # owner: an entitlement; what is still due, never negative
    POINT_STOCK = "point_stock"  # owner: a distribution point; goods on its shelves, never negative
    CO_PAYMENTS_COLLECTED = "co_payments_collected"  # owner: a distribution point; households' shares it took in
    SUBSIDY_OWED = "subsidy_owed"  # owner: a distribution point; what programmes owe it for redemptions, until settled
    SUSPENSE = "suspense"  # owner: a distribution point; conflicts found at sync, parked until a case settles them
    # owner: a distribution point; the world outside the ledger at that point: suppliers deliver from it and
    # households pay co-payments from it; benefit units redeemed there, goods handed out and stock written off
    # go to it (so what a point handed out in a period is read from its external accounts).
    EXTERNAL = "external"


NON_NEGATIVE_KINDS: frozenset[AccountKind] = frozenset({AccountKind.HOUSEHOLD_ENTITLEMENT, AccountKind.POINT_STOCK})
"""Accounts of these kinds never go below zero: nobody redeems more than is due or hands out what is not there."""

DERIVED_KINDS: frozenset[AccountKind] = frozenset(
    {AccountKind.PROGRAMME_SUBSIDY, AccountKind.EXTERNAL, AccountKind.CO_PAYMENTS_COLLECTED, AccountKind.SUBSIDY_OWED}
)
"""Accounts of these kinds keep no stored balance: their balance is the fold of the journal, computed when asked.

They are the sources and sinks every posting of a programme (or at a place) goes through; a stored balance would
be one row that every redemption of the programme (or at the point) updates and waits for: the programme's
subsidy account for the whole country, a point's co-payments and subsidy owed for every till at the point. They
may go negative or only grow, so no posting ever needs their balance; settlement reads them from the journal.
"""


class TransferKind(StrEnum):
    """Why units moved. The accounts each kind may move between are listed in :data:`ROUTES`."""

    GRANT = "grant"  # a cycle's entitlement: the programme's subsidy account to the household's entitlement
    REDEEM = "redeem"  # a redemption: units out of the entitlement, goods out of the stock, at one point
    LAPSE = "lapse"  # an entitlement unredeemed when its cycle closed goes back to the subsidy account
    CO_PAYMENT = "co_payment"  # the household's share, collected by a distribution point
    DELIVERY = "delivery"  # a supplier's delivery into a point's stock
    MOVE = "move"  # stock moved from one distribution point to another
    ADJUSTMENT = "adjustment"  # a stock count: goods written off, or found (needs a reason)
    SUSPENSE = "suspense"  # a conflict parked in, or settled out of, a suspense account (needs a reason)
    SETTLEMENT = "settlement"  # a programme pays a point what it owed for redemptions
    REVERSAL = "reversal"  # undoes one earlier transfer, the other way round (needs a reason; never reversed)


_K = AccountKind
ROUTES: dict[TransferKind, frozenset[tuple[AccountKind, AccountKind]]] = {
    TransferKind.GRANT: frozenset({(_K.PROGRAMME_SUBSIDY, _K.HOUSEHOLD_ENTITLEMENT)}),
    TransferKind.REDEEM: frozenset(
        {
            (_K.HOUSEHOLD_ENTITLEMENT, _K.EXTERNAL),  # the units handed out at the point (see "Flows" above)
            (_K.HOUSEHOLD_ENTITLEMENT, _K.PROGRAMME_SUBSIDY),  # or given back to the programme
            (_K.POINT_STOCK, _K.EXTERNAL),  # the goods handed out
            (_K.PROGRAMME_SUBSIDY, _K.SUBSIDY_OWED),  # the value the programme owes the point, beyond the co-payment
        }
    ),
    TransferKind.LAPSE: frozenset({(_K.HOUSEHOLD_ENTITLEMENT, _K.PROGRAMME_SUBSIDY)}),
    TransferKind.CO_PAYMENT: frozenset({(_K.EXTERNAL, _K.CO_PAYMENTS_COLLECTED)}),
    TransferKind.SETTLEMENT: frozenset({(_K.SUBSIDY_OWED, _K.EXTERNAL)}),
    TransferKind.DELIVERY: frozenset({(_K.EXTERNAL, _K.POINT_STOCK)}),
    TransferKind.MOVE: frozenset({(_K.POINT_STOCK, _K.POINT_STOCK)}),
    TransferKind.ADJUSTMENT: frozenset({(_K.POINT_STOCK, _K.EXTERNAL), (_K.EXTERNAL, _K.POINT_STOCK)}),
    TransferKind.SUSPENSE: frozenset(
        {(other, _K.SUSPENSE) for other in _K if other is not _K.SUSPENSE}
        | {(_K.SUSPENSE, other) for other in _K if other is not _K.SUSPENSE}
    ),
    # A reversal goes the other way round along its original's route: checked against the original itself.
    TransferKind.REVERSAL: frozenset(),
}
"""``(debit kind, credit kind)`` pairs each transfer kind may move units along (``debit -> credit``)."""

_NEEDS_REASON = frozenset({TransferKind.ADJUSTMENT, TransferKind.SUSPENSE, TransferKind.REVERSAL})


def benefit_asset(programme_code: str) -> str:
    """The asset an entitlement of the programme ``programme_code`` counts: ``benefit:<code>``."""
    return check_asset(f"benefit:{programme_code}")


def commodity_asset(name: str) -> str:
    """Goods at distribution points, the unit in the name: ``commodity_asset("rice-kg")``."""
    return check_asset(f"commodity:{name}")


def money_asset(currency: str) -> str:
    """Money in minor units of an ISO 4217 currency: ``money_asset("VES")``."""
    return check_asset(f"money:{currency}")


@functools.lru_cache(maxsize=4096)
def _is_asset(asset: str) -> bool:
    # Every account and transfer checks its asset, and a country has a few hundred: each is matched once.
    return _ASSET.fullmatch(asset) is not None


def check_asset(asset: str) -> str:
    """Return ``asset`` when it is well formed; raise :class:`ValidationError` (field ``asset``) otherwise."""
    if type(asset) is not str or not _is_asset(asset):
        raise ValidationError(
            f"{asset!r} is not an asset: use benefit:<programme code>, commodity:<name> or money:<ISO 4217 code>",
            field="asset",
        )
    return asset


@dataclass(frozen=True, slots=True, order=True)
class Account:
    """One account: a ``kind`` of ``asset`` owned by ``owner_id`` (an entitlement, point or programme id).

    The three together identify it; the storage gives each its own id when it is first opened.
    """

    kind: AccountKind
    asset: str
    owner_id: UUID

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", AccountKind(self.kind))
        except ValueError:
            raise ValidationError(f"{self.kind!r} is not an account kind", field="kind") from None
        check_asset(self.asset)
        if not isinstance(self.owner_id, UUID):
            raise ValidationError("an account's owner is identified by a UUID", field="owner_id")

    def __hash__(self) -> int:
        # As the generated one, but on the owner's integer: UUID.__hash__ is a Python call, and a posting hashes
        # its accounts dozens of times (dicts of ids, changes, lock order).
        return hash((self.kind, self.asset, self.owner_id.int))

    @property
    def can_go_negative(self) -> bool:
        return self.kind not in NON_NEGATIVE_KINDS

    @property
    def is_stored(self) -> bool:
        """Whether the account has a stored balance (see :data:`DERIVED_KINDS`)."""
        return self.kind not in DERIVED_KINDS

    def describe(self) -> str:
        """``kind asset`` for messages (the owner id is left to the structured fields)."""
        return f"{self.kind.value} {self.asset}"


@dataclass(frozen=True, slots=True)
class Transfer:
    """``amount`` units of ``debit.asset`` from ``debit`` to ``credit``, not yet posted.

    ``reference`` ties it to what caused it (a client redemption id, a cycle, a delivery note); ``reverses`` is
    set on reversals only. Constructing one checks every rule that needs no stored state; raises
    :class:`ValidationError` naming the field.
    """

    debit: Account
    credit: Account
    amount: int
    kind: TransferKind
    reference: str
    reason: str = ""
    reverses: UUID | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", TransferKind(self.kind))
        except ValueError:
            raise ValidationError(f"{self.kind!r} is not a transfer kind", field="kind") from None
        if type(self.amount) is not int or not 0 < self.amount <= MAX_AMOUNT:
            raise ValidationError(f"the amount must be a whole number from 1 to {MAX_AMOUNT}", field="amount")
        if self.debit == self.credit:
            raise ValidationError("a transfer debits one account and credits another", field="credit")
        if self.debit.asset != self.credit.asset:
            raise ValidationError(
                f"both accounts must hold the same asset ({self.debit.asset} is not {self.credit.asset})",
                field="asset",
            )
        if not self.reference or len(self.reference) > MAX_REFERENCE or not self.reference.isprintable():
            raise ValidationError(f"the reference must be 1 to {MAX_REFERENCE} printable characters", field="reference")
        if len(self.reason) > MAX_REASON or (self.kind in _NEEDS_REASON and not self.reason.strip()):
            raise ValidationError(f"a {self.kind.value} needs a reason of at most {MAX_REASON} characters",
                                  field="reason")  # fmt: skip
        if (self.kind is TransferKind.REVERSAL) != (self.reverses is not None):
            raise ValidationError("a reversal, and only a reversal, names the transfer it reverses", field="reverses")
        route = (self.debit.kind, self.credit.kind)
        if self.kind is not TransferKind.REVERSAL and route not in ROUTES[self.kind]:
            raise ValidationError(
                f"a {self.kind.value} cannot move units from {self.debit.kind.value} to {self.credit.kind.value}",
                field="kind",
            )

    @property
    def asset(self) -> str:
        return self.debit.asset


def reversal_of(original: PostedTransfer, *, reason: str) -> Transfer:
    """The transfer that undoes ``original``: same amount, accounts swapped, linked by ``reverses``.

    Raises :class:`ConflictError` (code ``reversal_not_reversible``) when ``original`` is itself a reversal: a
    wrong reversal is corrected by posting the original transfer again, never by a chain of reversals.
    """
    if original.kind is TransferKind.REVERSAL:
        raise ConflictError(
            "a reversal cannot be reversed; post the original transfer again instead",
            code="reversal_not_reversible",
            transfer_id=original.id,
        )
    return Transfer(
        debit=original.credit,
        credit=original.debit,
        amount=original.amount,
        kind=TransferKind.REVERSAL,
        reference=original.reference,
        reason=reason,
        reverses=original.id,
    )


@dataclass(frozen=True, slots=True)
class PostedTransfer:
    """A transfer as the journal holds it."""

    id: UUID
    debit: Account
    credit: Account
    amount: int
    kind: TransferKind
    reference: str
    reason: str
    reverses: UUID | None
    at: datetime
    by: str

    @property
    def asset(self) -> str:
        return self.debit.asset


class InsufficientBalanceError(ConflictError):
    """A posting would take an account that may not go negative below zero; nothing of it was applied."""

    code = "insufficient_balance"

    def __init__(self, account: Account, *, balance_needed: int) -> None:
        super().__init__(
            f"the {account.kind.value} account of {account.asset} holds less than {balance_needed}",
            account_kind=account.kind.value,
            asset=account.asset,
            owner_id=account.owner_id,
            needed=balance_needed,
        )
        self.account = account


class DiscrepancyKind(StrEnum):
    """What a check of the whole ledger can find wrong (each should be impossible; each is looked for)."""

    BALANCE_MISMATCH = "balance_mismatch"  # a stored balance differs from the fold of the journal (or is missing)
    UNBALANCED_ASSET = "unbalanced_asset"  # the stored balances of one asset do not sum to zero
    DANGLING_REVERSAL = "dangling_reversal"  # a reversal names a transfer that does not exist
    MISMATCHED_REVERSAL = "mismatched_reversal"  # a reversal that is not its original turned round, or reverses one
    NEGATIVE_BALANCE = "negative_balance"  # an account that may not go negative is below zero


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One thing wrong with the ledger; the ids say where, ``stored``/``expected`` what (where they apply)."""

    kind: DiscrepancyKind
    detail: str
    account_id: UUID | None = None
    asset: str | None = None
    transfer_id: UUID | None = None
    stored: int | None = None
    expected: int | None = None


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """What a check of the whole ledger saw: how much it read, and every discrepancy (none when it holds)."""

    accounts: int
    transfers: int
    assets: int
    discrepancies: tuple[Discrepancy, ...] = field(default=())

    @property
    def is_consistent(self) -> bool:
        return not self.discrepancies
