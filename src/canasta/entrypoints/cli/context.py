"""What every command shares: settings from the environment and the composition root, built on demand."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from canasta.bootstrap import Canasta
    from canasta.domain.access import Actor

__all__ = ["build", "cli_actor", "emit_json", "say"]


def build(*, upgrade: bool = True) -> Canasta:
    """Settings -> canasta, with the schema brought up to date (idempotent) unless ``upgrade`` is False."""
    from canasta.adapters.db.schema import upgrade_schema
    from canasta.bootstrap import bootstrap
    from canasta.config import load_settings

    app = bootstrap(load_settings())
    if upgrade:
        upgrade_schema(app.engine)
    return app


def emit_json(document: Any) -> None:
    """One JSON document on standard output (for machines; nothing else is printed there)."""
    typer.echo(json.dumps(document, ensure_ascii=False, default=str))


def say(message: str) -> None:
    """A line for people, on standard error so ``--json`` output stays clean."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(message)


def cli_actor(name: str) -> Actor:
    """The actor of a command run on the server itself: an administrator named ``name`` (for the record)."""
    from uuid import UUID

    from canasta.domain.access import Actor, Role

    return Actor(user_id=UUID(int=0), name=name, role=Role.ADMIN)
