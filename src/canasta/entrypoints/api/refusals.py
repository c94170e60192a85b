"""Refused requests become security alerts, but a flood of them cannot fill the alert table.

At most one alert is written per minute for each kind of refusal, reason and client address; the refusals held
back meanwhile are counted and reported in the next alert of the same key. The count is kept in the memory of
each server process (so with N worker processes, at most N alerts a minute per key): writing a row per refusal to
keep it in the database would hand a flood the very table writes this is meant to spare.

Alerts name the client by a keyed hash of its address (the address itself is personal data), the route, and why
the request was refused; never the token, the password or the name that was tried.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from canasta.adapters.db.alerts import record_alert
from canasta.bootstrap import Canasta

__all__ = ["AlertThrottle", "client_address", "client_label", "record_refusal"]

logger = logging.getLogger("canasta.api")


class AlertThrottle:
    """Admits one alert per ``interval`` for each key; counts the ones it holds back. Safe across threads."""

    def __init__(self, interval: timedelta = timedelta(minutes=1), capacity: int = 10_000) -> None:
        self.interval = interval
        self.capacity = capacity
        self._last: dict[tuple[str, ...], tuple[datetime, int]] = {}
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, ...], at: datetime) -> int | None:
        """None when an alert for ``key`` was admitted less than ``interval`` ago (this one is counted);
        otherwise how many were held back since the last one admitted."""
        with self._lock:
            if key not in self._last and len(self._last) >= self.capacity:
                self._forget_older_than(at - self.interval)
                if len(self._last) >= self.capacity:
                    key = (*key[:-1], "*")  # so many clients at once: they share one key per kind and reason
            last = self._last.get(key)
            if last is not None and at - last[0] < self.interval:
                self._last[key] = (last[0], last[1] + 1)
                return None
            self._last[key] = (at, 0)
            return last[1] if last is not None else 0

    def _forget_older_than(self, moment: datetime) -> None:
        for key in [key for key, (at, _) in self._last.items() if at < moment]:
            del self._last[key]


_SETUP = threading.Lock()


def _throttle(request: Request) -> AlertThrottle:
    state = request.app.state
    with _SETUP:
        throttle: AlertThrottle | None = getattr(state, "alert_throttle", None)
        if throttle is None:
            throttle = AlertThrottle()
            state.alert_throttle = throttle
    return throttle


def client_address(request: Request) -> str | None:
    """The address the request came from (the proxy's, behind one), or None when the server does not know it."""
    return request.client.host if request.client is not None else None


def client_label(canasta: Canasta, request: Request) -> str:
    """A stable pseudonym of the client address for alerts (a keyed hash, so equal addresses match)."""
    address = client_address(request)
    return canasta.sealer.blind_index("client-address", address).hex()[:16] if address else "unknown"


def record_refusal(request: Request, *, kind: str, reason: str, detail: str, actor_name: str | None = None) -> None:
    """Record a refused request as a security alert ``kind``, throttled per reason and client.

    Never raises: a failure to write the alert is logged (by type only) and the refusal is answered anyway.
    """
    canasta: Canasta = request.app.state.canasta
    at = canasta.clock.now()
    client = client_label(canasta, request)
    held_back = _throttle(request).admit((kind, reason, client), at)
    if held_back is None:
        return
    route = getattr(request.scope.get("route"), "path", "?")
    text = f"{detail} (reason: {reason}; {request.method} {route}; client {client})"
    if held_back:
        text += f"; {held_back} more like it since the previous alert were counted, not recorded one by one"
    try:
        with canasta.engine.begin() as connection:
            record_alert(
                connection, alert_id=canasta.new_ids(1)[0], kind=kind, detail=text, at=at, actor_name=actor_name,
                request_id=getattr(request.state, "request_id", None),
            )  # fmt: skip
    except SQLAlchemyError as error:
        logger.error("security alert %s not recorded: %s", kind, type(error).__name__)
