"""What every record-path use case shares: the storage port, the collaborators, scope and reason checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor, is_in_scope
from canasta.domain.custom_fields import CustomFieldDefinition
from canasta.domain.errors import NotFoundError, ValidationError
from canasta.domain.registry import RecordStatus
from canasta.services.audit import AccessRecorder
from canasta.services.ports import Clock, HouseholdCipher, Sealer

__all__ = ["Registry", "RegistryStore", "Row", "audit_columns", "household_in_scope", "person_in_scope", "reason_given"]

Row = Mapping[str, Any]


class RegistryStore(Protocol):
    """What the record path needs from storage (``adapters.db.registry_store.SqlRegistryStore``)."""

    def area_level(self, code: str) -> str | None: ...
    def insert(self, table: str, values: Mapping[str, Any]) -> None: ...
    def household(self, household_id: UUID) -> Row | None: ...
    def household_by_reference(self, reference: str) -> Row | None: ...
    def person(self, person_id: UUID) -> Row | None: ...
    def person_reference_exists(self, reference: str) -> bool: ...
    def members(self, household_id: UUID) -> list[Row]: ...
    def identifiers_of(self, person_ids: Sequence[UUID]) -> list[Row]: ...
    def identifier_owner(self, kind: str, blind_index: bytes) -> UUID | None: ...
    def replace(self, table: str, record_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool: ...
    def record_version(
        self, *, version_id: UUID, entity: str, row: Row, replaced_at: datetime, replaced_by: str, reason: str
    ) -> None: ...
    def versions(self, entity: str, entity_id: UUID) -> list[Row]: ...
    def consents_of(self, household_id: UUID) -> list[Row]: ...
    def withdraw_consent(self, consent_id: UUID, *, at: datetime, by: str) -> bool: ...
    def search_by_identifier(self, kind: str, blind_index: bytes, scopes: Sequence[str]) -> list[Row]: ...
    def search_by_name(
        self,
        *,
        name_words: Sequence[str],
        birth_date: date,
        area_code: str,
        scopes: Sequence[str],
        limit: int,
        offset: int,
    ) -> list[Row]: ...


class Registry:
    """The collaborators every record-path use case needs, bundled once per request.

    ``access`` records every read and write of personal data in the same transaction (DESIGN section 8): a use
    case that opens a record calls it before returning anything.
    """

    def __init__(
        self,
        store: RegistryStore,
        *,
        sealer: Sealer,
        clock: Clock,
        new_ids: Callable[[int], list[UUID]],
        definitions: Mapping[str, CustomFieldDefinition],
        access: AccessRecorder,
    ) -> None:
        self.store = store
        self.access = access
        self.sealer = sealer
        self.clock = clock
        self.new_ids = new_ids
        self.definitions = definitions

    def new_id(self) -> UUID:
        return self.new_ids(1)[0]

    def cipher(self, household: Row) -> HouseholdCipher:
        """The cipher of a stored household's sealed fields."""
        return self.sealer.household_cipher(household["id"], bytes(household["data_key"]))


def reason_given(reason: str) -> str:
    """A change's reason, stripped; 3-500 characters or :class:`ValidationError`."""
    reason = reason.strip()
    if len(reason) < 3 or len(reason) > 500:
        raise ValidationError("say why, in 3-500 characters", field="reason", code="reason_required")
    return reason


def audit_columns(now: datetime, actor: Actor, reason: str) -> dict[str, Any]:
    """The columns of a first version: who made it, when and why."""
    return {
        "version": 1, "created_at": now, "created_by": actor.label, "updated_at": now, "updated_by": actor.label,
        "change_reason": reason, "status": RecordStatus.ACTIVE.value, "status_reason": None,
    }  # fmt: skip


def household_in_scope(registry: Registry, household_id: UUID, actor: Actor) -> Row:
    """The household, or :class:`NotFoundError` when it does not exist or lies outside the actor's areas."""
    row = registry.store.household(household_id)
    if row is None or not is_in_scope(row["area_code"], actor.area_codes):
        raise NotFoundError("no such household", household_id=str(household_id))
    return row


def person_in_scope(registry: Registry, person_id: UUID, actor: Actor) -> tuple[Row, Row]:
    """The person and their household, or :class:`NotFoundError` (missing and out of scope look the same)."""
    person = registry.store.person(person_id)
    if person is None:
        raise NotFoundError("no such person", person_id=str(person_id))
    try:
        household = household_in_scope(registry, person["household_id"], actor)
    except NotFoundError:
        raise NotFoundError("no such person", person_id=str(person_id)) from None
    return person, household
