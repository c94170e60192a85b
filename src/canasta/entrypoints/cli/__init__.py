"""The ``canasta`` command line (Typer). Commands live in one module per concern; ``main`` assembles them."""
