"""Cycles: one round of a programme, from draft to closed, and the rule that two people decide it.

A cycle pins the programme as it was (rule, formula, proxy means test) when it was drafted, so a later change to
the programme never changes a decision already made. Running a cycle is idempotent: a household gets at most one
decision version per run and at most one entitlement per programme and cycle.
"""

from __future__ import annotations

from enum import StrEnum

from canasta.domain.errors import ConflictError, PermissionDeniedError

__all__ = ["TRANSITIONS", "CycleState", "DecisionReason", "check_approver", "check_transition"]


class CycleState(StrEnum):
    """Where a cycle is. Legal moves are listed in :data:`TRANSITIONS`."""

    DRAFT = "draft"  # defined, nothing computed
    PREVIEWED = "previewed"  # counts, cost and sample explanations computed; nothing decided
    APPROVED = "approved"  # a second person approved the preview; decisions may be generated
    DISTRIBUTING = "distributing"  # decisions and entitlements exist; distribution points redeem
    CLOSED = "closed"  # the period ended; unredeemed entitlements lapse or carry over


TRANSITIONS: dict[CycleState, frozenset[CycleState]] = {
    CycleState.DRAFT: frozenset({CycleState.PREVIEWED}),
    CycleState.PREVIEWED: frozenset({CycleState.PREVIEWED, CycleState.APPROVED}),  # a preview can be redone
    CycleState.APPROVED: frozenset({CycleState.DISTRIBUTING}),
    CycleState.DISTRIBUTING: frozenset({CycleState.CLOSED}),
    CycleState.CLOSED: frozenset(),
}


class DecisionReason(StrEnum):
    """Stable codes of a decision, each with a plain-language explanation (``docs/rules.md``)."""

    ELIGIBLE = "eligible"  # the rule held (and the PMT score was under the cut-off, where there is one)
    RULE_NOT_MET = "rule_not_met"  # the rule did not hold for the household's facts
    PMT_ABOVE_CUTOFF = "pmt_above_cutoff"  # predicted consumption above the programme's cut-off
    OUT_OF_AREA = "out_of_area"  # the household lives outside the programme's areas
    NO_UNITS = "no_units"  # eligible, but the formula gives zero units (e.g. no eligible member)
    UPHELD_APPEAL = "upheld_appeal"  # re-evaluated after an appeal with corrected data


PLAIN_LANGUAGE: dict[DecisionReason, str] = {
    DecisionReason.ELIGIBLE: "Your household meets the programme's conditions.",
    DecisionReason.RULE_NOT_MET: "Your household does not meet one or more of the programme's conditions; "
    "each condition and the values used are listed.",
    DecisionReason.PMT_ABOVE_CUTOFF: "The estimate of your household's consumption, made from the facts listed, is "
    "above the programme's threshold.",
    DecisionReason.OUT_OF_AREA: "The programme does not serve the area where your household lives.",
    DecisionReason.NO_UNITS: "Your household meets the conditions, but no member is counted for this benefit.",
    DecisionReason.UPHELD_APPEAL: "Your appeal was upheld and your household was assessed again with corrected data.",
}


def check_transition(current: CycleState, target: CycleState) -> None:
    """Raise :class:`ConflictError` unless a cycle in ``current`` may move to ``target``."""
    if target not in TRANSITIONS[current]:
        raise ConflictError(f"a {current.value} cycle cannot become {target.value}", code="invalid_transition")


def check_approver(author: str, approver: str) -> None:
    """Two different people: whoever drafted a cycle cannot approve it (:class:`PermissionDeniedError`)."""
    if author == approver:
        error = PermissionDeniedError("a cycle must be approved by someone other than its author")
        error.code = "same_person"
        raise error
