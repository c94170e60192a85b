"""Corrections and deactivations: each keeps the replaced version with who, when and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from canasta.domain.access import Actor, is_in_scope
from canasta.domain.audit import Action, categories_of
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.household_rows import fold_name
from canasta.domain.registry import RecordStatus, Relationship
from canasta.services.registry.context import Registry, Row, household_in_scope, person_in_scope, reason_given
from canasta.services.registry.enrolment import (
    SEALED_PERSON_FIELDS,
    attach_identifier,
    household_values,
    person_values,
)

__all__ = ["deactivate", "update_household", "update_person"]


def _replace(
    registry: Registry,
    actor: Actor,
    table: str,
    current: Row,
    expected_version: int,
    values: dict[str, Any],
    reason: str,
) -> None:
    """Apply ``values`` if ``expected_version`` is current, keeping the replaced row in ``record_versions``."""
    if current["version"] != expected_version:
        raise ConflictError(
            f"the record changed since you read it (you sent version {expected_version}, it is at "
            f"{current['version']}); read it again and repeat your change",
            code="stale_version",
            current_version=current["version"],
        )
    now = registry.clock.now()
    values = {**values, "updated_at": now, "updated_by": actor.label, "change_reason": reason}
    if not registry.store.replace(table, current["id"], expected_version, values):
        raise ConflictError("the record changed since you read it", code="stale_version")
    registry.store.record_version(
        version_id=registry.new_id(), entity=table, row=current, replaced_at=now, replaced_by=actor.label, reason=reason
    )
    household_id = current["id"] if table == "households" else current["household_id"]
    person_id = current["id"] if table == "people" else None
    registry.access.record(Action.WRITE, household_id, categories_of(values), person_id=person_id)


def update_household(
    registry: Registry,
    actor: Actor,
    household_id: UUID,
    expected_version: int,
    changes: Mapping[str, Any],
    *,
    reason: str,
) -> None:
    """Correct household fields; a stale ``expected_version`` is a :class:`ConflictError` (HTTP 409)."""
    current = household_in_scope(registry, household_id, actor)
    values = household_values(changes, registry)
    if "area_code" in values and not is_in_scope(values["area_code"], actor.area_codes):
        raise NotFoundError("no such area in your scope", field="area_code")
    _replace(registry, actor, "households", current, expected_version, values, reason_given(reason))


def update_person(
    registry: Registry,
    actor: Actor,
    person_id: UUID,
    expected_version: int,
    changes: Mapping[str, Any],
    *,
    reason: str,
) -> None:
    """Correct a person's fields, sealed ones and identifiers included."""
    current, household = person_in_scope(registry, person_id, actor)
    values, sensitive, identifiers = person_values(changes, registry)
    reason = reason_given(reason)
    if values.get("relationship") == Relationship.HEAD and current["relationship"] != Relationship.HEAD:
        raise ValidationError(
            "the household has its head already; change the head's relationship first",
            field="relationship",
            code="head_count",
        )
    cipher = registry.cipher(household)
    if "given_name" in values or "family_name" in values:
        given = values.get("given_name", current["given_name"])
        family = values.get("family_name", current["family_name"])
        values["name_key"] = fold_name(f"{given} {family}")
    for name in SEALED_PERSON_FIELDS:
        if name in sensitive:
            plain = sensitive[name]
            values[f"{name}_sealed"] = cipher.seal(person_id, name, plain) if plain else None
    _replace(registry, actor, "people", current, expected_version, values, reason)
    held = {row["kind"] for row in registry.store.identifiers_of([person_id])}
    for kind, value in identifiers:
        if kind.value in held:
            # Identifiers are evidence: a wrong one is corrected by deactivating the person record it belongs
            # to or by the grievance process, never overwritten in place.
            raise ConflictError(
                f"the person holds a {kind.value} already; it cannot be replaced by a correction",
                code="identifier_exists",
                field="identifiers",
            )
        attach_identifier(registry, cipher, person_id, kind, value, actor, field="identifiers")


def deactivate(
    registry: Registry, actor: Actor, entity: str, record_id: UUID, expected_version: int, *, reason: str
) -> None:
    """Deactivate a household (with its members) or a person, with a reason; nothing is deleted."""
    reason = reason_given(reason)
    values = {"status": RecordStatus.INACTIVE.value, "status_reason": reason}
    if entity == "households":
        current = household_in_scope(registry, record_id, actor)
        _replace(registry, actor, "households", current, expected_version, values, reason)
        for member in registry.store.members(record_id):
            if member["status"] == RecordStatus.ACTIVE:
                _replace(registry, actor, "people", member, member["version"], values, reason)
        return
    person, _ = person_in_scope(registry, record_id, actor)
    _replace(registry, actor, "people", person, expected_version, values, reason)
