"""The access log in the database: append-only, sealed in batches, and every tampering found by verification."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from canasta.adapters.clock import FixedClock
from canasta.adapters.db.access_log import SqlAccessLog
from canasta.adapters.db.alerts import record_alert
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor, Role
from canasta.domain.audit import Action, Checkpoint
from canasta.services.audit import AccessRecorder, RequestContext
from tests.factories import make_canasta

OFFICER = Actor(user_id=UUID(int=5), name="olga", role=Role.ENROLMENT_OFFICER, area_codes=("VE-01",))


@pytest.fixture
def app(database_url: str) -> Iterator[Canasta]:
    canasta = make_canasta(database_url)
    yield canasta
    canasta.close()


def _log(app: Canasta, count: int, *, start: int = 0) -> None:
    with app.engine.begin() as connection:
        recorder = AccessRecorder(
            SqlAccessLog(connection), OFFICER, RequestContext(f"req-{start}", "GET /households/{household_id}", "case"),
            clock=app.clock, new_ids=app.new_ids,
        )  # fmt: skip
        for number in range(start, start + count):
            recorder.record(Action.READ, UUID(int=10_000 + number), ["identity"])


def _kinds(app: Canasta, anchors: tuple[Checkpoint, ...] = ()) -> list[str]:
    return [finding.kind for finding in app.verify_access_log(anchors).findings]


def _tamper(app: Canasta, *statements: str, **params: Any) -> None:
    """What an intruder with the database owner's rights can do: switch the safeguards off and rewrite rows."""
    tables = ("access_log", "audit_seals", "audit_checkpoints")
    with app.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # outside a transaction, or it does nothing
            for table in tables:
                for verb in ("update", "delete"):
                    connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            for table in tables:  # ALL: the append-only triggers and the foreign keys' own
                connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        for statement in statements:
            connection.execute(text(statement), params)
        connection.commit()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")


def test_entries_are_sealed_in_batches_and_verify(app: Canasta) -> None:
    _log(app, 25)
    checkpoints = app.seal_access_log(batch=10)
    assert [checkpoint.position for checkpoint in checkpoints] == [10, 20, 25]
    assert app.seal_access_log() == []  # nothing waits: sealing twice changes nothing
    _log(app, 3, start=25)
    [more] = app.seal_access_log()
    assert more.position == 28
    report = app.verify_access_log((checkpoints[-1],))
    assert report.ok, report.findings
    assert (report.sealed, report.checkpoints) == (28, 4)


def test_the_log_refuses_update_and_delete_in_the_database_itself(app: Canasta) -> None:
    _log(app, 2)
    app.seal_access_log()
    with app.engine.begin() as connection:  # row triggers fire only where there is a row
        record_alert(connection, alert_id=app.new_ids(1)[0], kind="quota_exceeded", detail="-", at=app.clock.now())
    for statement in (
        "UPDATE access_log SET purpose = 'curiosity'",
        "DELETE FROM access_log",
        "UPDATE audit_seals SET position = position + 1",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM security_alerts",
    ):
        with pytest.raises((IntegrityError, DBAPIError)), app.engine.begin() as connection:
            connection.execute(text(statement))
    assert app.verify_access_log().ok


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["UPDATE access_log SET purpose = 'curiosity' "
          "WHERE id = (SELECT entry_id FROM audit_seals WHERE position = 3)"], "modified"),
        (["DELETE FROM access_log "
          "WHERE id = (SELECT entry_id FROM audit_seals WHERE position = 3)",
          "DELETE FROM audit_seals WHERE position = 3"], "gap"),
        (["DELETE FROM access_log "
          "WHERE id = (SELECT entry_id FROM audit_seals WHERE position = 3)"], "deleted"),
        (["DELETE FROM access_log "
          "WHERE id = (SELECT entry_id FROM audit_seals WHERE position = 3)",
          "DELETE FROM audit_seals WHERE position = 3",
          "UPDATE audit_seals SET position = position - 1 WHERE position > 3"], "chain_broken"),
        (["UPDATE audit_seals SET position = 1000 WHERE position = 2",
          "UPDATE audit_seals SET position = 2 WHERE position = 5",
          "UPDATE audit_seals SET position = 5 WHERE position = 1000"], "chain_broken"),
        (["UPDATE audit_checkpoints SET chain_hash = (SELECT entry_hash FROM audit_seals WHERE position = 1)"],
         "bad_checkpoint"),
    ],
    ids=["modified", "removed", "entry-removed", "removed-and-renumbered", "reordered", "checkpoint-rewritten"],
)  # fmt: skip
def test_verification_names_each_kind_of_tampering(app: Canasta, statements: list[str], expected: str) -> None:
    _log(app, 8)
    app.seal_access_log(batch=4)
    assert app.verify_access_log().ok
    _tamper(app, *statements)
    assert expected in _kinds(app)


def test_a_forged_entry_older_than_the_seal_is_found(app: Canasta) -> None:
    _log(app, 3)
    app.seal_access_log()
    _log(app, 1, start=3)  # written after the seal, at the seal's time: not yet sealed, and not suspicious
    assert app.verify_access_log().ok
    # Slipped in afterwards with a date inside the sealed period, to cover for something.
    with app.engine.begin() as connection:
        recorder = AccessRecorder(
            SqlAccessLog(connection), OFFICER, RequestContext("req-x", "GET /households/{household_id}", "case"),
            clock=FixedClock(app.clock.now() - timedelta(days=1)), new_ids=app.new_ids,
        )  # fmt: skip
        recorder.record(Action.READ, UUID(int=77), ["identity"])
    assert _kinds(app) == ["unsealed"]


def test_a_tail_cut_off_with_its_checkpoints_is_caught_by_an_auditors_anchor(app: Canasta, tmp_path: Path) -> None:
    _log(app, 6)
    app.seal_access_log(batch=3)
    anchor = app.verify_access_log().head  # the head matches the newest checkpoint
    newest = app.seal_access_log()  # nothing new
    assert newest == []
    with app.engine.connect() as connection:
        from canasta.adapters.db.access_log import checkpoints

        kept = checkpoints(connection)[-1]
    assert kept.chain_hash == anchor
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps(kept.to_json()))
    _tamper(app, "DELETE FROM audit_checkpoints WHERE position > 3", "DELETE FROM audit_seals WHERE position > 3")
    assert _kinds(app) == []  # consistent on its own
    assert _kinds(app, (Checkpoint.from_json(json.loads(path.read_text())),)) == ["truncated"]


@pytest.fixture
def pg_app(postgres_server: str) -> Iterator[Canasta]:
    from canasta.benchmarks.scratch import empty_database

    with empty_database(postgres_server) as url:
        canasta = make_canasta(url)
        yield canasta
        canasta.close()


@pytest.mark.postgres
def test_the_application_role_cannot_rewrite_the_log_on_postgresql(pg_app: Canasta) -> None:
    app = pg_app
    _log(app, 2)
    app.seal_access_log()
    with app.engine.begin() as connection:
        record_alert(connection, alert_id=app.new_ids(1)[0], kind="quota_exceeded", detail="-", at=app.clock.now())

    def as_application(connection: Connection, statement: str) -> None:
        connection.exec_driver_sql("SET LOCAL ROLE canasta_app")
        connection.exec_driver_sql(statement)

    statements = [
        "UPDATE access_log SET purpose = purpose", "DELETE FROM access_log",
        "UPDATE audit_seals SET position = position", "DELETE FROM audit_seals",
        "UPDATE audit_checkpoints SET position = position", "DELETE FROM audit_checkpoints",
        "UPDATE security_alerts SET kind = kind", "DELETE FROM security_alerts",
        "DELETE FROM households", "UPDATE ledger_transfers SET amount = amount",
    ]  # fmt: skip
    for statement in statements:
        with pytest.raises(DBAPIError, match="permission denied"), app.engine.begin() as connection:
            as_application(connection, statement)
    # It may read and append (what a request does), and change the registry's own rows.
    with app.engine.begin() as connection:
        as_application(connection, "SELECT count(*) FROM access_log")
        as_application(connection, "UPDATE areas SET name = name WHERE code = 'VE-01'")


@pytest.mark.postgres
def test_the_application_works_as_its_role(pg_app: Canasta) -> None:
    """Connected as ``canasta_app``, the API enrols, reads, logs and seals: the grants are enough for the work."""
    import dataclasses
    from datetime import timedelta

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from canasta.adapters.db.engine import make_engine
    from canasta.adapters.db.users import add_user, issue_token
    from canasta.entrypoints.api.app import create_app
    from tests.e2e.test_api import household_body
    from tests.factories import NOW

    with pg_app.engine.begin() as connection:
        add_user(connection, user_id=pg_app.new_ids(1)[0], name="olga", role="enrolment_officer",
                 password="x" * 12, area_codes=[], at=NOW)  # fmt: skip
        token = issue_token(connection, token_id=pg_app.new_ids(1)[0], name="olga", at=NOW, lifetime=timedelta(hours=1))
    engine = make_engine(pg_app.settings.database_url)

    @event.listens_for(engine, "connect")
    def as_application(connection: Any, _record: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET ROLE canasta_app")
        connection.commit()

    app = dataclasses.replace(pg_app, engine=engine)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        created = client.post("/households", json=household_body(), headers=headers)
        assert created.status_code == 201, created.text
        assert client.get(f"/households/{created.json()['id']}", headers=headers).status_code == 200
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT current_user").scalar() == "canasta_app"
    assert [checkpoint.position for checkpoint in app.seal_access_log()] == [2]
    assert app.verify_access_log().ok
    engine.dispose()


def test_an_entry_of_a_long_transaction_is_left_to_the_wide_sweep_and_then_sealed(app: Canasta) -> None:
    from canasta.adapters.ids import new_ids

    made_earlier = new_ids(1)[0]  # the id of an entry whose transaction began, then stayed open a while
    _log(app, 3)
    app.seal_access_log()
    later = UUID(int=made_earlier.int + (60_000 << 80))  # its neighbours were made a minute after it

    def ids(count: int) -> list[UUID]:
        return [later] if count == 1 else new_ids(count)

    with app.engine.begin() as connection:  # the neighbour commits first and is sealed ...
        recorder = AccessRecorder(
            SqlAccessLog(connection), OFFICER, RequestContext("req-n", "GET /households/{household_id}", "case"),
            clock=app.clock, new_ids=ids,
        )  # fmt: skip
        recorder.record(Action.READ, UUID(int=55), ["identity"])
    assert [checkpoint.position for checkpoint in app.seal_access_log()] == [4]
    with app.engine.begin() as connection:  # ... then the long transaction commits its entry, made a minute before
        recorder = AccessRecorder(
            SqlAccessLog(connection), OFFICER, RequestContext("req-l", "GET /households/{household_id}", "case"),
            clock=app.clock, new_ids=lambda count: [made_earlier],
        )  # fmt: skip
        recorder.record(Action.READ, UUID(int=56), ["identity"])
    assert app.seal_access_log() == []  # outside the ordinary round's ten seconds
    assert [checkpoint.position for checkpoint in app.seal_access_log(lookback=None)] == [5]
    assert app.verify_access_log().ok
