"""Appeals: a household (or an officer on its behalf) contests a decision; someone independent reviews it.

The reviewer is a grievance officer who neither made the decision nor approved its cycle. An upheld appeal
re-assesses the household with its corrected data as a new decision version; a rejected one gives its reason.
Every step is kept and shown to the household.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from canasta.domain.errors import ConflictError, PermissionDeniedError

__all__ = ["ANSWER_WITHIN", "TRANSITIONS", "AppealState", "check_reviewer", "check_transition"]

#: how long the agency has to answer an appeal
ANSWER_WITHIN = timedelta(days=30)


class AppealState(StrEnum):
    """Where an appeal is. Legal moves are listed in :data:`TRANSITIONS`."""

    FILED = "filed"  # received; waiting for a reviewer
    IN_REVIEW = "in_review"  # a grievance officer has taken it
    UPHELD = "upheld"  # the household was re-assessed with corrected data (a new decision version)
    REJECTED = "rejected"  # the decision stands; the reason is given to the household


TRANSITIONS: dict[AppealState, frozenset[AppealState]] = {
    AppealState.FILED: frozenset({AppealState.IN_REVIEW}),
    AppealState.IN_REVIEW: frozenset({AppealState.UPHELD, AppealState.REJECTED}),
    AppealState.UPHELD: frozenset(),
    AppealState.REJECTED: frozenset(),
}


def check_transition(current: AppealState, target: AppealState) -> None:
    """Raise :class:`ConflictError` unless an appeal in ``current`` may move to ``target``."""
    if target not in TRANSITIONS[current]:
        raise ConflictError(
            f"an appeal that is {current.value} cannot become {target.value}", code="invalid_transition"
        )


def check_reviewer(reviewer: str, *, decided_by: str, approved_by: str | None, author: str) -> None:
    """The reviewer must be independent of the decision: not its maker, nor the cycle's author or approver."""
    if reviewer in {decided_by, author} | ({approved_by} if approved_by else set()):
        error = PermissionDeniedError("an appeal is reviewed by someone who neither made nor approved the decision")
        error.code = "not_independent"
        raise error
