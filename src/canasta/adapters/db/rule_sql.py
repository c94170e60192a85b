"""Compiling a checked rule to one SQL expression over the facts query's columns (SQLite and PostgreSQL).

The compiled expression computes what :func:`canasta.domain.rules.evaluate_rule` computes, and a property test
holds the two together on both databases:

* a whole number meeting a decimal is ``CAST(... AS DOUBLE PRECISION)`` first, as the interpreter converts it;
* ``x / y`` is ``COALESCE(CAST(x AS DOUBLE) / NULLIF(CAST(y AS DOUBLE), 0), 0.0)``: 0 when ``y`` is zero. NULLIF
  rather than ``CASE``: PostgreSQL may fold a constant division at planning time, inside a branch never taken;
* ``min``/``max`` are ``LEAST``/``GREATEST`` (SQLite: scalar ``min``/``max``); nothing is ever NULL, so their
  different NULL rules never apply;
* text is compared for equality only, which no collation changes (PostgreSQL's collations are deterministic);
* ``in_area`` compares a ``substr`` rather than using ``LIKE``, which SQLite folds to lower case;
* the result is typed (``Boolean`` for conditions) so SQLite's 0/1 reads back as ``bool``.

Literals are bound parameters; nothing from a rule's text is ever spliced into SQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Double,
    FromClause,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    type_coerce,
)

from canasta.adapters.db.facts_sql import FACT_SQL_TYPES, Greatest, Least, facts_query
from canasta.domain.facts import BUILT_IN_FACTS, FactLibrary, ValueType
from canasta.domain.pmt import PmtModel
from canasta.domain.rules import Rule
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
from canasta.domain.rules.types import ASSET_NAMES

__all__ = ["pmt_score_sql", "rule_results_query", "rule_to_sql"]

_LITERAL_TYPES = {ValueType.INT: BigInteger, ValueType.DECIMAL: Double, ValueType.BOOL: Boolean, ValueType.TEXT: String}


def _type(node: Expression) -> ValueType:
    assert node.type is not None  # a checked rule's tree is typed throughout
    return node.type


def _in_area(area: ColumnElement[Any], code: str) -> ColumnElement[bool]:
    """``area`` is ``code`` or lies under it (``code-...``), compared exactly (no LIKE, no case folding)."""
    prefix = code + "-"
    # The length is an int computed here, rendered inline so PostgreSQL need not guess a parameter's type.
    head = func.substr(area, literal_column("1"), literal_column(str(len(prefix))))
    return or_(area == literal(code, String), head == literal(prefix, String))


class _Compiler:
    def __init__(self, facts: FromClause) -> None:
        self.facts = facts

    def as_decimal(self, node: Expression) -> ColumnElement[Any]:
        compiled = self.compile(node)
        return compiled if _type(node) is ValueType.DECIMAL else cast(compiled, Double)

    def compile(self, node: Expression) -> ColumnElement[Any]:
        if isinstance(node, Literal):
            value = float(node.value) if _type(node) is ValueType.DECIMAL else node.value
            return literal(value, _LITERAL_TYPES[_type(node)])
        if isinstance(node, FactReference):
            return self.facts.c[node.name]
        if isinstance(node, Not):
            return not_(self.compile(node.operand))
        if isinstance(node, Negate):
            return -self.compile(node.operand)
        if isinstance(node, Logical):
            operands = [self.compile(operand) for operand in node.operands]
            return and_(*operands) if node.operator is LogicalOperator.AND else or_(*operands)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Call):
            return self.call(node)
        raise AssertionError("a checked rule has lists only after 'in'")

    def binary(self, node: Binary) -> ColumnElement[Any]:
        operator = node.operator
        if isinstance(node.right, ListLiteral):
            compared_as = _type(node.right)
            left = self.as_decimal(node.left) if compared_as is ValueType.DECIMAL else self.compile(node.left)
            items = [float(item.value) if compared_as is ValueType.DECIMAL else item.value for item in node.right.items]
            return left.in_([literal(item, _LITERAL_TYPES[compared_as]) for item in items])
        if operator is BinaryOperator.DIVIDE:
            quotient = self.as_decimal(node.left) / func.nullif(self.as_decimal(node.right), literal(0.0, Double))
            return func.coalesce(quotient, literal(0.0, Double), type_=Double)
        mixed = {_type(node.left), _type(node.right)} == {ValueType.INT, ValueType.DECIMAL}
        left = self.as_decimal(node.left) if mixed else self.compile(node.left)
        right = self.as_decimal(node.right) if mixed else self.compile(node.right)
        match operator:
            case BinaryOperator.EQ:
                return left == right
            case BinaryOperator.NE:
                return left != right
            case BinaryOperator.LT:
                return left < right
            case BinaryOperator.LE:
                return left <= right
            case BinaryOperator.GT:
                return left > right
            case BinaryOperator.GE:
                return left >= right
            case BinaryOperator.ADD:
                return left + right
            case BinaryOperator.SUBTRACT:
                return left - right
            case _:
                return left * right

    def call(self, node: Call) -> ColumnElement[Any]:
        if node.function in ("has_asset", "in_area"):
            argument = node.arguments[0]
            assert isinstance(argument, Literal)  # checked: one text literal
            assert isinstance(argument.value, str)
            if node.function == "has_asset":
                bit = literal(int(ASSET_NAMES[argument.value]), BigInteger)
                return self.facts.c.assets.op("&")(bit) != literal(0, BigInteger)
            return _in_area(self.facts.c.area_code, argument.value)
        if node.function == "abs":
            return func.abs(self.compile(node.arguments[0]), type_=FACT_SQL_TYPES[_type(node)])
        decimal = _type(node) is ValueType.DECIMAL
        arguments = [self.as_decimal(argument) if decimal else self.compile(argument) for argument in node.arguments]
        extreme = Least(*arguments) if node.function == "min" else Greatest(*arguments)
        return type_coerce(extreme, FACT_SQL_TYPES[_type(node)])


def rule_to_sql(rule: Rule, facts: FromClause) -> ColumnElement[Any]:
    """``rule`` as one SQL expression over ``facts``, a subquery or CTE with a column per fact in ``rule.facts``
    (as :func:`~canasta.adapters.db.facts_sql.facts_query` makes it). Typed by the rule's result type."""
    return type_coerce(_Compiler(facts).compile(rule.tree), FACT_SQL_TYPES[rule.type])


def rule_results_query(
    rule: Rule,
    *,
    reference_date: date,
    area_prefix: str | None = None,
    library: FactLibrary | None = None,
    extra_facts: tuple[str, ...] = (),
) -> Select[Any]:
    """``household_id``, ``value`` (the rule's result) and the facts the rule reads (plus ``extra_facts``), for
    every active household of ``area_prefix`` (all when None), as one statement."""
    facts = facts_query(
        (*rule.facts, *extra_facts), reference_date=reference_date, area_prefix=area_prefix, library=library
    ).subquery("facts")
    columns = [facts.c[name] for name in dict.fromkeys((*rule.facts, *extra_facts))]
    return select(facts.c.household_id, rule_to_sql(rule, facts).label("value"), *columns)


def pmt_score_sql(model: PmtModel, facts: FromClause, *, library: FactLibrary | None = None) -> ColumnElement[float]:
    """The model's score over ``facts`` (a subquery with a column per name in ``model.facts``), summed in the
    order :func:`canasta.domain.pmt.score_household` sums it, in double precision; ``library`` is the one the model
    was loaded with. Compare the score with ``<= model.cutoff`` for eligibility."""
    library = BUILT_IN_FACTS if library is None else library
    score: ColumnElement[float] = literal(model.intercept, Double)
    for term in model.terms:
        column = facts.c[term.fact]
        if library.fact(term.fact).type is ValueType.BOOL:  # PostgreSQL casts no boolean to a number
            value: ColumnElement[float] = case((column, literal(1.0, Double)), else_=literal(0.0, Double))
        else:
            value = cast(column, Double)
        score = score + literal(term.coefficient, Double) * value
    if model.regions:
        area = facts.c.area_code
        regional = case(
            *((_in_area(area, prefix), literal(coefficient, Double)) for prefix, coefficient in model.regions),
            else_=literal(0.0, Double),
        )
        score = score + regional
    return type_coerce(score, Double)
