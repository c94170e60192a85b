"""Writing a synthetic population to disk: the population file, its gazetteer and the duplicates' ground truth.

Rows are written as they are generated (memory stays flat up to tens of millions of people). Every file is
written beside its final name and renamed into place when complete, so an interrupted run never leaves a file
that looks finished. References are numbered in file order: households ``H0000001``, people ``P00000001``,
duplicates included, so nothing in a duplicate's row gives it away.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from canasta.adapters.synth.duplicates import DuplicateInjector, DuplicateRecord
from canasta.adapters.synth.gazetteer import write_gazetteer
from canasta.adapters.synth.population import COLUMNS, PopulationGenerator

__all__ = ["DUPLICATE_COLUMNS", "Summary", "companion_path", "write_population"]

#: header of the ground-truth file
DUPLICATE_COLUMNS = ("duplicate_person_ref", "original_person_ref", "kinds")
_HOUSEHOLD_REF, _PERSON_REF = COLUMNS.index("household_ref"), COLUMNS.index("person_ref")
#: how many genuine households between two calls of the progress callback
PROGRESS_EVERY = 2048


@dataclass(frozen=True, slots=True)
class Summary:
    """What :func:`write_population` wrote."""

    #: households written, including the one-person households formed by duplicates
    households: int
    #: rows written, duplicates included
    persons: int
    #: duplicate rows among them
    duplicates: int
    seconds: float
    path: Path
    areas_path: Path
    #: the ground truth, or None when no duplicates were asked for
    duplicates_path: Path | None

    @property
    def rate(self) -> float:
        """Rows written per second."""
        return self.persons / self.seconds if self.seconds > 0 else float("inf")


def companion_path(path: Path, kind: str) -> Path:
    """``people.csv`` -> ``people.<kind>.csv`` beside it (a missing ``.csv`` suffix is tolerated)."""
    stem = path.name[:-4] if path.name.lower().endswith(".csv") else path.name
    return path.with_name(f"{stem}.{kind}.csv")


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def write_population(
    path: Path,
    households: int,
    seed: int,
    *,
    duplicates: float = 0.0,
    areas_path: Path | None = None,
    duplicates_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Write ``households`` genuine households drawn with ``seed`` to ``path`` in the import format.

    Also writes the gazetteer (``areas_path``, by default ``FILE.areas.csv``) and, when ``duplicates`` > 0, that
    many near-duplicates per genuine person plus their ground truth (``duplicates_path``, by default
    ``FILE.duplicates.csv``). ``progress`` is called with the number of genuine households done, now and then
    and once at the end. The same arguments always produce byte-identical files.

    Raises ValueError for a negative household count or a duplicate rate outside [0, 1), and OSError when a
    file cannot be written.
    """
    if households < 0:
        raise ValueError(f"households must be zero or more, not {households}")
    if not 0.0 <= duplicates < 1.0:
        raise ValueError(f"duplicate rate must be at least 0 and below 1, not {duplicates}")
    started = time.perf_counter()
    areas_path = areas_path or companion_path(path, "areas")
    truth_path = (duplicates_path or companion_path(path, "duplicates")) if duplicates > 0 else None
    write_gazetteer(areas_path)
    generator = PopulationGenerator(seed)
    injector = DuplicateInjector(seed, duplicates) if duplicates > 0 else None
    household_count = person_count = duplicate_count = 0
    partials = [_partial(path)] + ([_partial(truth_path)] if truth_path is not None else [])
    try:
        with ExitStack() as files:
            writer = csv.writer(files.enter_context(_open(partials[0])), lineterminator="\n")
            writer.writerow(COLUMNS)
            truth = csv.writer(files.enter_context(_open(partials[1])), lineterminator="\n") if injector else None
            if truth is not None:
                truth.writerow(DUPLICATE_COLUMNS)
            for done, household in enumerate(generator.households(households), start=1):
                written = [household]
                records: list[DuplicateRecord] = []
                if injector is not None:
                    alone, records = injector.inject(household)
                    written.extend(alone)
                for group in written:
                    household_count += 1
                    reference = f"H{household_count:07d}"
                    for row in group.rows:
                        person_count += 1
                        row[_HOUSEHOLD_REF] = reference
                        row[_PERSON_REF] = f"P{person_count:08d}"
                    writer.writerows(group.rows)
                if truth is not None and records:
                    duplicate_count += len(records)
                    truth.writerows(
                        (record.duplicate[_PERSON_REF], record.original[_PERSON_REF], ";".join(record.kinds))
                        for record in records
                    )
                if progress is not None and done % PROGRESS_EVERY == 0:
                    progress(done)
    except BaseException:
        # Nothing half-written is left behind, even on Ctrl-C.
        for partial in partials:
            partial.unlink(missing_ok=True)
        raise
    partials[0].replace(path)
    if truth_path is not None:
        partials[1].replace(truth_path)
    if progress is not None:
        progress(households)
    return Summary(
        households=household_count,
        persons=person_count,
        duplicates=duplicate_count,
        seconds=time.perf_counter() - started,
        path=path,
        areas_path=areas_path,
        duplicates_path=truth_path,
    )


def _open(path: Path) -> TextIO:
    return path.open("w", encoding="utf-8", newline="", buffering=1 << 20)
