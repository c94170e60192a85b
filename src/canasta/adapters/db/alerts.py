"""Security alerts: refused tokens, locked sign-ins, exceeded quotas. Appended, never changed, read by auditors."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, insert, select

from canasta.adapters.db.access_log_tables import security_alerts

__all__ = ["recent_alerts", "record_alert"]


def record_alert(
    connection: Connection,
    *,
    alert_id: UUID,
    kind: str,
    detail: str,
    at: datetime,
    actor_name: str | None = None,
    request_id: str | None = None,
) -> None:
    """Append one alert. ``detail`` must carry no personal data, token or secret: it is read by auditors."""
    connection.execute(
        insert(security_alerts).values(
            id=alert_id, at=at, kind=kind[:32], actor_name=actor_name[:64] if actor_name else None,
            detail=detail[:500], request_id=request_id,
        )
    )  # fmt: skip


def recent_alerts(connection: Connection, *, limit: int = 100) -> list[dict[str, object]]:
    """The newest alerts first."""
    rows = connection.execute(select(security_alerts).order_by(security_alerts.c.at.desc()).limit(limit))
    return [dict(row._mapping) for row in rows]
