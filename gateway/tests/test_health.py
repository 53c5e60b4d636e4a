"""The API Gateway skeleton: liveness, readiness, metrics, docs and problem+json errors."""

from __future__ import annotations

import httpx

from shared.testing.tokens import TokenFactory


async def test_health_is_ok_without_io(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health")
    assert resp.status_code == 200
    assert resp.json()["service"] == "gateway"
    assert resp.headers["x-request-id"]


async def test_ready_checks_dependencies(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health/ready")
    assert resp.status_code == 200, resp.text
    assert all(v == "ok" for v in resp.json()["checks"].values())


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert "http_requests_total" in resp.text


async def test_metrics_show_the_proxy_connection_pools(
    client: httpx.AsyncClient, tokens: TokenFactory, stand_ins: dict[str, str]
) -> None:
    url = stand_ins["transaction-service"]
    line = f'gateway_upstream_connections{{instance="{url}",service="transaction-service",state="idle"}}'
    before = (await client.get("/metrics")).text
    assert f"{line} 0.0" in before  # every instance is listed, even before its first request
    assert (await client.get("/api/v1/transactions/t1", headers=tokens.headers())).status_code == 200
    after = (await client.get("/metrics")).text
    assert f"{line} 1.0" in after  # the connection went back to the pool
    assert line.replace('"idle"', '"open"') + " 1.0" in after


async def test_docs_and_openapi_carry_the_service_title(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "API Gateway"
    assert (await client.get("/docs")).status_code == 200


async def test_unknown_route_is_a_problem_json_404(client: httpx.AsyncClient) -> None:
    resp = await client.get("/no/such/route")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == 404
