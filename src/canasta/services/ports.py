"""The Protocols the use cases need; adapters implement them, tests use hand-written fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

__all__ = ["BulkWriter", "Clock", "HouseholdCipher", "ImportJournal", "Sealer"]


class Clock(Protocol):
    """The current time, always UTC and timezone-aware."""

    def now(self) -> datetime: ...


class HouseholdCipher(Protocol):
    """Seals and opens one household's sensitive fields."""

    def seal(self, record_id: UUID, column: str, plaintext: str) -> bytes: ...

    def open(self, record_id: UUID, column: str, sealed: bytes) -> str: ...


class Sealer(Protocol):
    """Household data keys and blind indexes."""

    def new_household_key(self, household_id: UUID) -> tuple[HouseholdCipher, bytes]: ...

    def household_cipher(self, household_id: UUID, wrapped: bytes) -> HouseholdCipher: ...

    def blind_index(self, kind: str, value: str) -> bytes: ...


class BulkWriter(Protocol):
    """Existence look-ups and one-transaction batch writes for the import (see ``adapters.db.bulk``)."""

    def existing_households(self, references: Sequence[str]) -> dict[str, tuple[UUID, UUID | None]]: ...

    def existing_people(self, references: Sequence[str]) -> dict[str, UUID | None]: ...

    def taken_identifiers(self, kind: str, indexes: Sequence[bytes]) -> set[bytes]: ...

    def household_data_key(self, household_id: UUID) -> bytes: ...

    def write_batch(
        self,
        households: Iterable[Sequence[Any]],
        people: Iterable[Sequence[Any]],
        identifiers: Iterable[Sequence[Any]],
    ) -> None: ...

    def close(self) -> None: ...


class ImportJournal(Protocol):
    """Records each import run: what file, who, when, and what came of it."""

    def start(self, import_id: UUID, *, source_name: str, sha256: str, actor: str, at: datetime) -> None: ...

    def finish(self, import_id: UUID, *, status: str, counts: dict[str, int], at: datetime) -> None: ...
