"""Card use cases: signing keys and their rotation, issuing cards (one household or a whole area), state
changes with who, when and why, the lists devices download, and what to print.

A household keeps its entitlements whatever happens to its card: a reissue revokes the previous card and issues
a new one, and nothing here touches an entitlement (DESIGN section 1).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from canasta.domain.access import Actor, is_in_scope
from canasta.domain.cards import CARD_NUMBER_DIGITS, CardState, check_transition, make_card_number, parse_card_number
from canasta.domain.credentials import CardClaims, Credential, TrustedKey
from canasta.domain.errors import ConflictError, NotFoundError, ValidationError
from canasta.domain.registry import RecordStatus, Relationship
from canasta.services.ports import Clock

__all__ = [
    "CardPolicy",
    "CardStore",
    "Cards",
    "IssuedCard",
    "Keyring",
    "PrintJob",
    "change_card_state",
    "create_key",
    "export_revocation_list",
    "export_trust_list",
    "issue_card",
    "issue_cards_for_area",
    "print_jobs",
    "rotate_key",
]

Row = Mapping[str, Any]
CARD_KEY = "card"
LIST_KEY = "list"
BATCH = 1000
_LIVE = (CardState.ISSUED, CardState.ACTIVE, CardState.LOST)


class Keyring(Protocol):
    """Makes and uses sealed signing keys (``adapters.crypto.keyring.SealedKeyring``)."""

    def generate(self) -> Any: ...
    def sign_card(self, key_id: str, sealed: bytes, credential: Credential) -> str: ...
    def trust_list(
        self, *, version: int, issued_at: datetime, keys: list[TrustedKey], list_key_id: str, list_key_sealed: bytes
    ) -> bytes: ...
    def revocation_list(
        self, *, version: int, issued_at: datetime, card_numbers: list[str], list_key_id: str, list_key_sealed: bytes
    ) -> bytes: ...


class CardStore(Protocol):
    """Storage of keys and cards (``adapters.db.card_store.SqlCardStore``)."""

    def keys(self, purpose: str | None = None) -> list[Row]: ...
    def key(self, key_id: str) -> Row | None: ...
    def active_key(self, purpose: str) -> Row | None: ...
    def insert_key(self, values: Mapping[str, Any]) -> None: ...
    def retire_key(self, key_id: str, *, at: datetime, trusted_until: datetime) -> None: ...
    def next_list_version(self, kind: str, *, at: datetime) -> int: ...
    def card_by_number(self, number: str) -> Row | None: ...
    def live_cards(self, household_id: UUID) -> list[Row]: ...
    def card_number_exists(self, numbers: Sequence[str]) -> set[str]: ...
    def insert_cards(self, rows: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]) -> None: ...
    def change_state(self, card_id: UUID, *, expected_version: int, state: str) -> bool: ...
    def events(self, card_id: UUID) -> list[Row]: ...
    def refused_card_numbers(self) -> list[str]: ...
    def households_without_card(self, area_code: str, *, after: UUID | None, limit: int) -> list[Row]: ...
    def printable(
        self, *, area_code: str | None, household_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Row]: ...
    def members(self, household_id: UUID) -> list[Row]: ...
    def holder(self, person_id: UUID) -> Row | None: ...
    def household(self, household_id: UUID) -> Row | None: ...


@dataclass(frozen=True, slots=True)
class CardPolicy:
    """What every card of the deployment carries: its issuer URI and how long it lasts."""

    issuer: str
    validity: timedelta


@dataclass(frozen=True, slots=True)
class Cards:
    """The collaborators of the card use cases, bundled once per unit of work."""

    store: CardStore
    keyring: Keyring
    clock: Clock
    new_ids: Callable[[int], list[UUID]]
    policy: CardPolicy


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """A card just issued."""

    id: UUID
    card_number: str
    household_id: UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PrintJob:
    """What a card face shows (the QR text is signed at print time; Ed25519 makes it the same every time)."""

    card_id: UUID
    label: str
    holder_name: str
    card_number: str
    expires_on: date
    qr_text: str


# --- keys and lists -----------------------------------------------------------------------------------------


def create_key(cards: Cards, actor: Actor, *, purpose: str) -> str:
    """Make the first key of ``purpose`` (``card`` or ``list``); after that keys change only by rotation."""
    if purpose not in (CARD_KEY, LIST_KEY):
        raise ValidationError("must be card or list", field="purpose", code="invalid_choice")
    if cards.store.active_key(purpose) is not None:
        raise ConflictError(f"a {purpose} key exists already; rotate it instead", code="key_exists")
    return _add_key(cards, actor, purpose)


def rotate_key(cards: Cards, actor: Actor, *, purpose: str) -> str:
    """A new active key; the old one signs nothing more but stays trusted until its last card expires."""
    current = cards.store.active_key(purpose)
    if current is None:
        raise NotFoundError(f"no {purpose} key to rotate; create one first")
    now = cards.clock.now()
    cards.store.retire_key(current["key_id"], at=now, trusted_until=now + cards.policy.validity)
    return _add_key(cards, actor, purpose)


def _add_key(cards: Cards, actor: Actor, purpose: str) -> str:
    generated = cards.keyring.generate()
    cards.store.insert_key(
        {
            "key_id": generated.key_id, "purpose": purpose, "public_key": generated.public_key,
            "private_key_sealed": generated.private_key_sealed, "status": "active", "created_at": cards.clock.now(),
            "created_by": actor.label, "retired_at": None, "trusted_until": None,
        }
    )  # fmt: skip
    return str(generated.key_id)


def trusted_keys(cards: Cards) -> list[TrustedKey]:
    """Card keys a verifier trusts now: the active one, and retired ones until their last card expires."""
    now = cards.clock.now()
    return [
        TrustedKey(
            key_id=bytes.fromhex(row["key_id"]),
            public_key=bytes(row["public_key"]),
            not_after=int(row["trusted_until"].timestamp()) if row["trusted_until"] is not None else None,
        )
        for row in cards.store.keys(CARD_KEY)
        if row["status"] == "active" or (row["trusted_until"] is not None and row["trusted_until"] > now)
    ]


def _list_key(cards: Cards) -> Row:
    key = cards.store.active_key(LIST_KEY)
    if key is None:
        raise NotFoundError("no list-signing key; run `canasta keys create --purpose list`")
    return key


def export_trust_list(cards: Cards) -> bytes:
    """The signed trust list devices download, with a version one higher than the last one exported."""
    now = cards.clock.now()
    key = _list_key(cards)
    return cards.keyring.trust_list(
        version=cards.store.next_list_version("trust", at=now), issued_at=now, keys=trusted_keys(cards),
        list_key_id=key["key_id"], list_key_sealed=bytes(key["private_key_sealed"]),
    )  # fmt: skip


def export_revocation_list(cards: Cards) -> bytes:
    """The signed revocation list: every lost or revoked card number."""
    now = cards.clock.now()
    key = _list_key(cards)
    return cards.keyring.revocation_list(
        version=cards.store.next_list_version("revocation", at=now), issued_at=now,
        card_numbers=cards.store.refused_card_numbers(), list_key_id=key["key_id"],
        list_key_sealed=bytes(key["private_key_sealed"]),
    )  # fmt: skip


# --- cards --------------------------------------------------------------------------------------------------


def _new_numbers(cards: Cards, count: int) -> list[str]:
    """``count`` fresh random card numbers, none in use (a collision of 15 random digits is simply redrawn)."""
    numbers: dict[str, None] = {}
    while len(numbers) < count:
        drawn = [
            make_card_number(f"{secrets.randbelow(10**CARD_NUMBER_DIGITS):0{CARD_NUMBER_DIGITS}d}")
            for _ in range(count - len(numbers))
        ]
        taken = cards.store.card_number_exists(drawn)
        numbers.update((number, None) for number in drawn if number not in taken)
    return list(numbers)


def _card_key(cards: Cards) -> Row:
    key = cards.store.active_key(CARD_KEY)
    if key is None:
        raise NotFoundError("no card-signing key; run `canasta keys create --purpose card`")
    return key


def _card_rows(
    cards: Cards, actor: Actor, holders: Sequence[Row], *, label: str, reason: str, replaces: UUID | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[IssuedCard]]:
    key_id = _card_key(cards)["key_id"]
    now = cards.clock.now()
    expires = now + cards.policy.validity
    numbers = _new_numbers(cards, len(holders))
    ids = cards.new_ids(2 * len(holders))
    rows, events, issued = [], [], []
    for position, (holder, number) in enumerate(zip(holders, numbers, strict=True)):
        card_id, event_id = ids[2 * position], ids[2 * position + 1]
        rows.append(
            {
                "id": card_id, "card_number": number, "household_id": holder["household_id"],
                "holder_id": holder["holder_id"], "label": label, "state": CardState.ISSUED.value, "key_id": key_id,
                "issued_at": now, "expires_at": expires, "replaces_card_id": replaces, "version": 1,
            }
        )  # fmt: skip
        events.append(
            {
                "id": event_id,
                "card_id": card_id,
                "from_state": None,
                "to_state": CardState.ISSUED.value,
                "at": now,
                "by": actor.label,
                "reason": reason,
            }
        )
        issued.append(IssuedCard(card_id, number, holder["household_id"], expires))
    return rows, events, issued


def issue_card(
    cards: Cards, actor: Actor, household_id: UUID, *, label: str, reason: str, holder_id: UUID | None = None
) -> IssuedCard:
    """Issue a card to a household, held by its head unless ``holder_id`` names another active member.

    A live earlier card (issued, active or lost) is revoked first, with the reason "reissued: ...".
    """
    household = cards.store.household(household_id)
    if household is None or not is_in_scope(household["area_code"], actor.area_codes):
        raise NotFoundError("no such household", household_id=str(household_id))
    if household["status"] != RecordStatus.ACTIVE:
        raise ConflictError("the household is inactive", code="household_inactive")
    members = [row for row in cards.store.members(household_id) if row["status"] == RecordStatus.ACTIVE]
    if holder_id is None:
        holder = next((row for row in members if row["relationship"] == Relationship.HEAD), None)
        if holder is None:
            raise ConflictError("the household has no active head to hold the card", code="no_holder")
    else:
        holder = next((row for row in members if row["id"] == holder_id), None)
        if holder is None:
            raise NotFoundError("no such active member of this household", field="holder_id")
    _card_key(cards)
    previous = cards.store.live_cards(household_id)
    for card in previous:
        change_card_state(cards, actor, card["card_number"], CardState.REVOKED, reason=f"reissued: {reason}")
    rows, events, issued = _card_rows(
        cards, actor, [{"household_id": household_id, "holder_id": holder["id"]}], label=label, reason=reason,
        replaces=previous[-1]["id"] if previous else None,
    )  # fmt: skip
    cards.store.insert_cards(rows, events)
    return issued[0]


def issue_cards_for_area(
    cards: Cards,
    actor: Actor,
    area_code: str,
    *,
    label: str,
    reason: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Issue a card to every active household of an area that has no live card (set path, in batches).

    Idempotent: run it twice and the second run issues nothing. Returns how many cards were issued.
    """
    if not is_in_scope(area_code, actor.area_codes):
        raise NotFoundError("no such area in your scope", field="area_code")
    count = 0
    after: UUID | None = None
    while True:
        holders = cards.store.households_without_card(area_code, after=after, limit=BATCH)
        if not holders:
            return count
        rows, events, _ = _card_rows(cards, actor, holders, label=label, reason=reason)
        cards.store.insert_cards(rows, events)
        count += len(rows)
        after = holders[-1]["household_id"]
        if progress is not None:
            progress(count)


def change_card_state(cards: Cards, actor: Actor, card_number: str, target: CardState, *, reason: str) -> None:
    """Move a card to ``target`` if the transition is legal, recording who, when and why."""
    number = parse_card_number(card_number)
    card = cards.store.card_by_number(number)
    if card is None:
        raise NotFoundError("no such card", field="card_number")
    household = cards.store.household(card["household_id"])
    if household is None or not is_in_scope(household["area_code"], actor.area_codes):
        raise NotFoundError("no such card", field="card_number")
    reason = reason.strip()
    if len(reason) < 3:
        raise ValidationError("say why, in at least 3 characters", field="reason", code="reason_required")
    current = CardState(card["state"])
    check_transition(current, target)
    if not cards.store.change_state(card["id"], expected_version=card["version"], state=target.value):
        raise ConflictError("the card changed meanwhile; try again", code="stale_version")
    event_id = cards.new_ids(1)[0]
    cards.store.insert_cards(
        [],
        [
            {
                "id": event_id,
                "card_id": card["id"],
                "from_state": current.value,
                "to_state": target.value,
                "at": cards.clock.now(),
                "by": actor.label,
                "reason": reason[:500],
            }
        ],
    )


def print_jobs(cards: Cards, *, area_code: str | None = None, household_id: UUID | None = None) -> Iterator[PrintJob]:
    """Cards waiting to be printed (state issued), signed now, streamed in batches (memory stays flat)."""
    after: UUID | None = None
    keys: dict[str, Row] = {}  # a print run uses one or two keys: read each once, not once per card
    while True:
        rows = cards.store.printable(area_code=area_code, household_id=household_id, after=after, limit=BATCH)
        if not rows:
            return
        for row in rows:
            key = keys.get(row["key_id"]) or cards.store.key(row["key_id"])
            if key is None:  # impossible while keys are never deleted; refuse rather than sign with another
                raise NotFoundError(f"signing key {row['key_id']} of card {row['card_number']} is missing")
            keys[row["key_id"]] = key
            credential = Credential(
                issuer=cards.policy.issuer,
                issued_at=int(row["issued_at"].timestamp()),
                expires_at=int(row["expires_at"].timestamp()),
                claims=CardClaims(
                    card_id=row["card_number"],
                    full_name=f"{row['given_name']} {row['family_name']}",
                    date_of_birth=row["birth_date"].strftime("%Y%m%d"),
                ),
            )
            yield PrintJob(
                card_id=row["id"],
                label=row["label"],
                holder_name=f"{row['given_name']} {row['family_name']}",
                card_number=row["card_number"],
                expires_on=row["expires_at"].date(),
                qr_text=cards.keyring.sign_card(row["key_id"], bytes(key["private_key_sealed"]), credential),
            )
        after = rows[-1]["id"]
