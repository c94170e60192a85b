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
        480, ge=1, le=7 * 24 * 60, description="Lifetime of an API token issued by `canasta users token`."
    )
    host: str = Field("127.0.0.1", description="Address `canasta serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `canasta serve` listens on.")
    card_issuer: str = Field(
        "https://canasta.example/issuer",
        description="Issuer URI written into every card credential (CWT claim 1).",
    )
    card_validity_days: int = Field(3 * 365, ge=1, le=10 * 365, description="How long a newly issued card stays valid.")


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment; ``overrides`` win (used by the CLI's options and by tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings validates the overrides
