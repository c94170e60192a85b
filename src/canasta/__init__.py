"""canasta: a social-protection registry and benefit-card platform."""

__version__ = "0.1.0"
