"""Fixtures shared by every layer of the suite.

Two kinds of test depend on the world outside the repository and skip, saying why, where it is absent:

* tests marked ``shared_testdata`` read conformance vectors from ``../shared/testdata`` (beside the checkout);
* tests marked ``postgres`` need a PostgreSQL server (``CANASTA_TEST_POSTGRES_URL``, by default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).

CI sets ``CANASTA_REQUIRE_SHARED_TESTDATA=1`` and ``CANASTA_REQUIRE_POSTGRES=1``: there a missing dependency is a
failure, not a skip, so a green CI run means both kinds ran.
"""

from __future__ import annotations

import os
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
