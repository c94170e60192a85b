"""Record-path use cases of the registry: enrol, add a member, correct, deactivate, consent, read, search.

Each runs inside the caller's unit of work (one transaction). Corrections keep the replaced version with who,
when and why; nothing is deleted. Objects outside the actor's areas answer :class:`NotFoundError`, exactly as
objects that do not exist.
"""

from canasta.services.registry.consents import record_consent, withdraw_consent
from canasta.services.registry.context import Registry, RegistryStore
from canasta.services.registry.corrections import deactivate, update_household, update_person
from canasta.services.registry.enrolment import add_member, enrol_household
from canasta.services.registry.reading import read_household, read_person, read_versions, search_people

__all__ = [
    "Registry",
    "RegistryStore",
    "add_member",
    "deactivate",
    "enrol_household",
    "read_household",
    "read_person",
    "read_versions",
    "record_consent",
    "search_people",
    "update_household",
    "update_person",
    "withdraw_consent",
]
