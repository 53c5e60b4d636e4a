"""User Service: the identity provider.

Registration, login, tokens (JWKS), sessions, profiles, roles and API clients.
"""

__version__ = "0.1.0"
