"""``canasta bench NAME --size N --json``: one JSON object with the figure, an in-run baseline and the ratio."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import emit_json, say

__all__ = ["bench"]


def bench(
    name: Annotated[str, typer.Argument(help="import, verify, cards, eligibility or redeem")],
    size: Annotated[int, typer.Option(help="How many items (persons, cards, ...) to process.")] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight at once (redeem; default 32). Other benchmarks ignore it.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Server worker processes (redeem; default 2). Other benchmarks ignore it.")
    ] = None,
    audit: Annotated[
        str | None,
        typer.Option(help="redeem: the access log on (default), off, or both (compared in one run)."),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(help="Folder for the server's statement counts and profile (redeem; slows the server down)."),
    ] = None,
) -> None:
    """Run a benchmark in a throwaway database of the kind CANASTA_DATABASE_URL names; the user's data is untouched."""
    from canasta.benchmarks import BENCHMARKS
    from canasta.config import load_settings
    from canasta.domain.errors import ValidationError

    if name not in BENCHMARKS:
        raise ValidationError(f"unknown benchmark {name!r}; known: {', '.join(sorted(BENCHMARKS))}", field="name")
    if size < 1:
        raise ValidationError("must be at least 1", field="size")
    for option, value in (("concurrency", concurrency), ("workers", workers)):
        if value is not None and value < 1:
            raise ValidationError("must be at least 1", field=option)
    given = {
        "concurrency": concurrency, "workers": workers, "profile": str(profile) if profile else None, "audit": audit
    }  # fmt: skip
    module = importlib.import_module(BENCHMARKS[name])
    result = module.run(
        load_settings(), size, **{option: value for option, value in given.items() if value is not None}
    )
    if as_json:
        emit_json(result)
        return
    for key, value in result.items():
        say(f"{key}: {value}")
