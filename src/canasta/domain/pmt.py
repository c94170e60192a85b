"""Proxy means test (PMT): predicted log consumption per capita from need facts, and a cut-off.

A :class:`PmtModel` is versioned and pinned to a cycle by its :attr:`~PmtModel.fingerprint`. Its score for a
household is, summed in this order::

    intercept + coefficient_1 * fact_1 + ... + coefficient_n * fact_n + regional term

where a true/false fact counts 1 or 0, and the regional term is the coefficient of the one region (an area code
prefix: ``VE-01`` covers ``VE-01`` and every area under it) that covers the household's ``area_code`` (0 when none
does; loading with the gazetteer's areas makes sure every area is covered exactly once). A household is eligible when
its score is **at or below** the cut-off: its predicted consumption is at or under the line.

The same score is computed in SQL for every household by ``canasta.adapters.db.rule_sql.pmt_score_sql``, summing in
the same order in double precision; a property test holds the two together on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from canasta.domain.errors import ValidationError
from canasta.domain.facts import BUILT_IN_FACTS, FactLibrary, UnknownFactError, Value, ValueType
from canasta.domain.privacy import refuse_prohibited

__all__ = ["Contribution", "PmtModel", "PmtModelError", "PmtScore", "PmtTerm", "load_pmt_model", "score_household"]

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_AREA = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_SCORED_TYPES = (ValueType.INT, ValueType.DECIMAL, ValueType.BOOL)


class PmtModelError(ValidationError):
    """A PMT model document that cannot be used; ``field`` names the part (``coefficients.members``)."""

    code = "invalid_pmt_model"


@dataclass(frozen=True, slots=True)
class PmtTerm:
    """``coefficient`` times the value of ``fact`` (1 or 0 for a true/false fact)."""

    fact: str
    coefficient: float


@dataclass(frozen=True, slots=True)
class PmtModel:
    """A validated model. Build it with :func:`load_pmt_model`; ``to_document`` gives back what it was loaded from."""

    name: str
    version: int
    intercept: float
    terms: tuple[PmtTerm, ...]
    regions: tuple[tuple[str, float], ...]  # (area code prefix, coefficient), as declared
    cutoff: float

    @property
    def facts(self) -> tuple[str, ...]:
        """The facts the score reads, sorted (``area_code`` when there are regional terms)."""
        names = {term.fact for term in self.terms} | ({"area_code"} if self.regions else set())
        return tuple(sorted(names))

    def to_document(self) -> dict[str, Any]:
        """The model as a JSON-ready document (:func:`load_pmt_model` reads it back to an equal model)."""
        return {
            "name": self.name, "version": self.version, "intercept": self.intercept,
            "coefficients": {term.fact: term.coefficient for term in self.terms}, "regions": dict(self.regions),
            "cutoff": self.cutoff,
        }  # fmt: skip

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical document: a cycle pins the exact model it was scored with."""
        canonical = json.dumps(self.to_document(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def region_of(self, area_code: str) -> tuple[str, float] | None:
        """The region covering ``area_code`` and its coefficient, or None."""
        for prefix, coefficient in self.regions:
            if area_code == prefix or area_code.startswith(prefix + "-"):
                return prefix, coefficient
        return None


def _number(value: object, field: str) -> float:
    """A finite number (bool is not one), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PmtModelError(f"must be a finite number, not {type(value).__name__}", field=field)
    return float(value)


def _covers(prefix: str, area: str) -> bool:
    return area == prefix or area.startswith(prefix + "-")


def load_pmt_model(
    document: Mapping[str, Any], *, facts: FactLibrary | None = None, areas: Collection[str] | None = None
) -> PmtModel:
    """Validate a model document: ``name``, ``version`` (>= 1), ``intercept``, ``coefficients`` (fact -> number),
    optional ``regions`` (area code prefix -> number) and ``cutoff``.

    With ``areas`` (the gazetteer's parish codes), every area must be covered by exactly one region when the model
    has regions. Raises :class:`PmtModelError` naming the field, :class:`UnknownFactError` with the closest known
    facts, or ``ProhibitedCategoryError``.
    """
    library = BUILT_IN_FACTS if facts is None else facts
    unknown = set(document) - {"name", "version", "intercept", "coefficients", "regions", "cutoff"}
    if unknown:
        raise PmtModelError(f"unknown keys: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    for key in ("name", "version", "intercept", "coefficients", "cutoff"):
        if key not in document:
            raise PmtModelError("is required", field=key, code="required")
    name = document["name"]
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise PmtModelError("must be 1-64 characters: a-z, 0-9 and _ . -", field="name")
    refuse_prohibited([name], where="PMT model name")
    version = document["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PmtModelError("must be a whole number, 1 or more", field="version")
    coefficients = document["coefficients"]
    if not isinstance(coefficients, Mapping) or not coefficients:
        raise PmtModelError("must map at least one fact to its coefficient", field="coefficients")
    terms = []
    for fact_name, coefficient in coefficients.items():
        field = f"coefficients.{fact_name}"
        refuse_prohibited([str(fact_name)], where="PMT coefficient")
        fact = library.get(fact_name)
        if fact is None:
            raise UnknownFactError(str(fact_name), library, field=field)
        if fact.type not in _SCORED_TYPES:
            raise PmtModelError(f"{fact_name} is {fact.type.value}; a coefficient needs a number or true/false",
                                field=field)  # fmt: skip
        terms.append(PmtTerm(fact_name, _number(coefficient, field)))
    regions = _regions(document.get("regions") or {}, areas)
    return PmtModel(name, version, _number(document["intercept"], "intercept"), tuple(terms), regions,
                    _number(document["cutoff"], "cutoff"))  # fmt: skip


def _regions(raw: object, areas: Collection[str] | None) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, Mapping):
        raise PmtModelError("must map area code prefixes to coefficients", field="regions")
    regions = []
    for prefix, coefficient in raw.items():
        field = f"regions.{prefix}"
        if not isinstance(prefix, str) or _AREA.fullmatch(prefix) is None:
            raise PmtModelError("an area code is letters and digits in parts joined by '-'", field=field)
        regions.append((prefix, _number(coefficient, field)))
    for prefix, _ in regions:
        for other, _ in regions:
            if prefix != other and _covers(prefix, other):
                raise PmtModelError(
                    f"overlaps region {prefix} (an area must fall in one region)", field=f"regions.{other}"
                )
    if regions and areas is not None:
        uncovered = sorted(area for area in areas if not any(_covers(prefix, area) for prefix, _ in regions))
        if uncovered:
            shown = ", ".join(uncovered[:5]) + (" ..." if len(uncovered) > 5 else "")
            raise PmtModelError(f"no region covers {shown}; add a region (coefficient 0 for the base one)",
                                field="regions", code="missing_regions", areas=uncovered)  # fmt: skip
    return tuple(regions)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One term of a score: what it is, the value it read (None for the intercept), its coefficient, its amount."""

    term: str
    value: Value | None
    coefficient: float
    amount: float


@dataclass(frozen=True, slots=True)
class PmtScore:
    """A household's score, whether it is at or below the cut-off, and each term's contribution in order."""

    score: float
    is_eligible: bool
    contributions: tuple[Contribution, ...]


def score_household(model: PmtModel, facts: Mapping[str, Value]) -> PmtScore:
    """The score of one household from its ``facts`` (all of ``model.facts``), with each term's contribution.

    Raises :class:`PmtModelError` (field ``facts``) when a fact the model reads is missing.
    """
    missing = [name for name in model.facts if name not in facts]
    if missing:
        raise PmtModelError(f"facts not given: {', '.join(missing)}", field="facts")
    contributions = [Contribution("intercept", None, 1.0, model.intercept)]
    score = model.intercept
    for term in model.terms:
        value = facts[term.fact]
        amount = term.coefficient * (float(value) if not isinstance(value, bool) else (1.0 if value else 0.0))
        contributions.append(Contribution(term.fact, value, term.coefficient, amount))
        score = score + amount
    if model.regions:
        area = str(facts["area_code"])
        region = model.region_of(area)
        coefficient = 0.0 if region is None else region[1]
        contributions.append(
            Contribution(f"region {region[0] if region else '(none)'}", area, coefficient, coefficient)
        )
        score = score + coefficient
    return PmtScore(score, score <= model.cutoff, tuple(contributions))
