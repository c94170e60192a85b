"""``canasta device ...`` and ``canasta suspense ...`` as people run them: a real server process on a local port, a
device that registers, syncs, redeems offline and uploads over HTTP, a conflict an officer settles, and the exit
codes. The commands run in this process through the CLI's own entry point (a new interpreter per command costs
seconds on a loaded machine); the server runs in its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.services import cycles as cycle_cases
from tests.factories import make_canasta
from tests.offline_scene import list_key, register
from tests.redemption_scene import APPROVER, MANAGER, build

CANASTA = [sys.executable, "-m", "canasta.entrypoints.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``canasta ARGS`` in this process: its exit code and what it printed."""
    from canasta.entrypoints.cli.main import run

    monkeypatch.chdir(tmp_path)
    for name, value in (
        ("CANASTA_DATABASE_URL", f"sqlite:///{tmp_path / 'canasta.db'}"),
        ("CANASTA_KEY_FILE", str(tmp_path / "keys.json")),
        ("CANASTA_ENVIRONMENT", "development"),
    ):
        monkeypatch.setenv(name, value)

    def invoke(*args: str) -> Ran:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["canasta", *args])
        try:
            run()
        except SystemExit as done:
            code = int(done.code or 0)
        else:
            code = 0
        printed = capsys.readouterr()
        return Ran(code, printed.out, printed.err)

    return invoke


def test_a_device_syncs_redeems_and_uploads_and_an_officer_settles_the_conflict(tmp_path: Path, cli: Cli) -> None:
    cwd, env = tmp_path, dict(os.environ)
    assert cli("init").returncode == 0
    keys = KeyMaterial.from_json((cwd / "keys.json").read_text(encoding="utf-8"), source="keys.json")
    app = make_canasta(env["CANASTA_DATABASE_URL"], keys=keys)
    build(app)
    today = datetime.now(UTC).date()
    with app.engine.begin() as connection:  # a cycle around today, as the server's clock is the real one
        eligibility = app.eligibility(connection)
        cycle = cycle_cases.draft_cycle(eligibility, MANAGER, "canasta-ninos", period_start=today - timedelta(days=1),
                                        period_end=today + timedelta(days=30))  # fmt: skip
        cycle_cases.preview_cycle(eligibility, MANAGER, cycle)
        cycle_cases.approve_cycle(eligibility, APPROVER, cycle)
        cycle_cases.run_cycle(eligibility, APPROVER, cycle)
    with app.engine.begin() as connection:
        cycle_cases.open_distribution(app.eligibility(connection), APPROVER, cycle)
    registered = cli("devices", "register", "kiosk-1", "--point", "DP-1", "--key-out", "kiosk-1.key", "--json")
    assert registered.returncode == 0, registered.stderr
    token = json.loads(registered.stdout)["token"]

    port = free_port()
    server = subprocess.Popen([*CANASTA, "serve", "--port", str(port)], cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):  # noqa: S310  # a local http URL
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        state = ["--state", "kiosk.json"]
        synced = cli("device", "sync", *state, "--server", url, "--token", token, "--key", "kiosk-1.key",
                     "--list-key", list_key(app).hex())  # fmt: skip
        assert synced.returncode == 0, synced.stderr
        assert (cwd / "kiosk.json").stat().st_mode & 0o777 == 0o600
        bundle = json.loads((cwd / "kiosk.json").read_text(encoding="utf-8"))["bundle"]["document"]
        lease = next(item for item in bundle["leases"]
                     if date.fromisoformat(item["valid_from"]) <= today and item["household"] == "H1")  # fmt: skip

        # Another device of the point takes both units of that lease first: this device does not know.
        other = register(app, "kiosk-2")
        taken = other.next_record(lease["entitlement_id"], household="H1", units=2, at=datetime.now(UTC))
        assert other.upload(other.signed(taken))["results"][0]["status"] == "applied"

        redeemed = cli("device", "redeem", *state, "--programme", "canasta-ninos", "--household", "H1",
                       "--reason", "card left at home")  # fmt: skip
        assert redeemed.returncode == 0, redeemed.stderr
        assert redeemed.stdout.splitlines()[0] == "rice\t2000 g"
        status = json.loads(cli("device", "status", *state, "--json").stdout)
        assert (status["pending"], status["point"], status["is_bundle_valid"]) == (1, "DP-1", True)
        uploaded = cli("device", "upload", *state, "--json")
        assert uploaded.returncode == 0, uploaded.stderr
        [answer] = json.loads(uploaded.stdout)["results"]
        assert (answer["status"], answer["code"]) == ("suspense", "conflict")

        cases = json.loads(cli("suspense", "list", "--json").stdout)
        assert [(case["case_id"], case["kind"], case["device"]) for case in cases] == [
            (answer["case_id"], "conflict", "kiosk-1")
        ]  # fmt: skip
        settled = cli("suspense", "resolve", answer["case_id"], "--resolution", "write_off",
                      "--reason", "handed out; the household was there twice", "--actor", "rosa")  # fmt: skip
        assert settled.returncode == 0, settled.stderr
        assert cli("suspense", "list", "--json").stdout.strip() == "[]"
        again = cli("suspense", "resolve", answer["case_id"], "--resolution", "dismiss", "--reason", "x" * 5)
        assert again.returncode == 4
        assert "case_resolved" in again.stderr
        assert cli("ledger", "check").returncode == 0

        unknown = cli("device", "redeem", *state, "--programme", "canasta-ninos", "--household", "H404",
                      "--reason", "looked up")  # fmt: skip
        assert (unknown.returncode, "no_entitlement" in unknown.stderr) == (4, True)
        assert cli("device", "status", "--state", "nowhere.json").returncode == 3
    finally:
        server.terminate()
        server.wait(timeout=10)
        app.close()
