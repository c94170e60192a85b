"""``canasta demo``: a ready-to-explore registry on SQLite with a synthetic population and demo users."""

from __future__ import annotations

from pathlib import Path

from canasta.config import Environment, Settings
from canasta.entrypoints.cli.context import say

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "prepare_demo"]

#: demo accounts (development only; the demo database is refused outside development mode)
DEMO_USERS = (
    ("admin", "admin", ()),
    ("officer", "enrolment_officer", ()),
    ("manager", "programme_manager", ()),
    ("auditor", "auditor", ()),
)
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
    say(f"demo users: {', '.join(name for name, _, _ in DEMO_USERS)}; password: {DEMO_PASSWORD}")
    say("get a token: curl -s -X POST http://127.0.0.1:8000/auth/token -H 'content-type: application/json' "
        f"-d '{{\"name\": \"officer\", \"password\": \"{DEMO_PASSWORD}\"}}'")  # fmt: skip
    canasta.close()
    return settings
