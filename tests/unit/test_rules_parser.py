"""The rule parser: precedence, literals, errors that name the position, and prohibited names refused first."""

from __future__ import annotations

import pytest

from canasta.domain.errors import ProhibitedCategoryError, ValidationError
from canasta.domain.privacy import PROHIBITED_CATEGORIES
from canasta.domain.rules import ProhibitedNameInRuleError, RuleSyntaxError, parse
from canasta.domain.rules.ast import (
    Binary,
    Call,
    Expression,
    FactReference,
    ListLiteral,
    Literal,
    Logical,
    Negate,
    Not,
)
from canasta.domain.rules.lexer import MAX_RULE_LENGTH
from canasta.domain.rules.parser import MAX_DEPTH, MAX_NESTING


def show(node: Expression) -> str:
    """The tree as a compact S-expression, so precedence is visible in one string."""
    if isinstance(node, Literal):
        return repr(node.value)
    if isinstance(node, FactReference):
        return node.name
    if isinstance(node, Not):
        return f"(not {show(node.operand)})"
    if isinstance(node, Negate):
        return f"(neg {show(node.operand)})"
    if isinstance(node, Logical):
        return f"({node.operator} {' '.join(show(operand) for operand in node.operands)})"
    if isinstance(node, Binary):
        return f"({node.operator} {show(node.left)} {show(node.right)})"
    if isinstance(node, Call):
        return f"({node.function} {' '.join(show(argument) for argument in node.arguments)})".replace(" )", ")")
    assert isinstance(node, ListLiteral)
    return f"[{' '.join(show(item) for item in node.items)}]"


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
        ("-a * b", "(* (neg a) b)"),
        ("-3 * 2", "(* -3 2)"),
        ("- -3", "3"),
        ("-(2.5)", "-2.5"),
        ("a + b > c * 2", "(> (+ a b) (* c 2))"),
        ("a or b and c", "(or a (and b c))"),
        ("a and b or c", "(or (and a b) c)"),
        ("a and b and c", "(and a b c)"),
        ("a || b or c", "(or a b c)"),
        ("a && b and c", "(and a b c)"),
        ("(a or b) and c", "(and (or a b) c)"),
        ("not a == b", "(not (== a b))"),
        ("!a && b", "(and (not a) b)"),
        ("not not a", "(not (not a))"),
        ("x in [1, -2, 3.5,]", "(in x [1 -2 3.5])"),
        ("x in ['a', \"b\"]", "(in x ['a' 'b'])"),
        ("min(a, b + 1) <= max(1, 2, 3)", "(<= (min a (+ b 1)) (max 1 2 3))"),
        ("abs()", "(abs)"),
        ("has_asset('car')", "(has_asset 'car')"),
        ("true != false", "(!= True False)"),
        ("150_000 + 1_000.25", "(+ 150000 1000.25)"),
        ('\'it\\\'s\' == "say \\"hi\\" \\\\"', '(== "it\'s" \'say "hi" \\\\\')'),
        ("members >= 2\n  and\tchildren_under_5 > 0", "(and (>= members 2) (> children_under_5 0))"),
        ("niños > 0", "(> niños 0)"),
    ],
)
def test_operators_bind_by_precedence_and_chains_stay_flat(source: str, tree: str) -> None:
    assert show(parse(source)) == tree


def test_every_node_knows_the_text_it_came_from() -> None:
    source = "(members > 1) and has_asset('car')"
    tree = parse(source)
    assert isinstance(tree, Logical)
    assert [source[operand.start : operand.end] for operand in tree.operands] == ["(members > 1)", "has_asset('car')"]
    assert (tree.start, tree.end) == (0, len(source))


@pytest.mark.parametrize(
    ("source", "line", "column", "expected", "found"),
    [
        ("members >", 1, 10, "a value, a fact name, '(' or '['", "end of rule"),
        ("(members > 1", 1, 13, "')' to close the '(' at line 1, column 1", "end of rule"),
        ("members = 3", 1, 9, "'==' to compare", "'='"),
        ("has_car & has_tv", 1, 9, "'&&' or 'and'", "'&'"),
        ("a < b < c", 1, 7, "'and' or 'or' between two comparisons", "'<'"),
        ("members > 1 members", 1, 13, "an operator or the end of the rule", "name members"),
        ("members > 1 )", 1, 13, "an operator or the end of the rule", "')'"),
        ("members >\n  * 2", 2, 3, "a value, a fact name, '(' or '['", "'*'"),
        ("min(a b)", 1, 7, "',' or ')' to close the call of min", "name b"),
        ("x in [a]", 1, 7, "a number, text, true or false (list items are written out)", "name a"),
        ("x in [1, 2", 1, 11, "',' or ']' to close the list", "end of rule"),
        ("x in [1 2]", 1, 9, "',' or ']' to close the list", "whole number 2"),
        ("3abc > 1", 1, 2, "an operator after a number", "'a'"),
        ("'unclosed", 1, 1, "a closing ' for this text", "end of line"),
        ("'two\nlines'", 1, 1, "a closing ' for this text", "end of line"),
        ("'bad \\q'", 1, 6, "\\\\, \\' or \\\" after a backslash", "'q'"),
        ("members @ 2", 1, 9, "a value, a name, an operator or a bracket", "'@'"),
        ("", 1, 1, "a value, a fact name, '(' or '['", "end of rule"),
        ("1.", 1, 2, "a value, a name, an operator or a bracket", "'.'"),
    ],
)
def test_a_syntax_error_names_the_position_what_was_expected_and_what_was_found(
    source: str, line: int, column: int, expected: str, found: str
) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse(source)
    error = caught.value
    assert (error.position.line, error.position.column) == (line, column)
    assert (error.expected, error.found) == (expected, found)
    assert error.fields["line"] == line
    assert error.fields["column"] == column
    assert error.field == "rule"
    assert error.code == "rule_syntax"
    assert isinstance(error, ValidationError)
    assert str(error).startswith(f"line {line}, column {column}: expected {expected}, found {found}")


def test_comparisons_do_not_chain_and_the_error_says_so() -> None:
    with pytest.raises(RuleSyntaxError, match=r"comparisons do not chain"):
        parse("0 < members <= 5")


def test_the_offset_counts_characters_across_lines() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse("a > 1 and\nb >= 2 and\nc ==")
    assert caught.value.position.offset == len("a > 1 and\nb >= 2 and\nc ==")
    assert (caught.value.position.line, caught.value.position.column) == (3, 5)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1),
            f"at most {MAX_NESTING} levels of brackets and prefixes",
        ),
        ("not " * (MAX_NESTING + 1) + "true", f"at most {MAX_NESTING} levels of brackets and prefixes"),
        ("-" * (MAX_NESTING + 1) + "x", f"at most {MAX_NESTING} levels of brackets and prefixes"),
        ("1" + " + 1" * MAX_DEPTH, f"a rule at most {MAX_DEPTH} levels deep"),
        ("1" * (MAX_RULE_LENGTH + 1), f"at most {MAX_RULE_LENGTH} characters"),
    ],
)
def test_rules_too_deep_or_too_long_are_refused_before_they_can_exhaust_anything(source: str, expected: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse(source)
    assert caught.value.expected == expected


def test_rules_just_within_the_limits_parse() -> None:
    assert show(parse("(" * (MAX_NESTING - 1) + "1" + ")" * (MAX_NESTING - 1))) == "1"
    assert isinstance(parse("1" + " + 1" * (MAX_DEPTH - 1)), Binary)


EXAMPLES = {
    "political_opinion": ["party", "partido_politico", "afiliacion", "militancia"],
    "voting": ["voted", "voto", "electoral_roll", "eleitor"],
    "religion": ["religion", "religión", "iglesia", "Church"],
    "ethnicity": ["ethnicity", "etnia", "raza", "indigenous"],
    "sexual_orientation": ["sexual_orientation", "lgbt", "orientacion_sexual"],
    "trade_union": ["trade_union", "sindicato", "syndicat"],
    "social_media": ["facebook", "twitter_followers", "redes_sociales", "socialMedia"],
}


def test_every_prohibited_category_has_examples_here() -> None:
    assert set(EXAMPLES) == {category.key for category in PROHIBITED_CATEGORIES}


@pytest.mark.parametrize(
    ("key", "name"), [(key, name) for key, names in EXAMPLES.items() for name in names]
)  # fmt: skip
@pytest.mark.parametrize("template", ["members > 1 and {name} == 1", "has_asset('{name}')", "{name}(1) ==", "'{name}'"])
def test_a_rule_naming_or_quoting_a_prohibited_category_is_refused_with_the_category(
    key: str, name: str, template: str
) -> None:
    source = template.format(name=name)
    label = next(category.label for category in PROHIBITED_CATEGORIES if category.key == key)
    with pytest.raises(ProhibitedNameInRuleError) as caught:
        parse(source)
    error = caught.value
    assert isinstance(error, ProhibitedCategoryError)
    assert error.category == label
    assert error.name == name
    assert error.field == "rule"
    assert error.code == "prohibited_category"
    assert error.position.offset == source.index(name) - (1 if source[source.index(name) - 1] == "'" else 0)
    assert label in str(error)
    assert str(error).startswith(f"line 1, column {error.position.column}: name in a rule {name!r}")


def test_need_facts_are_not_mistaken_for_prohibited_ones() -> None:
    parse("members > 1 and dependency_ratio > 1.5 and dwelling_type in ['informal', 'room'] and has_television")
