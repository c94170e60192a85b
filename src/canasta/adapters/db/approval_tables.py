"""Tables of requests for destructive acts waiting for a second, different approver.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.
"""

from __future__ import annotations

__all__: list[str] = []
