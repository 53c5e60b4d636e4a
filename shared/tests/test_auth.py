"""Access-token verification: every forged or misused token is refused (ARCHITECTURE §5)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from shared.auth import JWKSCache, TokenError, TokenVerifier, revoked_jti_key, revoked_sid_key
from shared.kv import MemoryKV
from shared.testing.tokens import TokenFactory


@pytest.fixture
def issuer() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
async def jwks_client(issuer: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A real JWKS endpoint (served in-process) publishing the issuer's current keys."""
    app = FastAPI()
    app.state.keys = [issuer]

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict:
        return {"keys": [f.jwk() for f in app.state.keys]}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://users") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def kv() -> MemoryKV:
    return MemoryKV()


@pytest.fixture
def verifier(jwks_client: httpx.AsyncClient, kv: MemoryKV) -> TokenVerifier:
    cache = JWKSCache("http://users/.well-known/jwks.json", jwks_client, min_refresh_interval=0)
    return TokenVerifier(cache, issuer="payment-gateway", audience="payment-gateway-api", kv=kv, leeway=0)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_valid_access_token_yields_the_principal(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    user = uuid.uuid4()
    principal = await verifier.verify(issuer.token(user, role="admin", sid="s1"))
    assert principal.user_id == str(user)
    assert principal.role == "admin" and principal.session_id == "s1" and principal.is_staff


async def reject(verifier: TokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(TokenError) as info:
        await verifier.verify(token)
    assert info.value.reason == reason


async def test_unknown_kid_is_rejected(verifier: TokenVerifier) -> None:
    stranger = TokenFactory()  # same claims, a key the JWKS does not publish
    await reject(verifier, stranger.token(), "unknown_kid")


async def test_expired_token_is_rejected(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    await reject(verifier, issuer.token(ttl=-10), "expired")


async def test_wrong_audience_is_rejected(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    await reject(verifier, issuer.token(aud="someone-else"), "wrong_audience")


async def test_wrong_issuer_is_rejected(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    await reject(verifier, issuer.token(iss="https://evil.example"), "wrong_issuer")


async def test_alg_none_is_rejected(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    good = jwt.decode(issuer.token(), options={"verify_signature": False})
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': issuer.kid})}.{_b64(good)}."
    await reject(verifier, forged, "algorithm_not_allowed")


async def test_hs256_signed_with_the_public_key_is_rejected(
    issuer: TokenFactory, verifier: TokenVerifier
) -> None:
    # The classic key-confusion attack: HMAC keyed with the published RSA public key.
    pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(issuer.token(), options={"verify_signature": False})
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": issuer.kid})
    payload = _b64(claims)
    import hashlib
    import hmac

    sig = base64.urlsafe_b64encode(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    forged = f"{header}.{payload}.{sig.rstrip(b'=').decode()}"
    await reject(verifier, forged, "algorithm_not_allowed")


async def test_tampered_payload_is_rejected(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    header, payload, sig = issuer.token(role="user").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    await reject(verifier, f"{header}.{_b64(claims)}.{sig}", "invalid")


async def test_refresh_token_cannot_be_used_as_access(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    await reject(verifier, issuer.token(token_type="refresh"), "wrong_token_type")


async def test_garbage_is_rejected(verifier: TokenVerifier) -> None:
    await reject(verifier, "not-a-jwt", "malformed")


async def test_revoked_jti_and_session_are_rejected_even_when_cached(
    issuer: TokenFactory, verifier: TokenVerifier, kv: MemoryKV
) -> None:
    token = issuer.token(sid="sess-1")
    principal = await verifier.verify(token)  # now in the verified-token cache
    await kv.set(revoked_jti_key(principal.token_id), "1", ttl=60)
    await reject(verifier, token, "revoked")
    other = issuer.token(sid="sess-2")
    await verifier.verify(other)
    await kv.set(revoked_sid_key("sess-2"), "1", ttl=60)
    await reject(verifier, other, "revoked")


async def test_key_rotation_is_picked_up_on_unknown_kid(
    issuer: TokenFactory, verifier: TokenVerifier, jwks_client: httpx.AsyncClient
) -> None:
    await verifier.verify(issuer.token())
    rotated = TokenFactory()
    jwks_client.app.state.keys = [rotated, issuer]  # type: ignore[attr-defined]
    assert (await verifier.verify(rotated.token())).role == "user"
    assert (await verifier.verify(issuer.token())).role == "user"  # old key still valid


async def test_cached_token_still_expires(issuer: TokenFactory, verifier: TokenVerifier) -> None:
    token = issuer.token(ttl=1)
    await verifier.verify(token)
    await asyncio.sleep(1.1)
    await reject(verifier, token, "expired")
