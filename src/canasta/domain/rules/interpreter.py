"""Evaluating a checked rule for one household, with the reasons.

The interpreter computes exactly what the SQL compiler (``canasta.adapters.db.rule_sql``) computes for the same
facts, and a property test holds the two together on SQLite and PostgreSQL:

* whole numbers are 64-bit: a result outside that range is a :class:`RuleEvaluationError` here and an error in
  PostgreSQL (SQLite alone would turn it into a decimal; rules with such numbers are refused on both);
* a whole number meeting a decimal is converted to a decimal first (also in comparisons);
* ``x / y`` converts both to decimals and gives ``0.0`` when ``y`` is zero;
* every operand is evaluated, with no short-circuit, so the explanation covers every clause.

The explanation is a list of :class:`Clause` in reading order (outermost first, each with its depth): every
comparison, ``not``, ``and``/``or`` chain, and every true/false fact or call that stands as an operand of an
``and``/``or``, with the facts (and lookups such as ``has_asset('car')``) it used.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from canasta.domain.facts import Value, ValueType
from canasta.domain.rules.ast import (
    Binary,
    BinaryOperator,
    Call,
    Expression,
    FactReference,
    ListLiteral,
    Literal,
    Logical,
    LogicalOperator,
    Negate,
    Not,
)
from canasta.domain.rules.errors import RuleEvaluationError, position_in
from canasta.domain.rules.types import ASSET_NAMES, INT64_MAX, INT64_MIN, Rule

__all__ = ["Clause", "Evaluation", "evaluate_rule"]

_COMPARE: dict[BinaryOperator, Callable[[Value, Value], bool]] = {
    BinaryOperator.EQ: operator.eq,
    BinaryOperator.NE: operator.ne,
    BinaryOperator.LT: operator.lt,
    BinaryOperator.LE: operator.le,
    BinaryOperator.GT: operator.gt,
    BinaryOperator.GE: operator.ge,
}
_ARITHMETIC: dict[BinaryOperator, Callable[[float, float], float]] = {
    BinaryOperator.ADD: operator.add,
    BinaryOperator.SUBTRACT: operator.sub,
    BinaryOperator.MULTIPLY: operator.mul,
}


@dataclass(frozen=True, slots=True)
class Clause:
    """One condition of the rule as written (``text``), whether it held, and the values it used."""

    text: str
    passed: bool
    values: tuple[tuple[str, Value], ...]
    depth: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The rule's value for one household and the clauses that explain it."""

    value: Value
    clauses: tuple[Clause, ...]

    @property
    def passed(self) -> bool:
        """Whether a true/false rule held (False for any other value)."""
        return self.value is True

    def explain(self) -> list[str]:
        """One line per clause, indented by depth: ``passed: children_under_5 >= 1 (children_under_5 = 2)``."""
        lines = []
        for clause in self.clauses:
            used = ", ".join(f"{name} = {_show(value)}" for name, value in clause.values)
            outcome = "passed" if clause.passed else "failed"
            lines.append(f"{'  ' * clause.depth}{outcome}: {clause.text}" + (f" ({used})" if used else ""))
        return lines


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


class _Interpreter:
    def __init__(self, rule: Rule, facts: Mapping[str, Value]) -> None:
        self.source = rule.source
        self.facts = facts
        self.clauses: list[Clause | None] = []

    def error(self, node: Expression, detail: str) -> RuleEvaluationError:
        return RuleEvaluationError(detail, position=position_in(self.source, node.start))

    def evaluate(self, node: Expression, depth: int, is_clause: bool) -> tuple[Value, dict[str, Value]]:
        """The node's value and the leaves it used; records a clause for condition nodes."""
        records = (
            is_clause or isinstance(node, Not | Logical) or (isinstance(node, Binary) and node.operator.is_comparison)
        )
        slot = len(self.clauses)
        if records:
            self.clauses.append(None)
        value, used = self.compute(node, depth + 1 if records else depth)
        if records:
            text = self.source[node.start : node.end]
            self.clauses[slot] = Clause(text, value is True, tuple(used.items()), depth, node.start, node.end)
        return value, used

    def compute(self, node: Expression, depth: int) -> tuple[Value, dict[str, Value]]:
        if isinstance(node, Literal):
            return node.value, {}
        if isinstance(node, FactReference):
            if node.name not in self.facts:
                raise self.error(node, f"fact {node.name} was not given")
            value = self.facts[node.name]
            return value, {node.name: value}
        if isinstance(node, Not):
            operand, used = self.evaluate(node.operand, depth, False)
            return not operand, used
        if isinstance(node, Negate):
            operand, used = self.evaluate(node.operand, depth, False)
            assert isinstance(operand, int | float)  # checked: a number
            return self.checked(node, -operand), used
        if isinstance(node, Logical):
            return self.logical(node, depth)
        if isinstance(node, Binary):
            return self.binary(node, depth)
        if isinstance(node, Call):
            return self.call(node, depth)
        raise self.error(node, "a list can only follow 'in'")  # the checker refuses this; kept for safety

    def logical(self, node: Logical, depth: int) -> tuple[Value, dict[str, Value]]:
        used: dict[str, Value] = {}
        results: list[bool] = []
        for child in node.operands:  # all of them, for the explanation (and as SQL does)
            result, child_used = self.evaluate(child, depth, child.type is ValueType.BOOL)
            results.append(result is True)
            used.update(child_used)
        return (all(results) if node.operator is LogicalOperator.AND else any(results)), used

    def checked(self, node: Expression, value: Value) -> Value:
        """``value`` if it is within range for its type, else an error naming the node."""
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(node, "a decimal result is too large")
        if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            raise self.error(node, "a whole-number result does not fit in 64 bits")
        return value

    def binary(self, node: Binary, depth: int) -> tuple[Value, dict[str, Value]]:
        left, used = self.evaluate(node.left, depth, False)
        if isinstance(node.right, ListLiteral):
            as_decimal = node.right.type is ValueType.DECIMAL
            items = [float(item.value) if as_decimal else item.value for item in node.right.items]
            return (float(left) if as_decimal else left) in items, used
        right, right_used = self.evaluate(node.right, depth, False)
        used = {**used, **right_used}
        operation = node.operator
        if operation is BinaryOperator.DIVIDE:
            return (float(left) / float(right) if right != 0 else 0.0), used
        if isinstance(left, float) or isinstance(right, float):  # a whole number meets a decimal
            left, right = float(left), float(right)
        if operation in _COMPARE:
            return _COMPARE[operation](left, right), used
        assert isinstance(left, int | float)  # checked: numbers
        assert isinstance(right, int | float)
        return self.checked(node, _ARITHMETIC[operation](left, right)), used

    def call(self, node: Call, depth: int) -> tuple[Value, dict[str, Value]]:
        if node.function in ("has_asset", "in_area"):
            argument = node.arguments[0]
            assert isinstance(argument, Literal)  # checked: one text literal
            assert isinstance(argument.value, str)
            name = "assets" if node.function == "has_asset" else "area_code"
            if name not in self.facts:
                raise self.error(node, f"fact {name} was not given")
            if node.function == "has_asset":
                held = self.facts[name]
                assert isinstance(held, int)
                value: Value = bool(held & ASSET_NAMES[argument.value])
            else:
                code = str(self.facts[name])
                value = code == argument.value or code.startswith(argument.value + "-")
            return value, {self.source[node.start : node.end]: value}
        used: dict[str, Value] = {}
        numbers: list[float] = []  # whole numbers stay int: mypy's float admits them
        for argument in node.arguments:
            number, argument_used = self.evaluate(argument, depth, False)
            assert isinstance(number, int | float)  # checked: numbers
            numbers.append(float(number) if node.type is ValueType.DECIMAL else number)
            used.update(argument_used)
        if node.function == "abs":
            return self.checked(node, abs(numbers[0])), used
        # Ties keep the first argument, as SQL's LEAST/GREATEST may not; equal numbers are equal either way.
        return (min(numbers) if node.function == "min" else max(numbers)), used


def evaluate_rule(rule: Rule, facts: Mapping[str, Value]) -> Evaluation:
    """The value of ``rule`` for one household's ``facts`` (by name), with the explanation.

    ``facts`` must hold every name in ``rule.facts`` (as :func:`~canasta.domain.facts.compute_facts` gives them).
    Raises :class:`RuleEvaluationError` for a missing fact or a number out of range.
    """
    interpreter = _Interpreter(rule, facts)
    value, _ = interpreter.evaluate(rule.tree, 0, rule.type is ValueType.BOOL)
    clauses = tuple(clause for clause in interpreter.clauses if clause is not None)
    return Evaluation(value, clauses)
