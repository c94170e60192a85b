"""Setting up: ``init``, ``db upgrade|check``, ``fields add|list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import build, emit_json, say

__all__ = ["db_app", "fields_app", "init"]

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
fields_app = typer.Typer(help="Custom fields declared by this deployment.", no_args_is_help=True)


def init(
    key_file: Annotated[Path | None, typer.Option(help="Where to write the keys (default: CANASTA_KEY_FILE).")] = None,
) -> None:
    """Create the key file (never overwrites one) and bring the database schema up to date."""
    from canasta.adapters.crypto.keyfile import create_key_file
    from canasta.config import load_settings

    settings = load_settings()
    path = key_file or settings.key_file
    if settings.keys:
        say("CANASTA_KEYS is set: keys come from the environment, no key file written")
    elif path.exists():
        say(f"keys: {path} exists already, kept as it is")
    else:
        create_key_file(path)
        say(f"keys: created {path} (mode 0600); keep a copy somewhere safe: sealed data cannot be read without it")
    app = build()
    say(f"database: schema up to date at {app.engine.url.render_as_string(hide_password=True)}")
    app.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run every pending migration (safe to run any number of times)."""
    app = build()
    say("schema up to date")
    app.close()


@db_app.command("check")
def db_check() -> None:
    """Fail when the migrations differ from the tables, or when any row refers to a row that does not exist."""
    from canasta.adapters.db.integrity import broken_references
    from canasta.adapters.db.schema import check_schema
    from canasta.domain.errors import ConflictError

    app = build()
    try:
        check_schema(app.engine)
        say("migrations match the tables")
        with app.engine.connect() as connection:
            broken = broken_references(connection)
    finally:
        app.close()
    if broken:
        listed = ", ".join(f"{name}: {count} row(s)" for name, count in broken.items())
        raise ConflictError(f"broken references: {listed}", code="integrity_broken")
    say("every reference between rows holds")


@fields_app.command("add")
def fields_add(
    name: str,
    applies_to: Annotated[str, typer.Option("--applies-to", help="household or person")],
    field_type: Annotated[str, typer.Option("--type", help="text, integer, boolean, date or choice")],
    purpose: Annotated[str, typer.Option(help="Why the programme needs this field (required).")],
    choices: Annotated[str, typer.Option(help="For choice fields: values separated by ;")] = "",
    required: Annotated[bool, typer.Option("--required/--optional")] = False,
    actor: Annotated[str, typer.Option(help="Who declares it (for the record).")] = "cli",
) -> None:
    """Declare a custom field. Names of prohibited categories are refused."""
    from canasta.adapters.db.repositories import add_custom_field
    from canasta.domain.custom_fields import define_custom_field

    definition = define_custom_field(
        name,
        applies_to=applies_to,
        type=field_type,
        purpose=purpose,
        choices=tuple(choice.strip() for choice in choices.split(";") if choice.strip()),
        is_required=required,
    )
    app = build()
    with app.engine.begin() as connection:
        add_custom_field(connection, definition, actor=actor, at=app.clock.now())
    say(f"custom field {name} declared")
    app.close()


@fields_app.command("list")
def fields_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The declared custom fields."""
    from canasta.adapters.db.repositories import load_custom_fields

    app = build()
    with app.engine.connect() as connection:
        definitions = load_custom_fields(connection)
    app.close()
    rows = [
        {"name": d.name, "applies_to": d.applies_to, "type": d.type, "purpose": d.purpose, "choices": list(d.choices)}
        for d in definitions.values()
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['name']}\t{row['applies_to']}\t{row['type']}\t{row['purpose']}")
