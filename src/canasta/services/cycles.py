"""Cycle use cases: define a programme, draft a cycle, preview it, have a second person approve it, run it
(decisions and entitlements, set-wise and idempotent), close it, and explain any decision to its household.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor
from canasta.domain.cycles import PLAIN_LANGUAGE, CycleState, DecisionReason, check_approver, check_transition
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.facts import BUILT_IN_FACTS, HouseholdRecord, ValueType, compute_facts
from canasta.domain.pmt import PmtModel, load_pmt_model, score_household
from canasta.domain.programmes import Programme, Unredeemed, define_programme
from canasta.domain.rules import check_rule, evaluate_rule
from canasta.services.ports import Clock

__all__ = [
    "CycleStore",
    "Eligibility",
    "add_pmt_model",
    "add_programme",
    "approve_cycle",
    "close_cycle",
    "draft_cycle",
    "explain_decisions",
    "open_distribution",
    "preview_cycle",
    "programme_from_document",
    "run_cycle",
]

Row = Mapping[str, Any]
SAMPLE_EXPLANATIONS = 3


class CycleStore(Protocol):
    """Storage and the set-path engine (``adapters.db.cycle_store.SqlCycleStore``)."""

    def programme_by_code(self, code: str) -> Row | None: ...
    def programme(self, programme_id: UUID) -> Row | None: ...
    def insert_pmt_model(self, values: Mapping[str, Any]) -> None: ...
    def pmt_model(self, name: str, version: int | None = None) -> Row | None: ...
    def parish_codes(self) -> list[str]: ...
    def insert_programme(self, values: Mapping[str, Any]) -> None: ...
    def cycle(self, cycle_id: UUID) -> Row | None: ...
    def next_cycle_number(self, programme_id: UUID) -> int: ...
    def insert_cycle(self, values: Mapping[str, Any]) -> None: ...
    def update_cycle(self, cycle_id: UUID, expected_version: int, values: Mapping[str, Any]) -> bool: ...
    def preview(self, run: Any) -> dict[str, Any]: ...
    def generate_decisions(self, run: Any, *, decided_by: str, now: datetime) -> int: ...
    def generate_entitlements(self, run: Any, *, now: datetime) -> int: ...
    def entitled_cost(self, cycle_id: UUID) -> int: ...
    def decisions_of(self, household_id: UUID, cycle_id: UUID | None = None) -> list[Row]: ...
    def household_record(self, household_id: UUID) -> HouseholdRecord | None: ...
    def settle_open_entitlements(self, cycle_id: UUID, *, state: str) -> int: ...
    def count_decisions(self, cycle_id: UUID) -> dict[str, int]: ...
    def grant_entitlements(self, cycle_id: UUID, *, by: str, at: datetime) -> int: ...
    def lapse_entitlements(self, cycle_id: UUID, *, by: str, at: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The collaborators of the cycle use cases; ``make_run`` builds the set path's view of a cycle."""

    store: CycleStore
    clock: Clock
    new_ids: Callable[[int], list[UUID]]
    make_run: Callable[..., Any]


def _count_facts() -> list[str]:
    return sorted(name for name, fact in BUILT_IN_FACTS.items() if fact.type is ValueType.INT)


def programme_from_document(document: Mapping[str, Any]) -> Programme:
    """Validate a programme document and its rule (parsed and type-checked against the built-in facts)."""
    programme = define_programme(document, known_count_facts=_count_facts())
    try:
        check_rule(programme.rule)
    except ValidationError as error:
        error.detail = f"rule: {error.detail}"
        error.fields["field"] = "rule"
        raise
    return programme


def add_programme(eligibility: Eligibility, actor: Actor, document: Mapping[str, Any]) -> UUID:
    """Define a programme; its code must be new."""
    programme = programme_from_document(document)
    if eligibility.store.programme_by_code(programme.code) is not None:
        raise ConflictError(f"programme {programme.code!r} exists already", code="programme_exists")
    programme_id = eligibility.new_ids(1)[0]
    now = eligibility.clock.now()
    eligibility.store.insert_programme(
        {
            "id": programme_id, "code": programme.code, "name": programme.name, "kind": programme.kind.value,
            "document": programme.to_document(), "version": 1, "status": "active", "created_at": now,
            "created_by": actor.label, "updated_at": now, "updated_by": actor.label,
        }
    )  # fmt: skip
    return programme_id


def add_pmt_model(eligibility: Eligibility, actor: Actor, document: Mapping[str, Any]) -> tuple[str, int]:
    """Store a proxy means test model version (validated against the facts and the areas; versions never change)."""
    model = load_pmt_model(document, areas=eligibility.store.parish_codes())
    if eligibility.store.pmt_model(model.name, model.version) is not None:
        raise ConflictError(
            f"PMT model {model.name} version {model.version} exists; models are versioned, add a new version",
            code="pmt_model_exists",
        )
    eligibility.store.insert_pmt_model(
        {"name": model.name, "version": model.version, "document": model.to_document(),
         "fingerprint": model.fingerprint, "created_at": eligibility.clock.now(), "created_by": actor.label}
    )  # fmt: skip
    return model.name, model.version


def draft_cycle(
    eligibility: Eligibility, actor: Actor, programme_code: str, *, period_start: date, period_end: date
) -> UUID:
    """A new cycle of a programme, pinning the programme as it is now."""
    row = eligibility.store.programme_by_code(programme_code)
    if row is None:
        raise NotFoundError(f"no programme {programme_code!r}", field="programme")
    if period_end < period_start:
        raise ValidationError("the period must end on or after its start", field="period_end")
    pmt_name = row["document"].get("pmt_model")
    pmt_document = None
    if pmt_name:
        pmt_row = eligibility.store.pmt_model(pmt_name)
        if pmt_row is None:
            raise NotFoundError(f"the programme uses PMT model {pmt_name!r}, which does not exist", field="pmt_model")
        pmt_document = pmt_row["document"]
    cycle_id = eligibility.new_ids(1)[0]
    now = eligibility.clock.now()
    eligibility.store.insert_cycle(
        {
            "id": cycle_id, "programme_id": row["id"], "number": eligibility.store.next_cycle_number(row["id"]),
            "period_start": period_start, "period_end": period_end, "state": CycleState.DRAFT.value,
            "programme_document": row["document"], "pmt_document": pmt_document, "author": actor.label,
            "approved_by": None, "approved_at": None, "preview": None, "version": 1, "created_at": now,
            "updated_at": now,
        }
    )  # fmt: skip
    return cycle_id


def _cycle(eligibility: Eligibility, cycle_id: UUID) -> Row:
    row = eligibility.store.cycle(cycle_id)
    if row is None:
        raise NotFoundError("no such cycle", cycle_id=str(cycle_id))
    return row


def pinned_pmt(cycle: Row) -> PmtModel | None:
    """The PMT model pinned into a cycle when it was drafted, if its programme uses one."""
    return load_pmt_model(cycle["pmt_document"]) if cycle["pmt_document"] else None


def _run(eligibility: Eligibility, cycle: Row) -> Any:
    programme = programme_from_document(cycle["programme_document"])
    return eligibility.make_run(
        cycle_id=cycle["id"], programme_id=cycle["programme_id"], programme=programme,
        rule=check_rule(programme.rule), reference_date=cycle["period_start"],
        period_start=cycle["period_start"], period_end=cycle["period_end"], pmt=pinned_pmt(cycle),
    )  # fmt: skip


def _move(eligibility: Eligibility, cycle: Row, target: CycleState, values: Mapping[str, Any]) -> None:
    check_transition(CycleState(cycle["state"]), target)
    changed = eligibility.store.update_cycle(
        cycle["id"], cycle["version"], {**values, "state": target.value, "updated_at": eligibility.clock.now()}
    )
    if not changed:
        raise ConflictError("the cycle changed meanwhile; read it again", code="stale_version")


def preview_cycle(eligibility: Eligibility, actor: Actor, cycle_id: UUID) -> dict[str, Any]:
    """Counts by area, total cost against the budget and sample explanations; decides nothing."""
    cycle = _cycle(eligibility, cycle_id)
    run = _run(eligibility, cycle)
    preview = eligibility.store.preview(run)
    preview["samples"] = [
        _explain_household(eligibility, cycle, UUID(household_id))
        for household_id in (preview["sample_eligible"] + preview["sample_not_eligible"])[: SAMPLE_EXPLANATIONS * 2]
    ]
    preview["previewed_by"] = actor.label
    _move(eligibility, cycle, CycleState.PREVIEWED, {"preview": _json_ready(preview)})
    return preview


def approve_cycle(eligibility: Eligibility, actor: Actor, cycle_id: UUID) -> None:
    """Approve a previewed cycle: someone other than its author, and within the budget."""
    cycle = _cycle(eligibility, cycle_id)
    check_approver(cycle["author"], actor.label)
    preview = cycle["preview"] or {}
    if preview.get("over_budget"):
        raise ConflictError(
            f"the preview costs {preview['cost']} {preview['currency']}, over the budget of {preview['budget']}; "
            "change the programme and preview again",
            code="over_budget",
        )
    now = eligibility.clock.now()
    _move(eligibility, cycle, CycleState.APPROVED, {"approved_by": actor.label, "approved_at": now})


def run_cycle(eligibility: Eligibility, actor: Actor, cycle_id: UUID) -> dict[str, int]:
    """Write decisions and entitlements for an approved cycle (or finish a run that was interrupted).

    Idempotent: a second run creates nothing. The whole run is one transaction (the caller's), refused and
    rolled back if the entitlements would cost more than the budget.
    """
    cycle = _cycle(eligibility, cycle_id)
    state = CycleState(cycle["state"])
    if state not in (CycleState.APPROVED, CycleState.DISTRIBUTING):
        raise ConflictError(f"a {state.value} cycle cannot be run; it must be approved first", code="not_approved")
    run = _run(eligibility, cycle)
    now = eligibility.clock.now()
    decided = eligibility.store.generate_decisions(run, decided_by=actor.label, now=now)
    entitled = eligibility.store.generate_entitlements(run, now=now)
    budget = run.programme.budget_per_cycle
    cost = eligibility.store.entitled_cost(cycle_id)
    if budget is not None and cost > budget:
        raise ConflictError(
            f"the entitlements would cost {cost}, over the budget of {budget}; nothing was written",
            code="over_budget",
        )
    if state is CycleState.APPROVED:
        _move(eligibility, cycle, CycleState.DISTRIBUTING, {})
    return {"decisions": decided, "entitlements": entitled, **eligibility.store.count_decisions(cycle_id)}


def open_distribution(eligibility: Eligibility, actor: Actor, cycle_id: UUID) -> int:
    """Grant the cycle's entitlements in the ledger, so points can hand them out; returns how many were granted.

    Run after :func:`run_cycle` (its own transaction: a national cycle grants millions), and safe to run again:
    an entitlement is granted once. Refused unless the cycle is distributing.
    """
    cycle = _cycle(eligibility, cycle_id)
    if CycleState(cycle["state"]) is not CycleState.DISTRIBUTING:
        raise ConflictError(f"a {cycle['state']} cycle is not distributing; run it first", code="not_distributing")
    return eligibility.store.grant_entitlements(cycle_id, by=actor.label, at=eligibility.clock.now())


def close_cycle(eligibility: Eligibility, actor: Actor, cycle_id: UUID) -> int:
    """End a distributing cycle: unredeemed entitlements lapse or carry over, as the programme says.

    Returns how many entitlements were still open. A carried-over entitlement stays redeemable after the cycle;
    what is left on a lapsed one goes back to the programme in the ledger.
    """
    cycle = _cycle(eligibility, cycle_id)
    programme = programme_from_document(cycle["programme_document"])
    _move(eligibility, cycle, CycleState.CLOSED, {})
    state = "carried_over" if programme.unredeemed is Unredeemed.CARRY_OVER else "lapsed"
    settled = eligibility.store.settle_open_entitlements(cycle_id, state=state)
    eligibility.store.lapse_entitlements(cycle_id, by=actor.label, at=eligibility.clock.now())
    return settled


def _explain_household(eligibility: Eligibility, cycle: Row, household_id: UUID) -> dict[str, Any]:
    programme = programme_from_document(cycle["programme_document"])
    rule = check_rule(programme.rule)
    pmt = pinned_pmt(cycle)
    record = eligibility.store.household_record(household_id)
    if record is None:
        raise NotFoundError("no such household", household_id=str(household_id))
    names = {*rule.facts, *(pmt.facts if pmt else ())}
    facts = compute_facts(record, reference_date=cycle["period_start"], names=names)
    evaluation = evaluate_rule(rule, facts)
    explained: dict[str, Any] = {
        "household_id": str(household_id),
        "rule": programme.rule,
        "passed": evaluation.passed,
        "facts": {name: _json_value(value) for name, value in facts.items()},
        "clauses": [
            {
                "text": clause.text,
                "passed": clause.passed,
                "depth": clause.depth,
                "values": {name: _json_value(value) for name, value in clause.values},
            }
            for clause in evaluation.clauses
        ],
        "lines": evaluation.explain(),
    }
    if pmt is not None:
        score = score_household(pmt, facts)
        explained["pmt"] = {
            "model": f"{pmt.name} v{pmt.version}", "score": score.score, "cutoff": pmt.cutoff,
            "passed": score.is_eligible,
            "contributions": [
                {"term": item.term, "value": _json_value(item.value), "coefficient": item.coefficient,
                 "amount": item.amount}
                for item in score.contributions
            ],
        }  # fmt: skip
        explained["lines"].append(
            f"{'passed' if score.is_eligible else 'failed'}: proxy means test score {score.score:.3f} "
            f"<= cut-off {pmt.cutoff}"
        )
    return explained


def explain_decisions(
    eligibility: Eligibility, household_id: UUID, cycle_id: UUID | None = None
) -> list[dict[str, Any]]:
    """Every decision about a household (of one cycle, or all), with the clauses, values and a plain reason."""
    explained = []
    for decision in eligibility.store.decisions_of(household_id, cycle_id):
        cycle = _cycle(eligibility, decision["cycle_id"])
        reason = DecisionReason(decision["reason"])
        explained.append(
            {
                "decision_id": str(decision["id"]), "cycle_id": str(cycle["id"]), "cycle_number": cycle["number"],
                "programme": cycle["programme_document"]["name"], "version": decision["version"],
                "eligible": decision["is_eligible"], "reason": reason.value, "plain_reason": PLAIN_LANGUAGE[reason],
                "units": decision["units"], "decided_at": decision["decided_at"].isoformat(),
                "explanation": _explain_household(eligibility, cycle, household_id),
            }
        )  # fmt: skip
    return explained


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)


def _json_ready(document: Any) -> Any:
    if isinstance(document, dict):
        return {key: _json_ready(value) for key, value in document.items()}
    if isinstance(document, list):
        return [_json_ready(value) for value in document]
    return _json_value(document) if not isinstance(document, float) else document
