"""socle-agent: measures a primary school's network against the socle numérique de base."""

__version__ = "0.1.0"
