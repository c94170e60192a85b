"""``canasta demo``'s set-up on a small population: a registry, cards handed over, a cycle granted in the ledger,
stocked points, and a redemption that works at once with the demo operator."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from canasta.adapters.db import ledger_check
from canasta.adapters.db.card_tables import cards
from canasta.adapters.db.eligibility_tables import entitlements
from canasta.adapters.db.users import authenticate_token, login
from canasta.bootstrap import bootstrap
from canasta.entrypoints.cli.demo import DEMO_PASSWORD, prepare_demo
from canasta.services.redemption import redeem


def test_the_demo_is_ready_to_redeem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANASTA_DATABASE_URL", raising=False)
    monkeypatch.setenv("CANASTA_ENVIRONMENT", "development")
    settings = prepare_demo(tmp_path / "demo", households=80, seed=3)
    app = bootstrap(settings)
    try:
        with app.engine.begin() as connection:
            states = dict(connection.execute(select(cards.c.state, func.count()).group_by(cards.c.state)).all())
            granted = connection.execute(select(func.count()).select_from(entitlements)).scalar_one()

            token = login(connection, token_id=uuid4(), name="operator", password=DEMO_PASSWORD,
                          at=app.clock.now(), lifetime=timedelta(minutes=5))  # fmt: skip
            operator = authenticate_token(connection, token, at=app.clock.now())
        assert set(states) == {"active"}
        assert granted > 0
        sample = json.loads((tmp_path / "demo" / "sample-redemption.json").read_text(encoding="utf-8"))
        with app.engine.begin() as connection:
            receipt = redeem(app.redemptions(connection), operator, sample)
        assert receipt["document"]["point"] == sample["point"]
        assert receipt["document"]["items"][0]["units"] == 1
        with app.engine.connect() as connection:
            assert ledger_check.check(connection).is_consistent
        again = prepare_demo(tmp_path / "demo", households=80, seed=3)  # a second run reuses what is there
        assert again.database_url == settings.database_url
    finally:
        app.close()
