"""Schemathesis against the OpenAPI document, in-process on SQLite: every operation, once with a token of each role
and once with none, positive and negative data. No answer may be a server error, and every answer must be one its
operation declares, with the declared media type, headers and body schema.

The app is populated first (``tests/api_world.py``), and about half the generated ids (and, in valid bodies, card
texts, points, programmes, area codes, sign-in names...) are swapped for real ones, so the fuzzing reaches the use
cases behind "no such ...". Each caller's run also checks that it got past the door of every operation open to it.
Bounded: ``CANASTA_FUZZ_EXAMPLES`` examples per operation, caller and mode (default 12, about a minute in all;
raise it for a longer run, say 200). Generation is derandomised, so a CI failure replays locally.

Two answers the fuzzing cannot provoke are checked the same way at the end: a read past the quota (429) and an
access log that cannot be written (503).
"""

from __future__ import annotations

import dataclasses
import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from canasta.adapters.db.users import add_user
from canasta.domain.access import Role
from canasta.entrypoints.api.app import create_app
from canasta.entrypoints.api.authorisation import PUBLIC, ROUTE_ROLES
from tests.api_world import PASSWORD, PIN, World, populate
from tests.factories import NOW, make_canasta

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

EXAMPLES = int(os.environ.get("CANASTA_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CALLERS = [*(role.value for role in Role), "anonymous"]
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclasses.dataclass
class Fuzzed:
    world: World
    app: FastAPI
    schema: Any  # schemathesis' OpenApiSchema


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    canasta = make_canasta(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'canasta.db'}")
    # A high read quota: every role reads thousands of records here, and a 429 would stop the fuzzing at the door.
    canasta = dataclasses.replace(canasta, settings=canasta.settings.model_copy(update={"read_quota_per_hour": 10**6}))
    app = create_app(canasta)
    with TestClient(app, raise_server_exceptions=False) as client:
        world = populate(canasta, client)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield Fuzzed(world, app, schema)
    canasta.close()


def _route(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


def _known_values(world: World) -> dict[str, Any]:
    """Body fields whose random values would almost never name anything real, and real values for them."""
    login = world.citizen_login()
    return {
        "area_code": "VE-01-01-01", "currency": "VES", "point": "DP-1", "household": world.scene.reference,
        "card": world.scene.card_text, "card_number": login["card_number"], "date_of_birth": login["date_of_birth"],
        "pin": PIN, "programme": "canasta-ninos", "name": Role.ENROLMENT_OFFICER.value, "password": PASSWORD,
    }  # fmt: skip


def _swap_known(value: Any, known: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: known[key] if key in known and isinstance(item, str) else _swap_known(item, known)
                for key, item in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_swap_known(item, known) for item in value]
    return value


def _aim(case: Any, world: World, mode: GenerationMode) -> None:
    """Swap about half of the generated object ids for ids of real objects (the parity of the last hex digit) and,
    in valid bodies, about half of the values of ``_known_values`` fields for real ones, so that the fuzzing gets
    past "no such ..." to the use cases. Invalid bodies are left as generated: they must stay invalid."""
    for name, value in list((case.path_parameters or {}).items()):
        known = world.ids.get(name)
        if known is not None and isinstance(value, str) and UUID_TEXT.fullmatch(value) and int(value[-1], 16) % 2 == 0:
            case.path_parameters[name] = str(known)
    if mode is GenerationMode.POSITIVE and isinstance(case.body, dict) and zlib.crc32(repr(case.body).encode()) % 2:
        case.body = _swap_known(case.body, _known_values(world))
        if "card" in case.body and "household" in case.body:  # a redemption names one or the other
            del case.body["household"]


def _token(world: World, caller: str, route: str) -> str | None:
    if caller == "anonymous":
        return None
    if route == "POST /auth/logout":
        return world.fresh_token(caller)  # signing out must not end the token the other operations use
    return world.tokens[caller]


def _fuzz_one(
    fuzzed: Fuzzed, operation: Any, caller: str, mode: GenerationMode, statuses: set[int]
) -> Callable[[], None]:
    route = _route(operation)

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        _aim(case, fuzzed.world, mode)
        token = _token(fuzzed.world, caller, route)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    return run  # type: ignore[no-any-return]


@pytest.mark.parametrize("caller", CALLERS)
def test_no_operation_answers_a_server_error_or_breaks_its_schema(fuzzed: Fuzzed, caller: str) -> None:
    operations = [result.ok() for result in fuzzed.schema.get_all_operations()]
    assert {_route(operation) for operation in operations} == set(ROUTE_ROLES) | PUBLIC  # every route is fuzzed
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        # An operation without parameters or body has no invalid input to send.
        has_input = bool(operation.body) or any(True for _ in operation.iter_parameters())
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (GenerationMode.POSITIVE,):
            seen = statuses.setdefault(_route(operation), set())
            try:
                _fuzz_one(fuzzed, operation, caller, mode, seen)()
            except (Exception, FailureGroup) as error:  # collected: one run reports every operation that fails
                failures.append(f"{_route(operation)} as {caller} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)
    # The fuzzing got past the door: each operation open to the caller answered something else than 401 and 403
    # (and, without a token, nothing but the public ones did).
    if caller == "anonymous":
        opened = {route for route, seen in statuses.items() if seen - {401, 422}}
        assert opened <= PUBLIC
    else:
        allowed = {route for route, roles in ROUTE_ROLES.items() if Role(caller) in roles} | PUBLIC
        assert sorted(route for route in allowed if not statuses[route] - {401, 403}) == []


def _declared(fuzzed: Fuzzed, route: str, caller: str, **parts: Any) -> int:
    """Send one request to ``route`` as ``caller``; check the answer as the fuzzing does (but for 503, which is the
    answer meant in one test below) and return its status."""
    method, path = route.split(" ", 1)
    case = fuzzed.schema[path][method].Case(**parts)
    headers = fuzzed.world.headers(caller)
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS[1:], headers=headers)
    return int(response.status_code)


def test_a_read_past_the_quota_is_a_declared_answer(fuzzed: Fuzzed) -> None:
    canasta = fuzzed.world.canasta
    with canasta.engine.begin() as connection:  # a user of this test alone, who has read nothing yet
        add_user(connection, user_id=canasta.new_ids(1)[0], name="quota_auditor", role=Role.AUDITOR.value,
                 password=PASSWORD, area_codes=[], at=NOW)  # fmt: skip
    fuzzed.world.tokens["quota_auditor"] = fuzzed.world.fresh_token("quota_auditor")
    strict = canasta.settings.model_copy(update={"read_quota_per_hour": 1})
    fuzzed.app.state.canasta = dataclasses.replace(canasta, settings=strict)
    try:
        household = {"household_id": str(fuzzed.world.ids["household_id"])}
        route = "GET /households/{household_id}/versions"
        answers = [_declared(fuzzed, route, "quota_auditor", path_parameters=household) for _ in range(3)]
    finally:
        fuzzed.app.state.canasta = canasta
    assert answers == [200, 429, 429]


def test_an_unwritable_access_log_is_a_declared_answer(fuzzed: Fuzzed, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from canasta.adapters.db.access_log import SqlAccessLog

    def refuse(_store: SqlAccessLog, _entries: object) -> None:
        raise OperationalError("INSERT INTO access_log", {}, Exception("disk I/O error"))

    monkeypatch.setattr(SqlAccessLog, "append", refuse)
    household = {"household_id": str(fuzzed.world.ids["household_id"])}
    assert _declared(fuzzed, "GET /households/{household_id}", Role.GRIEVANCE_OFFICER.value,
                     path_parameters=household) == 503  # fmt: skip
