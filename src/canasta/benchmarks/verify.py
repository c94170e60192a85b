"""Benchmark ``verify``: full offline card verifications per second against raw Ed25519 verifications.

A full verification is what a distribution point does per scan: Base45, zlib, CBOR and COSE decoding, the
Ed25519 signature, the CWT and Claim 169 claims, the time window and a look-up in a revocation list. The
baseline, measured in the same run over the same messages, is ``cryptography``'s Ed25519 verify alone with a key
object made once. ``ratio = rate / baseline_rate`` says how much the rest costs; 1.0 would be free.

The independent ``claim169`` package (Rust) decoding and verifying the same cards is timed too, for reference;
its rate is None where that package is not installed.

The three measurements take turns every ``block`` cards (in a rotating order), so that a busy machine slows all
three alike; each rate is the median over ``rounds`` passes, and ``ratio_of_rounds`` the median of the per-pass
ratios.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from canasta.adapters.crypto import cose
from canasta.adapters.crypto.claim169 import CardVerifier, encode_credential, read_envelope
from canasta.adapters.crypto.signing import Ed25519Signer
from canasta.domain.credentials import CardClaims, Credential

if TYPE_CHECKING:
    from canasta.config import Settings

__all__ = ["run"]

_GIVEN = ("María José", "Juan Carlos", "Ana Lucía", "José", "Luz Marina", "Pedro", "Yolanda", "Wilmer", "Rosa")
_FAMILY = ("Fernández García", "Pérez", "Rodríguez Gómez", "Quispe Mamani", "da Silva", "López", "Ramírez Díaz")


def _cards(size: int, signer: Ed25519Signer, issuer: str, issued_at: int, expires_at: int) -> list[str]:
    chooser = random.Random(169)
    texts = []
    for _ in range(size):
        claims = CardClaims(
            card_id=f"{chooser.randrange(10**11):011d}{chooser.randrange(10)}",
            full_name=f"{chooser.choice(_GIVEN)} {chooser.choice(_FAMILY)}",
            date_of_birth=(
                f"{chooser.randrange(1930, 2020)}{chooser.randrange(1, 13):02d}{chooser.randrange(1, 29):02d}"
            ),
        )
        credential = Credential(issuer=issuer, issued_at=issued_at, expires_at=expires_at, claims=claims)
        texts.append(encode_credential(credential, signer))
    return texts


def run(settings: Settings, size: int, **options: Any) -> dict[str, Any]:
    """Time ``size`` card verifications.

    Options: ``rounds`` (default 5) passes over all cards; ``block`` (default 50) cards timed in one go before the
    next measurement takes its turn; ``revoked`` (default 10000) card ids on the revocation list.
    """
    rounds = int(options.get("rounds", 5))
    block_size = int(options.get("block", 50))
    revoked_count = int(options.get("revoked", 10_000))
    signer = Ed25519Signer.generate()
    # The benchmark reads the wall clock once so that the reference decoder, which checks times against the wall
    # clock, accepts the cards; canasta's verifier is handed the same instant.
    issued_at = int(time.time())
    expires_at = issued_at + settings.card_validity_days * 86_400
    texts = _cards(size, signer, settings.card_issuer, issued_at, expires_at)
    now = datetime.fromtimestamp(issued_at + 60, UTC)
    verifier = CardVerifier([signer.trusted_key()], (f"R{i:011d}" for i in range(revoked_count)))
    messages = [read_envelope(text) for text in texts]
    signed = [(m.signature, cose.signature_input(m.protected, m.payload)) for m in messages]
    del messages
    public_key = Ed25519PublicKey.from_public_bytes(signer.public_key)

    def ours(block: range) -> None:
        verify = verifier.verify
        for index in block:
            # Every answer is checked; its refusal is read directly (is_valid is a property around it).
            if verify(texts[index], now=now).refusal is not None:
                raise RuntimeError("a benchmark card was refused")

    def baseline(block: range) -> None:
        verify = public_key.verify
        for index in block:
            verify(*signed[index])

    stages: dict[str, Callable[[range], None]] = {"rate": ours, "baseline_rate": baseline}
    try:
        import claim169
    except ImportError:  # a test dependency: without it the reference rate is None
        claim169 = None
    if claim169 is not None:
        raw_key = signer.public_key

        def reference(block: range) -> None:
            decode = claim169.decode
            for index in block:
                decode(texts[index], verify_with_ed25519=raw_key)

        stages["claim169_rate"] = reference

    ours(range(min(size, 50)))  # warm up: the first calls fill caches
    blocks = [range(start, min(start + block_size, size)) for start in range(0, size, block_size)]
    names = list(stages)
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        for number, block in enumerate(blocks):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                stages[name](block)
                spent[name] += time.perf_counter() - started
        for name in names:
            times[name].append(spent[name])
    rates = {name: size / statistics.median(spent) for name, spent in times.items()}
    ratios = [b / o for o, b in zip(times["rate"], times["baseline_rate"], strict=True)]
    return {
        "name": "verify",
        "size": size,
        "seconds": sum(times["rate"]),
        "rate": rates["rate"],
        "baseline_rate": rates["baseline_rate"],
        "ratio": rates["rate"] / rates["baseline_rate"],
        "ratio_of_rounds": statistics.median(ratios),
        "claim169_rate": rates.get("claim169_rate"),
        "interleaved": "the measurements take turns every `block` cards in a rotating order; medians of `rounds`",
        "rounds": rounds,
        "block": block_size,
        "revoked": revoked_count,
        "qr_characters": statistics.median(len(text) for text in texts),
    }
