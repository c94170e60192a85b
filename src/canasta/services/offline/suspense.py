"""Suspense cases for officers: the list (a read side, plain data) and settling one case
(:mod:`canasta.domain.suspense` says what each resolution posts)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from canasta.domain.access import Actor
from canasta.domain.errors import NotFoundError, ValidationError
from canasta.domain.suspense import CaseState, Resolution, case_reference, check_resolution, plan_write_off
from canasta.services.offline.ports import Offline

__all__ = ["list_cases", "resolve_case"]


def list_cases(offline: Offline, *, state: str | None = None, point: str | None = None) -> list[dict[str, Any]]:
    """Cases (``state`` open or resolved, None for both; of one point's devices if ``point``), oldest first, each
    with what it holds in suspense per asset. Raises :class:`ValidationError` for an unknown state."""
    if state is not None and state not in {item.value for item in CaseState}:
        raise ValidationError("the state is open or resolved", field="state")
    with offline.transaction() as unit:
        rows = unit.store.cases(state=state, point_code=point)
        held = unit.store.suspense_held([case_reference(row["id"]) for row in rows])
    return [
        {
            "case_id": str(row["id"]),
            "kind": row["kind"],
            "state": row["state"],
            "point": row["point"],
            "device": row["device"],
            "counter": row["counter"],
            "redemption_id": str(row["redemption_id"]) if row["redemption_id"] else None,
            "detail": row["detail"],
            "in_suspense": held.get(case_reference(row["id"]), {}),
            "created_at": row["created_at"].isoformat(),
            "resolution": row["resolution"],
            "resolved_by": row["resolved_by"],
            "resolved_at": row["resolved_at"].isoformat() if row["resolved_at"] else None,
            "resolution_reason": row["resolution_reason"],
        }
        for row in rows
    ]


def resolve_case(offline: Offline, actor: Actor, case_id: UUID, *, resolution: str, reason: str) -> dict[str, Any]:
    """Settle an open case: ``write_off`` clears what it holds in suspense, ``dismiss`` reverses what it posted.

    Returns ``{"case_id", "resolution", "transfers"}`` (how many transfers were posted). Raises
    :class:`NotFoundError`, :class:`ValidationError` (resolution, reason) and :class:`ConflictError`
    (``case_resolved``).
    """
    with offline.transaction() as unit:
        store = unit.store
        case = store.case(case_id, lock=True)
        if case is None:
            raise NotFoundError(f"no suspense case {case_id}", field="case")
        chosen = check_resolution(case["state"], resolution, reason)
        reference, now, by = case_reference(case_id), offline.clock.now(), actor.label
        posted = [transfer for transfer in store.transfers_by_reference(reference) if transfer.reverses is None]
        if chosen is Resolution.WRITE_OFF:
            count = len(store.post(plan_write_off(posted, reference=reference, reason=reason.strip()), by=by, at=now))
        else:
            count = len([store.reverse(transfer.id, by=by, reason=reason.strip(), at=now) for transfer in posted])
        store.resolve_case(
            case_id,
            {"state": CaseState.RESOLVED.value, "resolved_at": now, "resolved_by": by[:64],
             "resolution": chosen.value, "resolution_reason": reason.strip()[:500]},
        )  # fmt: skip
    return {"case_id": str(case_id), "resolution": chosen.value, "transfers": count}
