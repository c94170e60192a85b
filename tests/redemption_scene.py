"""A distribution scene for redemption tests: a household with an active card and an entitlement granted in the
ledger, leased to a point that has stock, and the actors who redeem there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import select

from canasta.adapters.db import ledger_store
from canasta.adapters.db.eligibility_tables import distribution_points, entitlements
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor, Role
from canasta.domain.cards import CardState
from canasta.domain.ledger import Account, AccountKind, Transfer, TransferKind, commodity_asset
from canasta.services import cards as card_cases
from canasta.services import cycles as cycle_cases
from canasta.services import registry as registry_cases

MANAGER = Actor(user_id=UUID(int=1), name="ana", role=Role.PROGRAMME_MANAGER)
APPROVER = Actor(user_id=UUID(int=2), name="beto", role=Role.PROGRAMME_MANAGER)
ADMIN = Actor(user_id=UUID(int=3), name="root", role=Role.ADMIN)
OPERATOR = Actor(user_id=UUID(int=4), name="olga", role=Role.DISTRIBUTION_OPERATOR, area_codes=("VE-01",))
PROGRAMME = {
    "code": "canasta-ninos", "name": "Canasta para la niñez", "kind": "in_kind",
    "rule": "children_under_5 >= 1", "formula": {"basis": "per_household", "amount": 2},
    "currency": "VES", "unit_value": 30000, "co_payment": 1000,
    "basket": [{"commodity": "rice", "quantity": 2000, "unit": "g"}, {"commodity": "milk", "quantity": 1, "unit": "l"}],
}  # fmt: skip
RICE, MILK = commodity_asset("rice-g"), commodity_asset("milk-l")


@dataclass(frozen=True)
class Scene:
    app: Canasta
    household_id: UUID
    reference: str
    card_text: str
    card_number: str
    point_id: UUID
    other_point_id: UUID
    entitlement_id: UUID
    cycle_id: UUID


def add_point(app: Canasta, code: str, area: str) -> UUID:
    point_id = app.new_ids(1)[0]
    with app.engine.begin() as connection:
        connection.execute(
            distribution_points.insert().values(
                id=point_id, code=code, name=f"Bodega {code}", kind="shop", area_code=area, status="active",
                created_at=app.clock.now(),
            )
        )  # fmt: skip
    return point_id


def deliver(app: Canasta, point_id: UUID, asset: str, amount: int) -> None:
    outside, stock = Account(AccountKind.EXTERNAL, asset, point_id), Account(AccountKind.POINT_STOCK, asset, point_id)
    with app.engine.begin() as connection:
        ledger_store.post(
            connection, [Transfer(outside, stock, amount, TransferKind.DELIVERY, reference="delivery-note-1")],
            by="admin:root", at=app.clock.now(),
        )  # fmt: skip


def enrol(app: Canasta, reference: str, area: str = "VE-01-01-01") -> UUID:
    members: list[dict[str, Any]] = [
        {"given_name": "José", "family_name": "Peña", "birth_date": "1985-01-01", "sex": 1, "relationship": "head"},
        {"given_name": "Ana", "family_name": "Peña", "birth_date": "2024-05-05", "sex": 2, "relationship": "child"},
    ]
    with app.engine.begin() as connection:
        registry = app.registry(connection, MANAGER)
        return registry_cases.enrol_household(
            registry, MANAGER,
            {"reference": reference, "area_code": area, "monthly_income": 10000, "currency": "VES", "members": members},
        )  # fmt: skip


def build(app: Canasta, *, stock: int = 100) -> Scene:
    """Household H1 in VE-01-01-01 with 2 baskets leased to DP-1 (stock: ``stock`` baskets' worth), DP-2 beside."""
    point_id = add_point(app, "DP-1", "VE-01-01-01")
    other_point_id = add_point(app, "DP-2", "VE-01-01-02")
    household_id = enrol(app, "H1")
    with app.engine.begin() as connection:
        cards = app.cards(connection)
        card_cases.create_key(cards, ADMIN, purpose="card")
        card_cases.create_key(cards, ADMIN, purpose="list")
        issued = card_cases.issue_card(cards, ADMIN, household_id, label="Canasta", reason="first card")
        [job] = list(card_cases.print_jobs(cards, household_id=household_id))
        card_cases.change_card_state(cards, ADMIN, issued.card_number, CardState.ACTIVE, reason="handed over")
    with app.engine.begin() as connection:
        eligibility = app.eligibility(connection)
        cycle_cases.add_programme(eligibility, MANAGER, PROGRAMME)
        cycle_id = cycle_cases.draft_cycle(
            eligibility, MANAGER, "canasta-ninos", period_start=date(2026, 11, 1), period_end=date(2026, 12, 31)
        )
        cycle_cases.preview_cycle(eligibility, MANAGER, cycle_id)
        cycle_cases.approve_cycle(eligibility, APPROVER, cycle_id)
        cycle_cases.run_cycle(eligibility, APPROVER, cycle_id)
    with app.engine.begin() as connection:
        assert cycle_cases.open_distribution(app.eligibility(connection), APPROVER, cycle_id) == 1
        entitlement_id = connection.execute(select(entitlements.c.id)).scalar_one()
    if stock:
        deliver(app, point_id, RICE, 2000 * stock)
        deliver(app, point_id, MILK, stock)
    return Scene(app, household_id, "H1", job.qr_text, issued.card_number, point_id, other_point_id, entitlement_id,
                 cycle_id)  # fmt: skip


def redeem(scene: Scene, actor: Actor = OPERATOR, **body: Any) -> dict[str, Any]:
    """Redeem through the service in its own unit of work (and record a refusal, as the API does)."""
    from canasta.domain.errors import DomainError
    from canasta.services.redemption import record_refusal
    from canasta.services.redemption import redeem as use_case

    app = scene.app
    try:
        with app.engine.begin() as connection:
            return use_case(app.redemptions(connection), actor, body)
    except DomainError as error:
        with app.engine.begin() as connection:
            record_refusal(app.redemptions(connection), actor, body, error)
        raise


def balance(scene: Scene, account: Account) -> int:
    with scene.app.engine.connect() as connection:
        return ledger_store.balance(connection, account)


def second_cycle(app: Canasta) -> list[str]:
    """Another cycle of the programme over every household enrolled by now, run and granted; their references."""
    from canasta.adapters.db.tables import households

    with app.engine.begin() as connection:
        eligibility = app.eligibility(connection)
        cycle_id = cycle_cases.draft_cycle(
            eligibility, MANAGER, "canasta-ninos", period_start=date(2026, 11, 15), period_end=date(2026, 12, 31)
        )
        cycle_cases.preview_cycle(eligibility, MANAGER, cycle_id)
        cycle_cases.approve_cycle(eligibility, APPROVER, cycle_id)
        cycle_cases.run_cycle(eligibility, APPROVER, cycle_id)
    with app.engine.begin() as connection:
        cycle_cases.open_distribution(app.eligibility(connection), APPROVER, cycle_id)
        return list(connection.execute(select(households.c.reference).order_by(households.c.reference)).scalars())
