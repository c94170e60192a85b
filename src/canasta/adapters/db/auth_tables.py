"""Tables of login attempts, lockouts and security alerts of authentication.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.
"""

from __future__ import annotations

__all__: list[str] = []
