"""``import_households``: a file of person rows into the registry, in batches, safely re-runnable.

Set path (DESIGN section 2): rows are validated in plain Python with no per-row database work, and each batch
is written with the database's bulk path in one transaction. Before a batch is written, one look-up per kind
finds the households, people and identifiers already stored, so re-running a file writes nothing twice and an
import killed midway is completed by running it again. A household is written whole or not at all.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from canasta.domain.custom_fields import CustomFieldDefinition
from canasta.domain.household_rows import (
    HouseholdDraft,
    RowError,
    head_errors,
    make_validator,
    read_header,
    validate_household,
)
from canasta.domain.registry import RecordStatus
from canasta.services.ports import BulkWriter, Clock, ImportJournal, Sealer

__all__ = ["ImportResult", "import_households"]

NATIONAL_ID = "national_id"
REPORT_COLUMNS = ("row", "column", "code", "reason")


@dataclass(slots=True)
class ImportResult:
    """What an import did. ``rejected`` counts rows; the report file lists each with its reason."""

    import_id: UUID
    rows_read: int = 0
    imported: int = 0
    households_imported: int = 0
    already_present: int = 0
    rejected: int = 0
    report_path: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "rows_imported": self.imported,
            "rows_already_present": self.already_present,
            "rows_rejected": self.rejected,
        }

    @property
    def is_useful(self) -> bool:
        """True when some of the file is in the registry now, imported by this run or an earlier one."""
        return self.imported > 0 or self.already_present > 0


class _Report:
    """The rejected-rows report, opened on the first rejection so a clean import leaves no file."""

    def __init__(self, path: Path, result: ImportResult) -> None:
        self._path = path
        self._result = result
        self._handle: TextIO | None = None
        self._writer: Any = None

    def add(self, errors: Sequence[RowError]) -> None:
        if not errors:
            return
        if self._writer is None:
            self._handle = self._path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(REPORT_COLUMNS)
            self._result.report_path = self._path
        rows = {error.row for error in errors}
        self._result.rejected += len(rows)
        for error in errors:
            self._writer.writerow((error.row, error.column, error.code, error.reason))
            self._result.reasons[error.code] = self._result.reasons.get(error.code, 0) + 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _groups(rows: Iterator[tuple[int, list[str]]], position: int) -> Iterator[list[tuple[int, list[str]]]]:
    """Consecutive rows with the same household reference."""
    group: list[tuple[int, list[str]]] = []
    current: str | None = None
    for number, row in rows:
        reference = row[position].strip() if position < len(row) else ""
        if reference != current and group:
            yield group
            group = []
        current = reference
        group.append((number, row))
    if group:
        yield group


def import_households(
    *,
    header: Sequence[str],
    rows: Iterator[tuple[int, list[str]]],
    source_name: str,
    sha256: str,
    report_path: Path,
    writer: BulkWriter,
    sealer: Sealer,
    journal: ImportJournal,
    clock: Clock,
    import_id: UUID,
    new_ids: Callable[[int], list[UUID]],
    area_codes: frozenset[str],
    definitions: Mapping[str, CustomFieldDefinition],
    actor: str,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import person rows. Raises ``ValidationError``/``ProhibitedCategoryError`` for a bad header (nothing written).

    ``progress`` is called with the number of rows handled after each batch.
    """
    started = clock.now()
    resolved = read_header(header, definitions)
    validator = make_validator(resolved, today=started.date(), area_codes=area_codes, definitions=definitions)
    result = ImportResult(import_id=import_id)
    report = _Report(report_path, result)
    journal.start(import_id, source_name=source_name, sha256=sha256, actor=actor, at=started)
    status = "failed"
    try:
        batch: list[HouseholdDraft] = []
        batch_people = 0
        position = resolved.positions["household_ref"]
        for group in _groups(rows, position):
            result.rows_read += len(group)
            draft, errors = validate_household(group, validator)
            report.add(errors)
            if draft is None:
                continue
            batch.append(draft)
            batch_people += len(draft.people)
            if batch_people >= batch_size:
                _write(batch, writer, sealer, clock, import_id, new_ids, actor, result, report)
                batch, batch_people = [], 0
                if progress is not None:
                    progress(result.rows_read)
        if batch:
            _write(batch, writer, sealer, clock, import_id, new_ids, actor, result, report)
        if progress is not None:
            progress(result.rows_read)
        status = "finished"
    finally:
        report.close()
        journal.finish(import_id, status=status, counts=result.counts, at=clock.now())
    return result


def _reject(draft: HouseholdDraft, errors: list[RowError], report: _Report) -> None:
    bad = {error.row for error in errors}
    errors += [
        RowError(row, "", "household_rejected", "another row of this household was rejected")
        for row in draft.rows
        if row not in bad
    ]
    report.add(sorted(errors, key=lambda error: error.row))


def _write(
    batch: list[HouseholdDraft],
    writer: BulkWriter,
    sealer: Sealer,
    clock: Clock,
    import_id: UUID,
    new_ids: Callable[[int], list[UUID]],
    actor: str,
    result: ImportResult,
    report: _Report,
) -> None:
    """Filter out what is stored already, seal, and write one batch in one transaction."""
    existing_households = writer.existing_households([draft.reference for draft in batch])
    existing_people = writer.existing_people([person.reference for draft in batch for person in draft.people])
    national_ids = {
        person.national_id: sealer.blind_index(NATIONAL_ID, person.national_id)
        for draft in batch
        for person in draft.people
        if person.national_id is not None and person.reference not in existing_people
    }
    taken = writer.taken_identifiers(NATIONAL_ID, list(national_ids.values())) if national_ids else set()

    now = clock.now()
    status = RecordStatus.ACTIVE.value
    reason = f"import {import_id}"
    household_rows: list[tuple[Any, ...]] = []
    person_rows: list[tuple[Any, ...]] = []
    identifier_rows: list[tuple[Any, ...]] = []
    claimed: dict[bytes, int] = {}
    # Households created earlier in this batch, for their scattered later rows: reference -> (id, cipher).
    created: dict[str, tuple[UUID, Any]] = {}
    for draft in batch:
        fresh = []
        errors: list[RowError] = []
        for person in draft.people:
            earlier_import = existing_people.get(person.reference, False)
            if earlier_import is False:
                fresh.append(person)
            elif earlier_import == import_id:
                errors.append(
                    RowError(
                        person.row, "person_ref", "duplicate_person", "repeats a person written earlier in this file"
                    )
                )
            else:
                result.already_present += 1
        stored = existing_households.get(draft.reference)
        joins = created.get(draft.reference)
        if not fresh and not errors:
            continue
        draft.people = fresh
        errors += head_errors(draft, joins_existing=stored is not None or joins is not None) if fresh else []
        for person in fresh:
            if person.national_id is None:
                continue
            index = national_ids[person.national_id]
            if index in taken:
                errors.append(
                    RowError(person.row, "national_id", "identifier_taken", "is registered to another person already")
                )
            elif index in claimed:
                errors.append(
                    RowError(person.row, "national_id", "identifier_taken", f"is the same as row {claimed[index]}")
                )
            else:
                claimed[index] = person.row
        if errors:
            for person in fresh:
                if person.national_id is not None and claimed.get(national_ids[person.national_id]) == person.row:
                    del claimed[national_ids[person.national_id]]
            _reject(draft, errors, report)
            continue

        ids = new_ids(1 + 2 * len(fresh))
        if joins is not None:
            household_id, cipher = joins
        elif stored is None:
            household_id = ids[0]
            cipher, wrapped = sealer.new_household_key(household_id)
            created[draft.reference] = (household_id, cipher)
            household_rows.append(
                (
                    household_id, draft.reference, draft.area_code, draft.address, draft.monthly_income,
                    draft.currency, draft.dwelling_type, draft.tenure, draft.assets, draft.land_m2, draft.custom,
                    wrapped, status, None, import_id, 1, now, actor, now, actor, reason,
                )
            )  # fmt: skip
            result.households_imported += 1
        else:
            household_id = stored[0]
            cipher = sealer.household_cipher(household_id, writer.household_data_key(household_id))
        for offset, person in enumerate(fresh):
            person_id = ids[1 + 2 * offset]
            person_rows.append(
                (
                    person_id, household_id, person.reference, person.given_name, person.family_name,
                    person.name_key, person.birth_date, person.sex, person.relationship, *person.difficulties,
                    person.schooling, person.employment,
                    cipher.seal(person_id, "phone", person.phone) if person.phone else None,
                    cipher.seal(person_id, "health_needs", person.health_needs) if person.health_needs else None,
                    person.custom, status, None, import_id, 1, now, actor, now, actor, reason,
                )
            )  # fmt: skip
            if person.national_id is not None:
                identifier_id = ids[2 + 2 * offset]
                identifier_rows.append(
                    (
                        identifier_id, person_id, NATIONAL_ID,
                        cipher.seal(identifier_id, "value", person.national_id),
                        national_ids[person.national_id], now, actor,
                    )
                )  # fmt: skip
        result.imported += len(fresh)
    if person_rows:
        writer.write_batch(household_rows, person_rows, identifier_rows)
