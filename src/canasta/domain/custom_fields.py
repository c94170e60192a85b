"""Custom fields: extra facts a deployment declares, each with a type and a stated purpose.

A definition's name is checked against the prohibited categories (DESIGN section 1), so no deployment can add
a "party" or "religion" field; values are checked against the declared type on every door.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from canasta.domain.errors import ValidationError
from canasta.domain.privacy import refuse_prohibited

__all__ = [
    "AppliesTo",
    "CustomFieldDefinition",
    "CustomFieldType",
    "define_custom_field",
    "parse_custom_values",
]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
CustomValue = str | int | bool | None


class CustomFieldType(StrEnum):
    """What a custom field holds."""

    TEXT = "text"  # free text, at most 200 characters
    INTEGER = "integer"  # whole number
    BOOLEAN = "boolean"  # true/false (CSV: true, false, 1, 0, yes, no, si, sí, no)
    DATE = "date"  # YYYY-MM-DD
    CHOICE = "choice"  # one of the declared choices


class AppliesTo(StrEnum):
    """Whether a custom field describes a household or a person."""

    HOUSEHOLD = "household"
    PERSON = "person"


@dataclass(frozen=True, slots=True)
class CustomFieldDefinition:
    """A declared custom field."""

    name: str
    applies_to: AppliesTo
    type: CustomFieldType
    purpose: str
    choices: tuple[str, ...] = ()
    is_required: bool = False

    def parse(self, raw: object, *, field: str) -> CustomValue:
        """The typed value of ``raw`` (text from a CSV, or JSON from the API); None when empty."""
        if raw is None or raw == "":
            if self.is_required:
                raise ValidationError("is required", field=field, code="required")
            return None
        kind = self.type
        if kind is CustomFieldType.TEXT:
            if not isinstance(raw, str) or len(raw) > 200:
                raise ValidationError("must be text of at most 200 characters", field=field, code="invalid_text")
            return raw
        if kind is CustomFieldType.INTEGER:
            if isinstance(raw, bool):
                raise ValidationError("must be a whole number", field=field, code="invalid_integer")
            try:
                return int(str(raw).strip())
            except ValueError:
                raise ValidationError("must be a whole number", field=field, code="invalid_integer") from None
        if kind is CustomFieldType.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "1", "yes", "si", "sí"):
                return True
            if text in ("false", "0", "no"):
                return False
            raise ValidationError("must be true or false", field=field, code="invalid_boolean")
        if kind is CustomFieldType.DATE:
            try:
                return date.fromisoformat(str(raw)).isoformat()
            except ValueError:
                raise ValidationError("must be a date written YYYY-MM-DD", field=field, code="invalid_date") from None
        if raw not in self.choices:
            raise ValidationError(f"must be one of: {', '.join(self.choices)}", field=field, code="invalid_choice")
        return str(raw)


def define_custom_field(
    name: str,
    *,
    applies_to: str,
    type: str,  # the field's type, as users call it
    purpose: str,
    choices: tuple[str, ...] = (),
    is_required: bool = False,
) -> CustomFieldDefinition:
    """Validate and build a definition. Raises ``ProhibitedCategoryError`` or ``ValidationError``."""
    refuse_prohibited([name, *choices], where="custom field")
    if _NAME.fullmatch(name) is None:
        raise ValidationError("must be 1-64 characters: a-z, 0-9 and _, starting with a letter", field="name")
    try:
        applies = AppliesTo(applies_to)
    except ValueError:
        raise ValidationError("must be household or person", field="applies_to", code="invalid_choice") from None
    try:
        kind = CustomFieldType(type)
    except ValueError:
        known = ", ".join(member.value for member in CustomFieldType)
        raise ValidationError(f"must be one of: {known}", field="type", code="invalid_choice") from None
    if len(purpose.strip()) < 10:
        raise ValidationError("say what the field is for, in at least 10 characters", field="purpose")
    if (kind is CustomFieldType.CHOICE) != bool(choices):
        raise ValidationError("choices are given exactly for choice fields", field="choices")
    return CustomFieldDefinition(name, applies, kind, purpose.strip(), tuple(choices), is_required)


def parse_custom_values(
    values: Mapping[str, object],
    definitions: Mapping[str, CustomFieldDefinition],
    *,
    applies_to: AppliesTo,
    prefix: str = "custom.",
) -> dict[str, CustomValue] | None:
    """Typed custom values for a household or person; unknown names are refused. None when there are none."""
    refuse_prohibited(values, where="custom field")
    parsed: dict[str, CustomValue] = {}
    for name, raw in values.items():
        definition = definitions.get(name)
        if definition is None or definition.applies_to is not applies_to:
            raise ValidationError(f"no {applies_to.value} custom field is declared with this name", field=prefix + name)
        value = definition.parse(raw, field=prefix + name)
        if value is not None:
            parsed[name] = value
    for name, definition in definitions.items():
        if definition.applies_to is applies_to and definition.is_required and name not in parsed:
            raise ValidationError("is required", field=prefix + name, code="required")
    return parsed or None
