"""Reading the registry: one household or person with sealed fields opened, earlier versions, and search."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from canasta.domain.access import Actor
from canasta.domain.audit import RECORD_CATEGORIES, Action, Category
from canasta.domain.errors import ValidationError
from canasta.domain.household_rows import fold_name
from canasta.domain.registry import IdentifierKind, asset_names, parse_identifier
from canasta.services.ports import HouseholdCipher
from canasta.services.registry.context import Registry, Row, household_in_scope, person_in_scope
from canasta.services.registry.enrolment import SEALED_PERSON_FIELDS

__all__ = ["read_household", "read_person", "read_versions", "search_people"]

_PERSON_FIELDS = (
    "id", "household_id", "reference", "given_name", "family_name", "birth_date", "sex", "relationship",
    "wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_self_care", "wg_communication", "schooling",
    "employment", "custom", "status", "status_reason", "version", "created_at", "updated_at", "updated_by",
)  # fmt: skip
_HIDDEN_IN_VERSIONS = frozenset({"data_key", "phone_sealed", "health_needs_sealed"})


def _person_public(row: Row, cipher: HouseholdCipher, identifiers: Sequence[Row]) -> dict[str, Any]:
    public = {key: row[key] for key in _PERSON_FIELDS}
    for name in SEALED_PERSON_FIELDS:
        sealed = row[f"{name}_sealed"]
        public[name] = cipher.open(row["id"], name, bytes(sealed)) if sealed else None
    held = [
        {"kind": identifier["kind"], "value": cipher.open(identifier["id"], "value", bytes(identifier["value_sealed"]))}
        for identifier in identifiers
        if identifier["person_id"] == row["id"]
    ]
    public["identifiers"] = held
    public["national_id"] = next((item["value"] for item in held if item["kind"] == "national_id"), None)
    return public


def _consent_public(row: Row) -> dict[str, Any]:
    keys = ("id", "person_id", "purpose", "given_at", "given_by", "withdrawn_at", "withdrawn_by")
    return {key: row[key] for key in keys}


def read_household(registry: Registry, actor: Actor, household_id: UUID) -> dict[str, Any]:
    """The household with its members and consents, sealed fields opened; NotFoundError outside scope."""
    row = household_in_scope(registry, household_id, actor)
    registry.access.record(Action.READ, household_id, (*RECORD_CATEGORIES, Category.CONSENT))
    cipher = registry.cipher(row)
    members = registry.store.members(household_id)
    identifiers = registry.store.identifiers_of([member["id"] for member in members])
    public = {key: value for key, value in row.items() if key not in ("data_key", "import_id", "assets")}
    public["assets"] = asset_names(row["assets"])
    public["members"] = [_person_public(member, cipher, identifiers) for member in members]
    public["consents"] = [_consent_public(consent) for consent in registry.store.consents_of(household_id)]
    return public


def read_person(registry: Registry, actor: Actor, person_id: UUID) -> dict[str, Any]:
    """One person, sealed fields opened."""
    row, household = person_in_scope(registry, person_id, actor)
    registry.access.record(Action.READ, household["id"], RECORD_CATEGORIES, person_id=person_id)
    return _person_public(row, registry.cipher(household), registry.store.identifiers_of([person_id]))


def read_versions(registry: Registry, actor: Actor, entity: str, record_id: UUID) -> list[dict[str, Any]]:
    """Earlier versions of a record: who replaced each, when and why (sealed values are left out)."""
    categories = (Category.HISTORY, *RECORD_CATEGORIES)
    if entity == "households":
        household_in_scope(registry, record_id, actor)
        registry.access.record(Action.READ, record_id, categories)
    else:
        _, household = person_in_scope(registry, record_id, actor)
        registry.access.record(Action.READ, household["id"], categories, person_id=record_id)
    return [
        {
            "version": row["version"],
            "replaced_at": row["replaced_at"],
            "replaced_by": row["replaced_by"],
            "reason": row["reason"],
            "data": {key: value for key, value in row["data"].items() if key not in _HIDDEN_IN_VERSIONS},
        }
        for row in registry.store.versions(entity, record_id)
    ]


def search_people(
    registry: Registry,
    actor: Actor,
    *,
    identifier: str | None = None,
    identifier_kind: str = IdentifierKind.NATIONAL_ID.value,
    name: str | None = None,
    birth_date: date | None = None,
    area_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Find people by an exact identifier, or by name and birth date within an area. Nobody can list everyone.

    Everyone found is told: each result is an access-log entry of their household (action ``search``).
    """
    registry.access.check_quota()
    if identifier:
        kind, value = parse_identifier(identifier_kind, identifier, field="identifier")
        index = registry.sealer.blind_index(kind.value, value)
        rows = registry.store.search_by_identifier(kind.value, index, actor.area_codes)
    else:
        if not (name and birth_date and area_code):
            raise ValidationError(
                "search needs an identifier, or name with birth_date and area_code",
                field="query",
                code="search_too_broad",
            )
        words = [word for word in fold_name(name).split() if len(word) >= 2]
        if not words:
            raise ValidationError(
                "give at least one name of two or more letters", field="name", code="search_too_broad"
            )
        rows = registry.store.search_by_name(
            name_words=words, birth_date=birth_date, area_code=area_code, scopes=actor.area_codes,
            limit=limit, offset=offset,
        )  # fmt: skip
    keys = ("id", "household_id", "given_name", "family_name", "birth_date", "area_code", "status")
    found = [{key: row[key] for key in keys} for row in rows]
    categories = (Category.IDENTITY, Category.IDENTIFIERS) if identifier else (Category.IDENTITY,)
    registry.access.record_many(Action.SEARCH, [(item["household_id"], item["id"]) for item in found], categories)
    return found
