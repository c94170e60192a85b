"""Time-ordered identifiers (UUID version 7, RFC 9562): new rows land at the end of their indexes."""

from __future__ import annotations

import os
import time
from uuid import UUID

__all__ = ["new_id", "new_ids"]

_VERSION_AND_VARIANT = (0x7 << 76) | (0x2 << 62)
_RANDOM_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 80) - 1)


def new_ids(count: int) -> list[UUID]:
    """``count`` fresh UUIDv7s sharing this millisecond's timestamp, random below it (74 random bits each)."""
    prefix = (time.time_ns() // 1_000_000) << 80
    noise = os.urandom(10 * count)
    from_bytes = int.from_bytes
    return [
        UUID(int=prefix | _VERSION_AND_VARIANT | (from_bytes(noise[i : i + 10]) & _RANDOM_MASK))
        for i in range(0, 10 * count, 10)
    ]


def new_id() -> UUID:
    """One fresh UUIDv7."""
    return new_ids(1)[0]
