"""Who may do what: roles and area scopes (DESIGN section 8).

Every API route is listed in ``entrypoints/api/authorisation.py`` with the roles allowed; a route missing there
is unreachable. Staff are scoped to areas by code prefix: a user scoped to ``VE-01`` sees households in
``VE-01-02-03`` and nothing in ``VE-02``; an object outside the scope answers exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

__all__ = ["Actor", "Role", "is_in_scope"]


class Role(StrEnum):
    """The roles of DESIGN section 8."""

    ADMIN = "admin"  # runs the deployment: users, areas, custom fields
    PROGRAMME_MANAGER = "programme_manager"  # designs programmes and cycles
    ENROLMENT_OFFICER = "enrolment_officer"  # enrols and updates households in their areas
    DISTRIBUTION_OPERATOR = "distribution_operator"  # a distribution point's device or operator
    GRIEVANCE_OFFICER = "grievance_officer"  # reviews appeals and corrections
    AUDITOR = "auditor"  # reads the audit trail and reports
    CITIZEN = "citizen"  # a household member looking at their own record


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated user: who, in which role, over which areas (empty: the whole country)."""

    user_id: UUID
    name: str
    role: Role
    area_codes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the actor is named in records (who changed what)."""
        return f"{self.role.value}:{self.name}"


def is_in_scope(area_code: str, scopes: Sequence[str]) -> bool:
    """True when ``area_code`` lies inside one of ``scopes`` (code prefixes on ``-`` boundaries)."""
    if not scopes:
        return True
    return any(area_code == scope or area_code.startswith(scope + "-") for scope in scopes)
