"""Exchange Rate Service: Exchange rates with provenance, provider fallback, caching and history."""

__version__ = "0.1.0"
