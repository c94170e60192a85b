"""``canasta ledger check [--json]``: the whole ledger checked against its own journal.

Exit codes: 0 the ledger holds (a summary is printed), 1 it does not (each discrepancy is named).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from canasta.entrypoints.cli.context import build, emit_json, say

__all__ = ["ledger_app"]

ledger_app = typer.Typer(help="The double-entry ledger of entitlements, stock and co-payments.", no_args_is_help=True)


@ledger_app.callback()
def ledger() -> None:
    """The double-entry ledger of entitlements, stock and co-payments."""


@ledger_app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on standard output.")] = False,
) -> None:
    """Fold the journal and compare: balances, the trial balance per asset, reversal links, negative balances."""
    from canasta.adapters.db.ledger_check import check as check_ledger

    app = build()
    try:
        with app.engine.connect() as connection:
            report = check_ledger(connection)
    finally:
        app.close()
    if as_json:
        document: dict[str, Any] = {
            "is_consistent": report.is_consistent,
            "accounts": report.accounts,
            "transfers": report.transfers,
            "assets": report.assets,
            "discrepancies": [{**asdict(found), "kind": found.kind.value} for found in report.discrepancies],
        }
        emit_json(document)
    else:
        for found in report.discrepancies:
            typer.echo(f"{found.kind.value}: {found.detail}")
        summary = f"{report.accounts} account(s), {report.transfers} transfer(s), {report.assets} asset(s)"
        if report.is_consistent:
            say(f"the ledger holds: {summary}; every balance matches the journal and every asset sums to zero")
        else:
            say(f"the ledger does not hold: {len(report.discrepancies)} discrepancy(ies) in {summary}")
    if not report.is_consistent:
        raise typer.Exit(1)
