"""``canasta audit seal|verify|checkpoint|alerts``: the access log's hash chain, for operators and auditors.

``seal`` chains the entries written since the last seal and signs a checkpoint (``canasta serve`` does this every
few seconds on its own). ``verify`` walks the whole chain: exit 0 when every entry is intact and in place, 1 with
each finding named. ``checkpoint --out FILE`` hands an auditor the newest signed checkpoint to keep outside the
database; ``verify --anchor FILE`` later proves the chain still reaches it, which catches a cut-off tail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from canasta.entrypoints.cli.context import build, emit_json, say

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The access log's sealed hash chain: seal, verify, export a checkpoint.", no_args_is_help=True
)

AsJson = Annotated[bool, typer.Option("--json", help="One JSON document on standard output.")]


@audit_app.callback()
def audit() -> None:
    """The access log's sealed hash chain: seal, verify, export a checkpoint."""


@audit_app.command("seal")
def seal(
    full: Annotated[
        bool, typer.Option("--full", help="Look through the whole log for entries left behind (verify names them).")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Chain every access-log entry not sealed yet and sign a checkpoint of the new head."""
    app = build()
    try:
        written = app.seal_access_log(lookback=None) if full else app.seal_access_log()
    finally:
        app.close()
    head = written[-1] if written else None
    if as_json:
        emit_json({"checkpoints": len(written), "head": head.to_json() if head else None})
    elif head is None:
        say("nothing to seal: every entry is in the chain")
    else:
        say(f"sealed up to position {head.position}; checkpoint signed by key {head.key_id}")


@audit_app.command("verify")
def verify(
    anchor: Annotated[
        list[Path] | None, typer.Option(help="A checkpoint file kept outside the database (repeatable).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Check every sealed entry, the chain, the signed checkpoints and any anchors; exit 1 naming what is wrong."""
    from canasta.domain.audit import Checkpoint

    anchors = []
    for path in anchor or []:
        try:
            anchors.append(Checkpoint.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as error:
            say(f"[red]anchor {path}: not a checkpoint file ({type(error).__name__})[/red]")
            raise typer.Exit(2) from None
    app = build()
    try:
        report = app.verify_access_log(anchors)
    finally:
        app.close()
    if as_json:
        document: dict[str, Any] = {
            "ok": report.ok,
            "sealed": report.sealed,
            "checkpoints": report.checkpoints,
            "head": report.head.hex(),
            "findings": [{"kind": f.kind, "position": f.position, "detail": f.detail} for f in report.findings],
        }
        emit_json(document)
    else:
        for finding in report.findings:
            typer.echo(f"{finding.kind} at position {finding.position}: {finding.detail}")
        summary = f"{report.sealed} sealed entr(ies), {report.checkpoints} checkpoint(s), {len(anchors)} anchor(s)"
        if report.ok:
            say(f"the access log holds: {summary}; every entry is intact and in its place")
        else:
            say(f"the access log does not hold: {len(report.findings)} finding(s) in {summary}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(out: Annotated[Path, typer.Option(help="Where to write the newest signed checkpoint (JSON).")]) -> None:
    """Write the newest signed checkpoint for an auditor to keep apart from the database."""
    from canasta.adapters.db.access_log import checkpoints

    app = build()
    try:
        with app.engine.connect() as connection:
            found = checkpoints(connection)
    finally:
        app.close()
    if not found:
        say("[red]no checkpoint yet: run `canasta audit seal` first[/red]")
        raise typer.Exit(1)
    out.write_text(json.dumps(found[-1].to_json(), indent=2) + "\n", encoding="utf-8")
    say(f"checkpoint at position {found[-1].position} written to {out}")


@audit_app.command("alerts")
def alerts(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 100,
    as_json: AsJson = False,
) -> None:
    """Security alerts (exceeded quotas, locked sign-ins, refused tokens), newest first."""
    from canasta.adapters.db.alerts import recent_alerts

    app = build()
    try:
        with app.engine.connect() as connection:
            found = recent_alerts(connection, limit=limit)
    finally:
        app.close()
    if as_json:
        emit_json(found)
        return
    for alert in found:
        typer.echo(f"{alert['at']}\t{alert['kind']}\t{alert['actor_name'] or '-'}\t{alert['detail']}")
    if not found:
        say("no security alerts")
