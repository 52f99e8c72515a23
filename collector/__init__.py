"""socle-collector: receives signed snapshots from school agents and keeps them."""

__version__ = "0.1.0"
