"""Time-ordered identifiers (UUID version 7, RFC 9562): new rows land at the end of their indexes."""

from __future__ import annotations

import os
import time
from uuid import UUID, SafeUUID

__all__ = ["new_id", "new_ids"]

_VERSION_AND_VARIANT = (0x7 << 76) | (0x2 << 62)
_RANDOM_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 80) - 1)

_new_object = object.__new__
_set_attribute = object.__setattr__
_NOT_SAFE_KNOWN = SafeUUID.unknown


def new_ids(count: int) -> list[UUID]:
    """``count`` fresh UUIDv7s sharing this millisecond's timestamp, random below it (74 random bits each)."""
    prefix = ((time.time_ns() // 1_000_000) << 80) | _VERSION_AND_VARIANT
    noise = os.urandom(10 * count)
    from_bytes = int.from_bytes
    ids = []
    for start in range(0, 10 * count, 10):
        # What ``UUID(int=...)`` stores, without its argument checks: the value is in range by construction, and
        # the import draws several ids for every person it writes.
        new_id = _new_object(UUID)
        _set_attribute(new_id, "int", prefix | (from_bytes(noise[start : start + 10]) & _RANDOM_MASK))
        _set_attribute(new_id, "is_safe", _NOT_SAFE_KNOWN)
        ids.append(new_id)
    return ids


def new_id() -> UUID:
    """One fresh UUIDv7."""
    return new_ids(1)[0]
