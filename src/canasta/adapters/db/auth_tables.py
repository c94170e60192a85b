"""Tables of login attempts, lockouts and security alerts of authentication.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.

``login_throttles`` counts failed sign-ins per subject (a user name, or a client address) and holds the lockout
that follows too many. A subject is a keyed hash (the blind-index key), never the name or address in clear: an
attempted name may be a mistyped password, and an address is personal data. A row is reset, never deleted (the
application's database role may not delete), so there is one row per subject ever seen.

Refused sign-ins and tokens are reported in ``security_alerts`` (see ``access_log_tables``).
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Integer, LargeBinary, String, Table

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = ["login_throttles"]

login_throttles = Table(
    "login_throttles",
    metadata,
    Column("subject", LargeBinary(16), primary_key=True),  # blind index of the name or address
    Column("kind", String(16), nullable=False),  # what the subject is: name or address
    Column("failures", Integer, nullable=False),  # failed sign-ins in the current window
    Column("window_started_at", UtcDateTime, nullable=False),  # the first failure counted in ``failures``
    Column("lockouts", Integer, nullable=False),  # lockouts in a row: each doubles the next (up to a cap)
    Column("locked_until", UtcDateTime, nullable=True),  # none: never locked (or unlocked)
    Column("last_failure_at", UtcDateTime, nullable=True),
    CheckConstraint("kind IN ('name', 'address')", name="kind"),
    CheckConstraint("failures >= 0 AND lockouts >= 0", name="counts"),
)
