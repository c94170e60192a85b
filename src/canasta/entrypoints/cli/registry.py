"""Moving registry data in and out: ``import households|areas`` and ``export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from canasta.entrypoints.cli.context import build, emit_json, say

__all__ = ["export", "import_app"]

import_app = typer.Typer(help="Load data into the registry.", no_args_is_help=True)


@import_app.command("households")
def import_households(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX, one row per person; see docs/import.md.")],
    report: Annotated[Path | None, typer.Option(help="Rejected-rows report (default: FILE.rejected.csv).")] = None,
    actor: Annotated[str, typer.Option(help="Who runs the import (for the record).")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import households and people. Re-running the same file writes nothing twice."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from canasta.adapters.db.bulk import make_bulk_writer
    from canasta.adapters.db.repositories import SqlImportJournal, load_custom_fields, parish_codes
    from canasta.adapters.tabular import open_tabular
    from canasta.services.importing import import_households as run_import

    source = open_tabular(file)
    app = build()
    with app.engine.connect() as connection:
        areas = parish_codes(connection)
        definitions = load_custom_fields(connection)
    writer = make_bulk_writer(app.engine)
    report_path = report or file.with_name(file.name + ".rejected.csv")
    report_path.unlink(missing_ok=True)
    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not sys.stderr.isatty(),
        transient=True,
    )
    rows = source.rows()
    with progress:
        task = progress.add_task("import", total=source.size)
        consumed = [0]

        def counting() -> object:
            for number, row in rows:
                # Approximate bytes read, for a bar that moves with the file rather than an unknown row count.
                consumed[0] += sum(len(value) for value in row) + len(row)
                yield number, row

        try:
            result = run_import(
                header=source.header,
                rows=counting(),  # type: ignore[arg-type]  # a generator of the same pairs
                source_name=file.name,
                sha256=source.sha256,
                report_path=report_path,
                writer=writer,
                sealer=app.sealer,
                journal=SqlImportJournal(app.engine),
                clock=app.clock,
                import_id=app.new_ids(1)[0],
                new_ids=app.new_ids,
                area_codes=areas,
                definitions=definitions,
                actor=actor,
                batch_size=app.settings.import_batch_size,
                progress=lambda _rows: progress.update(task, completed=consumed[0]),
            )
        finally:
            writer.close()
            app.close()
    summary = {
        "file": str(file),
        "rows_read": result.rows_read,
        "imported": result.imported,
        "households_imported": result.households_imported,
        "already_present": result.already_present,
        "rejected": result.rejected,
        "rejections_by_code": result.reasons,
        "report": str(result.report_path) if result.report_path else None,
    }
    if as_json:
        emit_json(summary)
    else:
        say(
            f"{result.rows_read} rows read: {result.imported} people imported "
            f"({result.households_imported} new households), {result.already_present} already present, "
            f"{result.rejected} rejected"
        )
        if result.report_path:
            reasons = ", ".join(f"{code} {count}" for code, count in sorted(result.reasons.items()))
            say(f"rejected rows and reasons: {result.report_path} ({reasons})")
    if not result.is_useful:
        raise typer.Exit(1)


@import_app.command("areas")
def import_areas(
    file: Annotated[Path, typer.Argument(help="CSV with code,name,level,parent_code; parents before children.")],
) -> None:
    """Load the administrative areas (all or nothing)."""
    from canasta.adapters.db.repositories import load_areas
    from canasta.adapters.tabular import open_tabular

    source = open_tabular(file)
    expected = ["code", "name", "level", "parent_code"]
    if [name.strip() for name in source.header] != expected:
        from canasta.domain.errors import ValidationError

        raise ValidationError(f"line 1: the header must be {','.join(expected)}", field="header", row=1)
    app = build()
    try:
        with app.engine.begin() as connection:
            count = load_areas(connection, source.rows())
    finally:
        app.close()
    say(f"{count} areas loaded")


def export(
    out: Annotated[Path, typer.Option(help="Where to write the CSV.")],
    area: Annotated[str, typer.Option(help="Export only this area (code prefix); required: no whole-country dumps.")],
    actor: Annotated[str, typer.Option(help="Who exports, and why, for the record.")] = "cli",
    include_sensitive: Annotated[
        bool, typer.Option("--include-sensitive", help="Also decrypt national ids, phones and health needs.")
    ] = False,
) -> None:
    """Export one area's households and people as CSV in the import format (re-importable)."""
    from canasta.adapters.db.export import export_area

    app = build()
    try:
        count = export_area(app.engine, app.sealer, area_prefix=area, out=out, include_sensitive=include_sensitive)
    finally:
        app.close()
    say(f"{count} people exported to {out}")
