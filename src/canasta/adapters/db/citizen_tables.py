"""Tables of how a household member signs in to see their own record.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.

``citizen_credentials`` holds, for each household member who has one, the argon2id hash of the PIN set at the
office and the ``users`` row (role ``citizen``, no password) their tokens belong to. Setting a PIN again replaces
the hash and counts up ``pin_version``; who set each one is in the access log (a write, purpose
``citizen sign-in``). Failed sign-ins are counted per card in ``login_throttles`` (``auth_tables``).
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table, Uuid

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = ["citizen_credentials"]

citizen_credentials = Table(
    "citizen_credentials",
    metadata,
    Column("person_id", Uuid, ForeignKey("people.id"), primary_key=True),  # the household member
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, unique=True),  # their tokens' user
    Column("pin_hash", String(255), nullable=False),  # argon2id; the PIN itself is never stored
    Column("pin_version", Integer, nullable=False),  # 1 for the first PIN, one more for each replacement
    Column("set_at", UtcDateTime, nullable=False),
    Column("set_by", String(64), nullable=False),  # the label of the officer who set the current PIN
    CheckConstraint("pin_version >= 1", name="pin_version"),
)
