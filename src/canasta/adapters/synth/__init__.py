"""A realistic, seeded synthetic population for demos, tests and benchmarks.

:func:`write_population` streams households of a fictional country in the import format of ``docs/import.md``,
with its gazetteer (:func:`gazetteer`, :func:`write_gazetteer`) and, on request, near-duplicate persons with
their ground truth. The same seed always gives byte-identical files. The distributions are described in
:mod:`canasta.adapters.synth.population`, the duplicates in :mod:`canasta.adapters.synth.duplicates`.
"""

from __future__ import annotations

from canasta.adapters.synth.gazetteer import AREA_COLUMNS, Area, gazetteer, write_gazetteer
from canasta.adapters.synth.population import COLUMNS, CURRENCY, REFERENCE_DATE
from canasta.adapters.synth.writer import DUPLICATE_COLUMNS, Summary, companion_path, write_population

__all__ = [
    "AREA_COLUMNS",
    "COLUMNS",
    "CURRENCY",
    "DUPLICATE_COLUMNS",
    "REFERENCE_DATE",
    "Area",
    "Summary",
    "companion_path",
    "gazetteer",
    "write_gazetteer",
    "write_population",
]
