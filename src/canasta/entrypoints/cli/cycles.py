"""``canasta programmes ...``, ``canasta cycles ...`` and ``canasta explain``: deciding, from need, who gets what."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from canasta.entrypoints.cli.context import build, cli_actor, emit_json, say

__all__ = ["cycles_app", "explain", "pmt_app", "programmes_app"]

programmes_app = typer.Typer(help="Benefit programmes: what they give and to whom (a rule over need facts).",
                             no_args_is_help=True)  # fmt: skip
cycles_app = typer.Typer(help="Cycles: draft, preview, approve (a second person), run, close.", no_args_is_help=True)
Actor = Annotated[str, typer.Option(help="Who does this (for the record; approval needs someone else).")]


def _with_eligibility(action: Any) -> Any:
    app = build()
    try:
        with app.engine.begin() as connection:
            return action(app.eligibility(connection))
    finally:
        app.close()


@programmes_app.command("add")
def add_programme(
    file: Annotated[Path, typer.Argument(help="The programme as JSON (see docs/programmes.md).")],
    actor: Actor = "cli",
) -> None:
    """Define a programme; its rule is parsed and type-checked, prohibited names are refused."""
    from canasta.domain.errors import ValidationError
    from canasta.services.cycles import add_programme as add

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValidationError(f"{file}: not a readable JSON file ({error})", field="file") from None
    if not isinstance(document, dict):
        raise ValidationError(f"{file}: the programme must be a JSON object", field="file")
    programme_id = _with_eligibility(lambda eligibility: add(eligibility, cli_actor(actor), document))
    say(f"programme {document.get('code')} defined ({programme_id})")


@programmes_app.command("set-rule")
def set_rule(
    programme: Annotated[str, typer.Argument(help="The programme's code.")],
    rule: Annotated[str, typer.Argument(help="The new eligibility rule (docs/rules.md); checked now and again then.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the request).")],
    actor: Annotated[str, typer.Option(help="The canasta user who asks for the change.")],
) -> None:
    """Ask for a programme's eligibility rule to be replaced; another programme manager approves it with
    `canasta approvals approve`. Cycles drafted before keep the rule they pinned. Prints the request's id."""
    from canasta.entrypoints.cli.approvals import ask
    from canasta.services.approvals import request_rule_change

    ask(actor, lambda approvals, who: request_rule_change(approvals, who, programme, rule, reason=reason))


@cycles_app.command("draft")
def draft(
    programme: Annotated[str, typer.Argument(help="The programme's code.")],
    start: Annotated[str, typer.Option(help="First day of the period, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last day of the period, YYYY-MM-DD.")],
    actor: Actor = "cli",
) -> None:
    """Draft the next cycle of a programme (the programme is pinned as it is now)."""
    from canasta.domain.errors import ValidationError
    from canasta.services.cycles import draft_cycle

    try:
        period = (date.fromisoformat(start), date.fromisoformat(end))
    except ValueError:
        raise ValidationError("dates are written YYYY-MM-DD", field="start") from None
    cycle_id = _with_eligibility(
        lambda e: draft_cycle(e, cli_actor(actor), programme, period_start=period[0], period_end=period[1])
    )
    typer.echo(str(cycle_id))


@cycles_app.command("preview")
def preview(cycle: UUID, actor: Actor = "cli", as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Counts by area, cost against the budget and sample explanations; decides nothing."""
    from canasta.services.cycles import preview_cycle

    result = _with_eligibility(lambda e: preview_cycle(e, cli_actor(actor), cycle))
    if as_json:
        emit_json(result)
        return
    say(f"{result['eligible']} of {result['households']} households eligible; {result['units']} units, "
        f"cost {result['cost']} {result['currency']} (budget {result['budget']})")  # fmt: skip
    for area in result["by_area"]:
        typer.echo(f"{area['code']}\t{area['name']}\t{area['eligible']}/{area['households']}\t{area['cost']}")


@cycles_app.command("approve")
def approve(
    cycle: UUID,
    actor: Annotated[str, typer.Option(help="The canasta user who asks for the approval.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the request).")] = "the preview was checked",
) -> None:
    """Ask for a previewed cycle (this preview) to be approved; a programme manager who is neither you nor its
    author approves it with `canasta approvals approve`. Prints the request's id."""
    from canasta.entrypoints.cli.approvals import ask
    from canasta.services.approvals import request_cycle_approval

    ask(actor, lambda approvals, who: request_cycle_approval(approvals, who, cycle, reason=reason))


@cycles_app.command("run")
def run(cycle: UUID, actor: Actor = "cli", as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Write decisions and entitlements, then grant them in the ledger (safe to run again: nothing twice)."""
    from canasta.services.cycles import open_distribution, run_cycle

    result = _with_eligibility(lambda e: run_cycle(e, cli_actor(actor), cycle))
    result["granted"] = _with_eligibility(lambda e: open_distribution(e, cli_actor(actor), cycle))
    if as_json:
        emit_json(result)
    else:
        say(f"{result['decisions']} decisions and {result['entitlements']} entitlements written; "
            f"{result['granted']} granted in the ledger")  # fmt: skip


@cycles_app.command("close")
def close(cycle: UUID, actor: Actor = "cli") -> None:
    """Close a distributing cycle."""
    from canasta.services.cycles import close_cycle

    settled = _with_eligibility(lambda e: close_cycle(e, cli_actor(actor), cycle))
    say(f"cycle closed; {settled} unredeemed entitlement(s) lapsed or carried over, as the programme says")


def explain(
    household: Annotated[UUID, typer.Argument(help="The household's id.")],
    cycle: Annotated[UUID | None, typer.Option(help="One cycle (default: every decision).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every decision about a household: each condition, the values used, and a plain-language reason."""
    from canasta.services.cycles import explain_decisions

    explained = _with_eligibility(lambda e: explain_decisions(e, household, cycle))
    if as_json:
        emit_json(explained)
        return
    if not explained:
        say("no decision about this household yet")
    for decision in explained:
        outcome = "eligible" if decision["eligible"] else "not eligible"
        typer.echo(
            f"{decision['programme']} (cycle {decision['cycle_number']}, version {decision['version']}): {outcome}"
        )
        typer.echo(f"  {decision['plain_reason']}")
        for line in decision["explanation"]["lines"]:
            typer.echo(f"    {line}")


pmt_app = typer.Typer(help="Proxy means test models (versioned; a cycle pins the version in force).",
                      no_args_is_help=True)  # fmt: skip


@pmt_app.command("add")
def add_pmt(
    file: Annotated[Path, typer.Argument(help="The model as JSON (see docs/rules.md, Proxy means test).")],
    actor: Actor = "cli",
) -> None:
    """Store a PMT model version; it is validated against the facts and the areas on load."""
    from canasta.domain.errors import ValidationError
    from canasta.services.cycles import add_pmt_model

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValidationError(f"{file}: not a readable JSON file ({error})", field="file") from None
    name, version = _with_eligibility(lambda e: add_pmt_model(e, cli_actor(actor), document))
    say(f"PMT model {name} version {version} stored")
