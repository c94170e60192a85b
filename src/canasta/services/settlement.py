"""Settlement of a distribution point for a period: every redemption, the co-payments it collected and the
subsidy the programmes owe it, reconciled with the ledger to the unit.

The lines come from the redemption receipts; the totals are checked against the net movement of the point's
co-payment and subsidy-owed accounts in the journal, per redemption and overall. A report that does not
reconcile says where, and the command that prints it fails.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.errors import NotFoundError, ValidationError

__all__ = ["Settlement", "SettlementLine", "SettlementStore", "month_bounds", "settle"]


class SettlementStore(Protocol):
    def point_by_code(self, code: str) -> Mapping[str, Any] | None: ...
    def redemptions(self, point_id: UUID, start: datetime, end: datetime) -> Sequence[Mapping[str, Any]]: ...
    def ledger_movements(self, point_id: UUID, start: datetime, end: datetime) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One redemption: when, how, what (``programme: units``), and its money in minor units of ``currency``."""

    redemption_id: str
    at: str
    path: str
    items: str
    currency: str
    co_payment: int
    subsidy_owed: int


@dataclass(frozen=True, slots=True)
class Settlement:
    point: str
    period: str
    lines: tuple[SettlementLine, ...]
    totals: dict[str, dict[str, int]]  # currency -> {"redemptions", "co_payment", "subsidy_owed"}
    ledger: dict[str, dict[str, int]]  # currency -> {"co_payment", "subsidy_owed"}, net movement in the journal
    problems: tuple[str, ...] = field(default=())

    @property
    def reconciles(self) -> bool:
        return not self.problems


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` -> the month's start and the next month's start, in UTC."""
    try:
        year, month = (int(part) for part in period.split("-"))
        start = datetime(year, month, 1, tzinfo=UTC)
    except ValueError:
        raise ValidationError("the period is a month, written YYYY-MM (2026-11)", field="period") from None
    return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def settle(store: SettlementStore, point_code: str, period: str) -> Settlement:
    """The settlement of ``point_code`` for the month ``period``; see the module's description."""
    start, end = month_bounds(period)
    point = store.point_by_code(point_code)
    if point is None:
        raise NotFoundError(f"no distribution point {point_code!r}", field="point")
    movements: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))  # (ref, cur) -> kind
    ledger: dict[str, dict[str, int]] = defaultdict(lambda: {"co_payment": 0, "subsidy_owed": 0})
    for row in store.ledger_movements(point["id"], start, end):
        currency = str(row["asset"]).removeprefix("money:")
        kind = "co_payment" if row["kind"] == "co_payments_collected" else "subsidy_owed"
        movements[(str(row["reference"]), currency)][kind] += int(row["net"])
        ledger[currency][kind] += int(row["net"])
    lines: list[SettlementLine] = []
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"redemptions": 0, "co_payment": 0, "subsidy_owed": 0})
    problems: list[str] = []
    for redemption in store.redemptions(point["id"], start, end):
        reference = str(redemption["id"])
        document = (redemption["receipt"] or {}).get("document", {})
        by_currency: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in document.get("items", ()):
            by_currency[str(item["currency"])].append(item)
        for currency, items in sorted(by_currency.items()):
            booked = movements.get((reference, currency), {})
            line = SettlementLine(
                redemption_id=reference, at=redemption["at"].isoformat(), path=str(redemption["path"]),
                items="; ".join(f"{item['programme']}: {item['units']}" for item in items), currency=currency,
                co_payment=int(booked.get("co_payment", 0)), subsidy_owed=int(booked.get("subsidy_owed", 0)),
            )  # fmt: skip
            receipt_co_payment = sum(int(item["co_payment"]) for item in items)
            if line.co_payment != receipt_co_payment:
                problems.append(
                    f"redemption {reference}: the receipt says {receipt_co_payment} {currency} co-payment, "
                    f"the ledger {line.co_payment}"
                )
            lines.append(line)
            total = totals[currency]
            total["redemptions"] += 1
            total["co_payment"] += line.co_payment
            total["subsidy_owed"] += line.subsidy_owed
    for currency in sorted(set(ledger) | set(totals)):
        for kind in ("co_payment", "subsidy_owed"):
            listed, moved = totals[currency][kind], ledger[currency][kind]
            if listed != moved:
                problems.append(
                    f"{kind} in {currency}: the redemptions add up to {listed}, the ledger moved {moved} "
                    "(a transfer on the point's accounts that no redemption of the period explains)"
                )
    return Settlement(
        point=point_code, period=period, lines=tuple(lines), totals={key: dict(value) for key, value in totals.items()},
        ledger={key: dict(value) for key, value in ledger.items()}, problems=tuple(problems),
    )  # fmt: skip
