"""Coverage-guided fuzzing of the card verifier with atheris (libFuzzer); a finding is any exception at all.

pytest does not collect this file, and atheris is not a project dependency (its wheels are Linux-only; elsewhere it
needs clang to build). Run it in a throwaway environment next to canasta's::

    uv venv /tmp/fuzz && uv pip install --python /tmp/fuzz/bin/python atheris
    PYTHONPATH=src:.venv/lib/python3.11/site-packages /tmp/fuzz/bin/python tests/fuzz/fuzz_card_verifier.py \\
        -max_total_time=120 /tmp/fuzz-corpus

The first input byte picks how deep the rest goes: raw text, bytes behind Base45, bytes behind zlib and Base45, or
a payload signed by a trusted key (so the claims parser sees it, which random signatures would never allow).
"""

from __future__ import annotations

import sys
import zlib
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports():
    from canasta.adapters.crypto import base45, cose
    from canasta.adapters.crypto.claim169 import CardVerifier
    from canasta.adapters.crypto.signing import Ed25519Signer
    from canasta.domain.credentials import Verification

SIGNER = Ed25519Signer.from_private_bytes(bytes(range(32)))
VERIFIER = CardVerifier([SIGNER.trusted_key()], ["K-REVOKED"])
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    depth = provider.ConsumeIntInRange(0, 3)
    if depth == 0:
        text = provider.ConsumeUnicode(4096)
    else:
        rest = provider.ConsumeBytes(4096)
        if depth == 3:
            rest = cose.encode_sign1(rest, SIGNER.sign, kid=SIGNER.key_id)
        text = base45.encode(zlib.compress(rest) if depth >= 2 else rest)
    result = VERIFIER.verify(text, now=NOW)
    if not isinstance(result, Verification):
        raise TypeError("the verifier answered something other than a Verification")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
