"""Routing through the real gateway process (and nginx in front of it): every prefix reaches its
service with the path, query, method, body and status code unchanged; bodies stream both ways."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.routing import load_table
from gateway.settings import DEFAULT_CONFIG
from shared.testing.tokens import TokenFactory

TABLE = load_table(DEFAULT_CONFIG)

PREFIXES = sorted({(r.prefix, r.service) for r in TABLE.routes if r.prefix != "/.well-known/jwks.json"})


@pytest.mark.parametrize(("prefix", "service"), PREFIXES, ids=[p for p, _ in PREFIXES])
async def test_every_prefix_reaches_its_service_with_the_path_unchanged(
    prefix: str, service: str, gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient, client_ip: str
) -> None:
    headers = {**tokens.headers(role="admin"), "X-Forwarded-For": client_ip}
    resp = await http.get(f"{gateway_url}{prefix}/a%2Fb/c?x=1&y=%C3%A9&x=2", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["service"] == service
    assert body["raw_path"] == f"{prefix}/a%2Fb/c"  # byte for byte, encoded slash kept
    assert body["query"] == "x=1&y=%C3%A9&x=2"
    assert resp.headers["x-stand-in"] == service


async def test_jwks_is_public_and_served_by_user_service(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient, client_ip: str
) -> None:
    resp = await http.get(f"{gateway_url}/.well-known/jwks.json", headers={"X-Forwarded-For": client_ip})
    assert resp.status_code == 200
    assert resp.json()["keys"][0]["kid"] == tokens.kid


@pytest.mark.parametrize("status", [201, 204, 404, 409, 418, 422])
async def test_status_codes_pass_through_unchanged(
    status: int, gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    resp = await http.get(f"{gateway_url}/api/v1/users/x?status={status}", headers=tokens.headers())
    assert resp.status_code == status
    if status != 204:
        assert resp.json()["service"] == "user-service"


async def test_every_service_through_nginx_and_the_gateway(
    nginx_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    headers = tokens.headers(role="admin")
    seen = {}
    for prefix, service in PREFIXES:
        route = TABLE.match("GET", prefix)
        if route is not None and route.policy is not None and route.policy.name == "auth":
            continue  # the strict per-IP login quota is tested on its own; here all share 127.0.0.1
        resp = await http.get(f"{nginx_url}{prefix}/z?q=1", headers=headers)
        assert resp.status_code == 200, (prefix, resp.text)
        assert resp.json()["raw_path"] == f"{prefix}/z"
        seen[service] = True
    assert set(seen) == {s for _, s in PREFIXES}


async def test_method_and_body_pass_through(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    payload = b'{"note": "hello"}'
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        resp = await http.request(
            method,
            f"{gateway_url}/api/v1/notifications/n1",
            content=payload,
            headers={**tokens.headers(), "Content-Type": "application/json"},
        )
        assert resp.status_code == 200
        body = resp.json()
        assert body["method"] == method
        assert body["body_sha256"] == hashlib.sha256(payload).hexdigest()
        assert body["headers"]["content-type"] == "application/json"


async def test_large_response_is_streamed_not_buffered(
    nginx_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    # 5 chunks of 1 MiB, 0.4 s apart: the first bytes must arrive long before the last is produced.
    url = f"{nginx_url}/api/v1/history/export?stream=1048576&chunks=5&pause=0.4"
    start = time.monotonic()
    total, first = 0, None
    async with http.stream("GET", url, headers=tokens.headers()) as resp:
        assert resp.status_code == 200
        assert "content-length" not in resp.headers
        async for chunk in resp.aiter_raw():
            if first is None:
                first = time.monotonic() - start
            total += len(chunk)
    elapsed = time.monotonic() - start
    assert total == 5 * 1048576
    assert first is not None and elapsed >= 1.6
    assert first < elapsed - 1.0


async def test_large_chunked_upload_is_streamed_to_the_service(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    parts = [bytes([i]) * 100_000 for i in range(9)]  # 900 kB, chunked (no Content-Length)

    async def gen():  # type: ignore[no-untyped-def]
        for p in parts:
            yield p

    resp = await http.post(f"{gateway_url}/api/v1/users/me/avatar", content=gen(), headers=tokens.headers())
    assert resp.status_code == 200
    assert resp.json()["body_len"] == 900_000
    assert resp.json()["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


async def test_request_id_is_kept_and_traceparent_forwarded(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    resp = await http.get(
        f"{gateway_url}/api/v1/limits",
        headers={**tokens.headers(), "X-Request-ID": "req-12345678", "traceparent": tp},
    )
    assert resp.headers["x-request-id"] == "req-12345678"
    seen = resp.json()["headers"]
    assert seen["x-request-id"] == "req-12345678"
    assert seen["traceparent"] == tp


async def test_request_id_is_generated_when_missing_or_insane(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    resp = await http.get(
        f"{gateway_url}/api/v1/limits", headers={**tokens.headers(), "X-Request-ID": "bad id!"}
    )
    rid = resp.headers["x-request-id"]
    assert rid != "bad id!" and len(rid) == 32
    assert resp.json()["headers"]["x-request-id"] == rid


async def test_forwarded_for_comes_from_trusted_proxies_only(
    gateway_url: str, nginx_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    # Through nginx: the client's own X-Forwarded-For is replaced by the address nginx saw.
    resp = await http.get(
        f"{nginx_url}/api/v1/limits", headers={**tokens.headers(), "X-Forwarded-For": "6.6.6.6"}
    )
    assert resp.json()["headers"]["x-forwarded-for"] == "127.0.0.1, 127.0.0.1"
    assert "6.6.6.6" not in resp.json()["headers"]["x-forwarded-for"]
    assert resp.json()["headers"]["x-forwarded-proto"] == "http"


async def test_hop_by_hop_headers_are_not_forwarded(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    resp = await http.get(
        f"{gateway_url}/api/v1/limits",
        headers={
            **tokens.headers(),
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "TE": "trailers",
        },
    )
    seen = resp.json()["headers"]
    assert "x-secret-hop" not in seen and "te" not in seen
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"


async def test_unrouted_path_is_a_problem_404(gateway_url: str, http: httpx.AsyncClient) -> None:
    resp = await http.get(f"{gateway_url}/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_a_failure_inside_the_proxy_is_a_500_problem_without_a_trace(
    make_gateway: Callable[..., Any], tokens: TokenFactory
) -> None:
    """Nothing of FastAPI's error handling sits in front of the proxy: its own guard answers."""
    async with make_gateway() as gw:
        runtime = gw._transport.app.state.gateway  # type: ignore[attr-defined]

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals")

        runtime.client.request = broken
        resp = await gw.get("/api/v1/transactions/t1", headers=tokens.headers())
        assert resp.status_code == 500
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        assert body["code"] == "internal_error" and body["status"] == 500
        assert "secret internals" not in resp.text and "Traceback" not in resp.text
        assert resp.headers["x-request-id"] == body["request_id"]
