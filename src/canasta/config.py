"""Settings from the environment (prefix ``CANASTA_``), with safe defaults for a laptop.

Nothing here is read at import time: :func:`load_settings` is called by the entrypoints and the result is
handed to :func:`canasta.bootstrap.bootstrap`. Every setting is documented in the README's settings table, and a
test fails when one is missing there.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Environment", "Settings", "load_settings"]


class Environment(StrEnum):
    """Where canasta runs; production refuses development conveniences."""

    DEVELOPMENT = "development"  # laptop and demo: a key file is created on demand
    PRODUCTION = "production"  # keys must be provided; no defaults for secrets


class Settings(BaseSettings):
    """All of canasta's settings. Field names map to ``CANASTA_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CANASTA_", extra="ignore", frozen=True)

    environment: Environment = Field(
        Environment.DEVELOPMENT, description="`development` or `production`; production refuses to invent keys."
    )
    database_url: str = Field(
        "sqlite:///var/canasta.db",
        description="SQLAlchemy URL of the registry database (SQLite file or `postgresql+psycopg://...`).",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        le=500,
        description="Database connections each server process keeps open (requests beyond it wait for one); "
        "more than the requests one process serves at once only costs the database memory.",
    )
    key_file: Path = Field(
        Path("var/canasta.keys.json"),
        description="Path of the key file made by `canasta init` (key-encryption and blind-index keys).",
    )
    keys: str | None = Field(
        None,
        description="The key file's JSON content itself, for deployments that pass secrets in the environment; "
        "takes precedence over `CANASTA_KEY_FILE`.",
    )
    import_batch_size: int = Field(5000, ge=100, le=200_000, description="Persons written per import transaction.")
    token_ttl_minutes: int = Field(
        60,
        ge=1,
        le=7 * 24 * 60,
        description="Lifetime of a person's API token (`POST /auth/token`, `canasta users token`); devices' "
        "tokens are issued for a year at registration and end when the device is revoked.",
    )
    login_max_failures: int = Field(
        5, ge=1, le=1000, description="Failed sign-ins of one user name within the window that lock it."
    )
    login_max_failures_per_address: int = Field(
        50, ge=1, le=100_000, description="Failed sign-ins from one client address within the window that lock it."
    )
    login_failure_window_minutes: int = Field(
        15, ge=1, le=24 * 60, description="The window in which failed sign-ins are counted."
    )
    login_lockout_minutes: int = Field(
        15, ge=1, le=24 * 60, description="The first lockout; each further one in a row lasts twice as long."
    )
    login_lockout_max_minutes: int = Field(
        24 * 60, ge=1, le=30 * 24 * 60, description="The longest a lockout lasts however many came before."
    )
    host: str = Field("127.0.0.1", description="Address `canasta serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `canasta serve` listens on.")
    card_issuer: str = Field(
        "https://canasta.example/issuer",
        description="Issuer URI written into every card credential (CWT claim 1).",
    )
    read_quota_per_hour: int = Field(
        2000,
        ge=1,
        le=1_000_000,
        description="Records one user may read or find per hour; past it, 429 and a security alert.",
    )
    access_log: bool = Field(
        True,
        description="Write the access log. Only a development server (the benchmarks) may turn it off; "
        "production refuses to start without it.",
    )
    audit_seal_seconds: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="How often `canasta serve` seals new access-log entries into the chain (0: never; seal with "
        "`canasta audit seal`).",
    )
    card_validity_days: int = Field(3 * 365, ge=1, le=10 * 365, description="How long a newly issued card stays valid.")
    approval_expiry_days: int = Field(
        7,
        ge=1,
        le=90,
        description="Days a request for a destructive act waits for its second approver before it expires.",
    )


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment; ``overrides`` win (used by the CLI's options and by tests).

    Raises :class:`~canasta.domain.errors.ValidationError` naming the first bad variable (never its value: it
    may be a secret).
    """
    from pydantic import ValidationError as SettingsError

    from canasta.domain.errors import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings validates the overrides
    except SettingsError as error:
        first = error.errors()[0]
        name = f"CANASTA_{str(first['loc'][0]).upper()}" if first.get("loc") else "CANASTA_*"
        raise ValidationError(f"{name}: {first['msg']}", field=name, code="invalid_setting") from None
