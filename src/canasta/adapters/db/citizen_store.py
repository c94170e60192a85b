"""Storage of a household member's own view, on one connection (the request's unit of work): their PIN and
sign-in user, the look-up of a sign-in, and the household's entitlements, redemptions and access log as plain rows.

PINs are hashed with argon2id over a keyed hash of the person's id and the PIN (:class:`ArgonPinHasher`): a PIN
has only a million values, so a copy of the database alone must not be enough to try them all; the key lives in
the key file, not in the database, and the person's id in the input keeps a hash from working for anyone else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, and_, case, func, insert, or_, select, update

from canasta.adapters.db import login_throttle
from canasta.adapters.db.access_log import entry_from_row
from canasta.adapters.db.access_log_tables import access_log
from canasta.adapters.db.card_tables import cards
from canasta.adapters.db.citizen_tables import citizen_credentials
from canasta.adapters.db.eligibility_tables import cycles, decisions, distribution_points, entitlements, programmes
from canasta.adapters.db.ledger_tables import ledger_accounts, ledger_balances, ledger_transfers
from canasta.adapters.db.redemption_tables import redemptions
from canasta.adapters.db.tables import people, users
from canasta.adapters.db.users import issue_token, revoke_tokens
from canasta.domain.access import Role
from canasta.domain.audit import AccessEntry
from canasta.domain.ledger import AccountKind
from canasta.domain.registry import RecordStatus

__all__ = ["ArgonPinHasher", "SqlCitizenStore", "card_subject"]

Row = dict[str, Any]
KeyedHash = Callable[[str, str], bytes]


def card_subject(keyed_hash: KeyedHash, card_number: str) -> login_throttle.Subject:
    """What failed sign-ins with a card are counted against: the card number, as a keyed hash. (The throttle's
    ``name`` kind is "what signs in"; the ``citizen-card`` key keeps it apart from every staff name.)"""
    return login_throttle.Subject("name", keyed_hash("citizen-card", card_number))


class ArgonPinHasher:
    """argon2id over ``keyed_hash("citizen-pin", "<person id>:<PIN>")``."""

    def __init__(self, keyed_hash: KeyedHash) -> None:
        self._keyed_hash = keyed_hash
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash("canasta-not-a-citizen-pin")

    def _input(self, person_id: UUID, pin: str) -> str:
        return self._keyed_hash("citizen-pin", f"{person_id}:{pin}").hex()

    def hash(self, person_id: UUID, pin: str) -> str:
        return self._hasher.hash(self._input(person_id, pin))

    def verify(self, person_id: UUID | None, stored: str | None, pin: str) -> bool:
        """Whether ``pin`` is the person's. Without a person or a hash a dummy hash is checked, so a sign-in
        that matched no member costs as long as one that did (timing tells nothing)."""
        key = self._input(person_id or UUID(int=0), pin)
        try:
            self._hasher.verify(stored or self._dummy, key)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return stored is not None and person_id is not None


def _before(at: Any, row_id: Any, cursor: tuple[datetime, UUID]) -> Any:
    """Rows older than the cursor in (time, id) order: a page boundary inside one instant loses nothing."""
    moment, last_id = cursor
    return or_(at < moment, and_(at == moment, row_id < last_id))


def _one(connection: Connection, query: Any) -> Row | None:
    row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


class SqlCitizenStore:
    """Every method runs in the caller's transaction."""

    def __init__(self, connection: Connection, keyed_hash: KeyedHash) -> None:
        self.connection = connection
        self._keyed_hash = keyed_hash

    # --- the PIN, set at the office -------------------------------------------------------------------------

    def birth_dates_of(self, household_id: UUID) -> list[date]:
        """Every member's birth date (a PIN made of any of them is refused)."""
        query = select(people.c.birth_date).where(people.c.household_id == household_id)
        return list(self.connection.execute(query).scalars())

    def user(self, name: str) -> Row | None:
        return _one(self.connection, select(users.c.id, users.c.role, users.c.is_active).where(users.c.name == name))

    def add_citizen_user(self, *, user_id: UUID, name: str, at: datetime) -> None:
        """A user of role citizen with no password (it signs in only through ``POST /citizen/token``)."""
        self.connection.execute(
            insert(users).values(
                id=user_id, name=name, role=Role.CITIZEN.value, password_hash=None, area_codes=[], is_active=True,
                created_at=at,
            )
        )  # fmt: skip

    def save_pin(self, *, person_id: UUID, user_id: UUID, pin_hash: str, at: datetime, by: str) -> int:
        """Store the PIN's hash (replacing any earlier one); returns its ``pin_version``."""
        values = {"user_id": user_id, "pin_hash": pin_hash, "set_at": at, "set_by": by}
        query = select(citizen_credentials.c.pin_version).where(citizen_credentials.c.person_id == person_id)
        earlier = self.connection.execute(query.with_for_update()).scalar()
        if earlier is None:
            self.connection.execute(insert(citizen_credentials).values(person_id=person_id, pin_version=1, **values))
            return 1
        self.connection.execute(
            update(citizen_credentials)
            .where(citizen_credentials.c.person_id == person_id)
            .values(**values, pin_version=earlier + 1)
        )
        return int(earlier) + 1

    def end_sessions(self, name: str, *, at: datetime) -> int:
        """Revoke every live token of the citizen user ``name``; returns how many."""
        return revoke_tokens(self.connection, name=name, at=at)

    def unlock_cards(self, household_id: UUID, *, at: datetime) -> None:
        """Lift the sign-in locks on the household's cards (a PIN set again at the office, after a lockout)."""
        numbers = self.connection.execute(select(cards.c.card_number).where(cards.c.household_id == household_id))
        for number in numbers.scalars().all():
            login_throttle.unlock(self.connection, card_subject(self._keyed_hash, number), at=at)

    # --- signing in -------------------------------------------------------------------------------------------

    def sign_in_candidates(self, card_number: str, birth_date: date, *, at: datetime) -> list[Row]:
        """The members born on ``birth_date`` with a PIN and an active user, in the household of the card
        ``card_number`` if it is active and unexpired at ``at`` (twins make two); [] for anything else."""
        query = (
            select(
                people.c.id.label("person_id"), people.c.household_id, citizen_credentials.c.pin_hash,
                users.c.id.label("user_id"), users.c.name,
            )
            .select_from(cards)
            .join(people, people.c.household_id == cards.c.household_id)
            .join(citizen_credentials, citizen_credentials.c.person_id == people.c.id)
            .join(users, users.c.id == citizen_credentials.c.user_id)
            .where(
                cards.c.card_number == card_number, cards.c.state == "active", cards.c.expires_at > at,
                people.c.birth_date == birth_date, people.c.status == RecordStatus.ACTIVE.value,
                users.c.is_active, users.c.role == Role.CITIZEN.value,
            )
            .order_by(people.c.id)
        )  # fmt: skip
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def issue_token(self, *, token_id: UUID, name: str, at: datetime, lifetime: timedelta) -> str:
        return issue_token(self.connection, token_id=token_id, name=name, at=at, lifetime=lifetime)

    # --- the signed-in member's own household -------------------------------------------------------------

    def citizen(self, user_id: UUID) -> Row | None:
        """The member whose sign-in ``user_id`` is (``person_id``, ``household_id``, ``status``), or None."""
        return _one(
            self.connection,
            select(people.c.id.label("person_id"), people.c.household_id, people.c.status)
            .join(citizen_credentials, citizen_credentials.c.person_id == people.c.id)
            .where(citizen_credentials.c.user_id == user_id),
        )

    def decision_household(self, decision_id: UUID) -> UUID | None:
        query = select(decisions.c.household_id).where(decisions.c.id == decision_id)
        household_id: UUID | None = self.connection.execute(query).scalar()
        return household_id

    def latest_decision(self, household_id: UUID) -> UUID | None:
        """The household's most recent decision (of any programme), or None when there is none yet."""
        query = (
            select(decisions.c.id)
            .where(decisions.c.household_id == household_id)
            .order_by(decisions.c.decided_at.desc(), decisions.c.version.desc(), decisions.c.id.desc())
            .limit(1)
        )
        decision_id: UUID | None = self.connection.execute(query).scalar()
        return decision_id

    def entitlements(self, household_id: UUID) -> list[Row]:
        """The household's entitlements, newest period first, each with its programme as the cycle pinned it, the
        point that holds it (``point_name``), what its ledger account still holds (``remaining``) and the units
        that left it by redemption (``collected``) and by lapsing (``lapsed``), net of reversals."""
        account = ledger_accounts.alias("entitlement_account")
        query = (
            select(
                entitlements, programmes.c.code.label("programme_code"), cycles.c.number.label("cycle_number"),
                cycles.c.state.label("cycle_state"), cycles.c.programme_document,
                distribution_points.c.name.label("point_name"),
                func.coalesce(ledger_balances.c.balance, 0).label("remaining"), account.c.id.label("account_id"),
            )
            .join(programmes, programmes.c.id == entitlements.c.programme_id)
            .join(cycles, cycles.c.id == entitlements.c.cycle_id)
            .outerjoin(distribution_points, distribution_points.c.id == entitlements.c.home_point_id)
            .outerjoin(
                account,
                and_(account.c.owner_id == entitlements.c.id,
                     account.c.kind == AccountKind.HOUSEHOLD_ENTITLEMENT.value),
            )
            .outerjoin(ledger_balances, ledger_balances.c.account_id == account.c.id)
            .where(entitlements.c.household_id == household_id)
            .order_by(entitlements.c.valid_from.desc(), entitlements.c.id)
        )  # fmt: skip
        rows = [dict(row) for row in self.connection.execute(query).mappings()]
        moved = self._moved([row["account_id"] for row in rows if row["account_id"] is not None])
        for row in rows:
            flows = moved.get(row["account_id"], {})
            row["collected"] = -flows.get("redeem", 0)
            row["lapsed"] = -flows.get("lapse", 0)
        return rows

    def _moved(self, account_ids: list[UUID]) -> dict[UUID, dict[str, int]]:
        """Per account and kind of transfer, what came in less what went out; a reversal counts as the kind it
        reverses (a reversed redemption gives its units back)."""
        if not account_ids:
            return {}
        account, transfer, original = ledger_accounts, ledger_transfers, ledger_transfers.alias("original")
        kind = func.coalesce(original.c.kind, transfer.c.kind)
        signed = case((transfer.c.credit_account_id == account.c.id, transfer.c.amount), else_=-transfer.c.amount)
        query = (
            select(account.c.id, kind.label("kind"), func.sum(signed).label("net"))
            .select_from(
                account.join(
                    transfer,
                    or_(transfer.c.debit_account_id == account.c.id, transfer.c.credit_account_id == account.c.id),
                ).outerjoin(original, original.c.id == transfer.c.reverses_id)
            )
            .where(account.c.id.in_(account_ids))
            .group_by(account.c.id, kind)
        )
        result: dict[UUID, dict[str, int]] = {}
        for row in self.connection.execute(query):
            result.setdefault(row.id, {})[row.kind] = int(row.net)
        return result

    def redemptions(self, household_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int) -> list[Row]:
        """The household's redemptions, newest first, each with its point's name and its signed receipt."""
        query = (
            select(
                redemptions.c.id, redemptions.c.at, redemptions.c.path, redemptions.c.reason, redemptions.c.receipt,
                redemptions.c.card_number, distribution_points.c.name.label("point_name"),
                distribution_points.c.code.label("point_code"),
            )
            .outerjoin(distribution_points, distribution_points.c.id == redemptions.c.point_id)
            .where(redemptions.c.household_id == household_id)
        )  # fmt: skip
        if before is not None:
            query = query.where(_before(redemptions.c.at, redemptions.c.id, before))
        query = query.order_by(redemptions.c.at.desc(), redemptions.c.id.desc()).limit(limit)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def accesses(self, household_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int) -> list[AccessEntry]:
        """Every access to the household's record, newest first, from just before ``before`` (time and entry id,
        so entries that share a time are neither repeated nor skipped across pages)."""
        query = select(access_log).where(access_log.c.household_id == household_id)
        if before is not None:
            query = query.where(_before(access_log.c.at, access_log.c.id, before))
        rows = self.connection.execute(query.order_by(access_log.c.at.desc(), access_log.c.id.desc()).limit(limit))
        return [entry_from_row(row) for row in rows]
