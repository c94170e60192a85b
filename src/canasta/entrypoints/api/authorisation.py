"""The authorisation table: every route of the API and the roles that may call it.

A route that is not listed here answers 403 to everyone (see ``dependencies.authorise``), and a test
enumerates the app's routes and fails when one is missing, so a new route is unreachable until someone decides
who may use it. ``PUBLIC`` routes need no token.
"""

from __future__ import annotations

from canasta.domain.access import Role

__all__ = ["PUBLIC", "PURPOSES", "ROUTE_ROLES", "purpose_of"]

_STAFF_READ = frozenset({Role.ADMIN, Role.ENROLMENT_OFFICER, Role.PROGRAMME_MANAGER, Role.GRIEVANCE_OFFICER})
_STAFF_WRITE = frozenset({Role.ADMIN, Role.ENROLMENT_OFFICER})

PUBLIC: frozenset[str] = frozenset({"GET /health", "POST /auth/token", "POST /citizen/token"})

ROUTE_ROLES: dict[str, frozenset[Role]] = {
    "GET /auth/whoami": frozenset(Role),
    "POST /auth/logout": frozenset(Role),
    "POST /households": _STAFF_WRITE,
    "GET /households/{household_id}": _STAFF_READ,
    "PATCH /households/{household_id}": _STAFF_WRITE,
    "POST /households/{household_id}/deactivate": _STAFF_WRITE,
    "GET /households/{household_id}/versions": _STAFF_READ | {Role.AUDITOR},
    "GET /households/{household_id}/decisions": _STAFF_READ,
    "GET /households/{household_id}/appeals": _STAFF_READ,
    "POST /decisions/{decision_id}/appeals": frozenset({Role.ENROLMENT_OFFICER, Role.GRIEVANCE_OFFICER}),
    "POST /appeals/{appeal_id}/take": frozenset({Role.GRIEVANCE_OFFICER}),
    "POST /appeals/{appeal_id}/decide": frozenset({Role.GRIEVANCE_OFFICER}),
    "POST /households/{household_id}/members": _STAFF_WRITE,
    "POST /households/{household_id}/consents": _STAFF_WRITE,
    "POST /households/{household_id}/consents/{consent_id}/withdraw": _STAFF_WRITE,
    "GET /people/search": _STAFF_READ,
    "POST /cards/verify": frozenset({Role.ADMIN, Role.ENROLMENT_OFFICER, Role.DISTRIBUTION_OPERATOR}),
    "POST /redemptions": frozenset({Role.DISTRIBUTION_OPERATOR}),
    # Devices sign in as distribution operators; the bundle is a device's own (the service refuses anyone else),
    # and an operator may carry a device's records in for it.
    "GET /devices/bundle": frozenset({Role.DISTRIBUTION_OPERATOR}),
    "POST /devices/uploads": frozenset({Role.DISTRIBUTION_OPERATOR}),
    "GET /people/{person_id}": _STAFF_READ,
    "PATCH /people/{person_id}": _STAFF_WRITE,
    "POST /people/{person_id}/deactivate": _STAFF_WRITE,
    "GET /people/{person_id}/versions": _STAFF_READ | {Role.AUDITOR},
    # Two people for destructive acts: the roles that ask for or decide some kind of request (docs/approvals.md);
    # which kinds each role may approve is checked by the use case, and each role sees only those kinds.
    "GET /approvals": _STAFF_READ | {Role.AUDITOR},
    "GET /approvals/{approval_id}": _STAFF_READ | {Role.AUDITOR},
    "POST /approvals/{approval_id}/approve": _STAFF_READ,
    "POST /approvals/{approval_id}/reject": _STAFF_READ,
    # A household member's own view (docs/citizens.md): the routes find the household from the token, never
    # from the request, and the citizen role is on no staff route (only these and signing out).
    "POST /people/{person_id}/citizen-pin": _STAFF_WRITE,
    "GET /me": frozenset({Role.CITIZEN}),
    "GET /me/decisions": frozenset({Role.CITIZEN}),
    "GET /me/entitlements": frozenset({Role.CITIZEN}),
    "GET /me/redemptions": frozenset({Role.CITIZEN}),
    "GET /me/appeals": frozenset({Role.CITIZEN}),
    "GET /me/access-log": frozenset({Role.CITIZEN}),
    "POST /me/corrections": frozenset({Role.CITIZEN}),
}


#: Why a route touches personal data: the purpose written in each access-log entry it makes, shown to the
#: citizen whose record it was. A route not listed here logs the purpose ``service``.
PURPOSES: dict[str, str] = {
    "POST /households": "enrolment",
    "GET /households/{household_id}": "case management",
    "PATCH /households/{household_id}": "correction",
    "POST /households/{household_id}/deactivate": "deactivation",
    "GET /households/{household_id}/versions": "record history",
    "GET /households/{household_id}/decisions": "eligibility review",
    "GET /households/{household_id}/appeals": "appeal",
    "POST /decisions/{decision_id}/appeals": "appeal",
    "POST /appeals/{appeal_id}/take": "appeal",
    "POST /appeals/{appeal_id}/decide": "appeal",
    "POST /households/{household_id}/members": "enrolment",
    "POST /households/{household_id}/consents": "consent",
    "POST /households/{household_id}/consents/{consent_id}/withdraw": "consent",
    "GET /people/search": "search",
    "POST /redemptions": "distribution",
    "GET /devices/bundle": "offline distribution",
    "POST /devices/uploads": "offline distribution",
    "GET /people/{person_id}": "case management",
    "PATCH /people/{person_id}": "correction",
    "POST /people/{person_id}/deactivate": "deactivation",
    "GET /people/{person_id}/versions": "record history",
    "POST /approvals/{approval_id}/approve": "deactivation",
    "POST /people/{person_id}/citizen-pin": "citizen sign-in",
    "POST /citizen/token": "sign-in",
    "GET /me": "own record",
    "GET /me/decisions": "own record",
    "GET /me/entitlements": "own record",
    "GET /me/redemptions": "own record",
    "GET /me/appeals": "own record",
    "GET /me/access-log": "own record",
    "POST /me/corrections": "correction request",
}


def purpose_of(route: str) -> str:
    return PURPOSES.get(route, "service")
