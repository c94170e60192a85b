"""Tables of how a household member signs in to see their own record.

They share :data:`canasta.adapters.db.tables.metadata`; importing ``canasta.adapters.db`` registers them.
"""

from __future__ import annotations

__all__: list[str] = []
