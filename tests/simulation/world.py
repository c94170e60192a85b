"""The world a simulation runs in: six households with active cards and entitlements leased to two points, limited
stock, three devices (two at DP-1, one at DP-2) with fixed keys, and an operator who redeems online at both points.

On SQLite the world is built once per test session as a template database and copied for each seed (a copy takes
milliseconds, building it a few seconds); the server of a seed gets a clock and ids of its own, drawn from the seed.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from sqlalchemy import event

from canasta.adapters.clock import FixedClock
from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db.engine import make_engine
from canasta.adapters.db.users import add_user, issue_token
from canasta.bootstrap import Canasta, bootstrap
from canasta.config import Settings
from canasta.domain.cards import CardState
from canasta.entrypoints.api.app import create_app
from canasta.services import cards as card_cases
from tests.factories import NOW, make_canasta
from tests.offline_scene import list_key, register
from tests.redemption_scene import ADMIN, MILK, RICE, build, deliver, enrol, second_cycle

HOUSEHOLDS = {"H1": "DP-1", "H2": "DP-1", "H3": "DP-1", "H4": "DP-2", "H5": "DP-2", "H6": "DP-2"}
PARISH = {"DP-1": "VE-01-01-01", "DP-2": "VE-01-01-02"}
DEVICES = {"kiosk-a": "DP-1", "kiosk-c": "DP-1", "kiosk-b": "DP-2"}
STOCK_BASKETS = 6  # per point at the start: fewer than is due, so stock runs short and restocking matters


def device_seed(name: str) -> bytes:
    """A fixed Ed25519 seed per device, so that signatures (and the trace) are the same on every run."""
    return name.encode().ljust(32, b".")


@dataclass(frozen=True)
class World:
    """What the simulation needs to know about the world: tokens, card texts, the list key, where things are."""

    tokens: dict[str, str]  # device name -> token, and "operator" -> the online operator's token
    card_texts: dict[str, str]  # household reference -> its card's QR text
    list_key: bytes
    point_ids: dict[str, UUID] = field(default_factory=dict)


def populate(app: Canasta) -> World:
    """Build the world in ``app``'s (empty) database."""
    scene = build(app, stock=STOCK_BASKETS)
    ids: dict[str, UUID] = {"H1": scene.household_id}
    for reference, point in HOUSEHOLDS.items():
        if reference != "H1":
            ids[reference] = enrol(app, reference, area=PARISH[point])
    texts = {"H1": scene.card_text}
    with app.engine.begin() as connection:
        cards = app.cards(connection)
        for reference, household_id in ids.items():
            if reference == "H1":
                continue
            issued = card_cases.issue_card(cards, ADMIN, household_id, label="Canasta", reason="first card")
            [job] = list(card_cases.print_jobs(cards, household_id=household_id))
            card_cases.change_card_state(cards, ADMIN, issued.card_number, CardState.ACTIVE, reason="handed over")
            texts[reference] = job.qr_text
    second_cycle(app)  # every household: an entitlement of 2 units at its parish's point (H1 has two)
    deliver(app, scene.other_point_id, RICE, 2000 * STOCK_BASKETS)
    deliver(app, scene.other_point_id, MILK, STOCK_BASKETS)
    tokens = {name: register(app, name, point, seed=device_seed(name)).token for name, point in DEVICES.items()}
    with app.engine.begin() as connection:
        add_user(connection, user_id=app.new_ids(1)[0], name="olga", role="distribution_operator",
                 password="x" * 12, area_codes=["VE-01"], at=NOW)  # fmt: skip
        tokens["operator"] = issue_token(connection, token_id=app.new_ids(1)[0], name="olga", at=NOW,
                                         lifetime=timedelta(days=365))  # fmt: skip
    return World(tokens, texts, list_key(app), {"DP-1": scene.point_id, "DP-2": scene.other_point_id})


@dataclass
class Template:
    """A built world in a SQLite file, with the keys its sealed signing keys open under."""

    path: Path
    keys: KeyMaterial
    world: World


def make_template(directory: Path) -> Template:
    keys = KeyMaterial.generate()
    path = directory / "template.db"
    app = make_canasta(f"sqlite:///{path}", keys=keys)
    try:
        world = populate(app)
    finally:
        app.close()
    return Template(path, keys, world)


def seeded_ids(rng: random.Random) -> Any:
    """An id factory drawing UUIDs from ``rng``: the same seed, the same ids."""

    def new_ids(count: int) -> list[UUID]:
        return [UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]

    return new_ids


@dataclass
class Server:
    """One seed's server: canasta on its own database, its clock, and the API client that reaches it."""

    app: Canasta
    clock: FixedClock
    client: TestClient

    def close(self) -> None:
        self.client.close()
        self.app.close()


def _fast_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # A simulation database is thrown away: durability against power loss buys nothing and costs most of a step.
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def open_copy(template: Template, directory: Path, seed: int) -> Server:
    """A server on a fresh copy of the template, with a clock and ids of its own."""
    path = directory / f"seed-{seed}.db"
    source, target = sqlite3.connect(template.path), sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    engine = make_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _fast_sqlite)
    return serve(bootstrap(_settings(path), engine=engine, keys=template.keys, clock=FixedClock(NOW),
                           id_factory=seeded_ids(random.Random(f"ids-{seed}"))))  # fmt: skip


def serve(app: Canasta) -> Server:
    clock = app.clock
    assert isinstance(clock, FixedClock)
    return Server(app, clock, TestClient(create_app(app), raise_server_exceptions=True))


def _settings(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", key_file=Path("/nonexistent/keys.json"))
