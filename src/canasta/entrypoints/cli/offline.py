"""Offline redemption from the command line.

``canasta device sync|redeem|upload|status`` is the reference offline client, run on a distribution point's
device: it needs the device's state file and key, not the registry's database. The first ``sync`` needs the
server's address, the device's token and key file (from ``canasta devices register``) and the server's list key
(``canasta keys export-trust-list`` prints it); they are kept in the state file (mode 0600) for the next commands.

``canasta suspense list|resolve`` is for officers, on the server: the cases offline uploads opened, and settling
one with a resolution and a reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from canasta.entrypoints.cli.context import build, cli_actor, emit_json, say

if TYPE_CHECKING:
    from canasta.adapters.device import OfflineDevice

__all__ = ["device_app", "suspense_app"]

device_app = typer.Typer(help="The offline client of a distribution point's device: sync, redeem, upload, status.",
                         no_args_is_help=True)  # fmt: skip
suspense_app = typer.Typer(help="Suspense cases from offline uploads: list them, settle one.", no_args_is_help=True)

StateOption = Annotated[Path, typer.Option("--state", help="The device's state file (made by the first sync).")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document on standard output.")]


def _device(state: Path) -> OfflineDevice:
    from canasta.adapters.clock import SystemClock
    from canasta.adapters.crypto.records import load_device_key
    from canasta.adapters.device import HttpTransport, OfflineDevice, StateFile
    from canasta.domain.errors import NotFoundError

    state_file = StateFile(state)
    if not state_file.exists():
        raise NotFoundError(f"no device state at {state}: run `canasta device sync` with --server, --token, --key "
                            "and --list-key first", field="state")  # fmt: skip
    saved = state_file.load()
    return OfflineDevice(
        state_file, load_device_key(Path(saved["key_file"])), HttpTransport(saved["server"]), clock=SystemClock()
    )


@device_app.command("sync")
def sync(
    state: StateOption = Path("device.json"),
    server: Annotated[str | None, typer.Option(help="The server's URL (first sync, or to change it).")] = None,
    token: Annotated[str | None, typer.Option(help="The device's token (first sync, or a new one).")] = None,
    key: Annotated[Path | None, typer.Option(help="The device's key file, from `devices register --key-out`.")] = None,
    list_key: Annotated[str | None, typer.Option("--list-key", help="The server's list key, 64 hex digits.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Upload what is pending, then download and check a new bundle of the point's leases and card lists."""
    from canasta.adapters.device import StateFile, new_state
    from canasta.domain.errors import ValidationError

    state_file = StateFile(state)
    if not state_file.exists():
        if server is None or token is None or key is None or list_key is None:
            raise ValidationError("the first sync needs --server, --token, --key and --list-key", field="server")
        try:
            list_key_bytes = bytes.fromhex(list_key)
        except ValueError:
            raise ValidationError("the list key is 64 hex digits", field="list_key") from None
        state_file.save(new_state(server=server, token=token, key_file=str(key.resolve()), list_key=list_key_bytes))
    elif server or token or key or list_key:
        saved = state_file.load()
        changes = {"server": server, "token": token, "key_file": str(key.resolve()) if key else None}
        saved |= {name: value for name, value in changes.items() if value}
        if list_key:
            raise ValidationError("the list key of a device never changes; make a new state file", field="list_key")
        state_file.save(saved)
    report = _device(state).sync()
    if as_json:
        emit_json(report)
    say(f"synced: {report['uploaded']['sent']} record(s) uploaded, {report['leases']} lease(s) in the new bundle")


@device_app.command("redeem")
def redeem(
    programme: Annotated[str, typer.Option(help="The programme's code.")],
    state: StateOption = Path("device.json"),
    units: Annotated[int, typer.Option(min=1)] = 1,
    card: Annotated[str | None, typer.Option(help="The card's QR text, as scanned.")] = None,
    household: Annotated[str | None, typer.Option(help="The household's reference, when the card fails.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why the household is served without its card.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Redeem offline: check the card against the bundle's lists, the lease and the limits, sign and keep the record."""
    handout = _device(state).redeem(programme=programme, units=units, card=card, household=household, reason=reason)
    if as_json:
        emit_json(handout)
        return
    for line in handout["goods"]:
        typer.echo(f"{line['commodity']}\t{line['quantity']} {line['unit']}")
    counter = handout["record"]["record"]["counter"]
    say(f"record {counter} kept; collect {handout['co_payment']} {handout['currency']} (minor units) and hand out "
        "the goods above")  # fmt: skip


@device_app.command("upload")
def upload(
    state: StateOption = Path("device.json"),
    token: Annotated[
        str | None, typer.Option(help="Another token (an operator carrying this device's records).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send the records the server has not settled; each answer is applied, held (a gap) or suspense (a case)."""
    report = _device(state).upload(token=token)
    if as_json:
        emit_json(report)
        return
    for result in report["results"]:
        case = f"\tcase {result['case_id']}" if result.get("case_id") else ""
        typer.echo(f"{result['counter']}\t{result['status']}\t{result['code']}{case}")
    say(f"{report['sent']} record(s) sent")


@device_app.command("status")
def status(state: StateOption = Path("device.json"), as_json: JsonOption = False) -> None:
    """The bundle's age and validity, the limits used, the chain and what waits to be uploaded."""
    summary = _device(state).status()
    if as_json:
        emit_json(summary)
        return
    for name, value in summary.items():
        typer.echo(f"{name}\t{value}")


@suspense_app.command("list")
def list_cases(
    state: Annotated[str, typer.Option("--state", help="open, resolved or all.")] = "open",
    point: Annotated[str | None, typer.Option(help="Only cases of this point's devices.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Suspense cases, oldest first: kind, device and record, what each holds in suspense, and the detail."""
    from canasta.services.offline import list_cases as list_suspense

    app = build()
    try:
        cases = list_suspense(app.offline(), state=None if state == "all" else state, point=point)
    finally:
        app.close()
    if as_json:
        emit_json(cases)
        return
    for case in cases:
        held = ", ".join(f"{asset} {amount:+d}" for asset, amount in sorted(case["in_suspense"].items())) or "-"
        typer.echo(f"{case['case_id']}\t{case['kind']}\t{case['state']}\t{case['point']}/{case['device']}"
                   f"#{case['counter']}\t{held}\t{case['detail']}")  # fmt: skip
    say(f"{len(cases)} case(s)")


@suspense_app.command("resolve")
def resolve(
    case: UUID,
    resolution: Annotated[str, typer.Option(help="write_off (it was handed out) or dismiss (it was not).")],
    reason: Annotated[str, typer.Option(help="Why (kept with the case and its transfers).")],
    actor: Annotated[str, typer.Option("--actor", help="Who is settling it.")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """Settle a case: write_off clears what it holds in suspense, dismiss reverses what it posted."""
    from canasta.services.offline import resolve_case

    app = build()
    try:
        outcome: dict[str, Any] = resolve_case(
            app.offline(), cli_actor(actor), case, resolution=resolution, reason=reason
        )
    finally:
        app.close()
    if as_json:
        emit_json(outcome)
    say(f"case {case} resolved ({outcome['resolution']}); {outcome['transfers']} transfer(s) posted")
