"""``python -m canasta.entrypoints.cli``: the same as the ``canasta`` script."""

from canasta.entrypoints.cli.main import run

run()
