"""The eligibility rule language: small, safe, typed expressions over facts (``docs/rules.md``).

One parser produces one typed tree; two back ends share it: :func:`evaluate_rule` here (one household, with the
reasons) and the SQL compiler in ``canasta.adapters.db.rule_sql`` (every household at once). Rules are text that
is parsed, never code that is run: no ``eval``, no stored SQL, no stored Python.

Use :func:`check_rule` to turn text into a :class:`Rule` (it parses, refuses prohibited names, looks up facts and
checks types), then evaluate or compile it.
"""

from canasta.domain.rules.errors import (
    Position,
    ProhibitedNameInRuleError,
    RuleError,
    RuleEvaluationError,
    RuleSyntaxError,
    RuleTypeError,
)
from canasta.domain.rules.interpreter import Clause, Evaluation, evaluate_rule
from canasta.domain.rules.parser import parse
from canasta.domain.rules.types import FUNCTIONS, Rule, check_rule

__all__ = [
    "FUNCTIONS",
    "Clause",
    "Evaluation",
    "Position",
    "ProhibitedNameInRuleError",
    "Rule",
    "RuleError",
    "RuleEvaluationError",
    "RuleSyntaxError",
    "RuleTypeError",
    "check_rule",
    "evaluate_rule",
    "parse",
]
