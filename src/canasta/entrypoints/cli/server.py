"""Serving canasta: ``serve`` and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import say

__all__ = ["demo", "serve"]


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: CANASTA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: CANASTA_PORT).")] = None,
) -> None:
    """Serve the API (and its OpenAPI document at /openapi.json, docs at /docs)."""
    import uvicorn

    from canasta.adapters.db.schema import upgrade_schema
    from canasta.bootstrap import bootstrap
    from canasta.config import load_settings
    from canasta.entrypoints.api.app import create_app

    settings = load_settings()
    canasta = bootstrap(settings)
    upgrade_schema(canasta.engine)
    uvicorn.run(
        create_app(canasta),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=False,  # URLs can carry search terms; requests are recorded by the access log instead
    )


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo database, keys and files go.")] = Path(
        "var/demo"
    ),
    households: Annotated[int, typer.Option(help="Synthetic households to create.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic population.")] = 1,
    run_server: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after setting up.")] = True,
) -> None:
    """Set up a demo registry (SQLite, synthetic population, demo users) and serve it on 127.0.0.1:8000."""
    from canasta.entrypoints.cli.demo import prepare_demo

    settings = prepare_demo(directory, households=households, seed=seed)
    if run_server:
        import uvicorn

        from canasta.bootstrap import bootstrap
        from canasta.entrypoints.api.app import create_app

        say(f"serving canasta on http://{settings.host}:{settings.port} (Ctrl-C to stop)")
        uvicorn.run(
            create_app(bootstrap(settings)), host=settings.host, port=settings.port, log_level="info", access_log=False
        )
