"""Reading tabular files row by row (CSV and XLSX), in constant memory, with line numbers for reports."""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from canasta.domain.errors import ValidationError

__all__ = ["TabularFile", "open_tabular"]

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class TabularFile:
    """A checked file: its digest, its header, and a fresh iterator of ``(line number, fields)`` rows."""

    path: Path
    sha256: str
    size: int
    header: list[str]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """The data rows; line numbers count the header as line 1, as a spreadsheet does."""
        if self.path.suffix.lower() == ".xlsx":
            yield from _xlsx_rows(self.path)
            return
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            try:
                next(reader)
                for number, row in enumerate(reader, start=2):
                    if row:
                        yield number, row
            except csv.Error as error:
                raise ValidationError(
                    f"line {reader.line_num}: the CSV is malformed ({error})", field="file", code="malformed_csv"
                ) from None


def _check_utf8(path: Path) -> tuple[str, int]:
    """Digest the file and prove it is UTF-8; a bad byte is reported with its line number."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line = lines + chunk.count(b"\n", 0, error.start)
                raise ValidationError(
                    f"line {line}: the file is not UTF-8 (byte {size + error.start}); save it as UTF-8 CSV",
                    field="file",
                    code="invalid_encoding",
                ) from None
            lines += chunk.count(b"\n")
            size += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ValidationError(
                f"line {lines}: the file ends inside a character; it is not UTF-8",
                field="file",
                code="invalid_encoding",
            ) from None
    return digest.hexdigest(), size


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            row = [_cell(value) for value in values]
            if number == 1:
                continue
            if any(row):
                yield number, row
    finally:
        workbook.close()


def open_tabular(path: Path) -> TabularFile:
    """Check ``path`` (exists, UTF-8 or XLSX, has a header) and return it ready to read.

    Raises :class:`ValidationError` naming the file problem and, for encoding errors, the line.
    """
    if not path.is_file():
        raise ValidationError(f"{path} does not exist or is not a file", field="file", code="file_not_found")
    if path.suffix.lower() == ".xlsx":
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        header: list[str] = []
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a damaged workbook
            raise ValidationError(
                f"{path} is not a readable XLSX workbook", field="file", code="invalid_xlsx"
            ) from error
        try:
            first = next(workbook.worksheets[0].iter_rows(values_only=True, max_row=1), ())
            header = [_cell(value) for value in first]
        finally:
            workbook.close()
        size = path.stat().st_size
    else:
        digest, size = _check_utf8(path)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    if not any(header):
        raise ValidationError(f"{path} has no header row", field="file", code="empty_file")
    return TabularFile(path=path, sha256=digest, size=size, header=header)
