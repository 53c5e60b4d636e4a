"""`/docs` + `/openapi.json`: one merged document of every service's public routes, with the
gateway's OAuth2 password scheme; an unreachable service is listed as unavailable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from gateway.routing import load_table
from gateway.settings import DEFAULT_CONFIG
from shared.devstack import free_port

SERVICES = load_table(DEFAULT_CONFIG).services


def documented_path(service: str) -> str:
    table = load_table(DEFAULT_CONFIG)
    return next(p for p in table.prefixes_of(service) if p.startswith("/api/")) + "/documented"


async def test_merged_docs_list_every_services_routes(nginx_url: str, http: httpx.AsyncClient) -> None:
    spec = (await http.get(f"{nginx_url}/openapi.json")).json()
    assert spec["info"]["title"] == "API Gateway"
    for service in SERVICES:
        op = spec["paths"][documented_path(service)]["get"]
        assert op["tags"] == [service]
    assert spec["x-unavailable-services"] == []
    assert "/health" in spec["paths"]


async def test_merged_docs_never_show_internal_routes(gateway_url: str, http: httpx.AsyncClient) -> None:
    spec = (await http.get(f"{gateway_url}/openapi.json")).json()
    assert not [p for p in spec["paths"] if p.startswith("/internal")]


async def test_merged_docs_use_the_gateways_login_for_authorize(
    gateway_url: str, http: httpx.AsyncClient
) -> None:
    spec = (await http.get(f"{gateway_url}/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/login"
    protected = spec["paths"][documented_path("user-service")]["get"]
    assert protected["security"] == [{"OAuth2PasswordBearer": []}]
    assert "security" not in spec["paths"]["/api/v1/rates/documented"]["get"]  # public GET
    docs = await http.get(f"{gateway_url}/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text


async def test_an_unreachable_service_is_shown_unavailable(make_gateway: Callable[..., Any]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with make_gateway({"audit-service": dead}) as gw:
        resp = await gw.get("/openapi.json")
        assert resp.status_code == 200
        spec = resp.json()
        assert spec["x-unavailable-services"] == ["audit-service"]
        assert "audit-service" in spec["info"]["description"]
        assert documented_path("audit-service") not in spec["paths"]
        assert documented_path("user-service") in spec["paths"]


async def test_a_service_that_comes_back_reappears_in_the_docs(
    make_gateway: Callable[..., Any], servers: Any, make_stand_in: Callable[..., int]
) -> None:
    port = make_stand_in("audit-service")
    servers.stop(port)  # down when the gateway starts
    async with make_gateway({"audit-service": f"http://127.0.0.1:{port}"}, docs_retry_seconds=0.2) as gw:
        assert (await gw.get("/openapi.json")).json()["x-unavailable-services"] == ["audit-service"]
        servers.restart(port)
        await asyncio.sleep(0.3)
        spec = (await gw.get("/openapi.json")).json()
        assert spec["x-unavailable-services"] == []
        assert documented_path("audit-service") in spec["paths"]
    servers.stop(port)
