"""A device's local state in one JSON file, replaced atomically so that a crash leaves the old state or the new
one, never half of either: the new content is written to a temporary file beside it, flushed to disk, renamed over
the old one, and the directory is flushed too. The file holds the device's token, so only its owner may read it.

Its content (``format`` ``canasta.device-state.v1``)::

    server, token, key_file, list_key (hex)  how to reach the server and check what it signs
    device, device_id, point                 who this device is (from the first bundle)
    bundle                                   the last signed bundle, as downloaded
    trust_version, revocation_version        of the card lists in it (an older list is refused)
    chain                                    {counter, hash} of the last record signed
    since_sync                               {count, value} of redemptions since the bundle was downloaded
    records                                  signed records not yet settled by the server, and settled ones until
                                             the next sync: {record, signature, hash, status, case_id}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["STATE_FORMAT", "StateFile"]

STATE_FORMAT = "canasta.device-state.v1"


class StateFile:
    """Reads and atomically replaces the device's state file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> dict[str, Any]:
        """The state; raises ``FileNotFoundError`` when there is none yet and ``ValueError`` for another file."""
        state = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError(f"{self.path} is not a device state file ({STATE_FORMAT})")
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Replace the state with ``state``: all of it or none of it, even if the machine stops midway."""
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({**state, "format": STATE_FORMAT}, handle, ensure_ascii=False, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._sync_directory(directory)

    @staticmethod
    def _sync_directory(directory: Path) -> None:
        """Flush the directory entry of the rename (a no-op where directories cannot be opened)."""
        try:
            handle = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(handle)
        except OSError:
            pass
        finally:
            os.close(handle)
