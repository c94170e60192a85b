"""The card side's storage: keys, cards and their history, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from canasta.adapters.db.card_tables import card_events, cards, list_versions, signing_keys
from canasta.adapters.db.tables import households, people

__all__ = ["SqlCardStore"]

Row = Mapping[str, Any]
_LIVE = ("issued", "active", "lost")


class SqlCardStore:
    """Reads and writes keys and cards on one connection (the unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def keys(self, purpose: str | None = None) -> list[Row]:
        query = select(signing_keys).order_by(signing_keys.c.created_at)
        if purpose is not None:
            query = query.where(signing_keys.c.purpose == purpose)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def active_key(self, purpose: str) -> Row | None:
        row = (
            self.connection.execute(
                select(signing_keys).where(and_(signing_keys.c.purpose == purpose, signing_keys.c.status == "active"))
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def key(self, key_id: str) -> Row | None:
        row = self.connection.execute(select(signing_keys).where(signing_keys.c.key_id == key_id)).mappings().first()
        return dict(row) if row is not None else None

    def insert_key(self, values: Mapping[str, Any]) -> None:
        self.connection.execute(insert(signing_keys).values(**values))

    def retire_key(self, key_id: str, *, at: datetime, trusted_until: datetime) -> None:
        self.connection.execute(
            update(signing_keys)
            .where(signing_keys.c.key_id == key_id)
            .values(status="retired", retired_at=at, trusted_until=trusted_until)
        )

    def next_list_version(self, kind: str, *, at: datetime) -> int:
        """Bump and return the version of the ``kind`` list; devices refuse a list older than theirs."""
        current = self.connection.execute(
            select(list_versions.c.version).where(list_versions.c.kind == kind).with_for_update()
        ).scalar_one_or_none()
        if current is None:
            self.connection.execute(insert(list_versions).values(kind=kind, version=1, issued_at=at))
            return 1
        self.connection.execute(
            update(list_versions).where(list_versions.c.kind == kind).values(version=current + 1, issued_at=at)
        )
        return int(current) + 1

    def card_by_number(self, number: str) -> Row | None:
        row = self.connection.execute(select(cards).where(cards.c.card_number == number)).mappings().first()
        return dict(row) if row is not None else None

    def live_cards(self, household_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(cards).where(and_(cards.c.household_id == household_id, cards.c.state.in_(_LIVE)))
        ).mappings()
        return [dict(row) for row in rows]

    def card_number_exists(self, numbers: Sequence[str]) -> set[str]:
        rows = self.connection.execute(select(cards.c.card_number).where(cards.c.card_number.in_(numbers)))
        return {row[0] for row in rows}

    def insert_cards(self, rows: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.connection.execute(insert(cards), list(rows))
        if events:
            self.connection.execute(insert(card_events), list(events))

    def change_state(self, card_id: UUID, *, expected_version: int, state: str) -> bool:
        changed = self.connection.execute(
            update(cards)
            .where(and_(cards.c.id == card_id, cards.c.version == expected_version))
            .values(state=state, version=expected_version + 1)
        )
        return changed.rowcount == 1

    def events(self, card_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(card_events).where(card_events.c.card_id == card_id).order_by(card_events.c.at, card_events.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def refused_card_numbers(self) -> list[str]:
        """Numbers of cards devices must refuse: lost or revoked, not yet past their expiry."""
        rows = self.connection.execute(
            select(cards.c.card_number).where(cards.c.state.in_(("lost", "revoked"))).order_by(cards.c.card_number)
        )
        return [row[0] for row in rows]

    def households_without_card(self, area_code: str, *, after: UUID | None, limit: int) -> list[Row]:
        """Active households of an area with no live card, each with its active head; keyset-paged by id."""
        live = select(cards.c.household_id).where(cards.c.state.in_(_LIVE))
        query = (
            select(
                households.c.id.label("household_id"),
                people.c.id.label("holder_id"),
                people.c.given_name,
                people.c.family_name,
                people.c.birth_date,
            )
            .join(people, and_(people.c.household_id == households.c.id, people.c.relationship == "head"))
            .where(or_(households.c.area_code == area_code, households.c.area_code.like(area_code + "-%")))
            .where(households.c.status == "active", people.c.status == "active")
            .where(households.c.id.not_in(live))
            .order_by(households.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(households.c.id > after)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def printable(
        self, *, area_code: str | None, household_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Row]:
        """Cards in state issued (to print), with their holder's name and birth date, keyset-paged by card id."""
        query = (
            select(cards, people.c.given_name, people.c.family_name, people.c.birth_date)
            .join(people, people.c.id == cards.c.holder_id)
            .join(households, households.c.id == cards.c.household_id)
            .where(cards.c.state == "issued")
            .order_by(cards.c.id)
            .limit(limit)
        )
        if area_code is not None:
            query = query.where(or_(households.c.area_code == area_code, households.c.area_code.like(area_code + "-%")))
        if household_id is not None:
            query = query.where(cards.c.household_id == household_id)
        if after is not None:
            query = query.where(cards.c.id > after)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def count_by_state(self) -> dict[str, int]:
        rows = self.connection.execute(select(cards.c.state, func.count()).group_by(cards.c.state))
        return {state: int(count) for state, count in rows}

    def holder(self, person_id: UUID) -> Row | None:
        row = self.connection.execute(select(people).where(people.c.id == person_id)).mappings().first()
        return dict(row) if row is not None else None

    def members(self, household_id: UUID) -> list[Row]:
        rows = self.connection.execute(
            select(people).where(people.c.household_id == household_id).order_by(people.c.created_at, people.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def household(self, household_id: UUID) -> Row | None:
        row = self.connection.execute(select(households).where(households.c.id == household_id)).mappings().first()
        return dict(row) if row is not None else None
