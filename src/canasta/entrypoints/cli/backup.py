"""``canasta backup --out FILE`` and ``canasta restore FILE [--to URL]``: a consistent copy of the database, and its
restoration into an empty database followed by the integrity checks (the ledger check, the audit verification).

Exit codes: 0 done (a restore: every check passed); 1 the restore was done but a check failed (each is named), or the
copy itself failed; 2 bad input (a missing, damaged or mismatching backup, the wrong kind of database); 4 the output
file exists, or the target database is not empty (``--force`` overrides both).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from canasta.entrypoints.cli.context import emit_json, say

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["backup", "restore"]

KEYS_NOTE = (
    "keys: the backup holds the field-encrypted data only; the key file is not in it. Back the keys up separately "
    "and keep them apart from the backups: without them the sealed fields cannot be read, and with them beside the "
    "backup anyone holding both can read everything"
)
Json = Annotated[bool, typer.Option("--json", help="One JSON document on standard output.")]


@dataclass(frozen=True, slots=True)
class Check:
    """One integrity check after a restore: ``is_passed`` is None when it could not run here; ``summary`` is a line
    for people, naming the check."""

    name: str
    is_passed: bool | None
    summary: str


def backup(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (refused if it exists).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing backup file of that name.")] = False,
    as_json: Json = False,
) -> None:
    """Back up the database (SQLite online backup, or pg_dump custom format) to FILE, with FILE.sha256 beside it."""
    from canasta.adapters.db.backup import back_up
    from canasta.config import load_settings

    written = back_up(load_settings().database_url, out, force=force)
    if as_json:
        emit_json({**asdict(written), "keys_included": False})
    else:
        say(f"backup written: {written.path} ({written.kind}, {_size(written.size)}, {written.seconds:.2f} s)")
        say(f"sha256: {written.sha256} (also in {written.checksum_path})")
    say(KEYS_NOTE)


def restore(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A backup made by canasta backup.")],
    to: Annotated[
        str | None, typer.Option("--to", help="URL of the database to restore into (default: CANASTA_DATABASE_URL).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="DESTRUCTIVE: replace the contents of a target database that holds tables."),
    ] = False,
    as_json: Json = False,
) -> None:
    """Restore a backup into an empty database (a new one is best), then run the ledger check and audit verification."""
    from canasta.adapters.db.backup import restore as restore_backup
    from canasta.adapters.db.engine import make_engine
    from canasta.config import load_settings

    target = to or load_settings().database_url
    restored = restore_backup(file, target, force=force)
    engine = make_engine(target)
    try:
        checks = [_ledger_check(engine), _audit_verification(target, engine)]
    finally:
        engine.dispose()
    if as_json:
        emit_json({**asdict(restored), "checks": [asdict(check) for check in checks], "keys_included": False})
    else:
        if restored.is_checksum_checked:
            say(f"checksum: {file} matches {file.name}.sha256")
        else:
            say(f"checksum: no {file.name}.sha256 beside the backup; its integrity was not checked")
        replaced = f", replacing {restored.had_tables} table(s)" if restored.had_tables else ""
        say(f"restored {file} into {restored.target} ({restored.kind}, {restored.seconds:.2f} s{replaced})")
        for check in checks:
            say(check.summary)
    say(KEYS_NOTE)
    if any(check.is_passed is False for check in checks):
        raise typer.Exit(1)


def _ledger_check(engine: Engine) -> Check:
    from sqlalchemy import inspect

    from canasta.adapters.db.ledger_check import check

    if not inspect(engine).has_table("ledger_transfers"):
        return Check("ledger check", None, "ledger check: no ledger in this backup (made before the ledger existed)")
    with engine.connect() as connection:
        report = check(connection)
    summary = f"{report.accounts} account(s), {report.transfers} transfer(s), {report.assets} asset(s)"
    if report.is_consistent:
        return Check("ledger check", True, f"ledger check: the ledger holds: {summary}")
    named = "; ".join(f"{found.kind.value}: {found.detail}" for found in report.discrepancies)
    return Check("ledger check", False, f"ledger check: the ledger does not hold ({summary}): {named}")


def _audit_verification(url: str, engine: Engine) -> Check:
    """The access log's chain walked against its entries and signed checkpoints, where this canasta has it."""
    from sqlalchemy import inspect

    try:
        from canasta.services.audit import verify_audit  # noqa: F401  # present only once the audit trail is built
    except ImportError:
        return Check("audit verification", None, "audit verification not available")
    from canasta.adapters.crypto.keyfile import KeyMaterial
    from canasta.bootstrap import bootstrap
    from canasta.config import load_settings

    if not inspect(engine).has_table("audit_checkpoints"):
        return Check("audit verification", None, "audit verification: no audit trail in this backup (made before it)")
    # The walk reads only public keys, which are in the database: throwaway keys spare reading or making a key file.
    app = bootstrap(load_settings(database_url=url), engine=engine, keys=KeyMaterial.generate())
    report = app.verify_access_log()
    summary = f"{report.sealed} sealed entr(ies), {report.checkpoints} checkpoint(s)"
    if report.ok:
        return Check("audit verification", True, f"audit verification: the access log holds: {summary}")
    named = "; ".join(f"{found.kind} at {found.position}: {found.detail}" for found in report.findings)
    return Check("audit verification", False, f"audit verification: the access log does not hold ({summary}): {named}")


def _size(octets: int) -> str:
    if octets < 1024:
        return f"{octets} B"
    size, units = octets / 1024, ["KiB", "MiB", "GiB", "TiB"]
    while size >= 1024 and len(units) > 1:
        size, units = size / 1024, units[1:]
    return f"{size:.1f} {units[0]}"
