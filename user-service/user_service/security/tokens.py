"""Minting access and refresh tokens with the current signing key.

Claims are what `shared.auth.TokenVerifier` requires: `iss`, `aud`, `sub`, `role`, `sid`, `jti`,
`iat`, `exp`, `type` (`access` | `refresh`); client-credentials tokens have `sub=client:<id>` and a
space-separated `scope`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from user_service.security.keys import KeyStore
from user_service.settings import Settings


@dataclass(frozen=True, slots=True)
class Minted:
    token: str
    jti: str
    expires_at: int  # epoch seconds


class TokenIssuer:
    def __init__(self, settings: Settings, keys: KeyStore) -> None:
        self.settings = settings
        self.keys = keys

    def _mint(
        self,
        sub: str,
        *,
        role: str,
        sid: str,
        token_type: str,
        ttl: int,
        jti: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Minted:
        now = int(time.time())
        jti = jti or uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": sub,
            "role": role,
            "sid": sid,
            "jti": jti,
            "iat": now,
            "exp": now + ttl,
            "type": token_type,
        }
        claims.update(extra or {})
        key = self.keys.signing_key()
        token = jwt.encode(
            claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, "typ": "JWT"}
        )
        return Minted(token=token, jti=jti, expires_at=now + ttl)

    def access(self, user_id: uuid.UUID | str, *, role: str, sid: uuid.UUID | str) -> Minted:
        return self._mint(
            str(user_id),
            role=role,
            sid=str(sid),
            token_type="access",
            ttl=self.settings.access_token_ttl_seconds,
        )

    def refresh(self, user_id: uuid.UUID | str, *, role: str, sid: uuid.UUID | str, jti: str) -> Minted:
        return self._mint(
            str(user_id),
            role=role,
            sid=str(sid),
            token_type="refresh",
            ttl=self.settings.refresh_token_ttl_seconds,
            jti=jti,
        )

    def client(self, client_id: str, *, sid: str, scopes: list[str]) -> Minted:
        # API clients act with the least privileged role; what they may do is in `scope`.
        return self._mint(
            f"client:{client_id}",
            role="user",
            sid=sid,
            token_type="access",
            ttl=self.settings.access_token_ttl_seconds,
            extra={"scope": " ".join(scopes)},
        )
