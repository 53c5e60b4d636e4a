"""User Service: Identity provider: registration, login, tokens (JWKS), sessions, profiles, roles and API clients."""

__version__ = "0.1.0"
