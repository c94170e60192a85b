"""``canasta cards issue|activate|lost|revoke|print|export-revocations``: the life of a card.

The commands join the ``cards`` group beside ``verify``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from canasta.entrypoints.cli.cards import app as cards_app
from canasta.entrypoints.cli.context import build, cli_actor, emit_json, say

__all__ = ["cards_app"]

Actor = Annotated[str, typer.Option(help="Who does this (for the record).")]
Reason = Annotated[str, typer.Option(help="Why (kept with the card's history).")]
Label = Annotated[str, typer.Option(help="Programme name printed on the card.")]


@cards_app.command("issue")
def issue(
    household: Annotated[UUID | None, typer.Option(help="One household's id.")] = None,
    area: Annotated[str | None, typer.Option(help="Every household of this area (code prefix) without a card.")] = None,
    label: Label = "Canasta",
    reason: Reason = "card issuance",
    actor: Actor = "cli",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue cards: to one household (a live earlier card is revoked as reissued) or to a whole area."""
    from canasta.domain.errors import ValidationError
    from canasta.services.cards import issue_card, issue_cards_for_area

    if (household is None) == (area is None):
        raise ValidationError("give exactly one of --household or --area", field="household")
    app = build()
    try:
        with app.engine.begin() as connection:
            cards = app.cards(connection)
            if household is not None:
                card = issue_card(cards, cli_actor(actor), household, label=label, reason=reason)
                result = {"issued": 1, "card_number": card.card_number, "expires_at": card.expires_at.isoformat()}
            else:
                result = {
                    "issued": issue_cards_for_area(cards, cli_actor(actor), area or "", label=label, reason=reason)
                }
    finally:
        app.close()
    if as_json:
        emit_json(result)
    else:
        say(f"{result['issued']} card(s) issued" + (f": {result['card_number']}" if "card_number" in result else ""))


def _change(number: str, target: str, reason: str, actor: str) -> None:
    from canasta.domain.cards import CardState
    from canasta.services.cards import change_card_state

    app = build()
    try:
        with app.engine.begin() as connection:
            change_card_state(app.cards(connection), cli_actor(actor), number, CardState(target), reason=reason)
    finally:
        app.close()
    say(f"card {number}: {target}")


@cards_app.command("activate")
def activate(card_number: str, reason: Reason = "handed to the household", actor: Actor = "cli") -> None:
    """Mark a card handed over (issued -> active)."""
    _change(card_number, "active", reason, actor)


@cards_app.command("lost")
def lost(card_number: str, reason: Reason = "reported lost", actor: Actor = "cli") -> None:
    """Mark a card lost; the household keeps its entitlements and can be reissued a card."""
    _change(card_number, "lost", reason, actor)


@cards_app.command("revoke")
def revoke(
    card_number: str,
    reason: Reason,
    actor: Annotated[str, typer.Option(help="The canasta user who asks (an administrator approves).")],
) -> None:
    """Ask for a card to be revoked for good (then on the revocation list); an administrator other than you
    approves it with `canasta approvals approve`. Prints the request's id."""
    from canasta.entrypoints.cli.approvals import ask
    from canasta.services.approvals import request_card_revoke

    ask(actor, lambda approvals, who: request_card_revoke(approvals, who, card_number, reason=reason))


@cards_app.command("print")
def print_cards(
    out: Annotated[Path, typer.Option(help="The PDF to write (A4, ten ID-1 cards a sheet, cut marks).")],
    area: Annotated[str | None, typer.Option(help="Cards of this area (code prefix).")] = None,
    household: Annotated[UUID | None, typer.Option(help="One household's card.")] = None,
) -> None:
    """Render the cards waiting to be printed (state issued) as print-ready sheets, streaming."""
    from canasta.adapters.pdf import PrintableCard, render_card_sheets
    from canasta.domain.cards import format_card_number
    from canasta.domain.errors import ValidationError
    from canasta.services.cards import print_jobs

    if area is None and household is None:
        raise ValidationError("give --area or --household: no whole-country print by accident", field="area")
    app = build()
    try:
        with app.engine.connect() as connection:
            jobs = print_jobs(app.cards(connection), area_code=area, household_id=household)
            printable = (
                PrintableCard(
                    programme_name=job.label,
                    holder_name=job.holder_name,
                    card_id=format_card_number(job.card_number),
                    expires_on=job.expires_on,
                    qr_payload=job.qr_text,
                )
                for job in jobs
            )
            try:
                count = render_card_sheets(printable, out)
            except ValueError as error:
                raise ValidationError(f"nothing to print: {error}", field="area", code="nothing_to_print") from None
    finally:
        app.close()
    say(f"{count} cards written to {out}")


@cards_app.command("export-revocations")
def export_revocations(out: Annotated[Path, typer.Option(help="Where to write the signed revocation list.")]) -> None:
    """Write the signed revocation list devices download."""
    from canasta.services.cards import export_revocation_list

    app = build()
    try:
        with app.engine.begin() as connection:
            document = export_revocation_list(app.cards(connection))
    finally:
        app.close()
    out.write_bytes(document)
    say(f"revocation list written to {out} ({len(document)} bytes)")
