"""``canasta backup`` and ``canasta restore`` on SQLite and PostgreSQL: a restored copy holds the same rows, its ledger
and audit trail check out and the API answers the same; damaged backups, existing files and non-empty targets are
refused; the PostgreSQL password never reaches a command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, table, update

from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db import ledger_check
from canasta.adapters.db.backup import BackupError, back_up, find_tool, restore, table_count
from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances
from canasta.adapters.db.tables import areas
from canasta.adapters.db.users import add_user, issue_token
from canasta.benchmarks.scratch import empty_database
from canasta.domain.errors import ValidationError
from canasta.domain.ledger import AccountKind
from canasta.entrypoints.api.app import create_app
from tests.e2e.test_api import PASSWORD, household_body
from tests.factories import AREAS, NOW, make_canasta
from tests.redemption_scene import RICE, build, deliver, redeem

CANASTA = [sys.executable, "-m", "canasta.entrypoints.cli"]


def cli(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CANASTA_DATABASE_URL": database_url, "CANASTA_KEY_FILE": str(cwd / "absent-keys.json")}
    return subprocess.run([*CANASTA, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
                for name in inspect(connection).get_table_names()
            }
    finally:
        engine.dispose()


def test_a_backup_restores_into_a_fresh_database_with_the_same_rows_ledger_audit_and_answers(
    database_url: str, tmp_path: Path
) -> None:
    keys = KeyMaterial.generate()
    app = make_canasta(database_url, keys=keys)
    scene = build(app)
    redeem(scene, redemption_id=str(uuid4()), point="DP-1", card=scene.card_text,
           items=[{"programme": "canasta-ninos", "units": 1}])  # fmt: skip
    with app.engine.begin() as connection:
        add_user(connection, user_id=app.new_ids(1)[0], name="officer", role="enrolment_officer", password=PASSWORD,
                 area_codes=[], at=NOW)  # fmt: skip
        token = issue_token(connection, token_id=app.new_ids(1)[0], name="officer", at=NOW, lifetime=timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        created = client.post("/households", json=household_body(), headers=headers)  # sealed national id and phone
        assert created.status_code == 201, created.text
        household = client.get(f"/households/{created.json()['id']}", headers=headers)
        assert household.status_code == 200, household.text
    assert app.seal_access_log()  # the reads above are sealed into the chain the restore verifies
    app.close()
    counts = row_counts(database_url)
    assert counts["ledger_transfers"] > 0
    assert counts["households"] == 2

    out = tmp_path / "backups" / "canasta.backup"
    made = cli("backup", "--out", str(out), database_url=database_url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert (tmp_path / "backups" / "canasta.backup.sha256").read_text() == f"{digest}  canasta.backup\n"
    assert f"sha256: {digest}" in " ".join(made.stderr.split())
    assert "the key file is not in it" in " ".join(made.stderr.split())
    assert sorted(path.name for path in out.parent.iterdir()) == ["canasta.backup", "canasta.backup.sha256"]
    assert out.stat().st_mode & 0o777 == 0o600  # personal data: readable by its owner only

    with empty_database(database_url) as target:
        done = cli("restore", str(out), "--to", target, database_url=database_url, cwd=tmp_path)
        said = " ".join(done.stderr.split())
        assert done.returncode == 0, done.stderr
        assert "matches canasta.backup.sha256" in said
        assert "ledger check: the ledger holds" in said
        assert "audit verification: the access log holds" in said
        assert "the key file is not in it" in said
        assert row_counts(target) == counts
        copy = make_canasta(target, keys=keys)  # the same keys, kept apart from the backup, open the sealed fields
        try:
            with copy.engine.connect() as connection:
                assert ledger_check.check(connection).is_consistent
            with TestClient(create_app(copy), raise_server_exceptions=False) as client:
                again = client.get(f"/households/{created.json()['id']}", headers=headers)
            assert again.status_code == 200, again.text
            assert again.json() == household.json()
        finally:
            copy.close()


def test_a_damaged_backup_is_refused_and_the_target_stays_empty(database_url: str, tmp_path: Path) -> None:
    make_canasta(database_url).close()
    out = tmp_path / "canasta.backup"
    assert cli("backup", "--out", str(out), database_url=database_url, cwd=tmp_path).returncode == 0
    original = out.read_bytes()
    flipped = bytearray(original)
    for position in range(len(flipped) // 2, len(flipped) // 2 + 16):
        flipped[position] ^= 0xFF
    out.write_bytes(bytes(flipped))
    with empty_database(database_url) as target:
        refused = cli("restore", str(out), "--to", target, database_url=database_url, cwd=tmp_path)
        assert refused.returncode == 2
        assert "error [backup_checksum_mismatch]" in refused.stderr
        assert "does not match its checksum" in refused.stderr
        assert table_count(target) == 0

        # Without its checksum file, a cut-off backup is still caught, and nothing is left half-restored.
        out.with_name("canasta.backup.sha256").unlink()
        out.write_bytes(original[: len(original) // 2])
        with pytest.raises((ValidationError, BackupError)) as caught:
            restore(out, target)
        assert caught.value.code in ("backup_damaged", "restore_failed")
        assert table_count(target) == 0


def test_an_existing_file_is_not_overwritten_without_force(database_url: str, tmp_path: Path) -> None:
    make_canasta(database_url).close()
    out = tmp_path / "backups" / "canasta.backup"
    out.parent.mkdir()
    out.write_text("an older backup, kept", encoding="utf-8")
    refused = cli("backup", "--out", str(out), database_url=database_url, cwd=tmp_path)
    assert refused.returncode == 4
    assert "error [backup_exists]" in refused.stderr
    assert out.read_text(encoding="utf-8") == "an older backup, kept"
    assert [path.name for path in out.parent.iterdir()] == ["canasta.backup"]  # no checksum, no part file

    forced = cli("backup", "--out", str(out), "--force", database_url=database_url, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert out.read_bytes()[:5] in (b"SQLit", b"PGDMP")
    assert out.with_name("canasta.backup.sha256").read_text().split()[0] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_restore_into_a_database_with_tables_is_refused_unless_forced(database_url: str, tmp_path: Path) -> None:
    app = make_canasta(database_url)
    out = tmp_path / "canasta.backup"
    assert cli("backup", "--out", str(out), database_url=database_url, cwd=tmp_path).returncode == 0
    at_backup = row_counts(database_url)
    with app.engine.begin() as connection:  # a change after the backup
        connection.execute(areas.insert().values(code="VE-09", name="Estado Nueve", level="state"))
    app.close()
    assert row_counts(database_url)["areas"] == len(AREAS) + 1

    refused = cli("restore", str(out), database_url=database_url, cwd=tmp_path)  # the configured database
    assert refused.returncode == 4
    assert "error [database_not_empty]" in refused.stderr
    assert "is not empty (" in refused.stderr
    assert row_counts(database_url)["areas"] == len(AREAS) + 1

    forced = cli("restore", str(out), "--force", database_url=database_url, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "replacing" in forced.stderr
    assert row_counts(database_url) == at_backup


def test_a_restore_whose_ledger_does_not_hold_exits_non_zero_naming_it(database_url: str, tmp_path: Path) -> None:
    app = make_canasta(database_url)
    point = uuid4()
    deliver(app, point, RICE, 9)
    with app.engine.begin() as connection:
        shelf = connection.execute(
            select(ledger_accounts.c.id).where(ledger_accounts.c.kind == AccountKind.POINT_STOCK.value)
        ).scalar_one()
        connection.execute(update(ledger_balances).where(ledger_balances.c.account_id == shelf).values(balance=5))
    app.close()
    out = tmp_path / "canasta.backup"
    assert cli("backup", "--out", str(out), database_url=database_url, cwd=tmp_path).returncode == 0
    with empty_database(database_url) as target:
        done = cli("restore", str(out), "--to", target, database_url=database_url, cwd=tmp_path)
        assert done.returncode == 1
        said = " ".join(done.stderr.split())
        assert "ledger check: the ledger does not hold" in said
        assert "balance_mismatch" in said
        assert row_counts(target) == row_counts(database_url)  # restored as it was: the check reports, never mends


def test_a_sqlite_backup_is_one_consistent_snapshot_while_a_writer_is_busy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'canasta.db'}"
    app = make_canasta(url)
    committed = row_counts(url)["areas"]
    with app.engine.connect() as connection:
        busy = connection.begin()  # holds the write lock, uncommitted, while the backup runs (WAL: readers go on)
        connection.execute(areas.insert().values(code="VE-09", name="Estado Nueve", level="state"))
        written = back_up(url, tmp_path / "busy.backup")
        busy.rollback()
    app.close()
    assert written.kind == "sqlite"
    restore(written.path, f"sqlite:///{tmp_path / 'copy.db'}")
    assert row_counts(f"sqlite:///{tmp_path / 'copy.db'}")["areas"] == committed  # the uncommitted row is not in it
    assert not (tmp_path / "busy.backup-wal").exists()  # one self-contained file


def test_restore_refuses_what_is_not_a_backup_of_its_kind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'canasta.db'}"
    make_canasta(url).close()
    written = back_up(url, tmp_path / "canasta.backup")
    with pytest.raises(ValidationError) as caught:
        restore(written.path, "postgresql+psycopg://postgres@127.0.0.1:5432/elsewhere")
    assert (caught.value.code, caught.value.field) == ("backup_kind_mismatch", "--to")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a backup", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        restore(notes, f"sqlite:///{tmp_path / 'copy.db'}")
    assert caught.value.code == "not_a_backup"
    with pytest.raises(ValidationError) as caught:
        restore(tmp_path / "missing.backup", f"sqlite:///{tmp_path / 'copy.db'}")
    assert caught.value.code == "backup_not_found"
    assert not (tmp_path / "copy.db").exists()


FAKE_PG_DUMP = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_ARGS"
printf '%s' "$PGPASSWORD" > "$FAKE_PASSWORD"
for argument; do case "$argument" in --file=*) out="${argument#--file=}";; esac; done
printf 'PGDMP half an archive' > "$out"
echo "pg_dump: error: the disk is full" >&2
exit "$FAKE_STATUS"
"""


@pytest.fixture
def fake_pg_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "pg_dump"
    program.write_text(FAKE_PG_DUMP, encoding="utf-8")
    program.chmod(0o755)
    seen = {"args": tmp_path / "args.txt", "password": tmp_path / "password.txt"}
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("FAKE_ARGS", str(seen["args"]))
    monkeypatch.setenv("FAKE_PASSWORD", str(seen["password"]))
    monkeypatch.setenv("FAKE_STATUS", "0")
    return seen


def test_the_postgresql_password_goes_by_environment_never_on_the_command_line(
    fake_pg_dump: dict[str, Path], tmp_path: Path
) -> None:
    written = back_up("postgresql://canasta:s3cret-pw@db.example:5433/registry", tmp_path / "out" / "pg.backup")
    arguments = fake_pg_dump["args"].read_text(encoding="utf-8").splitlines()
    assert "--format=custom" in arguments
    assert "--dbname=postgresql://canasta@db.example:5433/registry" in arguments
    assert not any("s3cret" in argument for argument in arguments)
    assert fake_pg_dump["password"].read_text(encoding="utf-8") == "s3cret-pw"
    assert written.path.read_bytes() == b"PGDMP half an archive"


def test_a_failed_dump_leaves_no_file_under_the_final_name(
    fake_pg_dump: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_STATUS", "1")
    out = tmp_path / "out" / "pg.backup"
    with pytest.raises(BackupError) as caught:
        back_up("postgresql://canasta@db.example/registry", out)
    assert caught.value.code == "backup_failed"
    assert "the disk is full" in caught.value.detail
    assert list(out.parent.iterdir()) == []  # neither the half archive nor a checksum


def test_a_missing_postgresql_tool_is_named(tmp_path: Path) -> None:
    with pytest.raises(BackupError) as caught:
        find_tool("pg_dump", search_path=str(tmp_path), folders=())
    assert caught.value.code == "tool_missing"
    assert "pg_dump was not found" in caught.value.detail
