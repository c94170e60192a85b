"""Fixtures shared by every layer of the suite.

Two kinds of test depend on the world outside the repository and skip, saying why, where it is absent:

* tests marked ``shared_testdata`` read conformance vectors from ``../shared/testdata`` (beside the checkout);
* tests marked ``postgres`` need a PostgreSQL server (``CANASTA_TEST_POSTGRES_URL``, by default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).

CI sets ``CANASTA_REQUIRE_SHARED_TESTDATA=1`` and ``CANASTA_REQUIRE_POSTGRES=1``: there a missing dependency is a
failure, not a skip, so a green CI run means both kinds ran.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = REPOSITORY.parent / "shared" / "testdata"


def _require(variable: str) -> bool:
    return os.environ.get(variable, "") not in ("", "0", "false", "no")


def missing_dependency(reason: str, *, variable: str) -> None:
    """Skip with ``reason``, or fail when ``variable`` says the dependency is required (as in CI)."""
    if _require(variable):
        pytest.fail(f"{reason} (and {variable} says it is required here)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The directory of conformance vectors written by others (Claim 169, COSE, Base45)."""
    if not SHARED_TESTDATA.is_dir():
        missing_dependency(
            f"conformance vectors not found at {SHARED_TESTDATA} (they live beside the checkout, in shared/testdata)",
            variable="CANASTA_REQUIRE_SHARED_TESTDATA",
        )
    return SHARED_TESTDATA


POSTGRES_URL = os.environ.get("CANASTA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    import psycopg

    from canasta.adapters.db.engine import normalise_url

    url = normalise_url(POSTGRES_URL).replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(error).__name__})"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a reachable PostgreSQL server (tests make their own databases on it)."""
    problem = _postgres_reachable()
    if problem is not None:
        missing_dependency(problem, variable="CANASTA_REQUIRE_POSTGRES")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    """A fresh, empty database of each kind, dropped afterwards; every storage test runs on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'canasta.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    from canasta.benchmarks.scratch import empty_database

    with empty_database(server) as url:
        yield url


# Nothing leaks (DESIGN section 8): whatever canasta logs during the whole suite, at the levels a deployment keeps
# (the root logger's WARNING and any logger set lower), must not carry the personal data the tests write. The
# handler only listens; it changes no level (a lower root level would make SQLAlchemy echo every statement).
LEAK_CANARIES = ("José", "Peña", "Núñez", "V-1234567", "4121234567", "hipertensión", "Calle Real", "cnst_")


class _LeakWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []  # the first few, to show
        self.count = 0  # all of them

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format is no leak
            return
        text += (
            " " + (self.formatter or logging.Formatter()).formatException(record.exc_info) if record.exc_info else ""
        )
        found = [canary for canary in LEAK_CANARIES if canary in text]
        if found:
            self.count += 1
            if len(self.leaks) < 20:
                self.leaks.append(f"{record.name}: {found} in {text[:300]!r}")


_LEAK_WATCH = _LeakWatch()


def pytest_sessionstart(session: pytest.Session) -> None:
    logging.getLogger().addHandler(_LEAK_WATCH)


@pytest.fixture(autouse=True)
def _nothing_leaked() -> Iterator[None]:
    """The test during which something leaked fails (so the watch also holds when the suite runs in several
    processes, each with its own watch); the session's end reports whatever leaked outside a test."""
    before = _LEAK_WATCH.count
    yield
    if _LEAK_WATCH.count > before:
        pytest.fail(f"personal data or tokens were logged during this test: {_LEAK_WATCH.leaks[-1]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_LEAK_WATCH)
    if _LEAK_WATCH.leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("personal data or tokens were logged during the suite:", red=True)
            for leak in _LEAK_WATCH.leaks:
                reporter.write_line(f"  {leak}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
