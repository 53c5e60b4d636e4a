"""Access-token verification for every service (defense in depth) and the gateway.

Tokens are issued by user-service and signed asymmetrically (RS256 or EdDSA) with a `kid`; the
public keys come from its JWKS URL. Keys are cached and the JWKS is re-fetched when an unknown
`kid` appears (rate-limited), so a rotation needs no restart. Revoked tokens (logout, session
revocation) are looked up in the key-value store under the keys built here.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from jwt import PyJWK

from shared.errors import Forbidden, Unauthorized
from shared.kv import KeyValueStore
from shared.logging import get_logger, user_id_var

log = get_logger(__name__)

ALLOWED_ALGORITHMS = ("RS256", "EdDSA")
ROLES = ("user", "support", "admin")


def revoked_jti_key(jti: str) -> str:
    return f"auth:revoked:jti:{jti}"


def revoked_sid_key(sid: str) -> str:
    return f"auth:revoked:sid:{sid}"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (sub = user id) or an API client (sub = `client:<client_id>`)."""

    subject: str
    role: str
    session_id: str | None
    token_id: str
    expires_at: int
    scopes: frozenset[str] = field(default_factory=frozenset)
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def user_id(self) -> str:
        return self.subject

    @property
    def is_client(self) -> bool:
        return self.subject.startswith("client:")

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "support")


class TokenError(Exception):
    """Why a token was refused (for logs and metrics; the client only sees a generic 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySource(Protocol):
    """Where a verifier finds the public key for a `kid`: a JWKS over HTTP (`JWKSCache`), or the
    issuer's own key store inside user-service."""

    async def get(self, kid: str) -> PyJWK | None: ...


class JWKSCache:
    """Public keys fetched from a JWKS URL, cached, re-fetched (rate-limited) on an unknown kid."""

    def __init__(self, url: str, client: httpx.AsyncClient, *, min_refresh_interval: float = 5.0) -> None:
        self.url = url
        self.client = client
        self.min_refresh_interval = min_refresh_interval
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self._fetched_at < self.min_refresh_interval:
                return
            resp = await self.client.get(self.url, timeout=5.0)
            resp.raise_for_status()
            keys: dict[str, PyJWK] = {}
            for jwk in resp.json().get("keys", []):
                kid = jwk.get("kid")
                if not kid or jwk.get("use", "sig") != "sig":
                    continue
                try:
                    keys[kid] = PyJWK.from_dict(jwk)
                except jwt.PyJWTError:
                    log.warning("jwks_key_skipped", kid=kid)
            self._keys = keys
            self._fetched_at = time.monotonic()

    async def get(self, kid: str) -> PyJWK | None:
        key = self._keys.get(kid)
        if key is None:
            try:
                await self.refresh()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks_fetch_failed", error=type(exc).__name__)
                return None
            key = self._keys.get(kid)
        return key


class TokenVerifier:
    """Verifies access tokens; keeps a small cache of already-verified tokens (signature checks are
    the expensive part), but always re-checks expiry and revocation."""

    def __init__(
        self,
        jwks: KeySource,
        *,
        issuer: str,
        audience: str,
        kv: KeyValueStore | None = None,
        leeway: float = 5.0,
        cache_size: int = 10_000,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.kv = kv
        self.leeway = leeway
        self._cache: OrderedDict[str, Principal] = OrderedDict()
        self._cache_size = cache_size

    def decode_unverified_header(self, token: str) -> dict[str, Any]:
        try:
            return jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("malformed") from exc

    async def _verify_signature(self, token: str, expected_type: str) -> Principal:
        header = self.decode_unverified_header(token)
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise TokenError("algorithm_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError("missing_kid")
        key = await self.jwks.get(kid)
        if key is None:
            raise TokenError("unknown_kid")
        if key.algorithm_name != alg:
            raise TokenError("algorithm_mismatch")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "type"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenError("wrong_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenError("wrong_issuer") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("invalid") from exc
        if claims.get("type") != expected_type:
            raise TokenError("wrong_token_type")
        role = claims.get("role", "user")
        if role not in ROLES:
            raise TokenError("unknown_role")
        scope = claims.get("scope") or ""
        return Principal(
            subject=str(claims["sub"]),
            role=role,
            session_id=claims.get("sid"),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            claims=claims,
        )

    async def verify(self, token: str, *, expected_type: str = "access") -> Principal:
        cache_key = f"{expected_type}:{token}"
        principal = self._cache.get(cache_key)
        if principal is None:
            principal = await self._verify_signature(token, expected_type)
            self._cache[cache_key] = principal
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        elif principal.expires_at + self.leeway < time.time():
            self._cache.pop(cache_key, None)
            raise TokenError("expired")
        await self.check_revoked(principal)
        return principal

    async def check_revoked(self, principal: Principal) -> None:
        if self.kv is None:
            return
        keys = [revoked_jti_key(principal.token_id)]
        if principal.session_id:
            keys.append(revoked_sid_key(principal.session_id))
        if await self.kv.exists_any(*keys):
            raise TokenError("revoked")


# --- FastAPI dependencies -------------------------------------------------------------------

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    if not token:
        raise Unauthorized("Authentication required.", code="not_authenticated")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify(token)
    except TokenError as exc:
        log.info("token_rejected", reason=exc.reason)
        raise Unauthorized("The access token is invalid, expired or revoked.", code="invalid_token") from exc
    user_id_var.set(principal.subject)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Any:
    """Dependency factory: the caller must hold one of `roles`."""

    async def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden("You do not have permission to do this.", code="insufficient_role")
        return principal

    return Depends(_check)


StaffPrincipal = Annotated[Principal, require_role("admin", "support")]
AdminPrincipal = Annotated[Principal, require_role("admin")]
