"""``canasta bench NAME --size N --json``: one JSON object with the figure, an in-run baseline and the ratio."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import emit_json, say

__all__ = ["bench"]


def bench(
    name: Annotated[str, typer.Argument(help="import, verify or cards")],
    size: Annotated[int, typer.Option(help="How many items (persons, cards, ...) to process.")] = 100_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run a benchmark in a throwaway database of the kind CANASTA_DATABASE_URL names; the user's data is untouched."""
    from canasta.benchmarks import BENCHMARKS
    from canasta.config import load_settings
    from canasta.domain.errors import ValidationError

    if name not in BENCHMARKS:
        raise ValidationError(f"unknown benchmark {name!r}; known: {', '.join(sorted(BENCHMARKS))}", field="name")
    if size < 1:
        raise ValidationError("must be at least 1", field="size")
    module = importlib.import_module(BENCHMARKS[name])
    result = module.run(load_settings(), size)
    if as_json:
        emit_json(result)
        return
    for key, value in result.items():
        say(f"{key}: {value}")
