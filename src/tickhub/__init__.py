"""tickhub: a self-hosted crypto market-data hub and trading-bot backend."""

__version__ = "0.1.0"
