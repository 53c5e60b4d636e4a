"""Transaction Service: Quotes, transactions, limits and the remittance saga (the orchestrator)."""

__version__ = "0.1.0"
