"""The authorisation table: every route of the API and the roles that may call it.

A route that is not listed here answers 403 to everyone (see ``dependencies.authorise``), and a test
enumerates the app's routes and fails when one is missing, so a new route is unreachable until someone decides
who may use it. ``PUBLIC`` routes need no token.
"""

from __future__ import annotations

from canasta.domain.access import Role

__all__ = ["PUBLIC", "ROUTE_ROLES"]

_STAFF_READ = frozenset({Role.ADMIN, Role.ENROLMENT_OFFICER, Role.PROGRAMME_MANAGER, Role.GRIEVANCE_OFFICER})
_STAFF_WRITE = frozenset({Role.ADMIN, Role.ENROLMENT_OFFICER})

PUBLIC: frozenset[str] = frozenset({"GET /health", "POST /auth/token"})

ROUTE_ROLES: dict[str, frozenset[Role]] = {
    "GET /auth/whoami": frozenset(Role),
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
}
