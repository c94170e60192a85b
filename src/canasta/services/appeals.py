"""Appeal use cases: file, take for review, uphold (re-assess with corrected data) or reject, and show the
household every step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor
from canasta.domain.appeals import ANSWER_WITHIN, AppealState, check_reviewer, check_transition
from canasta.domain.cycles import DecisionReason
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.facts import HouseholdRecord, compute_facts
from canasta.domain.pmt import score_household
from canasta.domain.programmes import benefit_units
from canasta.domain.rules import check_rule, evaluate_rule
from canasta.services.cycles import Eligibility, pinned_pmt, programme_from_document

__all__ = ["AppealStore", "Appeals", "decide_appeal", "file_appeal", "household_appeals", "take_appeal"]

Row = Mapping[str, Any]


class AppealStore(Protocol):
    """Storage of appeals (``adapters.db.appeal_store.SqlAppealStore``)."""

    def decision(self, decision_id: UUID) -> Row | None: ...
    def latest_version(self, cycle_id: UUID, household_id: UUID) -> int: ...
    def appeal(self, appeal_id: UUID) -> Row | None: ...
    def open_appeal_for(self, decision_id: UUID) -> Row | None: ...
    def insert(self, table: str, values: Mapping[str, Any]) -> None: ...
    def update_appeal(self, appeal_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool: ...
    def has_entitlement(self, programme_id: UUID, cycle_id: UUID, household_id: UUID) -> bool: ...
    def appeals_of(self, household_id: UUID) -> list[Row]: ...
    def events(self, appeal_id: UUID) -> list[Row]: ...


@dataclass(frozen=True, slots=True)
class Appeals:
    """The appeal use cases' collaborators: their store and the cycle side (for re-assessment)."""

    store: AppealStore
    eligibility: Eligibility


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not 10 <= len(value) <= 2000:
        raise ValidationError("say why, in 10-2000 characters", field=field, code="reason_required")
    return value


def _event(appeals: Appeals, appeal_id: UUID, state: AppealState, actor: Actor, note: str) -> None:
    eligibility = appeals.eligibility
    appeals.store.insert(
        "appeal_events",
        {"id": eligibility.new_ids(1)[0], "appeal_id": appeal_id, "state": state.value, "at": eligibility.clock.now(),
         "by": actor.label, "note": note},
    )  # fmt: skip


def file_appeal(appeals: Appeals, actor: Actor, decision_id: UUID, *, grounds: str) -> UUID:
    """File an appeal against a decision (one open appeal per decision). Returns the appeal id."""
    decision = appeals.store.decision(decision_id)
    if decision is None:
        raise NotFoundError("no such decision", field="decision_id")
    if appeals.store.open_appeal_for(decision_id) is not None:
        raise ConflictError("this decision has an open appeal already", code="appeal_open")
    grounds = _text(grounds, "grounds")
    appeal_id = appeals.eligibility.new_ids(1)[0]
    now = appeals.eligibility.clock.now()
    appeals.store.insert(
        "appeals",
        {
            "id": appeal_id, "decision_id": decision_id, "cycle_id": decision["cycle_id"],
            "household_id": decision["household_id"], "grounds": grounds, "filed_by": actor.label, "filed_at": now,
            "due_at": now + ANSWER_WITHIN, "state": AppealState.FILED.value, "reviewer": None, "decided_at": None,
            "outcome_reason": None, "new_decision_id": None, "version": 1,
        },
    )  # fmt: skip
    _event(appeals, appeal_id, AppealState.FILED, actor, "appeal received")
    return appeal_id


def _appeal_and_cycle(appeals: Appeals, appeal_id: UUID) -> tuple[Row, Row, Row]:
    appeal = appeals.store.appeal(appeal_id)
    if appeal is None:
        raise NotFoundError("no such appeal", field="appeal_id")
    decision = appeals.store.decision(appeal["decision_id"])
    cycle = appeals.eligibility.store.cycle(appeal["cycle_id"])
    if decision is None or cycle is None:
        raise NotFoundError("the appealed decision is missing")
    return appeal, decision, cycle


def _move(appeals: Appeals, appeal: Row, target: AppealState, values: Mapping[str, Any]) -> None:
    check_transition(AppealState(appeal["state"]), target)
    if not appeals.store.update_appeal(appeal["id"], appeal["version"], {**values, "state": target.value}):
        raise ConflictError("the appeal changed meanwhile; read it again", code="stale_version")


def take_appeal(appeals: Appeals, actor: Actor, appeal_id: UUID) -> None:
    """A grievance officer independent of the decision takes the appeal for review."""
    appeal, decision, cycle = _appeal_and_cycle(appeals, appeal_id)
    check_reviewer(actor.label, decided_by=decision["decided_by"], approved_by=cycle["approved_by"],
                   author=cycle["author"])  # fmt: skip
    _move(appeals, appeal, AppealState.IN_REVIEW, {"reviewer": actor.label})
    _event(appeals, appeal_id, AppealState.IN_REVIEW, actor, "taken for review")


def decide_appeal(appeals: Appeals, actor: Actor, appeal_id: UUID, *, upheld: bool, reason: str) -> UUID | None:
    """Uphold (re-assess with the household's current, corrected data) or reject, with a reason.

    An upheld appeal writes a new decision version and, if the household is now eligible, an entitlement in the
    appealed cycle (if it has none). Returns the new decision's id, or None for a rejection.
    """
    appeal, decision, cycle = _appeal_and_cycle(appeals, appeal_id)
    if appeal["reviewer"] != actor.label:
        raise ConflictError("only the officer who took the appeal decides it", code="not_the_reviewer")
    reason = _text(reason, "reason")
    now = appeals.eligibility.clock.now()
    if not upheld:
        _move(appeals, appeal, AppealState.REJECTED, {"decided_at": now, "outcome_reason": reason})
        _event(appeals, appeal_id, AppealState.REJECTED, actor, reason)
        return None
    new_decision = _reassess(appeals, actor, appeal, decision, cycle)
    _move(appeals, appeal, AppealState.UPHELD,
          {"decided_at": now, "outcome_reason": reason, "new_decision_id": new_decision})  # fmt: skip
    _event(appeals, appeal_id, AppealState.UPHELD, actor, reason)
    return new_decision


def _reassess(appeals: Appeals, actor: Actor, appeal: Row, decision: Row, cycle: Row) -> UUID:
    programme = programme_from_document(cycle["programme_document"])
    rule = check_rule(programme.rule)
    record: HouseholdRecord | None = appeals.eligibility.store.household_record(decision["household_id"])
    if record is None:
        raise NotFoundError("the household is missing")
    pmt = pinned_pmt(cycle)
    member_facts = [programme.formula.member_fact] if programme.formula.member_fact else []
    names = {*rule.facts, "members", *member_facts, *(pmt.facts if pmt else ())}
    facts = compute_facts(record, reference_date=cycle["period_start"], names=names)
    passed = evaluate_rule(rule, facts).passed
    score = score_household(pmt, facts) if pmt is not None else None
    below_cutoff = score is None or score.is_eligible
    member_fact = programme.formula.member_fact
    units = benefit_units(
        programme.formula,
        members=int(facts["members"]),
        eligible_members=int(facts[member_fact]) if member_fact else 0,
    )
    eligible = passed and below_cutoff and units > 0
    ids = appeals.eligibility.new_ids(2)
    now = appeals.eligibility.clock.now()
    appeals.store.insert(
        "decisions",
        {
            "id": ids[0], "cycle_id": cycle["id"], "household_id": decision["household_id"],
            "version": appeals.store.latest_version(cycle["id"], decision["household_id"]) + 1,
            "is_eligible": eligible,
            "reason": (DecisionReason.UPHELD_APPEAL if eligible else
                       DecisionReason.PMT_ABOVE_CUTOFF if passed and not below_cutoff else
                       DecisionReason.NO_UNITS if passed else DecisionReason.RULE_NOT_MET).value,
            "score": score.score if score is not None else None, "units": units if eligible else 0,
            "decided_at": now, "decided_by": actor.label, "appeal_id": appeal["id"],
        },
    )  # fmt: skip
    if eligible and not appeals.store.has_entitlement(cycle["programme_id"], cycle["id"], decision["household_id"]):
        appeals.store.insert(
            "entitlements",
            {
                "id": ids[1], "programme_id": cycle["programme_id"], "cycle_id": cycle["id"],
                "household_id": decision["household_id"], "decision_id": ids[0], "units": units,
                "unit_value": programme.unit_value, "co_payment": programme.co_payment,
                "currency": programme.currency, "valid_from": cycle["period_start"],
                "valid_until": cycle["period_end"], "home_point_id": None, "state": "open", "created_at": now,
            },
        )  # fmt: skip
    return ids[0]


def household_appeals(appeals: Appeals, household_id: UUID) -> list[dict[str, Any]]:
    """Every appeal of a household with each step (who, when, what), for the household to see."""
    return [
        {
            "id": str(row["id"]), "decision_id": str(row["decision_id"]), "state": row["state"],
            "grounds": row["grounds"], "filed_at": row["filed_at"].isoformat(), "due_at": row["due_at"].isoformat(),
            "outcome_reason": row["outcome_reason"],
            "steps": [{"state": event["state"], "at": event["at"].isoformat(), "by": event["by"], "note": event["note"]}
                      for event in appeals.store.events(row["id"])],
        }
        for row in appeals.store.appeals_of(household_id)
    ]  # fmt: skip
