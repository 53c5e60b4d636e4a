"""Mint access tokens signed with a throw-away test key, and load its JWKS into an app's verifier.

Tests of services other than user-service use this to act as a given user or role; user-service's
own tests use the real issuer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt import PyJWK
from jwt.algorithms import RSAAlgorithm


@dataclass
class TokenFactory:
    issuer: str = "payment-gateway"
    audience: str = "payment-gateway-api"
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        data.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return data

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def token(
        self,
        sub: str | uuid.UUID | None = None,
        *,
        role: str = "user",
        ttl: int = 900,
        token_type: str = "access",  # noqa: S107 - a token kind, not a password
        sid: str | None = None,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(sub or uuid.uuid4()),
            "role": role,
            "sid": sid or uuid.uuid4().hex,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + ttl,
            "type": token_type,
        }
        claims.update(extra)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def headers(self, sub: str | uuid.UUID | None = None, *, role: str = "user", **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, role=role, **kw)}"}

    def install(self, app: FastAPI) -> None:
        """Load this key into the app's verifier (after its lifespan has started)."""
        cache = app.state.verifier.jwks
        cache._keys = {self.kid: PyJWK.from_dict(self.jwk())}
        cache._fetched_at = time.monotonic()
