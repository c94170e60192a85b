"""What goes wrong with a rule, and where.

Every error names the rule's text position (``offset`` from 0, ``line`` and ``column`` from 1) and is a
:class:`~canasta.domain.errors.ValidationError` with ``field="rule"``, so entrypoints report it like any other bad
input::

    ValidationError
    ├── RuleError                   code "invalid_rule": the rule cannot be used (base of the three below)
    │   ├── RuleSyntaxError         code "rule_syntax": what was expected and what was found instead
    │   ├── RuleTypeError           code "rule_type": operands of the wrong type, a wrong call, a wrong result
    │   └── RuleEvaluationError     code "rule_evaluation": a fact missing at evaluation, a number out of range
    ├── UnknownFactError            code "unknown_fact" (canasta.domain.facts): names the closest known facts
    └── ProhibitedCategoryError
        └── ProhibitedNameInRuleError   a name or text in the rule refers to a prohibited category
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canasta.domain.errors import ProhibitedCategoryError, ValidationError

__all__ = [
    "Position",
    "ProhibitedNameInRuleError",
    "RuleError",
    "RuleEvaluationError",
    "RuleSyntaxError",
    "RuleTypeError",
    "position_in",
]


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a rule's text: ``offset`` counts characters from 0; ``line`` and ``column`` count from 1."""

    offset: int
    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"

    def as_fields(self) -> dict[str, int]:
        """The structured fields an error carries."""
        return {"offset": self.offset, "line": self.line, "column": self.column}


def position_in(source: str, offset: int) -> Position:
    """The :class:`Position` of ``offset`` in ``source``."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return Position(offset, line, column)


class RuleError(ValidationError):
    """A rule that cannot be used; ``position`` says where."""

    code = "invalid_rule"

    def __init__(self, detail: str, *, position: Position, **fields: Any) -> None:
        super().__init__(
            f"{position}: {detail}", field="rule", offset=position.offset, line=position.line, column=position.column,
            **fields,
        )  # fmt: skip
        self.position = position


class RuleSyntaxError(RuleError):
    """The text is not a rule: ``expected`` says what would have fitted, ``found`` what was there."""

    code = "rule_syntax"

    def __init__(self, *, position: Position, expected: str, found: str, hint: str = "") -> None:
        detail = f"expected {expected}, found {found}" + (f" ({hint})" if hint else "")
        super().__init__(detail, position=position, expected=expected, found=found)
        self.expected = expected
        self.found = found


class RuleTypeError(RuleError):
    """The rule is well formed but mixes types (``members + true``), calls a function wrongly, or has the wrong
    result type for its use."""

    code = "rule_type"


class RuleEvaluationError(RuleError):
    """Evaluation could not finish: a needed fact was not given, or a number left the 64-bit / double range."""

    code = "rule_evaluation"


class ProhibitedNameInRuleError(ProhibitedCategoryError):
    """A rule names (or quotes) something in a prohibited category; ``position`` says where."""

    def __init__(self, *, category: str, name: str, position: Position) -> None:
        super().__init__(category=category, name=name, where="name in a rule", field="rule")
        self.position = position
        self.fields.update(position.as_fields())
        self.detail = f"{position}: {self.detail}"
        self.args = (self.detail,)
