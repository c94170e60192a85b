"""Benchmarks run as ``canasta bench NAME --size N --json``.

Each benchmark module exposes ``run(settings, size, **options) -> dict`` and returns one JSON-ready object:
``{"name", "size", "seconds", "rate", "baseline_rate", "ratio", ...}``, where the baseline is measured in the
same run. Benchmarks work in throwaway databases and never touch the user's data. Modules are imported only
when their benchmark is asked for, so ``canasta --help`` stays fast.
"""

from __future__ import annotations

__all__ = ["BENCHMARKS"]

#: benchmark name -> module under ``canasta.benchmarks`` that implements it
BENCHMARKS: dict[str, str] = {
    "import": "canasta.benchmarks.importing",
    "verify": "canasta.benchmarks.verify",
    "cards": "canasta.benchmarks.cards",
    "eligibility": "canasta.benchmarks.eligibility",
    "redeem": "canasta.benchmarks.redeem",
}
