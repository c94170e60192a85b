"""canasta's domain: pure Python, no I/O, no clock, no environment (import-linter keeps it so)."""
