"""Tables of the eligibility side: distribution points, programmes, cycles, decisions, entitlements, appeals.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.
Decisions and entitlements are written set-wise (``INSERT ... SELECT``); the unique keys make every run
idempotent: one decision per household, cycle and version, one entitlement per household, programme and cycle.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from canasta.adapters.db.tables import metadata
from canasta.adapters.db.types import UtcDateTime

__all__ = [
    "appeal_events",
    "appeals",
    "cycles",
    "decisions",
    "distribution_points",
    "entitlements",
    "pmt_models",
    "programmes",
]

distribution_points = Table(
    "distribution_points",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("area_code", String(32), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('shop', 'kiosk', 'clinic', 'fuel_station', 'office')", name="kind"),
    CheckConstraint("status IN ('active', 'inactive')", name="status"),
)

programmes = Table(
    "programmes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("document", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

pmt_models = Table(
    "pmt_models",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
)

cycles = Table(
    "cycles",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("programme_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("state", String(16), nullable=False),
    # The programme (rule, formula, proxy means test) as it was when the cycle was drafted.
    Column("programme_document", JSON, nullable=False),
    Column("pmt_document", JSON, nullable=True),
    Column("author", String(64), nullable=False),
    Column("approved_by", String(64), nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("preview", JSON, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("programme_id", "number"),
    CheckConstraint("state IN ('draft', 'previewed', 'approved', 'distributing', 'closed')", name="state"),
    CheckConstraint("period_end >= period_start", name="period"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("cycle_id", Uuid, nullable=False),
    # No index led by the household: see SqlCycleStore.decisions_of.
    Column("household_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("is_eligible", Boolean, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("score", Float, nullable=True),
    Column("units", Integer, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("appeal_id", Uuid, nullable=True),
    UniqueConstraint("cycle_id", "household_id", "version"),
)

entitlements = Table(
    "entitlements",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("programme_id", Uuid, nullable=False),
    Column("cycle_id", Uuid, nullable=False),
    Column("household_id", Uuid, nullable=False, index=True),
    Column("decision_id", Uuid, nullable=False),
    Column("units", Integer, nullable=False),
    Column("unit_value", BigInteger, nullable=False),
    Column("co_payment", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    # The distribution point that holds the offline lease (DESIGN section 7); None when the area has none yet.
    Column("home_point_id", Uuid, nullable=True),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("programme_id", "cycle_id", "household_id"),
    CheckConstraint("units > 0", name="units_positive"),
    CheckConstraint("state IN ('open', 'redeemed', 'lapsed', 'carried_over')", name="state"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("decision_id", Uuid, nullable=False),
    Column("cycle_id", Uuid, nullable=False),
    Column("household_id", Uuid, nullable=False, index=True),
    Column("grounds", String(2000), nullable=False),
    Column("filed_by", String(64), nullable=False),
    Column("filed_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reviewer", String(64), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("outcome_reason", String(2000), nullable=True),
    Column("new_decision_id", Uuid, nullable=True),
    Column("version", Integer, nullable=False),
    CheckConstraint("state IN ('filed', 'in_review', 'upheld', 'rejected')", name="state"),
)

appeal_events = Table(
    "appeal_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("appeal_id", Uuid, nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(64), nullable=False),
    Column("note", String(2000), nullable=False),
)
