"""Weighted tables drawn with one ``bisect``: the building block of every distribution of the generator.

``random.choices`` costs about a microsecond per call; a table with precomputed cumulative weights costs one
``random()`` and one ``bisect``. The population generator inlines the same expression in its hot loop.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, TypeVar

__all__ = ["Table", "normal_weights"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Table(Generic[T]):
    """Values with cumulative weights normalised so that the last one is exactly 1."""

    values: tuple[T, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weighted: Iterable[tuple[T, float]]) -> Table[T]:
        """Build a table from ``(value, weight)`` pairs.

        Zero weights are dropped. Raises ValueError when no positive weight remains or a weight is negative.
        """
        kept = []
        for value, weight in weighted:
            if weight < 0:
                raise ValueError(f"negative weight {weight} for {value!r}")
            if weight > 0:
                kept.append((value, weight))
        if not kept:
            raise ValueError("a table needs at least one value with a positive weight")
        total = sum(weight for _, weight in kept)
        cumulative = [running / total for running in accumulate(weight for _, weight in kept)]
        # random() < 1 always, so an exact 1 at the end keeps bisect inside the table despite rounding.
        cumulative[-1] = 1.0
        return cls(tuple(value for value, _ in kept), tuple(cumulative))

    def draw(self, random: Callable[[], float]) -> T:
        """One value, drawn with its weight by one call of ``random``."""
        return self.values[bisect_right(self.cumulative, random())]


def normal_weights(values: Sequence[int], *components: tuple[float, float, float]) -> list[tuple[int, float]]:
    """Weights of integer ``values`` under a mixture of normal curves given as ``(share, mean, deviation)``."""
    return [
        (value, sum(share * math.exp(-0.5 * ((value - mean) / deviation) ** 2) / deviation
                    for share, mean, deviation in components))
        for value in values
    ]  # fmt: skip
