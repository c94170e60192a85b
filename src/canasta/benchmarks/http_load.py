"""A small HTTP/1.1 load generator: ``concurrency`` keep-alive connections, each sending its next request as soon as
the previous one was answered, so that exactly that many requests are in flight until the work runs out.

Standard library only (asyncio streams) and deliberately thin: requests are encoded before the clock starts, and
an answer is read by its ``content-length`` (or chunks), so the client spends a few tens of microseconds per
request and the server, not the client, is what a benchmark measures. A request whose connection is lost, refused
or times out gets no answer (status 0), as a device on a dropped line would; the caller decides whether to retry
it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NO_ANSWER", "Answer", "Load", "drive", "encode_request"]

NO_ANSWER = 0  # the status of a request that got no answer
_HEAD_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """What one request got: the HTTP status (:data:`NO_ANSWER` when none), the time it took, the body if kept."""

    status: int
    seconds: float
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Load:
    """A finished run: an answer per request (in the order given), the wall time and the client's own CPU time."""

    answers: tuple[Answer, ...]
    seconds: float
    client_cpu_seconds: float

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for answer in self.answers:
            counts[answer.status] = counts.get(answer.status, 0) + 1
        return counts


def encode_request(
    method: str, path: str, *, host: str, token: str | None = None, body: Mapping[str, Any] | None = None
) -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request (JSON body, bearer token)."""
    payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}", "accept: application/json"]
    if token is not None:
        lines.append(f"authorization: Bearer {token}")
    if body is not None:
        lines += ["content-type: application/json", f"content-length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class _ClosedError(Exception):
    """The server closed the connection or answered something that is not HTTP/1.1."""


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server keeps the connection open)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise _ClosedError("connection closed before an answer") from error
    except asyncio.LimitOverrunError as error:
        raise _ClosedError("answer head too long") from error
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1."):
        raise _ClosedError(f"not an HTTP answer: {lines[0][:40]!r}")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip().lower()
    keep_open = headers.get("connection") != "close"
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), keep_open
    if headers.get("transfer-encoding") == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(part[:-2] for part in parts), keep_open
    return status, await reader.read(), False


async def _connection(
    host: str,
    port: int,
    requests: Sequence[bytes],
    order: Iterator[int],
    answers: list[Answer | None],
    *,
    keep_bodies: bool,
    timeout: float,
    on_answer: Callable[[int, Answer], None] | None,
) -> None:
    """One keep-alive connection working through ``order`` until it is exhausted, reconnecting when needed."""
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    perf_counter = time.perf_counter
    for index in order:
        started = perf_counter()
        try:
            async with asyncio.timeout(timeout):
                if streams is None:
                    streams = await asyncio.open_connection(host, port, limit=_HEAD_LIMIT)
                reader, writer = streams
                writer.write(requests[index])
                status, body, keep_open = await _read_answer(reader)
            answer = Answer(status, perf_counter() - started, body if keep_bodies else b"")
        except (OSError, TimeoutError, _ClosedError, asyncio.IncompleteReadError, ValueError):
            answer, keep_open = Answer(NO_ANSWER, perf_counter() - started), False
        answers[index] = answer
        if not keep_open and streams is not None:
            streams[1].close()
            streams = None
        if on_answer is not None:
            on_answer(index, answer)
    if streams is not None:
        streams[1].close()


async def _drive(
    host: str,
    port: int,
    requests: Sequence[bytes],
    concurrency: int,
    *,
    keep_bodies: bool,
    timeout: float,
    on_answer: Callable[[int, Answer], None] | None,
) -> list[Answer | None]:
    answers: list[Answer | None] = [None] * len(requests)
    order = iter(range(len(requests)))  # shared: each connection takes the next request when it is free
    await asyncio.gather(
        *(
            _connection(host, port, requests, order, answers, keep_bodies=keep_bodies, timeout=timeout,
                        on_answer=on_answer)
            for _ in range(min(concurrency, len(requests)))
        )
    )  # fmt: skip
    return answers


def drive(
    host: str,
    port: int,
    requests: Sequence[bytes],
    concurrency: int,
    *,
    keep_bodies: bool = False,
    timeout: float = 60.0,
    on_answer: Callable[[int, Answer], None] | None = None,
) -> Load:
    """Send every request (from :func:`encode_request`) with ``concurrency`` in flight; returns when all have an
    answer or none will come. ``on_answer(index, answer)`` is called in the client's event loop as answers come."""
    # The client's CPU is the event loop's thread's: other threads of the process (a CPU watch) are not the client.
    started, cpu_started = time.perf_counter(), time.thread_time()
    answers = asyncio.run(
        _drive(host, port, requests, concurrency, keep_bodies=keep_bodies, timeout=timeout, on_answer=on_answer)
    )
    seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    return Load(tuple(answer or Answer(NO_ANSWER, 0.0) for answer in answers), seconds, cpu)
