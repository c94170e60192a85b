"""The access log's use cases: record each access in the request's transaction, enforce quotas, verify the chain.

:class:`AccessRecorder` is handed to every use case that touches personal data. It appends the entries in the
same transaction as the data, so an access and its record commit together or not at all; if the entry cannot be
written the use case fails with :class:`UnavailableError` and no data is returned (DESIGN section 8). Reads and
searches count against a per-user quota: past it, 429 and a security alert.

Sealing and verification run outside requests (``canasta audit seal|verify``, and the sealer thread of
``canasta serve``); :func:`verify_audit` adds to the chain walk of :mod:`canasta.domain.audit` the entries that
no seal covers although they are older than the newest checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from canasta.domain.access import Actor
from canasta.domain.audit import (
    AccessEntry,
    Action,
    ChainReport,
    Checkpoint,
    Finding,
    SealedLink,
    checkpoint_message,
    verify_chain,
)
from canasta.domain.errors import DomainError, RateLimitedError, UnavailableError
from canasta.services.ports import Clock

__all__ = ["AccessLogStore", "AccessRecorder", "Quota", "RequestContext", "verify_audit"]


class AccessLogStore(Protocol):
    """Where entries go (``adapters.db.access_log.SqlAccessLog``)."""

    def append(self, entries: Sequence[AccessEntry]) -> None: ...
    def reads_since(self, actor_id: UUID, since: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Why and where an access happens: the purpose of the route, the request's id, the route itself."""

    request_id: str
    route: str
    purpose: str


@dataclass(frozen=True, slots=True)
class Quota:
    """How many records one user may read or find per window; ``alert`` records a security alert elsewhere."""

    limit: int
    window: timedelta
    alert: Callable[[Actor, str], None]


class AccessRecorder:
    """Appends access-log entries for one actor in one request's unit of work."""

    def __init__(
        self,
        store: AccessLogStore,
        actor: Actor,
        context: RequestContext,
        *,
        clock: Clock,
        new_ids: Callable[[int], list[UUID]],
        quota: Quota | None = None,
        enabled: bool = True,
    ) -> None:
        self.store = store
        self.actor = actor
        self.context = context
        self.clock = clock
        self.new_ids = new_ids
        self.quota = quota
        self.enabled = enabled
        self._quota_checked = False

    def record(
        self,
        action: Action,
        household_id: UUID | None,
        categories: Iterable[str],
        *,
        person_id: UUID | None = None,
    ) -> None:
        """One access to one household's record (and one person's, where only they were touched)."""
        self.record_many(action, [(household_id, person_id)], categories)

    def record_many(
        self, action: Action, subjects: Sequence[tuple[UUID | None, UUID | None]], categories: Iterable[str]
    ) -> None:
        """One entry per (household, person) subject, all in one statement."""
        if not self.enabled:
            return
        if action is not Action.WRITE:
            self.check_quota(len(subjects))
        now = self.clock.now()
        kinds = tuple(sorted(set(categories)))
        ids = self.new_ids(len(subjects))
        actor = self.actor
        entries = [
            AccessEntry(
                id=entry_id, at=now, actor_id=actor.user_id, actor_name=actor.name, actor_role=actor.role.value,
                actor_areas=actor.area_codes, action=action.value, household_id=household_id, person_id=person_id,
                categories=kinds, purpose=self.context.purpose, request_id=self.context.request_id,
                route=self.context.route,
            )
            for entry_id, (household_id, person_id) in zip(ids, subjects, strict=True)
        ]  # fmt: skip
        try:
            self.store.append(entries)
        except DomainError:
            raise
        except Exception as error:  # the data must not leave without its entry: refuse the whole request
            raise UnavailableError(
                "the access log could not be written, so nothing is returned; try again shortly",
                code="access_log_unavailable",
            ) from error

    def check_quota(self, adding: int = 1) -> None:
        """Refuse (429) when the actor has read or found more records in the window than the quota allows."""
        quota = self.quota
        if quota is None or self._quota_checked:
            return
        since = self.clock.now() - quota.window
        used = self.store.reads_since(self.actor.user_id, since)
        if used + adding > quota.limit:
            quota.alert(self.actor, f"read quota of {quota.limit} records per {quota.window} reached ({used} used)")
            raise RateLimitedError(
                f"you have read {used} records in the last {quota.window}; the limit is {quota.limit}",
                retry_after=int(quota.window.total_seconds() // 4) or 1,
                code="quota_exceeded",
            )
        self._quota_checked = True


def verify_audit(
    links: Iterable[SealedLink],
    checkpoints: Sequence[Checkpoint],
    *,
    public_key: Callable[[str], Callable[[bytes, bytes], bool] | None],
    unsealed: Callable[[datetime], list[UUID]],
    anchors: Sequence[Checkpoint] = (),
    grace: timedelta = timedelta(minutes=5),
) -> ChainReport:
    """Walk the whole chain; also report entries older than the newest checkpoint (less ``grace``) left unsealed."""

    def signature_ok(checkpoint: Checkpoint) -> bool:
        verify = public_key(checkpoint.key_id)
        message = checkpoint_message(checkpoint.position, checkpoint.chain_hash, checkpoint.sealed_at)
        return verify is not None and verify(message, checkpoint.signature)

    report = verify_chain(links, checkpoints, signature_ok=signature_ok, anchors=anchors)
    if checkpoints:
        cutoff = max(checkpoint.sealed_at for checkpoint in checkpoints) - grace
        for entry_id in unsealed(cutoff):
            report.findings.append(Finding("unsealed", 0, f"entry {entry_id} is older than the seal but not in it"))
    return report
