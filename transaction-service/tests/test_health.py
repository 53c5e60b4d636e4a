"""The Transaction Service skeleton: liveness, readiness, metrics, docs and problem+json errors."""

from __future__ import annotations

import httpx


async def test_health_is_ok_without_io(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health")
    assert resp.status_code == 200
    assert resp.json()["service"] == "transaction-service"
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


async def test_docs_and_openapi_carry_the_service_title(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Transaction Service"
    assert (await client.get("/docs")).status_code == 200


async def test_unknown_route_is_a_problem_json_404(client: httpx.AsyncClient) -> None:
    resp = await client.get("/no/such/route")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == 404


async def test_metrics_count_transactions_by_status(client) -> None:
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert "transactions_by_status" in resp.text
