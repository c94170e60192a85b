"""The registry's tables (SQLAlchemy Core). Migrations under ``migrations/`` must match this module exactly.

Conventions: application-generated time-ordered UUID keys; money in integer minor units beside an ISO 4217
code; UTC timestamps; nothing is deleted (``status`` plus a reason, and ``record_versions`` keeps every previous
version with who, when and why). Encrypted columns end in ``_sealed`` and hold AES-256-GCM output under the
household's data key; ``blind_index`` columns hold keyed hashes for exact look-ups.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Uuid,
)

from canasta.adapters.db.types import UtcDateTime
from canasta.domain.registry import WASHINGTON_GROUP_DOMAINS

__all__ = [
    "areas",
    "consents",
    "custom_field_definitions",
    "households",
    "identifiers",
    "imports",
    "metadata",
    "people",
    "record_versions",
    "tokens",
    "users",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _audit_columns() -> list[Column[object]]:
    """Who made the current version, when and why; ``version`` drives optimistic concurrency."""
    return [
        Column("version", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("created_by", String(64), nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("updated_by", String(64), nullable=False),
        Column("change_reason", String(500), nullable=False),
    ]


areas = Table(
    "areas",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("level", String(16), nullable=False),
    Column("parent_code", String(32), ForeignKey("areas.code"), nullable=True, index=True),
    CheckConstraint("level IN ('state', 'municipality', 'parish')", name="level"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("source_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("started_by", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_imported", Integer, nullable=False),
    Column("rows_already_present", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
)

households = Table(
    "households",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(64), nullable=False, unique=True),
    # No foreign key (here and on the other bulk-loaded columns below): a per-row key check is most of the cost
    # of a bulk load on PostgreSQL, and integrity is guaranteed otherwise. Every writer checks the code against
    # the parish-level areas first (the import against the list it reads at its start, the record path through
    # ``area_level``), and areas are never deleted.
    Column("area_code", String(32), nullable=False, index=True),
    Column("address", String(200), nullable=True),
    Column("monthly_income", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("dwelling_type", String(16), nullable=True),
    Column("tenure", String(16), nullable=True),
    Column("assets", Integer, nullable=False),
    Column("land_m2", BigInteger, nullable=True),
    Column("custom", JSON, nullable=True),
    Column("data_key", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", String(500), nullable=True),
    # Provenance only, never searched (so no index), and no foreign key: the import journals its ``imports`` row
    # in its own committed transaction before it writes any batch, and journal rows are never deleted.
    Column("import_id", Uuid, nullable=True),
    *_audit_columns(),
    CheckConstraint("monthly_income >= 0", name="income_not_negative"),
    CheckConstraint("land_m2 IS NULL OR land_m2 >= 0", name="land_not_negative"),
    CheckConstraint("status IN ('active', 'inactive')", name="status"),
)

people = Table(
    "people",
    metadata,
    Column("id", Uuid, primary_key=True),
    # No foreign key: every writer (the import, enrolment, add-member) writes a person in the transaction that
    # writes the household or after reading that it exists, and households are never deleted (DESIGN section 1).
    Column("household_id", Uuid, nullable=False, index=True),
    Column("reference", String(64), nullable=False, unique=True),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    # Folded (lower case, no accents) "given family", for name search without leaking case or accents rules.
    Column("name_key", String(201), nullable=False),
    Column("birth_date", Date, nullable=False, index=True),
    Column("sex", SmallInteger, nullable=False),
    Column("relationship", String(16), nullable=False),
    *[Column(domain, SmallInteger, nullable=True) for domain in WASHINGTON_GROUP_DOMAINS],
    Column("schooling", String(16), nullable=True),
    Column("employment", String(16), nullable=True),
    Column("phone_sealed", LargeBinary, nullable=True),
    Column("health_needs_sealed", LargeBinary, nullable=True),
    Column("custom", JSON, nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_reason", String(500), nullable=True),
    Column("import_id", Uuid, nullable=True),  # provenance only, as on households
    *_audit_columns(),
    CheckConstraint("sex IN (0, 1, 2, 9)", name="sex_iso_5218"),
    CheckConstraint("status IN ('active', 'inactive')", name="status"),
)

identifiers = Table(
    "identifiers",
    metadata,
    Column("id", Uuid, primary_key=True),
    # No foreign key: an identifier is written in the transaction that writes its person, or for a person just
    # read, and people are never deleted.
    Column("person_id", Uuid, nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("value_sealed", LargeBinary, nullable=False),
    Column("blind_index", LargeBinary(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Index("uq_identifiers_kind_blind_index", "kind", "blind_index", unique=True),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("household_id", Uuid, ForeignKey("households.id"), nullable=False, index=True),
    Column("person_id", Uuid, ForeignKey("people.id"), nullable=True),
    Column("purpose", String(64), nullable=False),
    Column("given_at", UtcDateTime, nullable=False),
    Column("given_by", String(64), nullable=False),
    Column("withdrawn_at", UtcDateTime, nullable=True),
    Column("withdrawn_by", String(64), nullable=True),
)

custom_field_definitions = Table(
    "custom_field_definitions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("applies_to", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("purpose", String(500), nullable=False),
    Column("choices", JSON, nullable=True),
    Column("is_required", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    CheckConstraint("applies_to IN ('household', 'person')", name="applies_to"),
)

record_versions = Table(
    "record_versions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("entity", String(32), nullable=False),
    Column("entity_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    # The whole previous row; sealed columns stay sealed (base64 of their ciphertext).
    Column("data", JSON, nullable=False),
    Column("replaced_at", UtcDateTime, nullable=False),
    Column("replaced_by", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    Index("uq_record_versions_entity_entity_id_version", "entity", "entity_id", "version", unique=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(255), nullable=True),
    Column("area_codes", JSON, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)
