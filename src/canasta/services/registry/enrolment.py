"""Enrolling households and people, and the field validation every write shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from canasta.domain.access import Actor, is_in_scope
from canasta.domain.audit import Action, categories_of
from canasta.domain.custom_fields import AppliesTo, parse_custom_values
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.household_rows import fold_name
from canasta.domain.registry import (
    AreaLevel,
    IdentifierKind,
    RecordStatus,
    Relationship,
    parse_assets,
    parse_birth_date,
    parse_currency,
    parse_identifier,
    parse_phone,
    parse_reference,
)
from canasta.services.ports import HouseholdCipher
from canasta.services.registry.context import Registry, audit_columns, household_in_scope, reason_given

__all__ = ["add_member", "attach_identifier", "enrol_household", "household_values", "person_values"]

SEALED_PERSON_FIELDS = ("phone", "health_needs")
_PLAIN_PERSON_FIELDS = (
    "sex", "relationship", "schooling", "employment", "wg_seeing", "wg_hearing", "wg_walking", "wg_cognition",
    "wg_self_care", "wg_communication",
)  # fmt: skip


#: fields a record always has: a correction may change them, never clear them (an explicit null is refused)
_REQUIRED_HOUSEHOLD_FIELDS = ("area_code", "monthly_income", "currency")
_REQUIRED_PERSON_FIELDS = ("given_name", "family_name", "birth_date", "sex", "relationship")


def _refuse_clearing(data: Mapping[str, Any], names: tuple[str, ...], prefix: str) -> None:
    for name in names:
        if name in data and data[name] is None:
            raise ValidationError("must not be empty", field=prefix + name, code="required")


def _plain(value: Any) -> Any:
    """Enum members as their stored value (``Sex.MALE`` -> 1, ``Relationship.HEAD`` -> ``"head"``)."""
    if isinstance(value, int):
        return int(value)
    return getattr(value, "value", value)


def household_values(data: Mapping[str, Any], registry: Registry, *, prefix: str = "") -> dict[str, Any]:
    """Validate the household fields present in ``data`` into column values."""
    _refuse_clearing(data, _REQUIRED_HOUSEHOLD_FIELDS, prefix)
    values: dict[str, Any] = {}
    if "area_code" in data:
        if registry.store.area_level(data["area_code"]) != AreaLevel.PARISH.value:
            raise ValidationError(
                "is not a known parish-level area code", field=prefix + "area_code", code="unknown_area"
            )
        values["area_code"] = data["area_code"]
    if "currency" in data:
        values["currency"] = parse_currency(data["currency"], field=prefix + "currency")
    if "assets" in data:
        values["assets"] = int(parse_assets(";".join(data["assets"] or ()), field=prefix + "assets"))
    if "custom" in data:
        values["custom"] = parse_custom_values(
            data["custom"] or {}, registry.definitions, applies_to=AppliesTo.HOUSEHOLD, prefix=prefix + "custom."
        )
    for name in ("address", "monthly_income", "dwelling_type", "tenure", "land_m2"):
        if name in data:
            values[name] = _plain(data[name])
    return values


def person_values(
    data: Mapping[str, Any], registry: Registry, *, prefix: str = ""
) -> tuple[dict[str, Any], dict[str, str | None], list[tuple[IdentifierKind, str]]]:
    """Validate person fields: column values, sensitive values to seal (None clears), identifiers to attach."""
    _refuse_clearing(data, _REQUIRED_PERSON_FIELDS, prefix)
    values: dict[str, Any] = {}
    sensitive: dict[str, str | None] = {}
    identifiers: list[tuple[IdentifierKind, str]] = []
    if "birth_date" in data:
        today = registry.clock.now().date()
        values["birth_date"] = parse_birth_date(data["birth_date"], today=today, field=prefix + "birth_date")
    for name in ("given_name", "family_name"):
        if name in data:
            text = " ".join(str(data[name] or "").split())
            if not text:
                raise ValidationError("must not be empty", field=prefix + name, code="required")
            values[name] = text
    if "custom" in data:
        values["custom"] = parse_custom_values(
            data["custom"] or {}, registry.definitions, applies_to=AppliesTo.PERSON, prefix=prefix + "custom."
        )
    for name in _PLAIN_PERSON_FIELDS:
        if name in data:
            values[name] = _plain(data[name])
    if data.get("national_id"):
        identifiers.append(parse_identifier("national_id", data["national_id"], field=prefix + "national_id"))
    for position, identifier in enumerate(data.get("identifiers") or ()):
        field = f"{prefix}identifiers.{position}"
        identifiers.append(parse_identifier(_plain(identifier["kind"]), identifier["value"], field=field))
    if len({kind for kind, _ in identifiers}) != len(identifiers):
        raise ValidationError("one identifier of each kind", field=prefix + "identifiers", code="duplicate_identifier")
    if "phone" in data:
        sensitive["phone"] = parse_phone(data["phone"], field=prefix + "phone") if data["phone"] else None
    if "health_needs" in data:
        text = (data["health_needs"] or "").strip()
        if len(text) > 500:
            raise ValidationError("must be at most 500 characters", field=prefix + "health_needs", code="too_long")
        sensitive["health_needs"] = text or None
    return values, sensitive, identifiers


def attach_identifier(
    registry: Registry,
    cipher: HouseholdCipher,
    person_id: UUID,
    kind: IdentifierKind,
    value: str,
    actor: Actor,
    *,
    field: str,
) -> None:
    """Seal and index an identifier for ``person_id``; one held by another person is a ConflictError."""
    index = registry.sealer.blind_index(kind.value, value)
    owner = registry.store.identifier_owner(kind.value, index)
    if owner is not None and owner != person_id:
        raise ConflictError(f"this {kind.value} is registered to another person", code="identifier_taken", field=field)
    if owner == person_id:
        return
    identifier_id = registry.new_id()
    registry.store.insert(
        "identifiers",
        {
            "id": identifier_id, "person_id": person_id, "kind": kind.value,
            "value_sealed": cipher.seal(identifier_id, "value", value), "blind_index": index,
            "created_at": registry.clock.now(), "created_by": actor.label,
        },
    )  # fmt: skip


def _insert_person(
    registry: Registry,
    household_id: UUID,
    cipher: HouseholdCipher,
    data: Mapping[str, Any],
    actor: Actor,
    reason: str,
    *,
    prefix: str,
) -> UUID:
    person_id = registry.new_id()
    values, sensitive, identifiers = person_values(data, registry, prefix=prefix)
    for required in ("given_name", "family_name", "birth_date", "sex", "relationship"):
        if required not in values:
            raise ValidationError("is required", field=prefix + required, code="required")
    reference = data.get("reference") or f"canasta:{person_id}"
    parse_reference(reference, field=prefix + "reference")
    if registry.store.person_reference_exists(reference):
        raise ConflictError(
            "a person with this reference exists already", code="duplicate_reference", field=prefix + "reference"
        )
    values.update(
        id=person_id, household_id=household_id, reference=reference,
        name_key=fold_name(f"{values['given_name']} {values['family_name']}"), import_id=None,
        **audit_columns(registry.clock.now(), actor, reason),
    )  # fmt: skip
    for name in SEALED_PERSON_FIELDS:
        plain = sensitive.get(name)
        values[f"{name}_sealed"] = cipher.seal(person_id, name, plain) if plain else None
    values.setdefault("custom", None)
    registry.store.insert("people", values)
    for kind, value in identifiers:
        attach_identifier(registry, cipher, person_id, kind, value, actor, field=prefix + "identifiers")
    return person_id


def _relationship(member: Mapping[str, Any]) -> str:
    return str(_plain(member.get("relationship")))


def enrol_household(registry: Registry, actor: Actor, data: Mapping[str, Any], *, reason: str = "enrolment") -> UUID:
    """Enrol a household with its members (exactly one head). Returns the household id."""
    household_id = registry.new_id()
    values = household_values(data, registry)
    for required in ("area_code", "monthly_income", "currency"):
        if required not in values:
            raise ValidationError("is required", field=required, code="required")
    if not is_in_scope(values["area_code"], actor.area_codes):
        raise NotFoundError("no such area in your scope", field="area_code")
    members = list(data.get("members") or ())
    if sum(_relationship(member) == Relationship.HEAD for member in members) != 1:
        raise ValidationError(
            "a household has exactly one member with relationship head", field="members", code="head_count"
        )
    reference = data.get("reference") or f"canasta:{household_id}"
    parse_reference(reference, field="reference")
    if registry.store.household_by_reference(reference) is not None:
        raise ConflictError(
            "a household with this reference exists already", code="duplicate_reference", field="reference"
        )
    cipher, wrapped = registry.sealer.new_household_key(household_id)
    values.update(id=household_id, reference=reference, data_key=wrapped, import_id=None,
                  **audit_columns(registry.clock.now(), actor, reason))  # fmt: skip
    for optional in ("address", "dwelling_type", "tenure", "land_m2", "custom"):
        values.setdefault(optional, None)
    values.setdefault("assets", 0)
    registry.store.insert("households", values)
    written = set(values)
    for position, member in enumerate(members):
        _insert_person(registry, household_id, cipher, member, actor, reason, prefix=f"members.{position}.")
        written.update(member)
    registry.access.record(Action.WRITE, household_id, categories_of(written))
    return household_id


def add_member(registry: Registry, actor: Actor, household_id: UUID, data: Mapping[str, Any], *, reason: str) -> UUID:
    """Add a person to a household; a second head is refused."""
    household = household_in_scope(registry, household_id, actor)
    if _relationship(data) == Relationship.HEAD and any(
        member["relationship"] == Relationship.HEAD and member["status"] == RecordStatus.ACTIVE
        for member in registry.store.members(household_id)
    ):
        raise ValidationError("the household has its head already", field="relationship", code="head_count")
    person_id = _insert_person(
        registry, household_id, registry.cipher(household), data, actor, reason_given(reason), prefix=""
    )
    registry.access.record(Action.WRITE, household_id, categories_of(data), person_id=person_id)
    return person_id
