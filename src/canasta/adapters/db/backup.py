"""Backups of the registry database, and their restoration into an empty database, for both supported databases.

* **SQLite**: sqlite3's online backup API copies one consistent snapshot while the server runs (in WAL mode readers
  never block the writer, and an uncommitted transaction is not in the copy). The copy is left in rollback-journal
  mode so that it is one self-contained file.
* **PostgreSQL**: ``pg_dump --format=custom``; restored with ``pg_restore --no-owner --exit-on-error
  --single-transaction``, so a restore that fails leaves nothing behind. The password, when the URL holds one, goes to
  the tools through ``PGPASSWORD`` in their environment, never on their command line.

A backup is written to a temporary file beside its final name (mode 0600) and renamed only once complete, so a failed
backup never leaves a half file under the final name. ``FILE.sha256`` (in ``sha256sum`` format) is written beside it;
a restore refuses a backup that does not match it. Backups hold the sealed (field-encrypted) data only: the keys
that open it are not in them and must be kept, and backed up, apart.

Errors, all :class:`~canasta.domain.errors.DomainError` with a stable code::

    ValidationError   backup_not_found, not_a_backup, backup_damaged, backup_checksum_mismatch,
                      backup_kind_mismatch, unsupported_database, same_file
    ConflictError     backup_exists (the output file exists), database_not_empty (the target holds tables)
    BackupError       tool_missing, backup_failed, restore_failed, target_unreachable
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from canasta.adapters.db.engine import make_engine, normalise_url
from canasta.domain.errors import ConflictError, DomainError, ValidationError

__all__ = [
    "BackupError",
    "BackupWritten",
    "Restored",
    "back_up",
    "checksum",
    "checksum_path",
    "find_tool",
    "restore",
    "table_count",
]

Kind = Literal["sqlite", "postgresql"]
SQLITE_MAGIC, PG_CUSTOM_MAGIC = b"SQLite format 3\x00", b"PGDMP"
# Where PostgreSQL's client tools live when they are not on PATH (Debian/Ubuntu, RHEL, Homebrew, Postgres.app).
TOOL_FOLDERS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/libpq/bin",
                "/usr/local/opt/libpq/bin", "/Applications/Postgres.app/Contents/Versions/latest/bin")  # fmt: skip


class BackupError(DomainError):
    """A backup or a restore could not be done (a missing tool, a failed dump or restore, an unreachable target)."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True, slots=True)
class BackupWritten:
    """A complete backup at ``path``, with its SHA-256 (also written to ``checksum_path``)."""

    path: Path
    kind: Kind
    size: int
    seconds: float
    sha256: str
    checksum_path: Path


@dataclass(frozen=True, slots=True)
class Restored:
    """A backup restored into ``target`` (its URL, password hidden)."""

    backup: Path
    kind: Kind
    target: str
    seconds: float
    is_checksum_checked: bool  # False when no FILE.sha256 lay beside the backup
    had_tables: int  # tables the target held before (non-zero only with ``force``)


def checksum_path(backup: Path) -> Path:
    """Where the SHA-256 of ``backup`` is kept: ``FILE.sha256``."""
    return backup.with_name(backup.name + ".sha256")


def checksum(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def back_up(url: str, out: Path, *, force: bool = False) -> BackupWritten:
    """Write a consistent backup of the database at ``url`` to ``out`` and its checksum to ``out.sha256``.

    Raises ConflictError (``backup_exists``) when ``out`` exists and ``force`` is False, ValidationError when ``url``
    or ``out`` cannot be used, BackupError when the copy fails (nothing is then left under ``out``).
    """
    kind, parsed = _kind_of(url)
    if out.is_dir():
        raise ValidationError(f"--out {out} is a folder; name the backup file", field="--out", code="same_file")
    if out.exists() and not force:
        raise ConflictError(f"{out} exists already; choose another name or pass --force to replace it",
                            code="backup_exists", path=str(out))  # fmt: skip
    source = _sqlite_path(parsed)
    if kind == "sqlite" and not source.is_file():
        raise ValidationError(f"the database {source} does not exist", field="CANASTA_DATABASE_URL",
                              code="backup_not_found")  # fmt: skip
    if kind == "sqlite" and source.resolve() == out.resolve():
        raise ValidationError("--out names the database itself", field="--out", code="same_file")
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _file_beside(out) as temporary:
        if kind == "sqlite":
            _sqlite_copy(source, temporary, journal_mode="DELETE")
        else:
            _pg_dump(parsed, temporary)
        digest = checksum(temporary)
    seconds = time.perf_counter() - started
    sidecar = checksum_path(out)
    with _file_beside(sidecar) as temporary:
        temporary.write_text(f"{digest}  {out.name}\n", encoding="ascii")
    return BackupWritten(out, kind, out.stat().st_size, seconds, digest, sidecar)


def restore(backup: Path, url: str, *, force: bool = False) -> Restored:
    """Restore ``backup`` into the database at ``url``, which must hold no table unless ``force`` (destructive).

    The backup's checksum is checked first when ``FILE.sha256`` lies beside it. Raises ValidationError for a missing,
    damaged or mismatching backup or one of the other kind of database, ConflictError (``database_not_empty``) for a
    target with tables, BackupError when the restore itself fails (PostgreSQL: nothing is left restored).
    """
    if not backup.is_file():
        raise ValidationError(f"the backup {backup} does not exist", field="FILE", code="backup_not_found")
    kind = _backup_kind(backup)
    is_checksum_checked = _check_checksum(backup)
    target_kind, parsed = _kind_of(url, field="--to")
    if target_kind != kind:
        raise ValidationError(f"{backup} is a {kind} backup and restores only into a {kind} database, not "
                              f"{target_kind}; move data between kinds with export and import",
                              field="--to", code="backup_kind_mismatch")  # fmt: skip
    if kind == "sqlite" and backup.resolve() == _sqlite_path(parsed).resolve():
        raise ValidationError("--to names the backup file itself", field="--to", code="same_file")
    tables = table_count(url)
    shown = parsed.render_as_string(hide_password=True)
    if tables and not force:
        raise ConflictError(f"the target database {shown} is not empty ({tables} table(s)); restore into a new, "
                            "empty database, or pass --force to replace its contents (destructive)",
                            code="database_not_empty", tables=tables)  # fmt: skip
    started = time.perf_counter()
    if kind == "sqlite":
        _check_sqlite_backup(backup)
        target = _sqlite_path(parsed)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(backup, target, journal_mode="WAL")
    else:
        _pg_restore(backup, parsed, replace=bool(tables))
    return Restored(backup, kind, shown, time.perf_counter() - started, is_checksum_checked, tables)


def table_count(url: str) -> int:
    """How many tables the database at ``url`` holds (0 for a SQLite file that does not exist yet).

    Raises BackupError (``target_unreachable``) when a PostgreSQL server or database cannot be reached.
    """
    kind, parsed = _kind_of(url, field="--to")
    if kind == "sqlite":
        path = _sqlite_path(parsed)
        if not path.exists():
            return 0
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as connection:
                query = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                return int(connection.execute(query).fetchone()[0])
        except sqlite3.DatabaseError as error:
            raise ValidationError(f"{path} is not a SQLite database", field="--to",
                                  code="unsupported_database") from error  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            )).scalar_one())  # fmt: skip
    except DBAPIError as error:
        first = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
        raise BackupError(f"cannot reach the database {parsed.render_as_string(hide_password=True)} ({first}); "
                          "create it first (e.g. createdb NAME)", code="target_unreachable") from error  # fmt: skip
    finally:
        engine.dispose()


def find_tool(name: str, *, search_path: str | None = None, folders: Sequence[str] = TOOL_FOLDERS) -> Path:
    """The PostgreSQL client program ``name``: on ``search_path`` (default PATH), else the newest of ``folders``.

    Raises BackupError (``tool_missing``) when there is none.
    """
    found = shutil.which(name, path=search_path)
    if found:
        return Path(found)
    candidates = [Path(hit) for pattern in folders for hit in glob.glob(pattern) if (Path(hit) / name).is_file()]
    candidates.sort(key=lambda folder: _version_key(folder.parent.name), reverse=True)
    if candidates:
        return candidates[0] / name
    raise BackupError(f"{name} was not found: install PostgreSQL's client tools (the server's major version or "
                      "newer) and put them on PATH", code="tool_missing")  # fmt: skip


# --- helpers -------------------------------------------------------------------------------------------------------


def _kind_of(url: str, *, field: str = "CANASTA_DATABASE_URL") -> tuple[Kind, URL]:
    parsed = make_url(normalise_url(url))
    if parsed.drivername.startswith("sqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise ValidationError("an in-memory SQLite database cannot be backed up or restored into",
                                  field=field, code="unsupported_database")  # fmt: skip
        return "sqlite", parsed
    if parsed.drivername.startswith("postgresql"):
        return "postgresql", parsed
    raise ValidationError(f"{parsed.drivername} databases are not supported; use SQLite or PostgreSQL",
                          field=field, code="unsupported_database")  # fmt: skip


def _sqlite_path(parsed: URL) -> Path:
    return Path(parsed.database or "")


def _backup_kind(backup: Path) -> Kind:
    with backup.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise ValidationError(f"{backup} is not a canasta backup (neither a SQLite database nor a pg_dump custom archive)",
                          field="FILE", code="not_a_backup")  # fmt: skip


def _check_checksum(backup: Path) -> bool:
    """True when ``FILE.sha256`` lies beside the backup and matches; False when there is none; raises otherwise."""
    sidecar = checksum_path(backup)
    if not sidecar.is_file():
        return False
    words = sidecar.read_text(encoding="ascii", errors="replace").split()
    expected = words[0].lower() if words else ""
    if len(expected) != 64 or any(character not in "0123456789abcdef" for character in expected):
        raise ValidationError(f"{sidecar} holds no SHA-256 checksum", field="FILE", code="backup_checksum_mismatch")
    if checksum(backup) != expected:
        raise ValidationError(f"{backup} does not match its checksum in {sidecar}: the backup is damaged or was "
                              "changed; it is not restored", field="FILE", code="backup_checksum_mismatch")  # fmt: skip
    return True


def _check_sqlite_backup(backup: Path) -> None:
    try:
        with closing(sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            verdict = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as error:
        raise ValidationError(f"{backup} is damaged ({error})", field="FILE", code="backup_damaged") from error
    if verdict != ["ok"]:
        raise ValidationError(f"{backup} is damaged: {verdict[0]}", field="FILE", code="backup_damaged")


def _sqlite_copy(source: Path, target: Path, *, journal_mode: str) -> None:
    """Copy the SQLite database ``source`` over ``target`` in one step of the online backup API (one snapshot)."""
    try:
        with (
            closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as reader,
            closing(sqlite3.connect(target, timeout=30)) as writer,
        ):
            reader.backup(writer)  # pages=-1: everything in one step, so one consistent snapshot
            writer.execute(f"PRAGMA journal_mode={journal_mode}")
    except sqlite3.Error as error:
        raise BackupError(f"the SQLite copy failed: {error}", code="backup_failed") from error


def _libpq(parsed: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries the password."""
    # URL.set cannot clear a field (None means "unchanged"), so the URL is made anew without the password.
    bare = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query)
    conninfo = bare.render_as_string(hide_password=False)
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    return conninfo, environment


def _pg_dump(parsed: URL, out: Path) -> None:
    conninfo, environment = _libpq(parsed)
    command = [str(find_tool("pg_dump")), "--format=custom", "--no-password", f"--file={out}", f"--dbname={conninfo}"]
    _run(command, environment, code="backup_failed", what="pg_dump")


def _pg_restore(backup: Path, parsed: URL, *, replace: bool) -> None:
    conninfo, environment = _libpq(parsed)
    command = [str(find_tool("pg_restore")), "--no-owner", "--exit-on-error", "--single-transaction", "--no-password",
               *(["--clean", "--if-exists"] if replace else []), f"--dbname={conninfo}", str(backup)]  # fmt: skip
    _run(command, environment, code="restore_failed", what="pg_restore")


def _run(command: list[str], environment: dict[str, str], *, code: str, what: str) -> None:
    # The program is a resolved PostgreSQL tool and every argument is ours; no shell is involved.
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    if finished.returncode != 0:
        lines = [line for line in finished.stderr.strip().splitlines() if line.strip()][-3:]
        said = "; ".join(lines) or f"exit status {finished.returncode}"
        undone = " (one transaction: nothing was restored)" if what == "pg_restore" else ""
        raise BackupError(f"{what} failed{undone}: {said}", code=code)


@contextmanager
def _file_beside(final: Path) -> Iterator[Path]:
    """A temporary file (mode 0600) beside ``final``, synced and renamed onto it when the block ends without error."""
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with temporary.open("rb+") as written:
            os.fsync(written.fileno())
        temporary.replace(final)
        _sync_folder(final.parent)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + "-journal")):
            with suppress(FileNotFoundError):
                leftover.unlink()


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _version_key(name: str) -> tuple[int, ...]:
    """``"16"`` -> (16,), ``"pgsql-15"`` -> (15,): folders with higher versions first; others last."""
    digits = "".join(character if character.isdigit() else " " for character in name).split()
    return tuple(int(part) for part in digits) or (-1,)
