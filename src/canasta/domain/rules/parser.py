"""The rule grammar: recursive descent over the tokens, one function per precedence level.

::

    rule           := disjunction END
    disjunction    := conjunction (("or" | "||") conjunction)*
    conjunction    := negation (("and" | "&&") negation)*
    negation       := ("not" | "!") negation | comparison
    comparison     := sum [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") sum]      -- comparisons do not chain
    sum            := product (("+" | "-") product)*
    product        := unary (("*" | "/") unary)*
    unary          := "-" unary | primary
    primary        := INT | DECIMAL | TEXT | "true" | "false" | NAME | NAME "(" [arguments] ")"
                    | "(" disjunction ")" | "[" [items] "]"
    arguments      := disjunction ("," disjunction)*
    items          := unary ("," unary)* [","]                                   -- each a literal value

``not`` binds more loosely than comparisons (``not a == b`` is ``not (a == b)``); for well-typed rules ``!a == b``
means the same either way. Nesting is bounded (:data:`MAX_NESTING` brackets or prefixes, :data:`MAX_DEPTH` tree
levels) so no rule can exhaust the stack of either back end.
"""

from __future__ import annotations

from dataclasses import replace

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
    children,
)
from canasta.domain.rules.errors import RuleSyntaxError, position_in
from canasta.domain.rules.lexer import Token, TokenKind, tokenize

__all__ = ["MAX_DEPTH", "MAX_NESTING", "parse"]

#: brackets and prefix operators nest at most this deep
MAX_NESTING = 32
#: the tree is at most this deep (a long chain of ``+`` is as deep as it is long)
MAX_DEPTH = 100

_COMPARISONS = {
    TokenKind.EQ: BinaryOperator.EQ,
    TokenKind.NE: BinaryOperator.NE,
    TokenKind.LT: BinaryOperator.LT,
    TokenKind.LE: BinaryOperator.LE,
    TokenKind.GT: BinaryOperator.GT,
    TokenKind.GE: BinaryOperator.GE,
    TokenKind.IN: BinaryOperator.IN,
}
_SUMS = {TokenKind.PLUS: BinaryOperator.ADD, TokenKind.MINUS: BinaryOperator.SUBTRACT}
_PRODUCTS = {TokenKind.STAR: BinaryOperator.MULTIPLY, TokenKind.SLASH: BinaryOperator.DIVIDE}
_LITERALS = (TokenKind.INT, TokenKind.DECIMAL, TokenKind.TEXT, TokenKind.TRUE, TokenKind.FALSE)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.nesting = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, token: Token, expected: str, hint: str = "") -> RuleSyntaxError:
        return RuleSyntaxError(
            position=position_in(self.source, token.start), expected=expected, found=token.describe(), hint=hint
        )

    def expect(self, kind: TokenKind, expected: str) -> Token:
        if self.peek().kind is not kind:
            raise self.error(self.peek(), expected)
        return self.advance()

    def enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(token, f"at most {MAX_NESTING} levels of brackets and prefixes", "simplify the rule")

    def rule(self) -> Expression:
        tree = self.disjunction()
        if self.peek().kind is not TokenKind.END:
            raise self.error(self.peek(), "an operator or the end of the rule")
        return tree

    def disjunction(self) -> Expression:
        self.enter(self.peek())
        first = self.conjunction()
        rest: list[Expression] = []
        while self.peek().kind is TokenKind.OR:
            self.advance()
            rest.append(self.conjunction())
        self.nesting -= 1
        return first if not rest else Logical(LogicalOperator.OR, (first, *rest), first.start, rest[-1].end)

    def conjunction(self) -> Expression:
        first = self.negation()
        rest: list[Expression] = []
        while self.peek().kind is TokenKind.AND:
            self.advance()
            rest.append(self.negation())
        return first if not rest else Logical(LogicalOperator.AND, (first, *rest), first.start, rest[-1].end)

    def negation(self) -> Expression:
        if self.peek().kind is not TokenKind.NOT:
            return self.comparison()
        token = self.advance()
        self.enter(token)
        operand = self.negation()
        self.nesting -= 1
        return Not(operand, token.start, operand.end)

    def comparison(self) -> Expression:
        left = self.sum()
        operator = _COMPARISONS.get(self.peek().kind)
        if operator is None:
            return left
        self.advance()
        right = self.sum()
        if self.peek().kind in _COMPARISONS:
            raise self.error(self.peek(), "'and' or 'or' between two comparisons", "comparisons do not chain")
        return Binary(operator, left, right, left.start, right.end)

    def sum(self) -> Expression:
        left = self.product()
        while (operator := _SUMS.get(self.peek().kind)) is not None:
            self.advance()
            right = self.product()
            left = Binary(operator, left, right, left.start, right.end)
        return left

    def product(self) -> Expression:
        left = self.unary()
        while (operator := _PRODUCTS.get(self.peek().kind)) is not None:
            self.advance()
            right = self.unary()
            left = Binary(operator, left, right, left.start, right.end)
        return left

    def unary(self) -> Expression:
        if self.peek().kind is not TokenKind.MINUS:
            return self.primary()
        token = self.advance()
        self.enter(token)
        operand = self.unary()
        self.nesting -= 1
        if (
            isinstance(operand, Literal)
            and isinstance(operand.value, int | float)
            and not isinstance(operand.value, bool)
        ):
            return Literal(-operand.value, token.start, operand.end)
        return Negate(operand, token.start, operand.end)

    def primary(self) -> Expression:
        token = self.peek()
        if token.kind in _LITERALS:
            self.advance()
            value = token.kind is TokenKind.TRUE if token.kind in (TokenKind.TRUE, TokenKind.FALSE) else token.value
            assert value is not None  # every literal token carries its value
            return Literal(value, token.start, token.end)
        if token.kind is TokenKind.NAME:
            self.advance()
            if self.peek().kind is not TokenKind.LPAREN:
                return FactReference(token.text, token.start, token.end)
            return self.call(token)
        if token.kind is TokenKind.LPAREN:
            self.advance()
            inner = self.disjunction()
            if self.peek().kind is not TokenKind.RPAREN:
                opened = position_in(self.source, token.start)
                raise self.error(self.peek(), f"')' to close the '(' at {opened}")
            closing = self.advance()
            # The span takes in the brackets, so an enclosing clause quotes its text whole.
            return replace(inner, start=token.start, end=closing.end)
        if token.kind is TokenKind.LBRACKET:
            return self.list_literal()
        raise self.error(token, "a value, a fact name, '(' or '['")

    def call(self, name: Token) -> Call:
        self.advance()  # the "("
        arguments: list[Expression] = []
        if self.peek().kind is not TokenKind.RPAREN:
            arguments.append(self.disjunction())
            while self.peek().kind is TokenKind.COMMA:
                self.advance()
                arguments.append(self.disjunction())
        closing = self.expect(TokenKind.RPAREN, f"',' or ')' to close the call of {name.text}")
        return Call(name.text, tuple(arguments), name.start, closing.end)

    def list_literal(self) -> ListLiteral:
        opening = self.advance()
        items: list[Literal] = []
        while self.peek().kind is not TokenKind.RBRACKET:
            start = self.peek()
            item = self.unary()
            if not isinstance(item, Literal):
                raise self.error(start, "a number, text, true or false (list items are written out)")
            items.append(item)
            if self.peek().kind is not TokenKind.COMMA:
                break
            self.advance()
        closing = self.expect(TokenKind.RBRACKET, "',' or ']' to close the list")
        return ListLiteral(tuple(items), opening.start, closing.end)


def _depth(tree: Expression) -> tuple[int, Expression]:
    """The tree's depth and its deepest node (iteratively: the tree may be too deep for recursion)."""
    deepest, deepest_node = 0, tree
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, deepest_node = depth, node
        stack.extend((child, depth + 1) for child in children(node))
    return deepest, deepest_node


def parse(source: str) -> Expression:
    """The untyped tree of ``source``.

    Raises :class:`RuleSyntaxError` naming the position, what was expected and what was found, and
    :class:`ProhibitedNameInRuleError` when a name or text refers to a prohibited category.
    """
    tree = _Parser(source).rule()
    depth, node = _depth(tree)
    if depth > MAX_DEPTH:
        raise RuleSyntaxError(
            position=position_in(source, node.start), expected=f"a rule at most {MAX_DEPTH} levels deep",
            found=f"{depth} levels", hint="split long chains of arithmetic",
        )  # fmt: skip
    return tree
