"""Two people for destructive acts, on SQLite and PostgreSQL: a request does nothing until a second, different
user with the right role approves it; then it is done once, or fails cleanly when its object changed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from canasta.adapters.clock import FixedClock
from canasta.adapters.db.approval_store import active_user, approvals_on
from canasta.adapters.db.approval_tables import approval_requests
from canasta.adapters.db.card_tables import card_events
from canasta.adapters.db.integrity import broken_references
from canasta.adapters.db.users import add_user
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor, Role
from canasta.domain.approvals import ApprovalStatus
from canasta.domain.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from canasta.services import approvals as use_cases
from canasta.services import cards as card_cases
from canasta.services import cycles as cycle_cases
from canasta.services import registry as registry_cases
from canasta.services.approvals import Approvals
from tests.factories import NOW, make_canasta

PASSWORD = "correct horse battery staple"
USERS = (
    ("ana", "enrolment_officer", []),
    ("otto", "enrolment_officer", []),
    ("local", "enrolment_officer", ["VE-02"]),
    ("beto", "admin", []),
    ("carla", "admin", []),
    ("dora", "programme_manager", []),
    ("eva", "programme_manager", []),
)
PROGRAMME = {
    "code": "canasta-ninos", "name": "Canasta para la niñez", "kind": "in_kind",
    "rule": "children_under_5 >= 1", "formula": {"basis": "per_household", "amount": 1},
    "currency": "VES", "unit_value": 30000, "basket": [{"commodity": "rice", "quantity": 2000, "unit": "g"}],
}  # fmt: skip


@pytest.fixture
def canasta(database_url: str) -> Iterator[Canasta]:
    app = make_canasta(database_url)
    with app.engine.begin() as connection:
        for name, role, areas in USERS:
            add_user(connection, user_id=app.new_ids(1)[0], name=name, role=role, password=PASSWORD,
                     area_codes=areas, at=NOW)  # fmt: skip
        cards = app.cards(connection)
        for purpose in ("card", "list"):
            card_cases.create_key(cards, Actor(user_id=UUID(int=0), name="setup", role=Role.ADMIN), purpose=purpose)
    yield app
    with app.engine.connect() as connection:
        assert broken_references(connection) == {}
    app.close()


def user(app: Canasta, name: str) -> Actor:
    with app.engine.connect() as connection:
        actor = active_user(connection, name)
    assert actor is not None
    return actor


def act(app: Canasta, action: Callable[[Approvals], Any]) -> Any:
    with app.engine.begin() as connection:
        return action(approvals_on(app, connection))


def approve(app: Canasta, name: str, request_id: UUID) -> Any:
    return act(app, lambda a: use_cases.approve_request(a, user(app, name), request_id))


def refused(app: Canasta, name: str, request_id: UUID) -> str:
    """The code of the refusal when ``name`` tries to approve."""
    with pytest.raises((PermissionDeniedError, ConflictError, NotFoundError)) as raised:
        approve(app, name, request_id)
    return str(raised.value.code)


def enrol(app: Canasta, reference: str, area: str = "VE-01-01-01") -> UUID:
    officer = user(app, "ana")
    members = [
        {"given_name": "José", "family_name": "Peña", "birth_date": "1980-03-04", "sex": 1, "relationship": "head"},
        {"given_name": "Ana", "family_name": "Peña", "birth_date": "2024-05-06", "sex": 2, "relationship": "child"},
    ]
    return act(app, lambda a: registry_cases.enrol_household(
        a.registry(officer), officer,
        {"reference": reference, "area_code": area, "monthly_income": 1000, "currency": "VES", "members": members},
    ))  # fmt: skip


def household(app: Canasta, household_id: UUID) -> dict[str, Any]:
    officer = user(app, "ana")
    return act(app, lambda a: registry_cases.read_household(a.registry(officer), officer, household_id))  # type: ignore[no-any-return]


def issued_card(app: Canasta) -> str:
    household_id = enrol(app, "H-CARD")
    with app.engine.begin() as connection:
        card = card_cases.issue_card(app.cards(connection), user(app, "ana"), household_id, label="Canasta",
                                     reason="first card")  # fmt: skip
    return card.card_number


def card_state(app: Canasta, number: str) -> str:
    with app.engine.connect() as connection:
        card = app.cards(connection).store.card_by_number(number)
    assert card is not None
    return str(card["state"])


def revocations(app: Canasta) -> list[str]:
    with app.engine.connect() as connection:
        return list(connection.execute(select(card_events.c.by).where(card_events.c.to_state == "revoked")).scalars())


def previewed_cycle(app: Canasta, author: str) -> UUID:
    enrol(app, "H-CYCLE")
    drafter = user(app, author)
    with app.engine.begin() as connection:
        eligibility = app.eligibility(connection)
        cycle_cases.add_programme(eligibility, drafter, PROGRAMME)
        cycle = cycle_cases.draft_cycle(eligibility, drafter, "canasta-ninos", period_start=date(2026, 12, 1),
                                        period_end=date(2026, 12, 31))  # fmt: skip
        cycle_cases.preview_cycle(eligibility, drafter, cycle)
    return cycle


def cycle_state(app: Canasta, cycle_id: UUID) -> str:
    with app.engine.connect() as connection:
        cycle = app.eligibility(connection).store.cycle(cycle_id)
    assert cycle is not None
    return str(cycle["state"])


def test_a_card_revocation_waits_for_a_different_administrator_and_is_done_once(canasta: Canasta) -> None:
    number = issued_card(canasta)
    request = act(canasta, lambda a: use_cases.request_card_revoke(a, user(canasta, "ana"), number, reason="fraud"))
    assert (request.status, request.requested_by_name, request.payload["card_number"]) == ("pending", "ana", number)
    assert card_state(canasta, number) == "issued"
    assert refused(canasta, "ana", request.id) == "same_approver"
    assert refused(canasta, "otto", request.id) == "approver_role"  # an officer may ask, not approve
    assert card_state(canasta, number) == "issued"

    done = approve(canasta, "beto", request.id)
    assert (done.status, done.decided_by_name, done.result["state"]) == (ApprovalStatus.APPROVED, "beto", "revoked")
    assert card_state(canasta, number) == "revoked"
    assert refused(canasta, "carla", request.id) == "already_decided"
    assert revocations(canasta) == ["admin:beto"]  # the approver is recorded as the one who did it, once


def test_a_deactivation_waits_for_a_second_officer_and_keeps_every_version(canasta: Canasta) -> None:
    household_id = enrol(canasta, "H1")
    ana = user(canasta, "ana")
    request = act(canasta, lambda a: use_cases.request_deactivation(
        a, ana, "households", household_id, 1, reason="moved abroad"))  # fmt: skip
    assert household(canasta, household_id)["status"] == "active"
    assert refused(canasta, "ana", request.id) == "same_approver"
    assert refused(canasta, "dora", request.id) == "not_found"  # a programme manager does not even see them

    assert approve(canasta, "otto", request.id).status is ApprovalStatus.APPROVED
    after = household(canasta, household_id)
    assert (after["status"], after["status_reason"], after["version"]) == ("inactive", "moved abroad", 2)
    assert {member["status"] for member in after["members"]} == {"inactive"}


def test_a_rule_change_is_checked_then_applied_by_another_programme_manager(canasta: Canasta) -> None:
    dora = user(canasta, "dora")
    with canasta.engine.begin() as connection:
        cycle_cases.add_programme(canasta.eligibility(connection), dora, PROGRAMME)
    with pytest.raises(ValidationError) as bad:
        act(canasta, lambda a: use_cases.request_rule_change(a, dora, "canasta-ninos", "religion == 1", reason="x y"))
    assert bad.value.fields["field"] == "rule"
    new_rule = "children_under_5 >= 2"
    request = act(canasta, lambda a: use_cases.request_rule_change(a, dora, "canasta-ninos", new_rule,
                                                                   reason="budget cut"))  # fmt: skip
    assert (request.payload["rule"], request.payload["previous_rule"]) == (new_rule, PROGRAMME["rule"])
    assert len(request.payload["rule_sha256"]) == 64
    assert refused(canasta, "dora", request.id) == "same_approver"
    assert refused(canasta, "beto", request.id) == "approver_role"

    def programme() -> Any:
        with canasta.engine.connect() as connection:
            return canasta.eligibility(connection).store.programme_by_code("canasta-ninos")

    assert programme()["document"]["rule"] == PROGRAMME["rule"]
    assert approve(canasta, "eva", request.id).result["version"] == 2
    assert (programme()["document"]["rule"], programme()["version"], programme()["updated_by"]) == (
        new_rule, 2, "programme_manager:eva",
    )  # fmt: skip


def test_a_cycle_is_approved_by_neither_its_requester_nor_its_author(canasta: Canasta) -> None:
    cycle = previewed_cycle(canasta, author="dora")
    request = act(canasta, lambda a: use_cases.request_cycle_approval(a, user(canasta, "eva"), cycle,
                                                                      reason="preview checked"))  # fmt: skip
    assert refused(canasta, "eva", request.id) == "same_approver"
    assert refused(canasta, "dora", request.id) == "same_person"  # the author, whatever role she signs in with
    assert cycle_state(canasta, cycle) == "previewed"
    with canasta.engine.begin() as connection:
        add_user(connection, user_id=canasta.new_ids(1)[0], name="fede", role="programme_manager", password=PASSWORD,
                 area_codes=[], at=NOW)  # fmt: skip
    assert approve(canasta, "fede", request.id).status is ApprovalStatus.APPROVED
    assert cycle_state(canasta, cycle) == "approved"


def test_a_role_change_is_approved_by_another_administrator_not_by_its_subject(canasta: Canasta) -> None:
    request = act(canasta, lambda a: use_cases.request_role_change(a, user(canasta, "beto"), "carla", "auditor",
                                                                   reason="moved to internal audit"))  # fmt: skip
    assert refused(canasta, "beto", request.id) == "same_approver"
    assert refused(canasta, "carla", request.id) == "same_approver"  # nobody approves their own role
    assert user(canasta, "carla").role is Role.ADMIN
    with pytest.raises(PermissionDeniedError) as officer:
        act(canasta, lambda a: use_cases.request_role_change(a, user(canasta, "ana"), "otto", "admin", reason="why"))
    assert officer.value.code == "requester_role"
    with canasta.engine.begin() as connection:
        add_user(connection, user_id=canasta.new_ids(1)[0], name="gil", role="admin", password=PASSWORD,
                 area_codes=[], at=NOW)  # fmt: skip
    approve(canasta, "gil", request.id)
    assert user(canasta, "carla").role is Role.AUDITOR


def test_a_rejected_request_is_never_carried_out(canasta: Canasta) -> None:
    number = issued_card(canasta)
    request = act(canasta, lambda a: use_cases.request_card_revoke(a, user(canasta, "ana"), number, reason="fraud"))
    with pytest.raises(ValidationError):
        act(canasta, lambda a: use_cases.reject_request(a, user(canasta, "beto"), request.id, reason=" "))
    rejected = act(canasta, lambda a: use_cases.reject_request(a, user(canasta, "beto"), request.id,
                                                               reason="the card was found"))  # fmt: skip
    assert (rejected.status, rejected.decision_reason) == (ApprovalStatus.REJECTED, "the card was found")
    assert refused(canasta, "carla", request.id) == "already_decided"
    assert card_state(canasta, number) == "issued"
    assert revocations(canasta) == []


def test_a_stale_request_fails_cleanly_and_changes_nothing(canasta: Canasta) -> None:
    household_id = enrol(canasta, "H1")
    ana = user(canasta, "ana")
    request = act(canasta, lambda a: use_cases.request_deactivation(
        a, ana, "households", household_id, 1, reason="moved abroad"))  # fmt: skip
    act(canasta, lambda a: registry_cases.update_household(
        a.registry(ana), ana, household_id, 1, {"monthly_income": 2000}, reason="new job"))  # fmt: skip

    failed = approve(canasta, "otto", request.id)
    assert failed.status is ApprovalStatus.FAILED
    assert failed.result["error"] == "stale_version"
    with pytest.raises(ConflictError) as told:
        use_cases.check_outcome(failed, ApprovalStatus.APPROVED)
    assert told.value.code == "approval_failed"
    after = household(canasta, household_id)
    assert (after["status"], after["version"]) == ("active", 2)
    assert {member["status"] for member in after["members"]} == {"active"}  # the members' writes rolled back too
    assert refused(canasta, "beto", request.id) == "already_decided"


def test_a_cycle_previewed_again_after_the_request_is_not_approved_blind(canasta: Canasta) -> None:
    cycle = previewed_cycle(canasta, author="dora")
    request = act(
        canasta, lambda a: use_cases.request_cycle_approval(a, user(canasta, "dora"), cycle, reason="checked")
    )
    with canasta.engine.begin() as connection:
        cycle_cases.preview_cycle(canasta.eligibility(connection), user(canasta, "dora"), cycle)
    failed = approve(canasta, "eva", request.id)
    assert (failed.status, failed.result["error"]) == (ApprovalStatus.FAILED, "stale_version")
    assert cycle_state(canasta, cycle) == "previewed"


def test_a_request_nobody_decides_expires(canasta: Canasta) -> None:
    number = issued_card(canasta)
    request = act(canasta, lambda a: use_cases.request_card_revoke(a, user(canasta, "ana"), number, reason="fraud"))
    assert isinstance(canasta.clock, FixedClock)
    canasta.clock.advance(timedelta(days=canasta.settings.approval_expiry_days))
    expired = approve(canasta, "beto", request.id)
    assert expired.status is ApprovalStatus.EXPIRED
    with pytest.raises(ConflictError) as told:
        use_cases.check_outcome(expired, ApprovalStatus.APPROVED)
    assert told.value.code == "approval_expired"
    assert card_state(canasta, number) == "issued"


def test_requests_are_scoped_and_one_at_a_time(canasta: Canasta) -> None:
    household_id = enrol(canasta, "H1")
    ana, local = user(canasta, "ana"), user(canasta, "local")
    request = act(canasta, lambda a: use_cases.request_deactivation(
        a, ana, "households", household_id, 1, reason="moved abroad"))  # fmt: skip
    with pytest.raises(ConflictError) as twice:
        act(canasta, lambda a: use_cases.request_deactivation(a, ana, "households", household_id, 1, reason="again"))
    assert twice.value.code == "approval_pending"
    with pytest.raises(NotFoundError):  # outside her areas: as if it did not exist
        act(canasta, lambda a: use_cases.read_request(a, local, request.id))
    with pytest.raises(NotFoundError):
        approve(canasta, "local", request.id)
    assert act(canasta, lambda a: use_cases.list_requests(a, local)) == []
    listed = act(canasta, lambda a: use_cases.list_requests(a, user(canasta, "otto"), status=ApprovalStatus.PENDING))
    assert [item.id for item in listed] == [request.id]
    assert act(canasta, lambda a: use_cases.list_requests(a, user(canasta, "dora"))) == []  # not her kind


def test_requests_are_never_deleted(canasta: Canasta) -> None:
    number = issued_card(canasta)
    act(canasta, lambda a: use_cases.request_card_revoke(a, user(canasta, "ana"), number, reason="fraud"))
    with pytest.raises(DBAPIError), canasta.engine.begin() as connection:
        connection.execute(delete(approval_requests))
    with canasta.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(approval_requests)).scalar_one() == 1


@pytest.mark.parametrize("round_", range(3))
def test_two_approvers_at_once_carry_the_act_out_once(canasta: Canasta, round_: int) -> None:
    if canasta.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; the race is PostgreSQL's")
    number = issued_card(canasta)
    request = act(canasta, lambda a: use_cases.request_card_revoke(a, user(canasta, "ana"), number, reason="fraud"))
    approvers = [user(canasta, "beto"), user(canasta, "carla")]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(approver: Actor) -> None:
        start.wait()
        try:
            with canasta.engine.begin() as connection:
                decided = use_cases.approve_request(approvals_on(canasta, connection), approver, request.id)
            outcomes.append(decided.status.value)
        except ConflictError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=attempt, args=(approver,)) for approver in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["already_decided", "approved"]
    assert len(revocations(canasta)) == 1
    assert card_state(canasta, number) == "revoked"
