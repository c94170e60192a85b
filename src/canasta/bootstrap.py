"""The composition root: the one place where settings become engines, keys and services.

Nothing connects at import time. Entrypoints call :func:`bootstrap` once; tests pass overrides (a fixed clock,
an engine on a throwaway database) instead of patching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

    def redemptions(self, connection: Connection) -> Redemptions:
        """The redemption use cases' collaborators on ``connection`` (the unit of work)."""
        from canasta.adapters.db.redemption_store import SqlRedemptionStore

        signer, checks = self._signer_and_checks()
        return Redemptions(
            SqlRedemptionStore(connection),
            check_card=lambda text, now: checks.check(text, now, connection),
            sign=lambda document: signer.sign(document, connection),
            clock=self.clock,
            new_ids=self.new_ids,
        )

    def offline(self) -> Offline:
        """The offline use cases' collaborators: each record is decided in a transaction of its own."""
        from canasta.adapters.crypto.records import verify_record_signature
        from canasta.adapters.db.offline_store import SqlOfflineStore
        from canasta.services.cards import export_revocation_list, export_trust_list
        from canasta.services.offline import OfflineUnit

        signer, _ = self._signer_and_checks()

        @contextmanager
        def transaction() -> Iterator[OfflineUnit]:
            with self.engine.begin() as connection:
                cards = self.cards(connection)
                yield OfflineUnit(
                    SqlOfflineStore(connection),
                    sign=lambda document: signer.sign(document, connection),
                    lists=lambda: (export_trust_list(cards), export_revocation_list(cards)),
                )

        return Offline(transaction, verify=verify_record_signature, clock=self.clock, new_ids=self.new_ids)

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
    if keys is None:
        keys = load_key_material(
            key_file=settings.key_file,
            inline=settings.keys,
            create_if_missing=settings.environment is Environment.DEVELOPMENT,
        )
    return Canasta(
        settings=settings,
        engine=engine if engine is not None else make_engine(settings.database_url),
        sealer=FieldSealer(keys),
        keyring=SealedKeyring(keys),
        clock=clock if clock is not None else SystemClock(),
        new_ids=id_factory if id_factory is not None else new_ids,
    )
