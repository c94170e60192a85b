"""Failed sign-ins, counted per user name and per client address, and the lockouts that follow too many.

A subject (one name, or one address) that fails ``max_failures`` times within ``window`` is locked for
``lockout``; each further lockout in a row lasts twice as long as the one before, up to ``max_lockout``. A
successful sign-in clears its name's count and backoff; ``canasta users unlock`` clears a lock by hand. While a
subject is locked every sign-in with it is refused the same way, whether or not the password is right and whether
or not the name exists, so a lockout reveals neither.

States of a subject's row::

    counting  failures < limit, locked_until in the past or none      -- a failure --> counting or locked
    locked    locked_until in the future                              -- time passes, unlock --> counting

Subjects are keyed hashes (see ``auth_tables``); callers make them with :func:`login_subjects`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from canasta.adapters.db.auth_tables import login_throttles

__all__ = ["Lockout", "LoginPolicy", "Subject", "clear", "locked_until", "login_subjects", "record_failure", "unlock"]

SubjectKind = Literal["name", "address"]


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """How many failures lock a name or an address, within which window, and for how long."""

    max_failures: int = 5
    max_failures_per_address: int = 50
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    max_lockout: timedelta = timedelta(hours=24)

    def limit(self, kind: SubjectKind) -> int:
        return self.max_failures if kind == "name" else self.max_failures_per_address

    def lockout_after(self, earlier_lockouts: int) -> timedelta:
        """The length of the next lockout: doubled for each one before it in a row, never beyond the cap."""
        doubling: int = 2 ** min(earlier_lockouts, 30)
        return min(self.lockout * doubling, self.max_lockout)


@dataclass(frozen=True, slots=True)
class Subject:
    """What a failure is counted against: a name or an address, as a keyed hash."""

    kind: SubjectKind
    key: bytes


@dataclass(frozen=True, slots=True)
class Lockout:
    """A lockout that has just begun."""

    kind: SubjectKind
    until: datetime
    length: timedelta
    failures: int


def login_subjects(keyed_hash: Callable[[str, str], bytes], *, name: str, address: str | None) -> list[Subject]:
    """The subjects of one sign-in: its name, and its client address where the request has one (name first)."""
    subjects = [Subject("name", keyed_hash("login-name", name))]
    if address:
        subjects.append(Subject("address", keyed_hash("login-address", address)))
    return subjects


def locked_until(connection: Connection, subjects: Sequence[Subject], *, at: datetime) -> datetime | None:
    """The end of the longest lock on any of ``subjects`` at ``at``, or None when none is locked."""
    ends = connection.execute(
        select(login_throttles.c.locked_until).where(
            login_throttles.c.subject.in_([subject.key for subject in subjects]),
            login_throttles.c.locked_until > at,
        )
    ).scalars()
    return max(ends, default=None)


def _insert_if_missing(connection: Connection, subject: Subject, at: datetime) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(login_throttles)
        .values(subject=subject.key, kind=subject.kind, failures=0, window_started_at=at, lockouts=0)
        .on_conflict_do_nothing(index_elements=["subject"])
    )


def record_failure(
    connection: Connection, subjects: Sequence[Subject], policy: LoginPolicy, *, at: datetime
) -> list[Lockout]:
    """Count one failed sign-in against each subject; returns the lockouts it started (none most of the time)."""
    started = []
    for subject in subjects:
        _insert_if_missing(connection, subject, at)
        row = connection.execute(
            select(login_throttles).where(login_throttles.c.subject == subject.key).with_for_update()
        ).one()
        failures, window_started_at, lockouts = row.failures, row.window_started_at, row.lockouts
        if row.locked_until is not None and row.locked_until > at:
            continue  # locked meanwhile by a concurrent failure: nothing more to count
        if at - window_started_at >= policy.window:
            failures, window_started_at = 0, at
        if lockouts and row.locked_until is not None and at - row.locked_until >= policy.max_lockout:
            lockouts = 0  # a long quiet spell since the last lockout: the backoff starts again
        failures += 1
        values: dict[str, object] = {"failures": failures, "window_started_at": window_started_at,
                                     "lockouts": lockouts, "last_failure_at": at}  # fmt: skip
        if failures >= policy.limit(subject.kind):
            length = policy.lockout_after(lockouts)
            started.append(Lockout(subject.kind, at + length, length, failures))
            values |= {"failures": 0, "window_started_at": at, "lockouts": lockouts + 1, "locked_until": at + length}
        connection.execute(update(login_throttles).where(login_throttles.c.subject == subject.key).values(values))
    return started


def clear(connection: Connection, subject: Subject, *, at: datetime) -> None:
    """Forget ``subject``'s failures and backoff (after a successful sign-in)."""
    connection.execute(
        update(login_throttles)
        .where(login_throttles.c.subject == subject.key, login_throttles.c.failures + login_throttles.c.lockouts > 0)
        .values(failures=0, window_started_at=at, lockouts=0, locked_until=None)
    )


def unlock(connection: Connection, subject: Subject, *, at: datetime) -> bool:
    """Lift ``subject``'s lock and forget its failures; returns whether there was a lock or a failure to forget."""
    result = connection.execute(
        update(login_throttles)
        .where(
            login_throttles.c.subject == subject.key,
            or_(login_throttles.c.failures > 0, login_throttles.c.locked_until.is_not(None)),
        )
        .values(failures=0, window_started_at=at, lockouts=0, locked_until=None)
    )
    return bool(result.rowcount)
