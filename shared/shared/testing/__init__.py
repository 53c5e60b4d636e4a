"""Test support: the pytest plugin (fresh PostgreSQL database per run, Redis, ASGI clients) and a
token factory for minting access tokens signed with a test key."""
