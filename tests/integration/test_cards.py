"""Issuing cards on SQLite and PostgreSQL: keys, reissue, set path, states, lists, and cards others can read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import claim169
import pytest

from canasta.adapters.crypto.claim169 import CardVerifier
from canasta.adapters.crypto.trust import read_revocation_list, read_trust_list
from canasta.adapters.db.card_store import SqlCardStore
from canasta.adapters.db.integrity import broken_references
from canasta.bootstrap import Canasta
from canasta.domain.access import Actor, Role
from canasta.domain.cards import CardState, is_valid_card_number
from canasta.domain.credentials import Refusal
from canasta.domain.errors import ConflictError, NotFoundError
from canasta.services import cards as use_cases
from canasta.services import registry as registry_cases
from tests.factories import make_canasta

ADMIN = Actor(user_id=UUID(int=1), name="admin", role=Role.ADMIN)
ELSEWHERE = Actor(user_id=UUID(int=2), name="local", role=Role.ENROLMENT_OFFICER, area_codes=("VE-02",))


@pytest.fixture
def canasta(database_url: str) -> Iterator[Canasta]:
    app = make_canasta(database_url)
    with app.engine.begin() as connection:
        cards = app.cards(connection)
        use_cases.create_key(cards, ADMIN, purpose="card")
        use_cases.create_key(cards, ADMIN, purpose="list")
    yield app
    with app.engine.connect() as connection:
        assert broken_references(connection) == {}
    app.close()


def enrol(app: Canasta, reference: str, area: str = "VE-01-01-01", given: str = "José") -> UUID:
    with app.engine.begin() as connection:
        registry = app.registry(connection, ADMIN)
        return registry_cases.enrol_household(
            registry, ADMIN,
            {"reference": reference, "area_code": area, "monthly_income": 1000, "currency": "VES",
             "members": [{"given_name": given, "family_name": "Peña Núñez", "birth_date": "1980-03-04", "sex": 1,
                          "relationship": "head"}]},
        )  # fmt: skip


def run(app: Canasta, action: Any) -> Any:
    with app.engine.begin() as connection:
        return action(app.cards(connection))


def verifier(app: Canasta) -> CardVerifier:
    with app.engine.connect() as connection:
        cards = app.cards(connection)
        return CardVerifier(use_cases.trusted_keys(cards), cards.store.refused_card_numbers())


def jobs(app: Canasta, **where: Any) -> list[use_cases.PrintJob]:
    with app.engine.connect() as connection:
        return list(use_cases.print_jobs(app.cards(connection), **where))


def test_a_second_key_of_a_purpose_must_be_a_rotation(canasta: Canasta) -> None:
    with pytest.raises(ConflictError, match="rotate"):
        run(canasta, lambda cards: use_cases.create_key(cards, ADMIN, purpose="card"))


def test_an_issued_card_verifies_here_and_in_the_independent_decoder(canasta: Canasta) -> None:
    household = enrol(canasta, "H1")
    card = run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, household, label="Canasta", reason="new"))
    assert is_valid_card_number(card.card_number)
    [job] = jobs(canasta, household_id=household)
    assert (job.card_number, job.holder_name) == (card.card_number, "José Peña Núñez")
    result = verifier(canasta).verify(job.qr_text, now=canasta.clock.now())
    assert result.is_valid, result.detail
    assert result.credential is not None
    assert result.credential.claims.card_id == card.card_number
    assert result.credential.claims.date_of_birth == "19800304"
    with canasta.engine.connect() as connection:
        key = SqlCardStore(connection).active_key("card")
    assert key is not None
    theirs = claim169.decode(job.qr_text, verify_with_ed25519=bytes(key["public_key"]), validate_timestamps=False)
    assert theirs.is_verified()
    assert theirs.claim169.id == card.card_number
    assert theirs.claim169.full_name == "José Peña Núñez"


def test_a_reissue_revokes_the_previous_card_and_records_why(canasta: Canasta) -> None:
    household = enrol(canasta, "H1")
    first = run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, household, label="C", reason="new"))
    second = run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, household, label="C", reason="damaged"))
    with canasta.engine.connect() as connection:
        store = SqlCardStore(connection)
        old = store.card_by_number(first.card_number)
        new = store.card_by_number(second.card_number)
        assert old is not None
        assert new is not None
        assert (old["state"], new["state"], new["replaces_card_id"]) == ("revoked", "issued", old["id"])
        history = [(e["from_state"], e["to_state"], e["by"], e["reason"]) for e in store.events(old["id"])]
    assert history == [
        (None, "issued", "admin:admin", "new"),
        ("issued", "revoked", "admin:admin", "reissued: damaged"),
    ]
    assert first.card_number != second.card_number


def test_issuing_for_an_area_is_a_set_path_and_idempotent(canasta: Canasta) -> None:
    for number in range(5):
        enrol(canasta, f"H{number}")
    enrol(canasta, "H-other", area="VE-02-01-01")
    issued = run(canasta, lambda cards: use_cases.issue_cards_for_area(cards, ADMIN, "VE-01", label="C", reason="r"))
    again = run(canasta, lambda cards: use_cases.issue_cards_for_area(cards, ADMIN, "VE-01", label="C", reason="r"))
    assert (issued, again) == (5, 0)
    numbers = [job.card_number for job in jobs(canasta, area_code="VE-01")]
    assert len(set(numbers)) == 5
    assert jobs(canasta, area_code="VE-02") == []


def test_cards_signed_before_a_rotation_stay_valid_until_they_expire(canasta: Canasta) -> None:
    household = enrol(canasta, "H1")
    run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, household, label="C", reason="new"))
    [old_job] = jobs(canasta, household_id=household)
    run(canasta, lambda cards: use_cases.rotate_key(cards, ADMIN, purpose="card"))
    other = enrol(canasta, "H2", given="Ana")
    run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, other, label="C", reason="new"))
    [new_job] = jobs(canasta, household_id=other)
    check = verifier(canasta)
    now = canasta.clock.now()
    old, new = check.verify(old_job.qr_text, now=now), check.verify(new_job.qr_text, now=now)
    assert old.is_valid
    assert new.is_valid
    assert old.key_id != new.key_id
    later = now + timedelta(days=3 * 365 + 1)
    assert check.verify(old_job.qr_text, now=later).refusal in (Refusal.EXPIRED, Refusal.RETIRED_KEY)


def test_lost_cards_are_refused_and_listed_but_the_household_can_be_reissued(canasta: Canasta) -> None:
    household = enrol(canasta, "H1")
    card = run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, household, label="C", reason="new"))
    [job] = jobs(canasta, household_id=household)
    run(canasta, lambda cards: use_cases.change_card_state(cards, ADMIN, card.card_number, CardState.ACTIVE,
                                                           reason="handed over"))  # fmt: skip
    run(canasta, lambda cards: use_cases.change_card_state(cards, ADMIN, card.card_number, CardState.LOST,
                                                           reason="reported lost"))  # fmt: skip
    assert verifier(canasta).verify(job.qr_text, now=canasta.clock.now()).refusal is Refusal.REVOKED
    with pytest.raises(ConflictError):
        run(canasta, lambda cards: use_cases.change_card_state(cards, ADMIN, card.card_number, CardState.ACTIVE,
                                                               reason="found"))  # fmt: skip
    replacement = run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, household, label="C", reason="lost"))
    assert replacement.card_number != card.card_number


def test_signed_lists_carry_keys_and_revocations(canasta: Canasta) -> None:
    household = enrol(canasta, "H1")
    card = run(canasta, lambda cards: use_cases.issue_card(cards, ADMIN, household, label="C", reason="new"))
    run(canasta, lambda cards: use_cases.change_card_state(cards, ADMIN, card.card_number, CardState.REVOKED,
                                                           reason="fraud"))  # fmt: skip
    trust = run(canasta, use_cases.export_trust_list)
    revocations = run(canasta, use_cases.export_revocation_list)
    with canasta.engine.connect() as connection:
        list_key = SqlCardStore(connection).active_key("list")
        card_key = SqlCardStore(connection).active_key("card")
    assert list_key is not None
    assert card_key is not None
    trust_list = read_trust_list(trust, bytes(list_key["public_key"]))
    assert [key.key_id.hex() for key in trust_list.keys] == [card_key["key_id"]]
    assert read_revocation_list(revocations, bytes(list_key["public_key"])).revoked == frozenset({card.card_number})
    second = run(canasta, use_cases.export_trust_list)
    assert read_trust_list(second, bytes(list_key["public_key"])).version == trust_list.version + 1


def test_cards_outside_the_actor_scope_look_missing(canasta: Canasta) -> None:
    household = enrol(canasta, "H1")
    with pytest.raises(NotFoundError):
        run(canasta, lambda cards: use_cases.issue_card(cards, ELSEWHERE, household, label="C", reason="new"))


def test_printed_cards_read_back_from_the_page(canasta: Canasta, tmp_path: Path) -> None:
    import pypdfium2
    import zxingcpp

    from canasta.adapters.pdf import PrintableCard, render_card_sheets

    for number in range(3):
        enrol(canasta, f"H{number}", given=["Ñuñez", "Łukasz", "Ștefan"][number])
    run(
        canasta, lambda cards: use_cases.issue_cards_for_area(cards, ADMIN, "VE-01", label="Canasta Básica", reason="r")
    )
    printed = jobs(canasta, area_code="VE-01")
    out = tmp_path / "cards.pdf"
    render_card_sheets(
        (PrintableCard(j.label, j.holder_name, j.card_number, j.expires_on, j.qr_text) for j in printed), out
    )
    page = pypdfium2.PdfDocument(out)[0].render(scale=300 / 72).to_pil()
    read = {result.text for result in zxingcpp.read_barcodes(page)}
    assert read == {job.qr_text for job in printed}
