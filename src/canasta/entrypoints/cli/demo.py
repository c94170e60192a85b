"""``canasta demo``: a ready-to-explore registry on SQLite with a synthetic population and demo users."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from canasta.config import Environment, Settings
from canasta.entrypoints.cli.context import say

__all__ = ["DEMO_PASSWORD", "DEMO_PROGRAMME", "DEMO_STOCK_BASKETS", "DEMO_USERS", "prepare_demo"]

#: demo accounts (development only; the demo database is refused outside development mode)
DEMO_USERS = (
    ("admin", "admin", ()),
    ("officer", "enrolment_officer", ()),
    ("manager", "programme_manager", ()),
    ("auditor", "auditor", ()),
    ("operator", "distribution_operator", ()),
)
#: the demo's programme (the same as docs/examples/canasta-ninos.json)
DEMO_PROGRAMME: dict[str, Any] = {
    "code": "canasta-ninos",
    "name": "Canasta para la niñez",
    "kind": "in_kind",
    "rule": "children_under_5 >= 1 and income_per_capita < 150000",
    "formula": {"basis": "per_eligible_member", "amount": 1, "cap": 3, "member_fact": "children_under_5"},
    "currency": "VES",
    "unit_value": 30000,
    "co_payment": 1000,
    "basket": [
        {"commodity": "rice", "quantity": 2000, "unit": "g"},
        {"commodity": "lentils", "quantity": 1000, "unit": "g"},
        {"commodity": "milk-powder", "quantity": 800, "unit": "g"},
    ],
    "area_codes": [],
    "budget_per_cycle": 5000000000,
    "frequency": "monthly",
    "unredeemed": "lapse",
}
DEMO_STOCK_BASKETS = 500  # delivered to every demo point
DEMO_PASSWORD = "canasta-demo-password"  # noqa: S105  # documented demo credential, development mode only


def prepare_demo(directory: Path, *, households: int, seed: int) -> Settings:
    """Create (once) ``directory`` with keys, a SQLite database, areas, a synthetic population and demo users.

    Running it again reuses what is there: the import is idempotent and existing users are kept.
    """
    from canasta.adapters.db.bulk import make_bulk_writer
    from canasta.adapters.db.repositories import SqlImportJournal, load_areas, parish_codes
    from canasta.adapters.db.schema import upgrade_schema
    from canasta.adapters.db.users import add_user
    from canasta.adapters.synth import gazetteer, write_population
    from canasta.adapters.tabular import open_tabular
    from canasta.bootstrap import bootstrap
    from canasta.config import load_settings
    from canasta.domain.errors import ConflictError
    from canasta.services.importing import import_households

    base = load_settings()
    if base.environment is not Environment.DEVELOPMENT:
        from canasta.domain.errors import ValidationError

        raise ValidationError("the demo runs in development mode only", field="CANASTA_ENVIRONMENT")
    directory.mkdir(parents=True, exist_ok=True)
    settings = base.model_copy(
        update={"database_url": f"sqlite:///{directory / 'canasta.db'}", "key_file": directory / "canasta.keys.json"}
    )
    canasta = bootstrap(settings)
    upgrade_schema(canasta.engine)
    with canasta.engine.begin() as connection:
        if not parish_codes(connection):
            rows = [(i, [a.code, a.name, a.level, a.parent_code or ""]) for i, a in enumerate(gazetteer(), start=2)]
            load_areas(connection, rows)
    population = directory / f"population-{households}-{seed}.csv"
    if not population.exists():
        say(f"generating {households} synthetic households (seed {seed})")
        write_population(population, households, seed)
    source = open_tabular(population)
    with canasta.engine.connect() as connection:
        areas = parish_codes(connection)
    writer = make_bulk_writer(canasta.engine)
    try:
        result = import_households(
            header=source.header, rows=source.rows(), source_name=population.name, sha256=source.sha256,
            report_path=directory / "population.rejected.csv", writer=writer, sealer=canasta.sealer,
            journal=SqlImportJournal(canasta.engine), clock=canasta.clock, import_id=canasta.new_ids(1)[0],
            new_ids=canasta.new_ids, area_codes=areas, definitions={}, actor="demo",
        )  # fmt: skip
    finally:
        writer.close()
    say(f"registry: {result.imported} people imported, {result.already_present} already there")
    for name, role, scope in DEMO_USERS:
        try:
            with canasta.engine.begin() as connection:
                add_user(
                    connection, user_id=canasta.new_ids(1)[0], name=name, role=role, password=DEMO_PASSWORD,
                    area_codes=list(scope), at=canasta.clock.now(),
                )  # fmt: skip
        except ConflictError:
            pass  # created by an earlier demo run
    _demo_programme_and_cards(canasta, directory)
    say(f"demo users: {', '.join(name for name, _, _ in DEMO_USERS)}; password: {DEMO_PASSWORD}")
    say("get a token: curl -s -X POST http://127.0.0.1:8000/auth/token -H 'content-type: application/json' "
        f"-d '{{\"name\": \"officer\", \"password\": \"{DEMO_PASSWORD}\"}}'")  # fmt: skip
    canasta.close()
    return settings


def _demo_programme_and_cards(canasta: Any, directory: Path) -> None:
    """Distribution points, signing keys, the example programme's first cycle and a card per household (once)."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from canasta.adapters.db.eligibility_tables import distribution_points
    from canasta.adapters.db.tables import areas
    from canasta.domain.access import Actor, Role
    from canasta.services import cards as card_cases
    from canasta.services import cycles as cycle_cases

    author = Actor(user_id=UUID(int=1), name="demo-author", role=Role.PROGRAMME_MANAGER)
    approver = Actor(user_id=UUID(int=2), name="demo-approver", role=Role.PROGRAMME_MANAGER)
    admin = Actor(user_id=UUID(int=3), name="demo", role=Role.ADMIN)
    with canasta.engine.begin() as connection:
        if connection.execute(select(distribution_points.c.id).limit(1)).first() is not None:
            return  # set up by an earlier demo run
        states = connection.execute(select(areas.c.code, areas.c.name).where(areas.c.level == "state")).all()
        now = canasta.clock.now()
        for code, name in states:
            connection.execute(
                distribution_points.insert().values(
                    id=canasta.new_ids(1)[0], code=f"DP-{code}", name=f"Bodega {name}", kind="shop", area_code=code,
                    status="active", created_at=now,
                )
            )  # fmt: skip
        cards = canasta.cards(connection)
        card_cases.create_key(cards, admin, purpose="card")
        card_cases.create_key(cards, admin, purpose="list")
        issued = card_cases.issue_cards_for_area(cards, admin, "VE", label="Canasta Básica", reason="demo issuance")
        eligibility = canasta.eligibility(connection)
        programme = DEMO_PROGRAMME
        cycle_cases.add_programme(eligibility, author, programme)
        today = now.date()
        first = today.replace(day=1)
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        cycle = cycle_cases.draft_cycle(
            eligibility, author, str(programme["code"]), period_start=first, period_end=last
        )
        cycle_cases.preview_cycle(eligibility, author, cycle)
        cycle_cases.approve_cycle(eligibility, approver, cycle)
        result = cycle_cases.run_cycle(eligibility, approver, cycle)
    with canasta.engine.begin() as connection:
        cycle_cases.open_distribution(canasta.eligibility(connection), approver, cycle)
    _demo_distribution(canasta, admin, directory)
    say(f"cards: {issued} issued and handed over; programme {programme['code']}: {result['entitlements']} "
        f"households entitled (cycle {cycle}); each point has {DEMO_STOCK_BASKETS} baskets in stock")  # fmt: skip


def _demo_distribution(canasta: Any, admin: Any, directory: Path) -> None:
    """Hand the demo's cards over (they become active), stock every point for the demo's baskets, and write
    ``sample-redemption.json``: a request body for ``POST /redemptions`` with an entitled household's card."""
    import json

    from sqlalchemy import select

    from canasta.adapters.db import ledger_store
    from canasta.adapters.db.card_tables import cards
    from canasta.adapters.db.eligibility_tables import distribution_points, entitlements
    from canasta.domain.cards import CardState
    from canasta.domain.ledger import Account, AccountKind, Transfer, TransferKind
    from canasta.domain.programmes import BasketLine
    from canasta.domain.redemption import stock_asset
    from canasta.services import cards as card_cases

    with canasta.engine.begin() as connection:
        sample = connection.execute(
            select(entitlements.c.household_id, distribution_points.c.code)
            .join(distribution_points, distribution_points.c.id == entitlements.c.home_point_id)
            .order_by(entitlements.c.id)
            .limit(1)
        ).first()
        if sample is not None:
            [job] = list(card_cases.print_jobs(canasta.cards(connection), household_id=sample.household_id))
            body = {"redemption_id": str(canasta.new_ids(1)[0]), "point": sample.code, "card": job.qr_text,
                    "items": [{"programme": DEMO_PROGRAMME["code"], "units": 1}]}  # fmt: skip
            (directory / "sample-redemption.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        handed = list(connection.execute(select(cards.c.card_number).where(cards.c.state == "issued")).scalars())
        card_use_cases = canasta.cards(connection)
        for number in handed:
            card_cases.change_card_state(card_use_cases, admin, number, CardState.ACTIVE, reason="handed over (demo)")
        points = list(connection.execute(select(distribution_points.c.id)).scalars())
        deliveries = [
            Transfer(
                Account(AccountKind.EXTERNAL, stock_asset(line), point),
                Account(AccountKind.POINT_STOCK, stock_asset(line), point),
                line.quantity * DEMO_STOCK_BASKETS,
                TransferKind.DELIVERY,
                reference="demo-delivery",
            )
            for point in points
            for line in (BasketLine(**item) for item in DEMO_PROGRAMME["basket"])
        ]
        ledger_store.post(connection, deliveries, by=admin.label, at=canasta.clock.now())
