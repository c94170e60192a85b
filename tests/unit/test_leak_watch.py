"""The suite-wide watch on logs (tests/conftest.py) sees personal data in a message or a traceback."""

from __future__ import annotations

import logging

from tests.conftest import _LeakWatch


def _record(message: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("canasta.api", logging.ERROR, __file__, 1, message, args, exc_info)  # type: ignore[arg-type]


def test_a_canary_in_a_message_or_a_traceback_is_caught_and_a_clean_record_is_not() -> None:
    watch = _LeakWatch()
    watch.emit(_record("unexpected error: %s", "OperationalError"))
    assert watch.leaks == []
    watch.emit(_record("could not enrol %s", "José Peña"))
    try:
        raise ValueError("national id V-1234567 taken")
    except ValueError as error:
        watch.emit(_record("failed", exc_info=(type(error), error, error.__traceback__)))
    assert len(watch.leaks) == 2
    assert "José" in watch.leaks[0]
    assert "V-1234567" in watch.leaks[1]
