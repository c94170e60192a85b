"""Docs are tested: every setting and every command is documented where a user looks for it."""

from __future__ import annotations

from pathlib import Path

import typer.main

from canasta.config import Settings
from canasta.entrypoints.cli.main import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    for name in Settings.model_fields:
        assert f"| `CANASTA_{name.upper()}` |" in README, f"CANASTA_{name.upper()} is not documented in README.md"


def test_every_top_level_command_has_help_and_appears_in_the_readme_or_help() -> None:
    command = typer.main.get_command(app)
    names = sorted(command.commands)  # type: ignore[attr-defined]  # a click Group
    assert {"init", "import", "export", "serve", "demo", "synth", "users", "bench", "db", "fields"} <= set(names)
    for name in names:
        assert command.commands[name].help, f"canasta {name} has no help text"  # type: ignore[attr-defined]
        assert f"canasta {name}" in README or name in ("db", "demo"), f"canasta {name} is not in the README tour"
