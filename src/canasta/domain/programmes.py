"""Programmes: what a benefit is, who may get it (a rule over need facts) and how much.

A programme is data, validated here: its kind, what one unit of benefit is (a basket of commodities, an amount of
money, a voucher or a service), how many units a household gets (per household, per member or per eligible
member, with a cap), the co-payment, the areas it serves, its budget per cycle, how often cycles run and what
happens to what is not redeemed. Its eligibility rule is text in the rule language, checked when the programme is
defined; no rule can name a prohibited category.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from canasta.domain.errors import ValidationError
from canasta.domain.privacy import refuse_prohibited

__all__ = [
    "BasketLine",
    "BenefitBasis",
    "BenefitFormula",
    "Frequency",
    "Programme",
    "ProgrammeKind",
    "Unredeemed",
    "benefit_units",
    "define_programme",
]

_CODE = re.compile(r"[a-z][a-z0-9_-]{1,31}")
_CURRENCY = re.compile(r"[A-Z]{3}")


class ProgrammeKind(StrEnum):
    """What the programme hands out."""

    IN_KIND = "in_kind"  # a basket of goods, counted in baskets
    CASH = "cash"  # money, in minor units of the programme's currency
    VOUCHER = "voucher"  # a voucher of a value, in minor units
    SERVICE = "service"  # a service such as medicine, counted in units of service


class BenefitBasis(StrEnum):
    """How many units of benefit a household receives."""

    PER_HOUSEHOLD = "per_household"  # ``amount`` units for the household
    PER_MEMBER = "per_member"  # ``amount`` units per active member
    PER_ELIGIBLE_MEMBER = "per_eligible_member"  # ``amount`` units per member counted by ``member_fact``


class Frequency(StrEnum):
    """How often the programme runs a cycle."""

    MONTHLY = "monthly"
    BIMONTHLY = "bimonthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    ONE_OFF = "one_off"  # a single cycle, e.g. an emergency cash transfer


class Unredeemed(StrEnum):
    """What happens to an entitlement not redeemed by the end of its cycle."""

    LAPSE = "lapse"  # it expires with the cycle
    CARRY_OVER = "carry_over"  # it stays redeemable in the next cycle


@dataclass(frozen=True, slots=True)
class BasketLine:
    """One commodity of an in-kind basket: ``quantity`` of ``unit`` (integers in a declared unit: g, ml, unit)."""

    commodity: str
    quantity: int
    unit: str


@dataclass(frozen=True, slots=True)
class BenefitFormula:
    """``amount`` units per basis, at most ``cap`` units per household (None: no cap)."""

    basis: BenefitBasis
    amount: int
    cap: int | None = None
    member_fact: str | None = None  # for per_eligible_member: a count fact such as children_under_5


@dataclass(frozen=True, slots=True)
class Programme:
    """A validated programme definition (see :func:`define_programme`)."""

    code: str
    name: str
    kind: ProgrammeKind
    rule: str
    formula: BenefitFormula
    currency: str
    unit_value: int  # minor units one unit of benefit is worth (cash: 1; basket: its cost) for budgets
    co_payment: int  # minor units the household pays per unit (0: none)
    basket: tuple[BasketLine, ...] = ()
    area_codes: tuple[str, ...] = ()  # empty: the whole country
    budget_per_cycle: int | None = None  # minor units; None: no cap
    frequency: Frequency = Frequency.MONTHLY
    unredeemed: Unredeemed = Unredeemed.LAPSE
    pmt_model: str | None = None  # code of a proxy means test model, when the programme uses one

    def to_document(self) -> dict[str, Any]:
        """A JSON-ready form, stored with the programme and pinned into each cycle."""
        return {
            "code": self.code, "name": self.name, "kind": self.kind.value, "rule": self.rule,
            "formula": {"basis": self.formula.basis.value, "amount": self.formula.amount, "cap": self.formula.cap,
                        "member_fact": self.formula.member_fact},
            "currency": self.currency, "unit_value": self.unit_value, "co_payment": self.co_payment,
            "basket": [{"commodity": b.commodity, "quantity": b.quantity, "unit": b.unit} for b in self.basket],
            "area_codes": list(self.area_codes), "budget_per_cycle": self.budget_per_cycle,
            "frequency": self.frequency.value, "unredeemed": self.unredeemed.value, "pmt_model": self.pmt_model,
        }  # fmt: skip


def benefit_units(formula: BenefitFormula, *, members: int, eligible_members: int) -> int:
    """Units of benefit for one eligible household (the same arithmetic the SQL path uses)."""
    if formula.basis is BenefitBasis.PER_HOUSEHOLD:
        units = formula.amount
    elif formula.basis is BenefitBasis.PER_MEMBER:
        units = formula.amount * members
    else:
        units = formula.amount * eligible_members
    return units if formula.cap is None else min(units, formula.cap)


def _positive(value: object, field: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ValidationError(f"must be a whole number {'>= 0' if allow_zero else '>= 1'}", field=field)
    return value


def _choice(enum: type[StrEnum], value: object, field: str) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise ValidationError(f"must be one of: {known}", field=field, code="invalid_choice") from None


def define_programme(document: Mapping[str, Any], *, known_count_facts: Sequence[str] = ()) -> Programme:
    """Validate a programme document (as the API or a file gives it). Raises ValidationError naming the field.

    The rule text is checked separately against the fact library by the caller (it needs the rule checker);
    here its names are checked for prohibited categories like every other name.
    """
    code = str(document.get("code", ""))
    if _CODE.fullmatch(code) is None:
        raise ValidationError("must be 2-32 characters: a-z, 0-9, _ and -, starting with a letter", field="code")
    name = str(document.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError("must be 1-100 characters", field="name")
    kind = _choice(ProgrammeKind, document.get("kind"), "kind")
    rule = str(document.get("rule", "")).strip()
    if not rule:
        raise ValidationError("an eligibility rule is required (use `true` for universal programmes)", field="rule")
    raw_formula = document.get("formula") or {}
    if not isinstance(raw_formula, Mapping):
        raise ValidationError("must be an object", field="formula")
    basis = _choice(BenefitBasis, raw_formula.get("basis"), "formula.basis")
    member_fact = raw_formula.get("member_fact")
    if basis is BenefitBasis.PER_ELIGIBLE_MEMBER:
        if member_fact not in known_count_facts:
            raise ValidationError(
                f"per_eligible_member needs a count fact, one of: {', '.join(known_count_facts)}",
                field="formula.member_fact",
            )
    elif member_fact is not None:
        raise ValidationError("only per_eligible_member takes a member fact", field="formula.member_fact")
    cap = raw_formula.get("cap")
    formula = BenefitFormula(
        basis=basis,
        amount=_positive(raw_formula.get("amount"), "formula.amount"),
        cap=None if cap is None else _positive(cap, "formula.cap"),
        member_fact=member_fact,
    )
    currency = str(document.get("currency", ""))
    if _CURRENCY.fullmatch(currency) is None:
        raise ValidationError("must be an ISO 4217 code such as VES", field="currency")
    basket: list[BasketLine] = []
    for position, line in enumerate(document.get("basket") or ()):
        field = f"basket.{position}"
        commodity = str(line.get("commodity", ""))
        if _CODE.fullmatch(commodity) is None:
            raise ValidationError("must be a commodity code (a-z, 0-9, _ -)", field=f"{field}.commodity")
        refuse_prohibited([commodity], where="commodity")
        unit = str(line.get("unit", ""))
        if unit not in ("g", "kg", "ml", "l", "unit"):
            raise ValidationError("must be g, kg, ml, l or unit", field=f"{field}.unit")
        basket.append(BasketLine(commodity, _positive(line.get("quantity"), f"{field}.quantity"), unit))
    if (kind is ProgrammeKind.IN_KIND) != bool(basket):
        raise ValidationError("an in_kind programme has a basket, and only it has one", field="basket")
    areas = tuple(str(code) for code in document.get("area_codes") or ())
    budget = document.get("budget_per_cycle")
    pmt_model = document.get("pmt_model")
    refuse_prohibited([code, name, *(str(key) for key in document)], where="programme field")
    return Programme(
        code=code, name=name, kind=kind, rule=rule, formula=formula, currency=currency,
        unit_value=_positive(document.get("unit_value", 1), "unit_value"),
        co_payment=_positive(document.get("co_payment", 0), "co_payment", allow_zero=True),
        basket=tuple(basket), area_codes=areas,
        budget_per_cycle=None if budget is None else _positive(budget, "budget_per_cycle"),
        frequency=_choice(Frequency, document.get("frequency", "monthly"), "frequency"),
        unredeemed=_choice(Unredeemed, document.get("unredeemed", "lapse"), "unredeemed"),
        pmt_model=None if pmt_model is None else str(pmt_model),
    )  # fmt: skip
