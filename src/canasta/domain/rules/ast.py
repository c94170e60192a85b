"""The rule tree. The parser builds it untyped; the type checker returns a copy with every node's ``type`` set.

Every node knows the span of text it came from (``start``/``end`` offsets into the rule), so an explanation can
quote the clause as the author wrote it. ``and``/``or`` chains are kept flat (:class:`Logical` has any number of
operands) so that ``a and b and c`` explains as one clause with three parts, not as nested pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from canasta.domain.facts import ValueType

__all__ = [
    "Binary",
    "BinaryOperator",
    "Call",
    "Expression",
    "FactReference",
    "ListLiteral",
    "Literal",
    "Logical",
    "LogicalOperator",
    "Negate",
    "Not",
    "children",
]


class BinaryOperator(StrEnum):
    """A two-operand operator, spelled as in the language."""

    EQ = "=="  # equal (numbers, text, true/false)
    NE = "!="  # not equal
    LT = "<"  # less than (numbers)
    LE = "<="  # less than or equal (numbers)
    GT = ">"  # greater than (numbers)
    GE = ">="  # greater than or equal (numbers)
    IN = "in"  # the left value is one of the list literal's items
    ADD = "+"  # sum
    SUBTRACT = "-"  # difference
    MULTIPLY = "*"  # product
    DIVIDE = "/"  # quotient, always decimal; x / 0 is 0

    @property
    def is_comparison(self) -> bool:
        """Whether the operator yields true or false."""
        return self in _COMPARISONS


_COMPARISONS = frozenset(
    {BinaryOperator.EQ, BinaryOperator.NE, BinaryOperator.LT, BinaryOperator.LE, BinaryOperator.GT,
     BinaryOperator.GE, BinaryOperator.IN}
)  # fmt: skip


class LogicalOperator(StrEnum):
    """How a :class:`Logical` node joins its operands."""

    AND = "and"  # every operand is true
    OR = "or"  # at least one operand is true


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, text or true/false written in the rule. Negative numbers are folded into one literal."""

    value: int | float | bool | str
    start: int
    end: int
    type: ValueType | None = None


@dataclass(frozen=True, slots=True)
class ListLiteral:
    """``[a, b, c]``: only as the right side of ``in``; ``type`` is the type its items are compared as."""

    items: tuple[Literal, ...]
    start: int
    end: int
    type: ValueType | None = None


@dataclass(frozen=True, slots=True)
class FactReference:
    """A fact, by name."""

    name: str
    start: int
    end: int
    type: ValueType | None = None


@dataclass(frozen=True, slots=True)
class Not:
    """``not operand`` (also ``!operand``)."""

    operand: Expression
    start: int
    end: int
    type: ValueType | None = None


@dataclass(frozen=True, slots=True)
class Negate:
    """``-operand`` where the operand is not a number literal."""

    operand: Expression
    start: int
    end: int
    type: ValueType | None = None


@dataclass(frozen=True, slots=True)
class Logical:
    """``a and b and ...`` or ``a or b or ...``: two or more operands."""

    operator: LogicalOperator
    operands: tuple[Expression, ...]
    start: int
    end: int
    type: ValueType | None = None


@dataclass(frozen=True, slots=True)
class Binary:
    """A comparison or an arithmetic operation."""

    operator: BinaryOperator
    left: Expression
    right: Expression
    start: int
    end: int
    type: ValueType | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """``function(arguments...)``: one of the functions the type checker knows."""

    function: str
    arguments: tuple[Expression, ...]
    start: int
    end: int
    type: ValueType | None = None


Expression = Literal | ListLiteral | FactReference | Not | Negate | Logical | Binary | Call


def children(node: Expression) -> tuple[Expression, ...]:
    """The node's direct sub-expressions, in the order they were written."""
    if isinstance(node, Not | Negate):
        return (node.operand,)
    if isinstance(node, Logical):
        return node.operands
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.arguments
    if isinstance(node, ListLiteral):
        return node.items
    return ()
