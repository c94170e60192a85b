"""``import_households``: a file of person rows into the registry, in batches, safely re-runnable.

Set path (DESIGN section 2): rows are validated in plain Python with no per-row database work, and each batch
is written with the database's bulk path in one transaction. Before a batch is written, one look-up per kind
finds the households, people and identifiers already stored, so re-running a file writes nothing twice and an
import killed midway is completed by running it again. A household is written whole or not at all.

The work is split in two so that it can run on two cores at once:

* *preparing* a household (validate its rows, draw its ids, make and wrap its data key, seal its sensitive fields,
  compute blind indexes, spell its rows for the database) needs nothing from the database. It assumes the
  household is new, which it is on a first import. On a machine with more than one core and a file of more than
  one chunk, a forked worker process does it, chunk by chunk, while this process reads the file, looks up what
  exists and writes. Forking hands the worker the sealer as it is, so keys are never serialised; the queues are
  bounded by the number of chunks in flight, so memory stays flat however long the file.
* *deciding* stays in this process, in file order, with the look-ups of its batch: a prepared household is written
  as prepared when none of it exists, its head rule holds and its identifiers are free. Any other household (it
  exists already, some of its people do, or an identifier clashes) is validated again here and decided exactly
  as a sequential import would, with the same rejections, reasons and report order.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import multiprocessing
import os
import queue
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TextIO
from uuid import UUID

from canasta.domain.custom_fields import CustomFieldDefinition
from canasta.domain.household_rows import (
    HouseholdDraft,
    PersonDraft,
    RowError,
    head_errors,
    make_validator,
    read_header,
    validate_household,
)
from canasta.domain.registry import RecordStatus
from canasta.services.ports import BulkWriter, Clock, HouseholdCipher, ImportJournal, Sealer

__all__ = ["ImportResult", "import_households"]

NATIONAL_ID = "national_id"
REPORT_COLUMNS = ("row", "column", "code", "reason")
#: rows per chunk handed to the worker: large enough that queue traffic is a small part of the work
CHUNK_ROWS = 1000
#: chunks in flight at most; the worker keeps preparing while this process writes a batch
MAX_CHUNKS_IN_FLIGHT = 16
DATA_KEY = 11  # position of the wrapped data key in a household row

Group = list[tuple[int, list[str]]]
SpelledRow = tuple[Any, ...]


class Spelling(Protocol):
    """How the bulk writer wants values written (see ``adapters.db.bulk``); text and integers pass unchanged."""

    def uuid(self, value: UUID) -> Any: ...

    def uuid_bytes(self, value: bytes) -> Any: ...

    def date(self, value: Any) -> Any: ...

    def timestamp(self, value: datetime) -> Any: ...

    def json(self, value: dict[str, Any] | None) -> Any: ...


class _PythonSpelling:
    """Plain Python values, for a writer that spells rows itself (one without a ``spelling``)."""

    @staticmethod
    def uuid(value: UUID) -> Any:
        return value

    @staticmethod
    def uuid_bytes(value: bytes) -> Any:
        return UUID(bytes=value)

    @staticmethod
    def date(value: Any) -> Any:
        return value

    @staticmethod
    def timestamp(value: datetime) -> Any:
        return value

    @staticmethod
    def json(value: dict[str, Any] | None) -> Any:
        return value


class _Prepared(NamedTuple):
    """One household prepared as new: what the decision needs, and its rows ready to write."""

    reference: str
    person_references: tuple[str, ...]
    person_rows_numbers: tuple[int, ...]
    blind_indexes: tuple[bytes | None, ...]  # of each person's national ID, or None
    head_rule_holds: bool  # exactly one head, as a new household needs
    ids: tuple[bytes, ...]  # household id, then each person's id and identifier id, as 16 bytes each
    household_row: SpelledRow
    person_rows: list[SpelledRow]
    identifier_rows: list[SpelledRow]


Outcome = _Prepared | list[RowError]


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


def _groups(rows: Iterator[tuple[int, list[str]]], position: int) -> Iterator[Group]:
    """Consecutive rows with the same household reference."""
    group: Group = []
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


def _chunks(groups: Iterator[Group], size: int) -> Iterator[list[Group]]:
    """Whole groups, about ``size`` rows at a time; if reading fails, the groups read before it come first."""
    chunk: list[Group] = []
    rows = 0
    try:
        for group in groups:
            chunk.append(group)
            rows += len(group)
            if rows >= size:
                yield chunk
                chunk, rows = [], 0
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


@dataclass(frozen=True, slots=True)
class _Constants:
    """Values every row of the import shares, spelled once."""

    import_id: Any
    status: str
    actor: str
    reason: str


class _RowBuilder:
    """Builds the spelled rows of households, people and identifiers (the columns of ``adapters.db.bulk``)."""

    def __init__(self, spelling: Spelling, constants: _Constants) -> None:
        self.spelling = spelling
        self.constants = constants

    def household(self, draft: HouseholdDraft, household_id: Any, wrapped: bytes, now: Any) -> SpelledRow:
        c = self.constants
        return (
            household_id, draft.reference, draft.area_code, draft.address, draft.monthly_income, draft.currency,
            draft.dwelling_type, draft.tenure, draft.assets, draft.land_m2,
            None if draft.custom is None else self.spelling.json(draft.custom), wrapped, c.status, None,
            c.import_id, 1, now, c.actor, now, c.actor, c.reason,
        )  # fmt: skip

    def person(
        self,
        person: PersonDraft,
        person_id: UUID,
        spelled_id: Any,
        household_id: Any,
        cipher: HouseholdCipher,
        now: Any,
    ) -> SpelledRow:
        c = self.constants
        spelling = self.spelling
        return (
            spelled_id, household_id, person.reference, person.given_name, person.family_name,
            person.name_key, spelling.date(person.birth_date), person.sex, person.relationship, *person.difficulties,
            person.schooling, person.employment,
            cipher.seal(person_id, "phone", person.phone) if person.phone else None,
            cipher.seal(person_id, "health_needs", person.health_needs) if person.health_needs else None,
            None if person.custom is None else spelling.json(person.custom), c.status, None, c.import_id, 1, now,
            c.actor, now, c.actor, c.reason,
        )  # fmt: skip

    def identifier(
        self,
        national_id: str,
        identifier_id: UUID,
        spelled_id: Any,
        person_id: Any,
        cipher: HouseholdCipher,
        index: bytes,
        now: Any,
    ) -> SpelledRow:
        return (
            spelled_id, person_id, NATIONAL_ID,
            cipher.seal(identifier_id, "value", national_id), index, now, self.constants.actor,
        )  # fmt: skip


class _Preparer:
    """Validates and prepares chunks of household groups; pure CPU work, run here or in the worker."""

    def __init__(self, validator: Any, sealer: Sealer, new_ids: Callable[[int], list[UUID]], rows: _RowBuilder) -> None:
        self.validator = validator
        self.sealer = sealer
        self.new_ids = new_ids
        self.rows = rows

    def __call__(self, request: tuple[Any, list[Group]]) -> list[Outcome]:
        now, chunk = request
        outcomes: list[Outcome] = []
        for group in chunk:
            draft, errors = validate_household(group, self.validator)
            outcomes.append(errors if draft is None else self.prepare(draft, now))
        return outcomes

    def prepare(self, draft: HouseholdDraft, now: Any) -> _Prepared:
        sealer, rows, spell = self.sealer, self.rows, self.rows.spelling.uuid_bytes
        people = draft.people
        ids = self.new_ids(1 + 2 * len(people))
        raw = tuple([new_id.bytes for new_id in ids])
        cipher, wrapped = sealer.new_household_key(ids[0])
        household_id = spell(raw[0])
        person_rows: list[SpelledRow] = []
        identifier_rows: list[SpelledRow] = []
        indexes: list[bytes | None] = []
        for offset, person in enumerate(people):
            at = 1 + 2 * offset
            row = rows.person(person, ids[at], spell(raw[at]), household_id, cipher, now)
            person_rows.append(row)
            if person.national_id is None:
                indexes.append(None)
                continue
            index = sealer.blind_index(NATIONAL_ID, person.national_id)
            indexes.append(index)
            identifier_rows.append(
                rows.identifier(person.national_id, ids[at + 1], spell(raw[at + 1]), row[0], cipher, index, now)
            )
        return _Prepared(
            reference=draft.reference,
            person_references=tuple(person.reference for person in people),
            person_rows_numbers=tuple(person.row for person in people),
            blind_indexes=tuple(indexes),
            head_rule_holds=not head_errors(draft, joins_existing=False),
            ids=raw,
            household_row=rows.household(draft, household_id, wrapped, now),
            person_rows=person_rows,
            identifier_rows=identifier_rows,
        )


class _WorkerFailedError(Exception):
    """The preparing worker stopped with an error; its traceback is the message."""


def _serve(prepare: _Preparer, requests: Any, replies: Any) -> None:
    """The worker's loop: prepare each chunk it is sent, in order, until told to stop (``None``)."""
    # Everything inherited from the parent is long-lived: keep the collector from walking it again and again.
    gc.freeze()
    while (request := requests.get()) is not None:
        try:
            reply: Any = prepare(request)
        except BaseException:  # report anything, then stop: the parent raises it
            import traceback

            replies.put(_WorkerFailedError(traceback.format_exc()))
            return
        replies.put(reply)


class _Worker:
    """A forked process running :func:`_serve`, fed and drained through two queues.

    The child inherits this process's open database connections but never touches them, and multiprocessing ends
    it without running finalisers, so they are not closed under this process's feet.
    """

    def __init__(self, prepare: _Preparer) -> None:
        context = multiprocessing.get_context("fork")
        self._requests: Any = context.Queue()
        self._replies: Any = context.Queue()
        self._process = context.Process(
            target=_serve, args=(prepare, self._requests, self._replies), name="canasta-import-prepare", daemon=True
        )
        self._process.start()

    def send(self, request: tuple[Any, list[Group]]) -> None:
        self._requests.put(request)

    def receive(self) -> list[Outcome]:
        while True:
            try:
                reply = self._replies.get(timeout=1.0)
            except queue.Empty:
                if not self._process.is_alive():
                    raise _WorkerFailedError(f"the import worker died (exit code {self._process.exitcode})") from None
                continue
            if isinstance(reply, _WorkerFailedError):
                raise reply
            result: list[Outcome] = reply
            return result

    def close(self, *, abort: bool = False) -> None:
        """Stop the worker: after the chunks it was sent, or at once when ``abort`` (the import failed)."""
        if not abort:
            with contextlib.suppress(Exception):
                self._requests.put(None)
            self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        # Nothing more will be read or written: do not wait for the queues' feeder threads to flush.
        self._requests.cancel_join_thread()
        self._replies.cancel_join_thread()
        self._requests.close()
        self._replies.close()


def _can_fork() -> bool:
    return (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()


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
    pipeline: bool | None = None,
) -> ImportResult:
    """Import person rows. Raises ``ValidationError``/``ProhibitedCategoryError`` for a bad header (nothing written).

    Rows reach ``writer`` spelled by its ``spelling`` (see ``adapters.db.bulk``), or as plain Python values
    (``UUID``, ``date``, aware ``datetime``, ``dict``) when it has none. ``progress`` is called with the number of rows
    handled after each batch. ``pipeline`` chooses whether a worker process prepares households while this one
    writes: None (the default) uses one when the machine has more than one core and the file more than one chunk.
    The outcome is the same either way.
    """
    started = clock.now()
    resolved = read_header(header, definitions)
    validator = make_validator(resolved, today=started.date(), area_codes=area_codes, definitions=definitions)
    spelling: Spelling = getattr(writer, "spelling", None) or _PythonSpelling()
    constants = _Constants(
        import_id=spelling.uuid(import_id),
        status=RecordStatus.ACTIVE.value,
        actor=actor,
        reason=f"import {import_id}",
    )
    builder = _RowBuilder(spelling, constants)
    preparer = _Preparer(validator, sealer, new_ids, builder)
    result = ImportResult(import_id=import_id)
    report = _Report(report_path, result)
    decider = _Decider(writer, sealer, validator, builder, clock, result, report, batch_size, progress)
    use_worker = _can_fork() if pipeline is None else pipeline
    journal.start(import_id, source_name=source_name, sha256=sha256, actor=actor, at=started)
    status = "failed"
    worker: _Worker | None = None
    # The import makes and drops millions of short-lived containers, and every full collection they trigger
    # would walk all the process's long-lived objects again (measured: unpickling a worker's reply took up to
    # three times as long). Frozen objects are left alone until the import ends.
    gc.freeze()
    try:
        chunks = _chunks(_groups(rows, resolved.positions["household_ref"]), CHUNK_ROWS)
        in_flight: deque[list[Group]] = deque()
        first: list[Group] | None = None
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except Exception:
                # A file that turns bad midway (malformed CSV): finish what was read before it, as a sequential
                # import would have, then stop.
                while in_flight and worker is not None:
                    decider.take(in_flight.popleft(), worker.receive())
                if first is not None:
                    decider.take(first, preparer((spelling.timestamp(clock.now()), first)))
                raise
            if worker is None and use_worker and first is not None:
                worker = _Worker(preparer)
            if worker is None:
                if first is not None:
                    decider.take(first, preparer((spelling.timestamp(clock.now()), first)))
                first = chunk  # held back one chunk, to see whether a worker is worth starting
                continue
            if first is not None:
                worker.send((spelling.timestamp(clock.now()), first))
                in_flight.append(first)
                first = None
            worker.send((spelling.timestamp(clock.now()), chunk))
            in_flight.append(chunk)
            while len(in_flight) >= MAX_CHUNKS_IN_FLIGHT:
                decider.take(in_flight.popleft(), worker.receive())
        while in_flight and worker is not None:
            decider.take(in_flight.popleft(), worker.receive())
        if first is not None:
            decider.take(first, preparer((spelling.timestamp(clock.now()), first)))
        decider.flush()
        if progress is not None:
            progress(result.rows_read)
        status = "finished"
    finally:
        gc.unfreeze()
        if worker is not None:
            worker.close(abort=status != "finished")
        report.close()
        journal.finish(import_id, status=status, counts=result.counts, at=clock.now())
    return result


class _Decider:
    """Takes prepared households in file order, batches them, and decides each batch with its look-ups."""

    def __init__(
        self,
        writer: BulkWriter,
        sealer: Sealer,
        validator: Any,
        builder: _RowBuilder,
        clock: Clock,
        result: ImportResult,
        report: _Report,
        batch_size: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.writer = writer
        self.sealer = sealer
        self.validator = validator
        self.builder = builder
        self.clock = clock
        self.result = result
        self.report = report
        self.batch_size = batch_size
        self.progress = progress
        self.batch: list[tuple[_Prepared, Group]] = []
        self.batch_people = 0

    def take(self, chunk: list[Group], outcomes: list[Outcome]) -> None:
        """Account for each group of ``chunk`` with its outcome; write a batch whenever one is full."""
        result = self.result
        for group, outcome in zip(chunk, outcomes, strict=True):
            result.rows_read += len(group)
            if isinstance(outcome, list):
                self.report.add(outcome)
                continue
            self.batch.append((outcome, group))
            self.batch_people += len(outcome.person_references)
            if self.batch_people >= self.batch_size:
                self.flush()
                if self.progress is not None:
                    self.progress(result.rows_read)

    def flush(self) -> None:
        """Filter out what is stored already and write the batch in one transaction."""
        batch, self.batch, self.batch_people = self.batch, [], 0
        if not batch:
            return
        writer, result = self.writer, self.result
        existing_households = writer.existing_households([prepared.reference for prepared, _ in batch])
        existing_people = writer.existing_people(
            [reference for prepared, _ in batch for reference in prepared.person_references]
        )
        indexes = {
            index: None
            for prepared, _ in batch
            for reference, index in zip(prepared.person_references, prepared.blind_indexes, strict=True)
            if index is not None and reference not in existing_people
        }
        taken = writer.taken_identifiers(NATIONAL_ID, list(indexes)) if indexes else set()

        household_rows: list[SpelledRow] = []
        person_rows: list[SpelledRow] = []
        identifier_rows: list[SpelledRow] = []
        claimed: dict[bytes, int] = {}
        # Households created earlier in this batch, for their scattered later rows: reference -> (id, wrapped key).
        created: dict[str, tuple[bytes, bytes]] = {}
        # People written earlier in this batch: a reference repeated in another household is a duplicate, as it
        # is when the earlier row went in an earlier batch (and not a unique-key failure of the whole batch).
        written: set[str] = set()
        for prepared, group in batch:
            own = [index for index in prepared.blind_indexes if index is not None]
            if (
                prepared.head_rule_holds
                and prepared.reference not in existing_households
                and prepared.reference not in created
                and not any(
                    reference in existing_people or reference in written for reference in prepared.person_references
                )
                and not any(index in taken or index in claimed for index in own)
                and len(set(own)) == len(own)
            ):
                household_rows.append(prepared.household_row)
                created[prepared.reference] = (prepared.ids[0], prepared.household_row[DATA_KEY])
                written.update(prepared.person_references)
                person_rows.extend(prepared.person_rows)
                identifier_rows.extend(prepared.identifier_rows)
                for index, row in zip(prepared.blind_indexes, prepared.person_rows_numbers, strict=True):
                    if index is not None:
                        claimed[index] = row
                result.imported += len(prepared.person_rows)
                result.households_imported += 1
                continue
            self._decide_again(
                prepared, group, existing_households, existing_people, taken, claimed, created, written,
                (household_rows, person_rows, identifier_rows),
            )  # fmt: skip
        if person_rows:
            writer.write_batch(household_rows, person_rows, identifier_rows)

    def _decide_again(
        self,
        prepared: _Prepared,
        group: Group,
        existing_households: Mapping[str, tuple[UUID, UUID | None]],
        existing_people: Mapping[str, UUID | None],
        taken: set[bytes],
        claimed: dict[bytes, int],
        created: dict[str, tuple[bytes, bytes]],
        written: set[str],
        out: tuple[list[SpelledRow], list[SpelledRow], list[SpelledRow]],
    ) -> None:
        """The household the sequential way: validated again here, sealed under its stored key if it has one."""
        draft, _ = validate_household(group, self.validator)
        assert draft is not None  # the same rows passed the same validation when prepared
        result, sealer, builder = self.result, self.sealer, self.builder
        import_id = self.result.import_id
        index_of = dict(zip(prepared.person_references, prepared.blind_indexes, strict=True))
        position = {reference: offset for offset, reference in enumerate(prepared.person_references)}
        fresh: list[PersonDraft] = []
        errors: list[RowError] = []
        for person in draft.people:
            earlier_import = import_id if person.reference in written else existing_people.get(person.reference, False)
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
            return
        draft.people = fresh
        errors += head_errors(draft, joins_existing=stored is not None or joins is not None) if fresh else []
        for person in fresh:
            if person.national_id is None:
                continue
            index = index_of[person.reference]
            assert index is not None
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
                index = index_of[person.reference]
                if index is not None and claimed.get(index) == person.row:
                    del claimed[index]
            _reject(draft, errors, self.report)
            return

        spelling = builder.spelling
        now = spelling.timestamp(self.clock.now())
        household_rows, person_rows, identifier_rows = out
        cipher: HouseholdCipher
        if joins is not None:
            household_id = UUID(bytes=joins[0])
            cipher = sealer.household_cipher(household_id, joins[1])
        elif stored is None:
            household_id = UUID(bytes=prepared.ids[0])
            cipher, wrapped = sealer.new_household_key(household_id)
            created[draft.reference] = (prepared.ids[0], wrapped)
            household_rows.append(builder.household(draft, spelling.uuid(household_id), wrapped, now))
            result.households_imported += 1
        else:
            household_id = stored[0]
            cipher = sealer.household_cipher(household_id, self.writer.household_data_key(household_id))
        spelled_household = spelling.uuid(household_id)
        for person in fresh:
            offset = position[person.reference]
            person_id = UUID(bytes=prepared.ids[1 + 2 * offset])
            row = builder.person(person, person_id, spelling.uuid(person_id), spelled_household, cipher, now)
            person_rows.append(row)
            if person.national_id is not None:
                index = index_of[person.reference]
                assert index is not None
                identifier_id = UUID(bytes=prepared.ids[2 + 2 * offset])
                identifier_rows.append(
                    builder.identifier(
                        person.national_id, identifier_id, spelling.uuid(identifier_id), row[0], cipher, index, now
                    )
                )
        written.update(person.reference for person in fresh)
        result.imported += len(fresh)


def _reject(draft: HouseholdDraft, errors: list[RowError], report: _Report) -> None:
    bad = {error.row for error in errors}
    errors += [
        RowError(row, "", "household_rejected", "another row of this household was rejected")
        for row in draft.rows
        if row not in bad
    ]
    report.add(sorted(errors, key=lambda error: error.row))
