"""The documented examples are real: they validate, and the demo uses the same programme."""

from __future__ import annotations

import json
from pathlib import Path

from canasta.entrypoints.cli.demo import DEMO_PROGRAMME
from canasta.services.cycles import programme_from_document

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "canasta-ninos.json"


def test_the_example_programme_validates_and_is_the_demo_programme() -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    programme = programme_from_document(document)
    assert programme.code == "canasta-ninos"
    assert document == DEMO_PROGRAMME
