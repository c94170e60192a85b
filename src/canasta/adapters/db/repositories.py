"""Small repositories over Core: areas, custom field definitions, the import journal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, Engine, insert, select, update

from canasta.adapters.db.tables import areas, custom_field_definitions, imports
from canasta.domain.custom_fields import AppliesTo, CustomFieldDefinition, CustomFieldType
from canasta.domain.errors import ConflictError, ValidationError
from canasta.domain.privacy import refuse_prohibited
from canasta.domain.registry import AREA_PARENT_LEVEL, AreaLevel

__all__ = [
    "SqlImportJournal",
    "add_custom_field",
    "load_areas",
    "load_custom_fields",
    "parish_codes",
]


class SqlImportJournal:
    """The ``imports`` table: one row per run, written in its own short transactions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self, import_id: UUID, *, source_name: str, sha256: str, actor: str, at: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                insert(imports).values(
                    id=import_id, source_name=source_name[:255], sha256=sha256, started_at=at, started_by=actor,
                    status="running", rows_read=0, rows_imported=0, rows_already_present=0, rows_rejected=0,
                )
            )  # fmt: skip

    def finish(self, import_id: UUID, *, status: str, counts: dict[str, int], at: datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(imports).where(imports.c.id == import_id).values(status=status, finished_at=at, **counts)
            )


def parish_codes(connection: Connection) -> frozenset[str]:
    """Codes of the lowest-level areas, where households live."""
    rows = connection.execute(select(areas.c.code).where(areas.c.level == AreaLevel.PARISH.value))
    return frozenset(row[0] for row in rows)


def load_areas(connection: Connection, rows: Iterable[tuple[int, Sequence[str]]]) -> int:
    """Add or rename areas from ``(line, [code, name, level, parent_code])`` rows; parents before children.

    Raises :class:`ValidationError` naming the line and column; the caller's transaction then writes nothing.
    """
    known = {row.code: AreaLevel(row.level) for row in connection.execute(select(areas.c.code, areas.c.level))}
    count = 0
    for line, fields in rows:
        if len(fields) != 4:
            raise ValidationError(f"line {line}: expected code,name,level,parent_code", field="row", row=line)
        code, name, level_text, parent = (value.strip() for value in fields)
        if not code or len(code) > 32:
            raise ValidationError(f"line {line}: code must be 1-32 characters", field="code", row=line)
        if not name or len(name) > 120:
            raise ValidationError(f"line {line}: name must be 1-120 characters", field="name", row=line)
        try:
            level = AreaLevel(level_text)
        except ValueError:
            raise ValidationError(
                f"line {line}: level must be state, municipality or parish", field="level", row=line
            ) from None
        expected_parent = AREA_PARENT_LEVEL[level]
        if expected_parent is None and parent:
            raise ValidationError(f"line {line}: a state has no parent", field="parent_code", row=line)
        if expected_parent is not None and known.get(parent) is not expected_parent:
            raise ValidationError(
                f"line {line}: parent_code must be a known {expected_parent.value} listed earlier",
                field="parent_code",
                row=line,
            )
        if code in known:
            if known[code] is not level:
                raise ConflictError(f"line {line}: area {code} exists with another level", code="area_conflict")
            connection.execute(update(areas).where(areas.c.code == code).values(name=name))
        else:
            connection.execute(
                insert(areas).values(code=code, name=name, level=level.value, parent_code=parent or None)
            )
            known[code] = level
        count += 1
    return count


def load_custom_fields(connection: Connection) -> dict[str, CustomFieldDefinition]:
    """Every declared custom field, by name."""
    definitions: dict[str, CustomFieldDefinition] = {}
    for row in connection.execute(select(custom_field_definitions)):
        # Definitions were checked when added; the check runs again so none can slip in by another door.
        refuse_prohibited([row.name], where="custom field")
        definitions[row.name] = CustomFieldDefinition(
            name=row.name,
            applies_to=AppliesTo(row.applies_to),
            type=CustomFieldType(row.type),
            purpose=row.purpose,
            choices=tuple(row.choices or ()),
            is_required=row.is_required,
        )
    return definitions


def add_custom_field(connection: Connection, definition: CustomFieldDefinition, *, actor: str, at: datetime) -> None:
    """Declare a custom field; a name in use is a :class:`ConflictError`."""
    exists = connection.execute(
        select(custom_field_definitions.c.name).where(custom_field_definitions.c.name == definition.name)
    ).first()
    if exists is not None:
        raise ConflictError(f"custom field {definition.name!r} exists already", code="custom_field_exists")
    connection.execute(
        insert(custom_field_definitions).values(
            name=definition.name, applies_to=definition.applies_to.value, type=definition.type.value,
            purpose=definition.purpose, choices=list(definition.choices) or None,
            is_required=definition.is_required, created_at=at, created_by=actor,
        )
    )  # fmt: skip
