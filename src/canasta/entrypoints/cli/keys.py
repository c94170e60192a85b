"""``canasta keys create|rotate|list|export-trust-list``: the keys that sign cards and device lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import build, cli_actor, emit_json, say

__all__ = ["keys_app"]

keys_app = typer.Typer(help="Card- and list-signing keys (stored sealed under the key-encryption key).",
                       no_args_is_help=True)  # fmt: skip
Purpose = Annotated[str, typer.Option(help="card (signs cards) or list (signs trust and revocation lists)")]
Actor = Annotated[str, typer.Option(help="Who does this (for the record).")]


@keys_app.command("create")
def create(purpose: Purpose = "card", actor: Actor = "cli") -> None:
    """Create the first key of a purpose; afterwards use rotate."""
    from canasta.services.cards import create_key

    app = build()
    try:
        with app.engine.begin() as connection:
            key_id = create_key(app.cards(connection), cli_actor(actor), purpose=purpose)
    finally:
        app.close()
    say(f"{purpose} key {key_id} created")


@keys_app.command("rotate")
def rotate(purpose: Purpose = "card", actor: Actor = "cli") -> None:
    """Make a new key; cards signed by the old one stay valid until they expire."""
    from canasta.services.cards import rotate_key

    app = build()
    try:
        with app.engine.begin() as connection:
            key_id = rotate_key(app.cards(connection), cli_actor(actor), purpose=purpose)
    finally:
        app.close()
    say(f"{purpose} key rotated: {key_id} now signs")


@keys_app.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key with its purpose, status and public key (private keys are never shown)."""
    from canasta.adapters.db.card_store import SqlCardStore

    app = build()
    try:
        with app.engine.connect() as connection:
            rows = SqlCardStore(connection).keys()
    finally:
        app.close()
    keys = [
        {
            "key_id": row["key_id"],
            "purpose": row["purpose"],
            "status": row["status"],
            "public_key": bytes(row["public_key"]).hex(),
            "created_at": row["created_at"].isoformat(),
            "trusted_until": row["trusted_until"].isoformat() if row["trusted_until"] else None,
        }
        for row in rows
    ]
    if as_json:
        emit_json(keys)
        return
    for key in keys:
        typer.echo(f"{key['key_id']}\t{key['purpose']}\t{key['status']}\t{key['public_key']}")


@keys_app.command("export-trust-list")
def export_trust_list(out: Annotated[Path, typer.Option(help="Where to write the signed trust list.")]) -> None:
    """Write the signed trust list devices download (and print the list-signing public key they pin)."""
    from canasta.services.cards import LIST_KEY
    from canasta.services.cards import export_trust_list as export

    app = build()
    try:
        with app.engine.begin() as connection:
            cards = app.cards(connection)
            document = export(cards)
            list_key = cards.store.active_key(LIST_KEY)
    finally:
        app.close()
    out.write_bytes(document)
    say(f"trust list written to {out} ({len(document)} bytes)")
    if list_key is not None:
        say(f"list-signing public key (devices pin it): {bytes(list_key['public_key']).hex()}")
