"""Consent records: a household's (or a member's) consent to a stated purpose, given and withdrawn by whom."""

from __future__ import annotations

import re
from uuid import UUID

from canasta.domain.access import Actor
from canasta.domain.audit import Action, Category
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.privacy import refuse_prohibited
from canasta.services.registry.context import Registry, household_in_scope

__all__ = ["record_consent", "withdraw_consent"]

_PURPOSE = re.compile(r"[a-z][a-z0-9_:.-]{2,63}")


def record_consent(
    registry: Registry, actor: Actor, household_id: UUID, *, purpose: str, person_id: UUID | None = None
) -> UUID:
    """Record consent to ``purpose`` (e.g. ``registration``, ``notifications``), for the household or one member."""
    household_in_scope(registry, household_id, actor)
    refuse_prohibited([purpose], where="consent purpose")
    if _PURPOSE.fullmatch(purpose) is None:
        raise ValidationError("must be 3-64 characters: a-z, 0-9 and _ : . -", field="purpose")
    if person_id is not None:
        person = registry.store.person(person_id)
        if person is None or person["household_id"] != household_id:
            raise NotFoundError("no such member of this household", field="person_id")
    consent_id = registry.new_id()
    registry.store.insert(
        "consents",
        {
            "id": consent_id, "household_id": household_id, "person_id": person_id, "purpose": purpose,
            "given_at": registry.clock.now(), "given_by": actor.label, "withdrawn_at": None, "withdrawn_by": None,
        },
    )  # fmt: skip
    registry.access.record(Action.WRITE, household_id, (Category.CONSENT,), person_id=person_id)
    return consent_id


def withdraw_consent(registry: Registry, actor: Actor, household_id: UUID, consent_id: UUID) -> None:
    """Withdraw a consent (kept, marked withdrawn with who and when); withdrawing twice is a ConflictError."""
    household_in_scope(registry, household_id, actor)
    if not any(row["id"] == consent_id for row in registry.store.consents_of(household_id)):
        raise NotFoundError("no such consent", field="consent_id")
    if not registry.store.withdraw_consent(consent_id, at=registry.clock.now(), by=actor.label):
        raise ConflictError("the consent was withdrawn already", code="consent_withdrawn")
    registry.access.record(Action.WRITE, household_id, (Category.CONSENT,))
