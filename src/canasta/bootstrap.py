"""The composition root: the one place where settings become engines, keys and services.

Nothing connects at import time. Entrypoints call :func:`bootstrap` once; tests pass overrides (a fixed clock,
an engine on a throwaway database) instead of patching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, cast
from uuid import UUID

from sqlalchemy import Connection, Engine

from canasta.adapters.clock import SystemClock
from canasta.adapters.crypto.fields import FieldSealer
from canasta.adapters.crypto.keyfile import KeyMaterial, load_key_material
from canasta.adapters.crypto.keyring import SealedKeyring
from canasta.adapters.db.appeal_store import SqlAppealStore
from canasta.adapters.db.card_store import SqlCardStore
from canasta.adapters.db.cycle_store import SqlCycleStore
from canasta.adapters.db.eligibility_run import CycleRun
from canasta.adapters.db.engine import make_engine
from canasta.adapters.ids import new_ids
from canasta.config import Environment, Settings
from canasta.services.appeals import Appeals
from canasta.services.cards import CardPolicy, Cards
from canasta.services.cycles import Eligibility
from canasta.services.offline import Offline
from canasta.services.ports import Clock
from canasta.services.redemption import Redemptions

if TYPE_CHECKING:
    from canasta.adapters.crypto.receipts import CardChecks, ReceiptSigner
    from canasta.domain.access import Actor
    from canasta.domain.audit import ChainReport, Checkpoint
    from canasta.services.audit import AccessRecorder, RequestContext
    from canasta.services.registry import Registry

__all__ = ["Canasta", "bootstrap"]


@dataclass(frozen=True, slots=True)
class Canasta:
    """Everything a running canasta needs, built once."""

    settings: Settings
    engine: Engine
    sealer: FieldSealer
    keyring: SealedKeyring
    clock: Clock
    new_ids: Callable[[int], list[UUID]]
    _online: dict[str, object] = field(default_factory=dict)  # the card checker and receipt signer, made once

    def cards(self, connection: Connection) -> Cards:
        """The card use cases' collaborators on ``connection`` (the unit of work)."""
        policy = CardPolicy(issuer=self.settings.card_issuer, validity=timedelta(days=self.settings.card_validity_days))
        return Cards(SqlCardStore(connection), self.keyring, self.clock, self.new_ids, policy)

    def eligibility(self, connection: Connection) -> Eligibility:
        """The cycle use cases' collaborators on ``connection`` (the unit of work)."""
        return Eligibility(SqlCycleStore(connection), self.clock, self.new_ids, make_run=CycleRun)

    def appeals(self, connection: Connection) -> Appeals:
        """The appeal use cases' collaborators on ``connection`` (the unit of work)."""
        return Appeals(SqlAppealStore(connection), self.eligibility(connection))

    def _signer_and_checks(self) -> tuple[ReceiptSigner, CardChecks]:
        """The receipt signer and the card checker, made once and shared by every unit of work."""
        from canasta.adapters.crypto.receipts import CardChecks, ReceiptSigner
        from canasta.services.cards import trusted_keys

        if not self._online:
            self._online["check_card"] = CardChecks(lambda own: trusted_keys(self.cards(own)))
            self._online["sign"] = ReceiptSigner(self.keyring, lambda own: SqlCardStore(own).active_key("list"))
        return cast("ReceiptSigner", self._online["sign"]), cast("CardChecks", self._online["check_card"])

    def redemptions(self, connection: Connection, access: AccessRecorder | None = None) -> Redemptions:
        """The redemption use cases' collaborators on ``connection`` (the unit of work), logging to ``access``."""
        from canasta.adapters.db.redemption_store import SqlRedemptionStore

        signer, checks = self._signer_and_checks()
        return Redemptions(
            SqlRedemptionStore(connection),
            check_card=lambda text, now: checks.check(text, now, connection),
            sign=lambda document: signer.sign(document, connection),
            clock=self.clock,
            new_ids=self.new_ids,
            access=access,
        )

    def offline(self, actor: Actor | None = None, context: RequestContext | None = None) -> Offline:
        """The offline use cases' collaborators: each record is decided in a transaction of its own, and with an
        ``actor`` (the uploading device or operator) every household whose entitlement a record touches is logged."""
        from canasta.adapters.crypto.records import verify_record_signature
        from canasta.adapters.db.offline_store import SqlOfflineStore
        from canasta.domain.audit import Action, Category
        from canasta.services.cards import export_revocation_list, export_trust_list
        from canasta.services.offline import OfflineUnit

        signer, _ = self._signer_and_checks()

        @contextmanager
        def transaction() -> Iterator[OfflineUnit]:
            with self.engine.begin() as connection:
                cards = self.cards(connection)
                record_access = None
                if actor is not None and context is not None:
                    recorder = self.access_recorder(connection, actor, context)

                    def record_access(household_id: UUID, recorder: AccessRecorder = recorder) -> None:
                        recorder.record(Action.WRITE, household_id, (Category.ENTITLEMENTS, Category.CARD))

                yield OfflineUnit(
                    SqlOfflineStore(connection),
                    sign=lambda document: signer.sign(document, connection),
                    lists=lambda: (export_trust_list(cards), export_revocation_list(cards)),
                    record_access=record_access,
                )

        return Offline(transaction, verify=verify_record_signature, clock=self.clock, new_ids=self.new_ids)

    def registry(self, connection: Connection, actor: Actor, context: RequestContext | None = None) -> Registry:
        """The record-path use cases' collaborators on ``connection``, logging every access by ``actor``.

        ``context`` says which request and why; commands and jobs off the request path pass none and are logged
        with the purpose ``administration``.
        """
        from canasta.adapters.db.registry_store import SqlRegistryStore
        from canasta.adapters.db.repositories import load_custom_fields
        from canasta.services.audit import RequestContext
        from canasta.services.registry import Registry

        if context is None:
            context = RequestContext(request_id="-", route="command", purpose="administration")
        return Registry(
            SqlRegistryStore(connection), sealer=self.sealer, clock=self.clock, new_ids=self.new_ids,
            definitions=load_custom_fields(connection), access=self.access_recorder(connection, actor, context),
        )  # fmt: skip

    def access_recorder(self, connection: Connection, actor: Actor, context: RequestContext) -> AccessRecorder:
        """The access log of one request: entries go into ``connection``'s transaction; quota alerts outlive it."""
        from canasta.adapters.db.access_log import SqlAccessLog
        from canasta.adapters.db.alerts import record_alert
        from canasta.services.audit import AccessRecorder, Quota

        def alert(who: Actor, detail: str) -> None:
            with self.engine.begin() as own:  # the request's transaction is about to be rolled back
                record_alert(
                    own, alert_id=self.new_ids(1)[0], kind="quota_exceeded", detail=detail, at=self.clock.now(),
                    actor_name=who.name, request_id=context.request_id,
                )  # fmt: skip

        quota = Quota(limit=self.settings.read_quota_per_hour, window=timedelta(hours=1), alert=alert)
        return AccessRecorder(
            SqlAccessLog(connection), actor, context, clock=self.clock, new_ids=self.new_ids, quota=quota,
            enabled=self.settings.access_log,
        )  # fmt: skip

    def seal_access_log(
        self, *, batch: int = 10_000, lookback: timedelta | None = timedelta(seconds=10)
    ) -> list[Checkpoint]:
        """Seal every entry waiting, a batch per transaction; the checkpoints written (none when none waited).

        A round that seals less than a full batch has caught up, and the sealing stops there: entries written
        meanwhile wait for the next call, rather than each call chasing a busy server's newest few entries with a
        checkpoint (a signature and a row) for every handful.

        Entries are looked for from ``lookback`` before the last sealed one; None looks through the whole log for
        entries left behind by long transactions (see ``seal_pending``).
        """
        from canasta.adapters.db.access_log import seal_pending
        from canasta.adapters.db.card_store import SqlCardStore
        from canasta.domain.access import Actor, Role
        from canasta.services.cards import create_key

        written: list[Checkpoint] = []
        while True:
            with self.engine.begin() as connection:
                store = SqlCardStore(connection)
                key = store.active_key("list")
                if key is None:  # checkpoints are signed by the server's list key; a new registry has none yet
                    sealer = Actor(user_id=UUID(int=0), name="audit-sealer", role=Role.ADMIN)
                    create_key(self.cards(connection), sealer, purpose="list")
                    key = store.active_key("list")
                    assert key is not None

                key_id, sealed = str(key["key_id"]), bytes(key["private_key_sealed"])

                def sign(message: bytes, key_id: str = key_id, sealed: bytes = sealed) -> tuple[str, bytes]:
                    return key_id, self.keyring.sign(key_id, sealed, message)

                round_ = seal_pending(connection, sign=sign, now=self.clock.now(), batch=batch, lookback=lookback)
            if round_ is None:
                return written
            checkpoint, count = round_
            written.append(checkpoint)
            if count < batch:
                return written

    def verify_access_log(self, anchors: Sequence[Checkpoint] = ()) -> ChainReport:
        """Walk the whole sealed chain against its entries, checkpoints and ``anchors`` (read-only)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        from canasta.adapters.db.access_log import checkpoints, sealed_links, unsealed_older_than
        from canasta.adapters.db.card_store import SqlCardStore
        from canasta.services.audit import verify_audit

        with self.engine.connect() as connection:
            store = SqlCardStore(connection)

            def public_key(key_id: str) -> Callable[[bytes, bytes], bool] | None:
                row = store.key(key_id)
                if row is None:
                    return None
                public = Ed25519PublicKey.from_public_bytes(bytes(row["public_key"]))

                def verify(message: bytes, signature: bytes) -> bool:
                    try:
                        public.verify(signature, message)
                    except InvalidSignature:
                        return False
                    return True

                return verify

            return verify_audit(
                sealed_links(connection), checkpoints(connection), public_key=public_key,
                unsealed=lambda cutoff: unsealed_older_than(connection, cutoff), anchors=anchors,
            )  # fmt: skip

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    engine: Engine | None = None,
    keys: KeyMaterial | None = None,
    clock: Clock | None = None,
    id_factory: Callable[[int], list[UUID]] | None = None,
) -> Canasta:
    """Build canasta from ``settings``; any argument given replaces what settings would make."""
    if not settings.access_log and settings.environment is not Environment.DEVELOPMENT:
        from canasta.domain.errors import ValidationError

        raise ValidationError("the access log cannot be turned off in production", field="CANASTA_ACCESS_LOG")
    if keys is None:
        keys = load_key_material(
            key_file=settings.key_file,
            inline=settings.keys,
            create_if_missing=settings.environment is Environment.DEVELOPMENT,
        )
    return Canasta(
        settings=settings,
        engine=engine
        if engine is not None
        else make_engine(settings.database_url, pool_size=settings.database_pool_size),
        sealer=FieldSealer(keys),
        keyring=SealedKeyring(keys),
        clock=clock if clock is not None else SystemClock(),
        new_ids=id_factory if id_factory is not None else new_ids,
    )
