"""``canasta demo``: a ready-to-explore registry on SQLite with a synthetic population and demo users."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from canasta.config import Environment, Settings
from canasta.entrypoints.cli.context import say

__all__ = ["DEMO_PASSWORD", "DEMO_PROGRAMME", "DEMO_USERS", "prepare_demo"]

#: demo accounts (development only; the demo database is refused outside development mode)
DEMO_USERS = (
    ("admin", "admin", ()),
    ("officer", "enrolment_officer", ()),
    ("manager", "programme_manager", ()),
    ("auditor", "auditor", ()),
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
    _demo_programme_and_cards(canasta)
    say(f"demo users: {', '.join(name for name, _, _ in DEMO_USERS)}; password: {DEMO_PASSWORD}")
    say("get a token: curl -s -X POST http://127.0.0.1:8000/auth/token -H 'content-type: application/json' "
        f"-d '{{\"name\": \"officer\", \"password\": \"{DEMO_PASSWORD}\"}}'")  # fmt: skip
    canasta.close()
    return settings


def _demo_programme_and_cards(canasta: Any) -> None:
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
    say(f"cards: {issued} issued; programme {programme['code']}: {result['entitlements']} households entitled "
        f"(cycle {cycle})")  # fmt: skip
