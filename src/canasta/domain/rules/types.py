"""The type checker: turns a parsed rule into a typed :class:`Rule`, or says exactly why it cannot.

Types are those of facts (:class:`~canasta.domain.facts.ValueType`): ``int``, ``decimal``, ``bool`` and ``text``.
Whole numbers and decimals mix freely (the result is decimal); nothing else mixes. ``<``/``<=``/``>``/``>=``
compare numbers only; text and true/false compare with ``==`` and ``!=`` (and ``in``). ``/`` always gives a
decimal, and dividing by zero gives 0 (so a literal ``/ 0`` is refused as a mistake). Names are looked up in a
:class:`~canasta.domain.facts.FactLibrary`; an unknown one is refused with the closest known names.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, replace

from canasta.domain.facts import BUILT_IN_FACTS, FactLibrary, UnknownFactError, ValueType
from canasta.domain.registry import Asset
from canasta.domain.rules.ast import (
    Binary,
    BinaryOperator,
    Call,
    Expression,
    FactReference,
    ListLiteral,
    Literal,
    Logical,
    Negate,
    Not,
)
from canasta.domain.rules.errors import RuleTypeError, position_in
from canasta.domain.rules.parser import parse

__all__ = ["ASSET_NAMES", "FUNCTIONS", "INT64_MAX", "INT64_MIN", "Rule", "check_rule", "describe_type"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: the functions a rule may call, with what each does (``docs/rules.md`` lists the same; a test checks it)
FUNCTIONS: dict[str, str] = {
    "min": "min(a, b, ...): the smallest of two or more numbers (decimal if any of them is)",
    "max": "max(a, b, ...): the largest of two or more numbers (decimal if any of them is)",
    "abs": "abs(x): the absolute value of a number",
    "has_asset": "has_asset('car'): whether the household holds the named asset (reads the fact assets)",
    "in_area": "in_area('VE-01'): whether the household's area is that code or inside it (reads area_code)",
}
#: the names has_asset accepts
ASSET_NAMES: dict[str, Asset] = {member.name.lower(): member for member in Asset if member.name}
_AREA = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_NUMBERS = (ValueType.INT, ValueType.DECIMAL)
_DESCRIPTIONS = {
    ValueType.INT: "a whole number",
    ValueType.DECIMAL: "a decimal number",
    ValueType.BOOL: "true/false",
    ValueType.TEXT: "text",
}


def describe_type(value_type: ValueType) -> str:
    """How messages name a type."""
    return _DESCRIPTIONS[value_type]


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked rule: its text, its typed tree, its result type and the facts it reads (sorted)."""

    source: str
    tree: Expression
    type: ValueType
    facts: tuple[str, ...]


def _typed(node: Expression) -> ValueType:
    assert node.type is not None  # set by the checker before anyone asks
    return node.type


def _number_result(*types: ValueType) -> ValueType:
    return ValueType.INT if all(kind is ValueType.INT for kind in types) else ValueType.DECIMAL


def _comparable(left: ValueType, right: ValueType) -> bool:
    return left is right or (left in _NUMBERS and right in _NUMBERS)


class _Checker:
    def __init__(self, source: str, library: FactLibrary) -> None:
        self.source = source
        self.library = library
        self.facts: set[str] = set()

    def error(self, node: Expression, detail: str) -> RuleTypeError:
        return RuleTypeError(detail, position=position_in(self.source, node.start))

    def check(self, node: Expression) -> Expression:
        if isinstance(node, Literal):
            return replace(node, type=self.literal(node))
        if isinstance(node, FactReference):
            return replace(node, type=self.fact(node))
        if isinstance(node, Not):
            operand = self.condition(node.operand, "'not'")
            return replace(node, operand=operand, type=ValueType.BOOL)
        if isinstance(node, Negate):
            operand = self.number(node.operand, "'-'")
            return replace(node, operand=operand, type=_typed(operand))
        if isinstance(node, Logical):
            operands = tuple(self.condition(operand, f"'{node.operator}'") for operand in node.operands)
            return replace(node, operands=operands, type=ValueType.BOOL)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        raise self.error(node, "a list can only follow 'in', as in: dwelling_type in ['room', 'informal']")

    def literal(self, node: Literal) -> ValueType:
        value = node.value
        if isinstance(value, bool):
            return ValueType.BOOL
        if isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise self.error(node, "a whole number must lie between -2^63 and 2^63 - 1")
            return ValueType.INT
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(node, "this decimal number is too large")
            return ValueType.DECIMAL
        return ValueType.TEXT

    def fact(self, node: FactReference) -> ValueType:
        if node.name in FUNCTIONS and node.name not in self.library:
            raise self.error(node, f"{node.name} is a function; call it with brackets: {FUNCTIONS[node.name]}")
        fact = self.library.get(node.name)
        if fact is None:
            position = position_in(self.source, node.start)
            raise UnknownFactError(
                node.name,
                self.library,
                field="rule",
                offset=position.offset,
                line=position.line,
                column=position.column,
            )
        self.facts.add(node.name)
        return fact.type

    def condition(self, node: Expression, where: str) -> Expression:
        typed = self.check(node)
        if _typed(typed) is not ValueType.BOOL:
            raise self.error(node, f"{where} needs true/false, found {describe_type(_typed(typed))}")
        return typed

    def number(self, node: Expression, where: str) -> Expression:
        typed = self.check(node)
        if _typed(typed) not in _NUMBERS:
            raise self.error(node, f"{where} needs a number, found {describe_type(_typed(typed))}")
        return typed

    def binary(self, node: Binary) -> Expression:
        operator = node.operator
        if operator is BinaryOperator.IN:
            return self.membership(node)
        if not operator.is_comparison:
            left = self.number(node.left, f"'{operator}'")
            right = self.number(node.right, f"'{operator}'")
            if operator is BinaryOperator.DIVIDE:
                if isinstance(right, Literal) and right.value == 0:
                    raise self.error(node.right, "division by zero (x / 0 is defined as 0; write 0 instead)")
                return replace(node, left=left, right=right, type=ValueType.DECIMAL)
            return replace(node, left=left, right=right, type=_number_result(_typed(left), _typed(right)))
        left, right = self.check(node.left), self.check(node.right)
        left_type, right_type = _typed(left), _typed(right)
        if operator in (BinaryOperator.EQ, BinaryOperator.NE):
            if not _comparable(left_type, right_type):
                raise self.error(node, f"cannot compare {describe_type(left_type)} with {describe_type(right_type)}")
        elif left_type not in _NUMBERS or right_type not in _NUMBERS:
            found = describe_type(left_type if left_type not in _NUMBERS else right_type)
            raise self.error(node, f"'{operator}' compares numbers, found {found} (compare it with == or !=)")
        return replace(node, left=left, right=right, type=ValueType.BOOL)

    def membership(self, node: Binary) -> Expression:
        left = self.check(node.left)
        if not isinstance(node.right, ListLiteral):
            raise self.error(node.right, "'in' needs a list written out, as in: members in [1, 2, 3]")
        if not node.right.items:
            raise self.error(node.right, "an empty list matches nothing; remove the clause instead")
        items = tuple(replace(item, type=self.literal(item)) for item in node.right.items)
        left_type = _typed(left)
        for item in items:
            if not _comparable(left_type, _typed(item)):
                raise self.error(item, f"cannot compare {describe_type(left_type)} with {describe_type(_typed(item))}")
        compared_as = _number_result(left_type, *map(_typed, items)) if left_type in _NUMBERS else left_type
        right = replace(node.right, items=items, type=compared_as)
        return replace(node, left=left, right=right, type=ValueType.BOOL)

    def call(self, node: Call) -> Expression:
        name = node.function
        if name not in FUNCTIONS:
            if name in self.library:
                raise self.error(node, f"{name} is a fact, not a function; write it without brackets")
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; the functions are {', '.join(FUNCTIONS)}"
            raise self.error(node, f"unknown function {name!r}{hint}")
        if name in ("has_asset", "in_area"):
            return self.lookup_call(node)
        arity_ok = len(node.arguments) == 1 if name == "abs" else len(node.arguments) >= 2
        if not arity_ok:
            raise self.error(node, f"wrong number of arguments: {FUNCTIONS[name]}")
        arguments = tuple(self.number(argument, f"{name}()") for argument in node.arguments)
        result = _typed(arguments[0]) if name == "abs" else _number_result(*map(_typed, arguments))
        return replace(node, arguments=arguments, type=result)

    def lookup_call(self, node: Call) -> Expression:
        """``has_asset('car')`` and ``in_area('VE-01')``: one text literal, checked now."""
        name = node.function
        argument = node.arguments[0] if len(node.arguments) == 1 else None
        if not isinstance(argument, Literal) or not isinstance(argument.value, str):
            raise self.error(node, f"{name} takes one text written out: {FUNCTIONS[name]}")
        if name == "has_asset":
            if argument.value not in ASSET_NAMES:
                close = difflib.get_close_matches(argument.value, list(ASSET_NAMES), n=2, cutoff=0.6)
                hint = f"did you mean {' or '.join(close)}? " if close else ""
                raise self.error(argument, f"unknown asset {argument.value!r}; {hint}known: {', '.join(ASSET_NAMES)}")
            needed = "assets"
        else:
            if _AREA.fullmatch(argument.value) is None:
                raise self.error(argument, "an area code is letters and digits in parts joined by '-'")
            needed = "area_code"
        self.fact(FactReference(needed, node.start, node.end))
        return replace(node, arguments=(replace(argument, type=ValueType.TEXT),), type=ValueType.BOOL)


def check_rule(source: str, *, facts: FactLibrary | None = None, result: ValueType | None = ValueType.BOOL) -> Rule:
    """Parse and type-check ``source`` against ``facts`` (the built-in library by default).

    ``result`` is the type the rule must give (an eligibility rule gives ``bool``; a whole number is accepted
    where a decimal is asked for); None accepts any. Raises :class:`RuleSyntaxError`, :class:`RuleTypeError`,
    :class:`UnknownFactError` or :class:`ProhibitedNameInRuleError`, all ``ValidationError``s naming the position.
    """
    library = BUILT_IN_FACTS if facts is None else facts
    checker = _Checker(source, library)
    tree = checker.check(parse(source))
    rule_type = _typed(tree)
    if result is not None and rule_type is not result and (result, rule_type) != (ValueType.DECIMAL, ValueType.INT):
        raise checker.error(
            tree, f"the rule must give {describe_type(result)}, but it gives {describe_type(rule_type)}"
        )
    return Rule(source, tree, rule_type, tuple(sorted(checker.facts)))
