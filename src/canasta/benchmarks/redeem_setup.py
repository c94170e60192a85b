"""A distribution scene at scale, for the ``redeem`` benchmark and the crash-safety test.

:func:`prepare` fills an empty, migrated database with ``households`` synthetic households (imported with
canasta's own import), a card for each (issued with the card service, then handed over set-wise), a programme
whose rule every household meets, a cycle of it run and granted in the ledger, one distribution point per state
with enough stock for every basket leased to it, and devices registered to the points with their tokens. It
returns what a client needs to redeem: for each household its point and its card's QR text, and the tokens.

Everything that decides (eligibility, leases, grants, card numbers, signatures) goes through canasta's own
services; only what is pure bookkeeping at this scale is done set-wise in SQL: handing 20,000 cards over (a state
change with its event each) and reading the scene back.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Engine, func, insert, literal, select, text, update

from canasta.adapters.crypto.keyfile import KeyMaterial
from canasta.adapters.db import ledger_store
from canasta.adapters.db.bulk import make_bulk_writer
from canasta.adapters.db.card_store import SqlCardStore
from canasta.adapters.db.card_tables import card_events, cards
from canasta.adapters.db.device_store import OfflineLimits, register_device
from canasta.adapters.db.eligibility_tables import distribution_points, entitlements
from canasta.adapters.db.repositories import SqlImportJournal, load_areas, parish_codes
from canasta.adapters.db.sql_functions import NewUuid7
from canasta.adapters.db.tables import households
from canasta.adapters.synth import gazetteer, write_population
from canasta.adapters.tabular import open_tabular
from canasta.bootstrap import Canasta, bootstrap
from canasta.config import Environment, Settings
from canasta.domain.access import Actor, Role
from canasta.domain.cards import CardState
from canasta.domain.ledger import Account, AccountKind, Transfer, TransferKind, commodity_asset
from canasta.services import cards as card_cases
from canasta.services import cycles as cycle_cases
from canasta.services.importing import import_households

__all__ = ["PROGRAMME", "Purchase", "RedeemScene", "prepare", "server_environment"]

SEED = 11
ADMIN = Actor(user_id=UUID(int=1), name="bench-admin", role=Role.ADMIN)
MANAGER = Actor(user_id=UUID(int=2), name="bench-author", role=Role.PROGRAMME_MANAGER)
APPROVER = Actor(user_id=UUID(int=3), name="bench-approver", role=Role.PROGRAMME_MANAGER)
PROGRAMME: dict[str, Any] = {
    "code": "bench-basket", "name": "Benchmark basket", "kind": "in_kind", "rule": "members >= 1",
    "formula": {"basis": "per_household", "amount": 1}, "currency": "VES", "unit_value": 30000, "co_payment": 1000,
    "basket": [{"commodity": "rice", "quantity": 2000, "unit": "g"}, {"commodity": "oil", "quantity": 1, "unit": "l"}],
}  # fmt: skip
STOCK_MARGIN = 2  # times what the households leased to a point could take: stock never runs out here


@dataclass(frozen=True, slots=True)
class Purchase:
    """One household's card redemption at its home point: one unit of the programme."""

    household_id: UUID
    point: str
    card: str  # the card's QR text, as a camera reads it

    def body(self, redemption_id: UUID | None = None) -> dict[str, Any]:
        """The ``POST /redemptions`` body, with ``redemption_id`` (a new one when None)."""
        return {
            "redemption_id": str(redemption_id or uuid4()),
            "point": self.point,
            "card": self.card,
            "items": [{"programme": PROGRAMME["code"], "units": 1}],
        }


@dataclass(frozen=True, slots=True)
class RedeemScene:
    """What :func:`prepare` made: the purchases to make, the device tokens by point, the receipts' key."""

    database_url: str
    keys: KeyMaterial
    purchases: tuple[Purchase, ...]
    tokens: Mapping[str, tuple[str, ...]]  # point code -> bearer tokens of its devices
    receipt_key: bytes  # the public list key that signs receipts
    seconds: Mapping[str, float] = field(default_factory=dict)  # set-up time per step

    def token_for(self, purchase_number: int, point: str) -> str:
        """A device token of ``point``, spreading purchases over the point's devices."""
        tokens = self.tokens[point]
        return tokens[purchase_number % len(tokens)]


def server_environment(database_url: str, keys: KeyMaterial) -> dict[str, str]:
    """The ``CANASTA_*`` variables a server process needs to serve the scene's database."""
    return {
        "CANASTA_ENVIRONMENT": "production",  # keys are given; nothing may be invented
        "CANASTA_DATABASE_URL": database_url,
        "CANASTA_KEYS": keys.to_json(),
    }


@contextmanager
def _step(seconds: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - started, 2)


def _import(app: Canasta, count: int, seed: int) -> None:
    rows = [(i, [area.code, area.name, area.level, area.parent_code or ""]) for i, area in enumerate(gazetteer(), 2)]
    with app.engine.begin() as connection:
        load_areas(connection, rows)
        areas = parish_codes(connection)
    with tempfile.TemporaryDirectory(prefix="canasta-redeem-") as folder:
        path = Path(folder) / "population.csv"
        write_population(path, count, seed)
        source = open_tabular(path)
        writer = make_bulk_writer(app.engine)
        try:
            import_households(
                header=source.header, rows=source.rows(), source_name=path.name, sha256=source.sha256,
                report_path=Path(folder) / "rejected.csv", writer=writer, sealer=app.sealer,
                journal=SqlImportJournal(app.engine), clock=app.clock, import_id=app.new_ids(1)[0],
                new_ids=app.new_ids, area_codes=areas, definitions={}, actor=ADMIN.label,
            )  # fmt: skip
        finally:
            writer.close()


def _points(app: Canasta) -> list[str]:
    """One active point per state: every household's lease falls back to its state's point."""
    now = app.clock.now()
    states = [area for area in gazetteer() if area.level == "state"]
    rows: list[dict[str, Any]] = [
        {"id": point_id, "code": f"DP-{area.code}", "name": f"Bodega {area.name}", "kind": "shop",
         "area_code": area.code, "status": "active", "created_at": now}
        for point_id, area in zip(app.new_ids(len(states)), states, strict=True)
    ]  # fmt: skip
    with app.engine.begin() as connection:
        connection.execute(distribution_points.insert(), rows)
    return [str(row["code"]) for row in rows]


def _cards(app: Canasta) -> dict[str, str]:
    """A card for every household, each signed (its QR text, by card number) and then handed over."""
    states = [area.code for area in gazetteer() if area.level == "state"]
    with app.engine.begin() as connection:
        service = app.cards(connection)
        card_cases.create_key(service, ADMIN, purpose="card")
        card_cases.create_key(service, ADMIN, purpose="list")
        for state in states:
            card_cases.issue_cards_for_area(service, ADMIN, state, label="Canasta", reason="benchmark")
    with app.engine.connect() as connection:
        texts = {job.card_number: job.qr_text for job in card_cases.print_jobs(app.cards(connection))}
    now = app.clock.now()
    issued = cards.c.state == CardState.ISSUED.value
    with app.engine.begin() as connection:
        columns = ["id", "card_id", "from_state", "to_state", "at", "by", "reason"]
        handed_over = select(
            NewUuid7(), cards.c.id, literal(CardState.ISSUED.value), literal(CardState.ACTIVE.value), literal(now),
            literal(ADMIN.label), literal("handed over"),
        ).where(issued)  # fmt: skip
        connection.execute(insert(card_events).from_select(columns, handed_over))
        connection.execute(
            update(cards).where(issued).values(state=CardState.ACTIVE.value, version=cards.c.version + 1)
        )
    return texts


def _cycle(app: Canasta) -> UUID:
    today = app.clock.now().date()
    with app.engine.begin() as connection:
        eligibility = app.eligibility(connection)
        cycle_cases.add_programme(eligibility, MANAGER, PROGRAMME)
        cycle_id = cycle_cases.draft_cycle(
            eligibility, MANAGER, PROGRAMME["code"], period_start=today - timedelta(days=1),
            period_end=today + timedelta(days=30),
        )  # fmt: skip
        cycle_cases.preview_cycle(eligibility, MANAGER, cycle_id)
        cycle_cases.approve_cycle(eligibility, APPROVER, cycle_id)
        cycle_cases.run_cycle(eligibility, APPROVER, cycle_id)
    with app.engine.begin() as connection:
        cycle_cases.open_distribution(app.eligibility(connection), APPROVER, cycle_id)
    return cycle_id


def _leases(app: Canasta, cycle_id: UUID) -> list[tuple[UUID, UUID, str, str]]:
    """(household, point id, point code, card number) of every entitlement of the cycle leased to a point."""
    query = (
        select(entitlements.c.household_id, distribution_points.c.id, distribution_points.c.code, cards.c.card_number)
        .join(distribution_points, distribution_points.c.id == entitlements.c.home_point_id)
        .join(cards, cards.c.household_id == entitlements.c.household_id)
        .where(entitlements.c.cycle_id == cycle_id, cards.c.state == CardState.ACTIVE.value)
        .order_by(entitlements.c.id)
    )
    with app.engine.connect() as connection:
        return [(row[0], row[1], row[2], row[3]) for row in connection.execute(query)]


def _stock(app: Canasta, leases: list[tuple[UUID, UUID, str, str]]) -> None:
    baskets: dict[UUID, int] = {}
    for _, point_id, _, _ in leases:
        baskets[point_id] = baskets.get(point_id, 0) + 1
    deliveries = []
    for point_id, count in baskets.items():
        for line in PROGRAMME["basket"]:
            goods = commodity_asset(f"{line['commodity']}-{line['unit']}")
            amount = int(line["quantity"]) * count * STOCK_MARGIN
            outside = Account(AccountKind.EXTERNAL, goods, point_id)
            shelf = Account(AccountKind.POINT_STOCK, goods, point_id)
            deliveries.append(Transfer(outside, shelf, amount, TransferKind.DELIVERY, reference="benchmark delivery"))
    with app.engine.begin() as connection:
        ledger_store.post(connection, deliveries, by=ADMIN.label, at=app.clock.now())


def _devices(app: Canasta, points: list[str], per_point: int) -> dict[str, tuple[str, ...]]:
    """Register ``per_point`` devices at every point (each a user with a password hash: the slow part here)."""
    tokens: dict[str, tuple[str, ...]] = {}
    now = app.clock.now()
    with app.engine.begin() as connection:
        for point in points:
            made = []
            for number in range(per_point):
                registered = register_device(
                    connection, point_code=point, name=f"till-{point}-{number}", public_key=bytes(32),
                    limits=OfflineLimits(), ids=app.new_ids(3), by=ADMIN.label, at=now,
                )  # fmt: skip
                made.append(registered.token)
            tokens[point] = tuple(made)
    return tokens


def _analyse(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def prepare(
    engine: Engine,
    households_count: int,
    *,
    keys: KeyMaterial | None = None,
    devices_per_point: int = 1,
    seed: int = SEED,
    progress: Callable[[str], None] | None = None,
) -> RedeemScene:
    """Fill the empty, migrated database behind ``engine`` with a redemption scene of ``households_count``
    households; returns the purchases in a mixed order of points (one per household that got an entitlement and
    a card) and the device tokens. ``keys`` (new ones when None) seal the data and the signing keys: a server
    serving this database must be given the same (:func:`server_environment`)."""
    keys = keys or KeyMaterial.generate()
    url = engine.url.render_as_string(hide_password=False)
    app = bootstrap(Settings(database_url=url, environment=Environment.PRODUCTION), engine=engine, keys=keys)
    seconds: dict[str, float] = {}

    def step(name: str) -> Any:
        if progress is not None:
            progress(name)
        return _step(seconds, name)

    with step("households"):
        _import(app, households_count, seed)
        points = _points(app)
    with step("cards"):
        texts = _cards(app)
    with step("cycle"):
        cycle_id = _cycle(app)
        leases = _leases(app, cycle_id)
        _stock(app, leases)
    with step("devices"):
        tokens = _devices(app, points, devices_per_point)
    with step("analyse"):
        _analyse(engine)
    with engine.connect() as connection:
        receipt_key = SqlCardStore(connection).active_key("list")
        count = connection.execute(select(func.count()).select_from(households)).scalar_one()
    if receipt_key is None or not leases:
        raise RuntimeError(f"the scene has no list key or no lease ({count} households)")
    purchases = tuple(Purchase(household_id, code, texts[number]) for household_id, _, code, number in leases)
    return RedeemScene(url, keys, purchases, tokens, bytes(receipt_key["public_key"]), seconds)
