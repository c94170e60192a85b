"""Splitting a rule's text into tokens, refusing prohibited names on the way.

Every name and every quoted text is checked against the prohibited categories here, before any parsing, so a rule
that mentions ``party``, ``religión`` or ``'voto'`` is refused with the category even when the rest of it is
broken. Names may hold any Unicode letters so that such a word is recognised rather than rejected as a stray
character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from canasta.domain.privacy import find_prohibited_category
from canasta.domain.rules.errors import ProhibitedNameInRuleError, RuleSyntaxError, position_in

__all__ = ["KEYWORDS", "MAX_RULE_LENGTH", "Token", "TokenKind", "tokenize"]

#: rules longer than this are refused outright (a rule is a sentence, not a program)
MAX_RULE_LENGTH = 10_000


class TokenKind(StrEnum):
    """What a token is."""

    INT = "whole number"  # 42, 150_000
    DECIMAL = "decimal number"  # 0.5, 1_000.25
    TEXT = "text"  # 'informal' or "informal", with \\ \' \" escapes
    NAME = "name"  # a fact or a function
    TRUE = "'true'"  # the literal true
    FALSE = "'false'"  # the literal false
    AND = "'and'"  # also written &&
    OR = "'or'"  # also written ||
    NOT = "'not'"  # also written !
    IN = "'in'"  # membership in a list
    EQ = "'=='"
    NE = "'!='"
    LT = "'<'"
    LE = "'<='"
    GT = "'>'"
    GE = "'>='"
    PLUS = "'+'"
    MINUS = "'-'"
    STAR = "'*'"
    SLASH = "'/'"
    LPAREN = "'('"
    RPAREN = "')'"
    LBRACKET = "'['"
    RBRACKET = "']'"
    COMMA = "','"
    END = "end of rule"  # after the last token


KEYWORDS = {
    "true": TokenKind.TRUE,
    "false": TokenKind.FALSE,
    "and": TokenKind.AND,
    "or": TokenKind.OR,
    "not": TokenKind.NOT,
    "in": TokenKind.IN,
}
_SYMBOLS = {
    "&&": TokenKind.AND,
    "||": TokenKind.OR,
    "==": TokenKind.EQ,
    "!=": TokenKind.NE,
    "<=": TokenKind.LE,
    ">=": TokenKind.GE,
    "!": TokenKind.NOT,
    "<": TokenKind.LT,
    ">": TokenKind.GT,
    "+": TokenKind.PLUS,
    "-": TokenKind.MINUS,
    "*": TokenKind.STAR,
    "/": TokenKind.SLASH,
    "(": TokenKind.LPAREN,
    ")": TokenKind.RPAREN,
    "[": TokenKind.LBRACKET,
    "]": TokenKind.RBRACKET,
    ",": TokenKind.COMMA,
}
_MISTAKES = {"=": "'==' to compare", "&": "'&&' or 'and'", "|": "'||' or 'or'"}
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[0-9](?:_?[0-9])*(?:\.[0-9](?:_?[0-9])*)?")
_NAME = re.compile(r"[^\W\d]\w*")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text, its value (for literals and names) and where it starts and ends."""

    kind: TokenKind
    text: str
    value: int | float | str | None
    start: int
    end: int

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind is TokenKind.END:
            return "end of rule"
        if self.kind in (TokenKind.NAME, TokenKind.INT, TokenKind.DECIMAL, TokenKind.TEXT):
            return f"{self.kind.value} {self.text}"
        return self.kind.value


def _refuse_prohibited(source: str, word: str, start: int) -> None:
    category = find_prohibited_category(word)
    if category is not None:
        raise ProhibitedNameInRuleError(category=category.label, name=word, position=position_in(source, start))


def _text(source: str, start: int) -> Token:
    quote = source[start]
    chars: list[str] = []
    index = start + 1
    while index < len(source):
        char = source[index]
        if char == quote:
            value = "".join(chars)
            _refuse_prohibited(source, value, start)
            return Token(TokenKind.TEXT, source[start : index + 1], value, start, index + 1)
        if char == "\\":
            escaped = source[index + 1 : index + 2]
            if escaped not in _ESCAPES:
                raise RuleSyntaxError(
                    position=position_in(source, index), expected="\\\\, \\' or \\\" after a backslash",
                    found=repr(escaped) if escaped else "end of rule",
                )  # fmt: skip
            chars.append(_ESCAPES[escaped])
            index += 2
            continue
        if char == "\n":
            break
        chars.append(char)
        index += 1
    raise RuleSyntaxError(
        position=position_in(source, start), expected=f"a closing {quote} for this text", found="end of line"
    )


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``END`` token.

    Raises :class:`RuleSyntaxError` for a character that starts no token, an unclosed text or a rule longer than
    :data:`MAX_RULE_LENGTH`; :class:`ProhibitedNameInRuleError` for a prohibited name or text.
    """
    if len(source) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(
            position=position_in(source, MAX_RULE_LENGTH), expected=f"at most {MAX_RULE_LENGTH} characters",
            found=f"{len(source)} characters",
        )  # fmt: skip
    tokens: list[Token] = []
    index = 0
    while True:
        space = _SPACE.match(source, index)
        if space is not None:
            index = space.end()
        if index >= len(source):
            tokens.append(Token(TokenKind.END, "", None, index, index))
            return tokens
        char = source[index]
        if char in "'\"":
            token = _text(source, index)
        elif (number := _NUMBER.match(source, index)) is not None:
            text = number.group()
            digits = text.replace("_", "")
            if "." in text:
                token = Token(TokenKind.DECIMAL, text, float(digits), index, number.end())
            else:
                token = Token(TokenKind.INT, text, int(digits), index, number.end())
            if _NAME.match(source, number.end()) is not None:
                raise RuleSyntaxError(
                    position=position_in(source, number.end()), expected="an operator after a number",
                    found=repr(source[number.end()]),
                )  # fmt: skip
        elif (name := _NAME.match(source, index)) is not None:
            word = name.group()
            _refuse_prohibited(source, word, index)
            token = Token(KEYWORDS.get(word, TokenKind.NAME), word, word, index, name.end())
        elif (symbol := source[index : index + 2]) in _SYMBOLS or (symbol := char) in _SYMBOLS:
            token = Token(_SYMBOLS[symbol], symbol, None, index, index + len(symbol))
        else:
            expected = _MISTAKES.get(char, "a value, a name, an operator or a bracket")
            raise RuleSyntaxError(position=position_in(source, index), expected=expected, found=repr(char))
        tokens.append(token)
        index = token.end
