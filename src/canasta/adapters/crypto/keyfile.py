"""The deployment's secret keys: the key-encryption key (KEK) and the blind-index key.

``canasta init`` writes them to a key file readable by its owner only. Production passes the same JSON through
``CANASTA_KEYS`` or points ``CANASTA_KEY_FILE`` at a mounted secret; outside development mode canasta refuses
to invent keys. Format::

    {"format": "canasta-keys/1", "kek": "<base64 32 bytes>", "blind_index_key": "<base64 32 bytes>"}
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from canasta.domain.errors import ValidationError

__all__ = ["KeyMaterial", "create_key_file", "load_key_material"]

FORMAT = "canasta-keys/1"


@dataclass(frozen=True, slots=True, repr=False)
class KeyMaterial:
    """Secret keys; ``repr`` hides them so they never reach a log or a traceback."""

    kek: bytes
    blind_index_key: bytes

    def __repr__(self) -> str:
        return "KeyMaterial(<secret>)"

    @classmethod
    def generate(cls) -> KeyMaterial:
        return cls(kek=secrets.token_bytes(32), blind_index_key=secrets.token_bytes(32))

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "kek": base64.b64encode(self.kek).decode(),
                "blind_index_key": base64.b64encode(self.blind_index_key).decode(),
            }
        )

    @classmethod
    def from_json(cls, text: str, *, source: str) -> KeyMaterial:
        """Parse a key file; raises :class:`ValidationError` naming ``source`` and the bad field."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise ValidationError(f"{source} is not JSON", field="keys", code="invalid_keys") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValidationError(f"{source} is not a {FORMAT} key file", field="format", code="invalid_keys")
        keys: dict[str, bytes] = {}
        for name in ("kek", "blind_index_key"):
            try:
                keys[name] = base64.b64decode(document[name], validate=True)
            except (KeyError, ValueError, TypeError):
                raise ValidationError(
                    f"{source}: {name} is missing or not base64", field=name, code="invalid_keys"
                ) from None
            if len(keys[name]) != 32:
                raise ValidationError(f"{source}: {name} must be 32 bytes", field=name, code="invalid_keys")
        return cls(kek=keys["kek"], blind_index_key=keys["blind_index_key"])


def create_key_file(path: Path) -> KeyMaterial:
    """Write fresh keys to ``path`` (mode 0600); refuses to overwrite an existing key file."""
    keys = KeyMaterial.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError(
            f"{path} exists already; canasta never overwrites keys (data sealed under them would be lost)",
            field="key_file",
            code="keys_exist",
        ) from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(keys.to_json())
    return keys


def load_key_material(*, key_file: Path, inline: str | None, create_if_missing: bool) -> KeyMaterial:
    """Keys from ``inline`` JSON, else from ``key_file``; in development a missing file is created."""
    if inline:
        return KeyMaterial.from_json(inline, source="CANASTA_KEYS")
    if key_file.exists():
        return KeyMaterial.from_json(key_file.read_text(encoding="utf-8"), source=str(key_file))
    if create_if_missing:
        return create_key_file(key_file)
    raise ValidationError(
        f"no keys: {key_file} does not exist and CANASTA_KEYS is not set (run `canasta init`)",
        field="key_file",
        code="keys_missing",
    )
