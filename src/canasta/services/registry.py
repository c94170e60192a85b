"""Record-path use cases of the registry: enrol, add a member, correct, deactivate, read, search.

Each runs inside the caller's unit of work (one transaction). Corrections keep the replaced version with who,
when and why; nothing is deleted. Scope checks answer :class:`NotFoundError` for objects outside the actor's
areas, exactly as for objects that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor, is_in_scope
from canasta.domain.custom_fields import AppliesTo, CustomFieldDefinition, parse_custom_values
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.household_rows import fold_name
from canasta.domain.registry import (
    AreaLevel,
    RecordStatus,
    Relationship,
    asset_names,
    parse_assets,
    parse_birth_date,
    parse_currency,
    parse_national_id,
    parse_phone,
    parse_reference,
)
from canasta.services.ports import Clock, Sealer

__all__ = [
    "RegistryStore",
    "add_member",
    "deactivate",
    "enrol_household",
    "read_household",
    "read_versions",
    "search_people",
    "update_household",
    "update_person",
]

NATIONAL_ID = "national_id"
SEALED_PERSON_FIELDS = ("phone", "health_needs")
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
    """The collaborators every record-path use case needs, bundled once per request."""

    def __init__(
        self,
        store: RegistryStore,
        *,
        sealer: Sealer,
        clock: Clock,
        new_ids: Callable[[int], list[UUID]],
        definitions: Mapping[str, CustomFieldDefinition],
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.clock = clock
        self.new_ids = new_ids
        self.definitions = definitions

    def new_id(self) -> UUID:
        return self.new_ids(1)[0]


def _reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < 3 or len(reason) > 500:
        raise ValidationError("say why, in 3-500 characters", field="reason", code="reason_required")
    return reason


def _household_values(data: Mapping[str, Any], registry: Registry, *, prefix: str = "") -> dict[str, Any]:
    """Validate household fields (those present) into column values."""
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
            value = data[name]
            values[name] = value.value if hasattr(value, "value") else value
    return values


def _person_values(
    data: Mapping[str, Any], registry: Registry, person_id: UUID, *, prefix: str = ""
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Validate person fields into column values, and the plain sensitive values to seal (None: clear it)."""
    values: dict[str, Any] = {}
    sensitive: dict[str, str | None] = {}
    today = registry.clock.now().date()
    if "birth_date" in data:
        values["birth_date"] = parse_birth_date(data["birth_date"], today=today, field=prefix + "birth_date")
    for name in ("given_name", "family_name"):
        if name in data:
            text = " ".join(str(data[name]).split())
            if not text:
                raise ValidationError("must not be empty", field=prefix + name, code="required")
            values[name] = text
    if "custom" in data:
        values["custom"] = parse_custom_values(
            data["custom"] or {}, registry.definitions, applies_to=AppliesTo.PERSON, prefix=prefix + "custom."
        )
    for name in ("sex", "relationship", "schooling", "employment", "wg_seeing", "wg_hearing", "wg_walking",
                 "wg_cognition", "wg_self_care", "wg_communication"):  # fmt: skip
        if name in data:
            value = data[name]
            values[name] = value.value if hasattr(value, "value") and not isinstance(value, int) else value
            if hasattr(value, "value") and isinstance(value, int):
                values[name] = int(value)
    if "national_id" in data:
        raw = data["national_id"]
        sensitive[NATIONAL_ID] = parse_national_id(raw, field=prefix + "national_id") if raw else None
    if "phone" in data:
        sensitive["phone"] = parse_phone(data["phone"], field=prefix + "phone") if data["phone"] else None
    if "health_needs" in data:
        text = (data["health_needs"] or "").strip()
        if len(text) > 500:
            raise ValidationError("must be at most 500 characters", field=prefix + "health_needs", code="too_long")
        sensitive["health_needs"] = text or None
    _ = person_id
    return values, sensitive


def _audit(now: datetime, actor: Actor, reason: str) -> dict[str, Any]:
    return {
        "version": 1, "created_at": now, "created_by": actor.label, "updated_at": now, "updated_by": actor.label,
        "change_reason": reason, "status": RecordStatus.ACTIVE.value, "status_reason": None,
    }  # fmt: skip


def _insert_person(
    registry: Registry, household_id: UUID, cipher: Any, data: Mapping[str, Any], actor: Actor, reason: str, prefix: str
) -> UUID:
    person_id = registry.new_id()
    values, sensitive = _person_values(data, registry, person_id, prefix=prefix)
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
        name_key=fold_name(f"{values['given_name']} {values['family_name']}"),
        phone_sealed=cipher.seal(person_id, "phone", sensitive["phone"]) if sensitive.get("phone") else None,
        health_needs_sealed=(
            cipher.seal(person_id, "health_needs", sensitive["health_needs"]) if sensitive.get("health_needs") else None
        ),
        import_id=None, **_audit(registry.clock.now(), actor, reason),
    )  # fmt: skip
    values.setdefault("custom", None)
    registry.store.insert("people", values)
    if sensitive.get(NATIONAL_ID):
        _attach_national_id(registry, cipher, person_id, sensitive[NATIONAL_ID] or "", actor, prefix)
    return person_id


def _attach_national_id(
    registry: Registry, cipher: Any, person_id: UUID, value: str, actor: Actor, prefix: str
) -> None:
    index = registry.sealer.blind_index(NATIONAL_ID, value)
    owner = registry.store.identifier_owner(NATIONAL_ID, index)
    if owner is not None and owner != person_id:
        raise ConflictError(
            "this national_id is registered to another person", code="identifier_taken", field=prefix + "national_id"
        )
    if owner == person_id:
        return
    identifier_id = registry.new_id()
    registry.store.insert(
        "identifiers",
        {
            "id": identifier_id, "person_id": person_id, "kind": NATIONAL_ID,
            "value_sealed": cipher.seal(identifier_id, "value", value), "blind_index": index,
            "created_at": registry.clock.now(), "created_by": actor.label,
        },
    )  # fmt: skip


def enrol_household(registry: Registry, actor: Actor, data: Mapping[str, Any], *, reason: str = "enrolment") -> UUID:
    """Enrol a household with its members (exactly one head). Returns the household id."""
    household_id = registry.new_id()
    values = _household_values(data, registry)
    for required in ("area_code", "monthly_income", "currency"):
        if required not in values:
            raise ValidationError("is required", field=required, code="required")
    if not is_in_scope(values["area_code"], actor.area_codes):
        raise NotFoundError("no such area in your scope", field="area_code")
    members = list(data.get("members") or ())
    heads = [i for i, member in enumerate(members) if _relationship(member) == Relationship.HEAD]
    if len(heads) != 1:
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
                  **_audit(registry.clock.now(), actor, reason))  # fmt: skip
    for optional in ("address", "dwelling_type", "tenure", "land_m2", "custom"):
        values.setdefault(optional, None)
    values.setdefault("assets", 0)
    registry.store.insert("households", values)
    for position, member in enumerate(members):
        _insert_person(registry, household_id, cipher, member, actor, reason, prefix=f"members.{position}.")
    return household_id


def _relationship(member: Mapping[str, Any]) -> str:
    value = member.get("relationship")
    return str(getattr(value, "value", value))


def _household_in_scope(registry: Registry, household_id: UUID, actor: Actor) -> Row:
    row = registry.store.household(household_id)
    if row is None or not is_in_scope(row["area_code"], actor.area_codes):
        raise NotFoundError("no such household", household_id=str(household_id))
    return row


def add_member(registry: Registry, actor: Actor, household_id: UUID, data: Mapping[str, Any], *, reason: str) -> UUID:
    """Add a person to a household; a second head is refused."""
    household = _household_in_scope(registry, household_id, actor)
    if _relationship(data) == Relationship.HEAD and any(
        member["relationship"] == Relationship.HEAD and member["status"] == RecordStatus.ACTIVE
        for member in registry.store.members(household_id)
    ):
        raise ValidationError("the household has its head already", field="relationship", code="head_count")
    cipher = registry.sealer.household_cipher(household_id, household["data_key"])
    return _insert_person(registry, household_id, cipher, data, actor, _reason(reason), prefix="")


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
    current = _household_in_scope(registry, household_id, actor)
    values = _household_values(changes, registry)
    if "area_code" in values and not is_in_scope(values["area_code"], actor.area_codes):
        raise NotFoundError("no such area in your scope", field="area_code")
    _replace(registry, actor, "households", current, expected_version, values, _reason(reason))


def update_person(
    registry: Registry, actor: Actor, person_id: UUID, expected_version: int, changes: Mapping[str, Any], *, reason: str
) -> None:
    """Correct a person's fields, sealed ones included."""
    current = registry.store.person(person_id)
    if current is None:
        raise NotFoundError("no such person", person_id=str(person_id))
    household = _household_in_scope(registry, current["household_id"], actor)
    values, sensitive = _person_values(changes, registry, person_id)
    reason = _reason(reason)
    if values.get("relationship") == Relationship.HEAD and current["relationship"] != Relationship.HEAD:
        raise ValidationError("the household has its head already; change the head's relationship first",
                              field="relationship", code="head_count")  # fmt: skip
    cipher = registry.sealer.household_cipher(household["id"], household["data_key"])
    if "given_name" in values or "family_name" in values:
        given = values.get("given_name", current["given_name"])
        family = values.get("family_name", current["family_name"])
        values["name_key"] = fold_name(f"{given} {family}")
    for name in SEALED_PERSON_FIELDS:
        if name in sensitive:
            plain = sensitive[name]
            values[f"{name}_sealed"] = cipher.seal(person_id, name, plain) if plain else None
    _replace(registry, actor, "people", current, expected_version, values, reason)
    if sensitive.get(NATIONAL_ID):
        _attach_national_id(registry, cipher, person_id, sensitive[NATIONAL_ID] or "", actor, prefix="")


def deactivate(
    registry: Registry, actor: Actor, entity: str, record_id: UUID, expected_version: int, *, reason: str
) -> None:
    """Deactivate a household (with its members) or a person, with a reason; nothing is deleted."""
    reason = _reason(reason)
    values = {"status": RecordStatus.INACTIVE.value, "status_reason": reason}
    if entity == "households":
        current = _household_in_scope(registry, record_id, actor)
        _replace(registry, actor, "households", current, expected_version, values, reason)
        for member in registry.store.members(record_id):
            if member["status"] == RecordStatus.ACTIVE:
                _replace(registry, actor, "people", member, member["version"], values, reason)
        return
    person = registry.store.person(record_id)
    if person is None:
        raise NotFoundError("no such person", person_id=str(record_id))
    _household_in_scope(registry, person["household_id"], actor)
    _replace(registry, actor, "people", person, expected_version, values, reason)


def _replace(
    registry: Registry,
    actor: Actor,
    table: str,
    current: Row,
    expected_version: int,
    values: dict[str, Any],
    reason: str,
) -> None:
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


def _person_public(row: Row, cipher: Any, identifiers: Sequence[Row]) -> dict[str, Any]:
    public = {
        key: row[key]
        for key in (
            "id", "household_id", "reference", "given_name", "family_name", "birth_date", "sex", "relationship",
            "wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_self_care", "wg_communication",
            "schooling", "employment", "custom", "status", "status_reason", "version", "created_at", "updated_at",
            "updated_by",
        )
    }  # fmt: skip
    for name in SEALED_PERSON_FIELDS:
        sealed = row[f"{name}_sealed"]
        public[name] = cipher.open(row["id"], name, bytes(sealed)) if sealed else None
    public["national_id"] = next(
        (
            cipher.open(identifier["id"], "value", bytes(identifier["value_sealed"]))
            for identifier in identifiers
            if identifier["person_id"] == row["id"] and identifier["kind"] == NATIONAL_ID
        ),
        None,
    )
    return public


def read_household(registry: Registry, actor: Actor, household_id: UUID) -> dict[str, Any]:
    """The household with its members, sealed fields opened. Raises :class:`NotFoundError` outside scope."""
    row = _household_in_scope(registry, household_id, actor)
    cipher = registry.sealer.household_cipher(household_id, bytes(row["data_key"]))
    members = registry.store.members(household_id)
    identifiers = registry.store.identifiers_of([member["id"] for member in members])
    public = {key: value for key, value in row.items() if key not in ("data_key", "import_id", "assets")}
    public["assets"] = asset_names(row["assets"])
    public["members"] = [_person_public(member, cipher, identifiers) for member in members]
    return public


def read_person(registry: Registry, actor: Actor, person_id: UUID) -> dict[str, Any]:
    """One person, sealed fields opened."""
    row = registry.store.person(person_id)
    if row is None:
        raise NotFoundError("no such person", person_id=str(person_id))
    household = _household_in_scope(registry, row["household_id"], actor)
    cipher = registry.sealer.household_cipher(household["id"], bytes(household["data_key"]))
    return _person_public(row, cipher, registry.store.identifiers_of([person_id]))


def read_versions(registry: Registry, actor: Actor, entity: str, record_id: UUID) -> list[dict[str, Any]]:
    """Earlier versions of a record: who replaced each, when and why (values stay sealed where they were)."""
    if entity == "households":
        _household_in_scope(registry, record_id, actor)
    else:
        person = registry.store.person(record_id)
        if person is None:
            raise NotFoundError("no such person", person_id=str(record_id))
        _household_in_scope(registry, person["household_id"], actor)
    hidden = {"data_key", "phone_sealed", "health_needs_sealed"}
    return [
        {
            "version": row["version"],
            "replaced_at": row["replaced_at"],
            "replaced_by": row["replaced_by"],
            "reason": row["reason"],
            "data": {key: value for key, value in row["data"].items() if key not in hidden},
        }
        for row in registry.store.versions(entity, record_id)
    ]


def search_people(
    registry: Registry,
    actor: Actor,
    *,
    national_id: str | None = None,
    name: str | None = None,
    birth_date: date | None = None,
    area_code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Find people by exact national id, or by name and birth date within an area. Nobody can list everyone."""
    if national_id:
        value = parse_national_id(national_id)
        rows = registry.store.search_by_identifier(
            NATIONAL_ID, registry.sealer.blind_index(NATIONAL_ID, value), actor.area_codes
        )
    else:
        if not (name and birth_date and area_code):
            raise ValidationError(
                "search needs national_id, or name with birth_date and area_code",
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
    return [
        {
            "id": row["id"], "household_id": row["household_id"], "given_name": row["given_name"],
            "family_name": row["family_name"], "birth_date": row["birth_date"], "area_code": row["area_code"],
            "status": row["status"],
        }
        for row in rows
    ]  # fmt: skip
