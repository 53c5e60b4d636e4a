"""API Gateway: the public entry point — routing, edge authentication, rate limiting, circuit
breaking and merged API docs."""

__version__ = "0.1.0"
