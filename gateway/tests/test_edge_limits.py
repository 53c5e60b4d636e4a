"""CORS from configuration, request body limits and security headers at the edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.testing.tokens import TokenFactory

ORIGIN = "https://app.example.com"  # CORS_ORIGINS of the test gateways


async def test_cors_preflight_from_an_allowed_origin(gateway_url: str, http: httpx.AsyncClient) -> None:
    resp = await http.options(
        f"{gateway_url}/api/v1/transactions",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == ORIGIN
    assert resp.headers["access-control-allow-credentials"] == "true"
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert "Authorization" in resp.headers["access-control-allow-headers"]
    assert "x-stand-in" not in resp.headers  # answered at the edge, no token needed


async def test_cors_preflight_from_another_origin_gets_no_grant(
    gateway_url: str, http: httpx.AsyncClient
) -> None:
    resp = await http.options(
        f"{gateway_url}/api/v1/transactions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in resp.headers


async def test_cors_preflight_through_nginx(nginx_url: str, http: httpx.AsyncClient) -> None:
    resp = await http.options(
        f"{nginx_url}/api/v1/payments", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == ORIGIN


async def test_cors_headers_on_actual_responses(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    resp = await http.get(f"{gateway_url}/api/v1/limits", headers={**tokens.headers(), "Origin": ORIGIN})
    assert resp.headers["access-control-allow-origin"] == ORIGIN
    assert "RateLimit" in resp.headers["access-control-expose-headers"]


def test_wildcard_origin_with_credentials_is_refused(make_gateway: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="CORS"):
        make_gateway(cors_origins="*", cors_allow_credentials=True)


async def test_declared_body_over_the_limit_is_413(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    resp = await http.post(
        f"{gateway_url}/api/v1/users/me", content=b"x" * 1_000_001, headers=tokens.headers()
    )
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"


async def test_chunked_body_over_the_limit_is_413(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    async def gen():  # type: ignore[no-untyped-def]
        for _ in range(12):
            yield b"y" * 100_000

    resp = await http.post(f"{gateway_url}/api/v1/users/me", content=gen(), headers=tokens.headers())
    assert resp.status_code == 413


async def test_nginx_refuses_a_body_over_its_limit(
    nginx_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    resp = await http.post(f"{nginx_url}/api/v1/users/me", content=b"x" * 1_100_000, headers=tokens.headers())
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_nginx_health_and_security_headers(
    nginx_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    assert (await http.get(f"{nginx_url}/nginx-health")).json() == {"status": "ok"}
    resp = await http.get(f"{nginx_url}/api/v1/limits", headers=tokens.headers())
    assert resp.headers.get_list("x-frame-options") == ["DENY"]
    assert resp.headers.get_list("x-content-type-options") == ["nosniff"]
    assert len(resp.headers.get_list("x-request-id")) == 1
    assert resp.headers["cache-control"] == "no-store"  # per-user answers are never cached
