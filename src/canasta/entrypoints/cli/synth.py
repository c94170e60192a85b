"""``canasta synth``: write a seeded synthetic population in the import format.

Only Typer is imported at module level; the generator and Rich are imported when the command runs, so
``canasta --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "synth"]


def synth(
    households: Annotated[int, typer.Option("--households", min=0, help="Number of households to generate.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed always writes the same files.")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, writable=True, help="Population file to write (CSV).")],
    duplicates: Annotated[
        float,
        typer.Option(
            "--duplicates",
            min=0.0,
            max=0.5,
            help="Near-duplicate persons to inject per genuine person (e.g. 0.02); "
            "their ground truth goes to FILE.duplicates.csv.",
        ),
    ] = 0.0,
    areas_out: Annotated[
        Path | None,
        typer.Option(
            "--areas-out", dir_okay=False, help="Where to write the gazetteer (default: FILE.areas.csv beside --out)."
        ),
    ] = None,
) -> None:
    """Write a realistic synthetic population (one row per person) and its gazetteer.

    Ready for `canasta import households`: a fictional country with regional differences, Spanish names.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from canasta.adapters.synth import write_population

    console = Console(stderr=True)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("households", total=households)
        try:
            summary = write_population(
                out,
                households,
                seed,
                duplicates=duplicates,
                areas_path=areas_out,
                progress=lambda done: bar.update(task, completed=done),
            )
        except OSError as exc:
            # Name the file the user asked for, not the temporary one beside it.
            name = str(exc.filename or out).removesuffix(".partial")
            typer.echo(f"Error: cannot write {name}: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(
        f"wrote {summary.households:,} households, {summary.persons:,} persons ({summary.duplicates:,} duplicates) "
        f"to {summary.path} in {summary.seconds:.1f} s ({summary.rate:,.0f} persons/s)"
    )


app = typer.Typer()
app.command()(synth)
