"""``canasta devices register|revoke``: the devices distribution points redeem with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import build, cli_actor, emit_json, say

__all__ = ["devices_app"]

devices_app = typer.Typer(help="Devices of distribution points: their keys, tokens and offline limits.",
                          no_args_is_help=True)  # fmt: skip


@devices_app.command("register")
def register(
    name: str,
    point: Annotated[str, typer.Option(help="The distribution point's code.")],
    key_out: Annotated[
        Path, typer.Option("--key-out", help="Where to write the device's new private key (never overwritten).")
    ],
    max_offline_hours: Annotated[int, typer.Option(min=1)] = 72,
    max_offline_count: Annotated[int, typer.Option(min=0)] = 500,
    max_offline_value: Annotated[int, typer.Option(min=0, help="In minor units.")] = 50_000_000,
    actor: Annotated[str, typer.Option("--actor")] = "cli",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register a device: a new Ed25519 key (written to --key-out, 0600), its user and token (shown once)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from canasta.adapters.db.device_store import OfflineLimits, register_device
    from canasta.domain.errors import ConflictError

    if key_out.exists():
        raise ConflictError(f"{key_out} exists; a device key is never overwritten", code="file_exists")
    private = Ed25519PrivateKey.generate()
    app = build()
    try:
        with app.engine.begin() as connection:
            device = register_device(
                connection, point_code=point, name=name, public_key=private.public_key().public_bytes_raw(),
                limits=OfflineLimits(max_offline_hours, max_offline_count, max_offline_value), ids=app.new_ids(3),
                by=cli_actor(actor).label, at=app.clock.now(),
            )  # fmt: skip
            descriptor = os.open(key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(private.private_bytes_raw())
    finally:
        app.close()
    if as_json:
        emit_json({"device_id": str(device.device_id), "name": device.name, "point": point, "token": device.token})
    else:
        typer.echo(device.token)
        say(f"device {name} registered at {point}; its key is in {key_out}; the token above is shown once")


@devices_app.command("revoke")
def revoke(
    name: str,
    reason: Annotated[str, typer.Option(help="Why (lost, stolen, retired...).")],
    actor: Annotated[str, typer.Option("--actor")] = "cli",
) -> None:
    """Revoke a device: its token stops working and its redemptions are refused from now on."""
    from canasta.adapters.db.device_store import revoke_device

    app = build()
    try:
        with app.engine.begin() as connection:
            revoke_device(connection, name, reason=reason, by=cli_actor(actor).label, at=app.clock.now())
    finally:
        app.close()
    say(f"device {name} revoked")
