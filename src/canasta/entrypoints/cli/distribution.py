"""Distribution points from the server's console: their stock (deliveries and counts) and their settlement.

``canasta settlement --point P --period 2026-11 [--format csv|json]`` lists every redemption of the month with the
co-payment collected and the subsidy owed, and the totals, reconciled with the ledger (exit 1 when they do not).
``canasta stock deliver|count|show`` keeps a point's shelves in the ledger: a delivery adds, a count posts the
difference as an adjustment with its reason.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import asdict
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import build, cli_actor, emit_json, say

__all__ = ["settlement", "stock_app"]

stock_app = typer.Typer(help="A distribution point's stock: deliveries, counts and what the ledger holds.",
                        no_args_is_help=True)  # fmt: skip
Point = Annotated[str, typer.Option("--point", help="The distribution point's code.")]
Commodity = Annotated[str, typer.Option(help="The commodity and its unit as a basket names them, e.g. rice-g.")]
ActorName = Annotated[str, typer.Option("--actor", help="Who is recording this (kept with the transfer).")]


def settlement(
    point: Point,
    period: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    output: Annotated[str, typer.Option("--format", help="csv (one line per redemption) or json.")] = "csv",
) -> None:
    """Redemptions, co-payments collected and subsidy owed for one point and month, reconciled with the ledger."""
    from canasta.adapters.db.settlement_store import SqlSettlementStore
    from canasta.domain.errors import ValidationError
    from canasta.services.settlement import settle

    if output not in ("csv", "json"):
        raise ValidationError("the format is csv or json", field="format")
    app = build()
    try:
        with app.engine.connect() as connection:
            report = settle(SqlSettlementStore(connection), point, period)
    finally:
        app.close()
    if output == "json":
        emit_json({**asdict(report), "reconciles": report.reconciles})
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["redemption_id", "at", "path", "items", "currency", "co_payment", "subsidy_owed"])
        for line in report.lines:
            writer.writerow(list(asdict(line).values()))
        for currency, total in sorted(report.totals.items()):
            writer.writerow(["TOTAL", period, f"{total['redemptions']} redemptions", "", currency,
                             total["co_payment"], total["subsidy_owed"]])  # fmt: skip
    for problem in report.problems:
        say(f"[red]does not reconcile:[/red] {problem}")
    if not report.reconciles:
        raise typer.Exit(1)
    say(f"{len(report.lines)} redemption line(s); the totals reconcile with the ledger to the unit")


def _post_stock(point: str, commodity: str, amount: int, *, kind: str, reason: str, reference: str, actor: str) -> int:
    from canasta.adapters.db import ledger_store
    from canasta.adapters.db.settlement_store import SqlSettlementStore
    from canasta.domain.errors import NotFoundError
    from canasta.domain.ledger import Account, AccountKind, Transfer, TransferKind, commodity_asset
    from canasta.domain.privacy import refuse_prohibited

    refuse_prohibited([reason], where="stock reason")
    app = build()
    try:
        with app.engine.begin() as connection:
            found = SqlSettlementStore(connection).point_by_code(point)
            if found is None:
                raise NotFoundError(f"no distribution point {point!r}", field="point")
            asset = commodity_asset(commodity)
            shelf = Account(AccountKind.POINT_STOCK, asset, found["id"])
            outside = Account(AccountKind.EXTERNAL, asset, found["id"])
            held = ledger_store.balance(connection, shelf)
            if kind == "count":
                amount, debit, credit = abs(amount - held), *((shelf, outside) if amount < held else (outside, shelf))
                if amount == 0:
                    return held
                transfer = Transfer(debit, credit, amount, TransferKind.ADJUSTMENT, reference, reason=reason)
            else:
                transfer = Transfer(outside, shelf, amount, TransferKind.DELIVERY, reference, reason=reason)
            ledger_store.post(connection, [transfer], by=cli_actor(actor).label, at=app.clock.now())
            return ledger_store.balance(connection, shelf)
    finally:
        app.close()


@stock_app.command("deliver")
def deliver(
    point: Point,
    commodity: Commodity,
    quantity: Annotated[int, typer.Option(min=1, help="How much arrived, in the commodity's unit.")],
    note: Annotated[str, typer.Option(help="The delivery note's number.")],
    actor: ActorName = "cli",
) -> None:
    """A supplier's delivery into the point's stock."""
    held = _post_stock(point, commodity, quantity, kind="delivery", reason="", reference=note, actor=actor)
    say(f"delivered; {point} now holds {held} {commodity}")


@stock_app.command("count")
def count(
    point: Point,
    commodity: Commodity,
    counted: Annotated[int, typer.Option(min=0, help="What is on the shelf, counted.")],
    reason: Annotated[str, typer.Option(help="Why the count differs, if it does (spoiled, found, theft...).")],
    actor: ActorName = "cli",
) -> None:
    """A stock count: the difference from the ledger is posted as an adjustment with its reason."""
    held = _post_stock(point, commodity, counted, kind="count", reason=reason, reference=f"count:{point}", actor=actor)
    say(f"counted; {point} holds {held} {commodity}")


@stock_app.command("show")
def show(point: Point, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the ledger says the point holds, per commodity."""
    from sqlalchemy import select

    from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances
    from canasta.adapters.db.settlement_store import SqlSettlementStore
    from canasta.domain.errors import NotFoundError

    app = build()
    try:
        with app.engine.connect() as connection:
            found = SqlSettlementStore(connection).point_by_code(point)
            if found is None:
                raise NotFoundError(f"no distribution point {point!r}", field="point")
            rows = connection.execute(
                select(ledger_accounts.c.asset, ledger_balances.c.balance)
                .join(ledger_balances, ledger_balances.c.account_id == ledger_accounts.c.id)
                .where(ledger_accounts.c.owner_id == found["id"], ledger_accounts.c.kind == "point_stock")
                .order_by(ledger_accounts.c.asset)
            ).all()
    finally:
        app.close()
    held = {str(asset).removeprefix("commodity:"): int(balance) for asset, balance in rows}
    if as_json:
        emit_json(held)
    else:
        for commodity, balance in held.items():
            typer.echo(f"{commodity}\t{balance}")
