"""The service app factory: problem+json errors, request ids, auth dependencies, service keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from shared.app import create_service_app
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.errors import Conflict
from shared.money import DecimalStr
from shared.service_auth import ServiceCaller
from shared.settings import ServiceSettings
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TokenFactory


class GatewaySettings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "gateway"  # a service without a database


class Body(BaseModel):
    amount: DecimalStr
    note: str


router = APIRouter()


@router.post("/things")
async def create_thing(body: Body) -> dict:
    return {"amount": body.amount}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@router.get("/conflict")
async def conflict() -> None:
    raise Conflict("Already there.", code="duplicate_thing")


@router.get("/me")
async def me(principal: CurrentPrincipal) -> dict:
    return {"sub": principal.subject}


@router.get("/admin-only")
async def admin_only(principal: AdminPrincipal) -> dict:
    return {"ok": True}


@router.get("/internal/ping")
async def internal_ping(caller: ServiceCaller) -> dict:
    return {"caller": caller}


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
async def client(tokens: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(environment="test", redis_url="memory://")
    app = create_service_app(settings, title="Test", routers=[router])
    async with asgi_client(app) as c:
        tokens.install(app)
        yield c


async def test_404_is_problem_json(client: httpx.AsyncClient) -> None:
    resp = await client.get("/nope")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert {"type", "title", "status", "detail", "instance", "code"} <= body.keys()
    assert body["status"] == 404 and body["instance"] == "/nope"


async def test_422_lists_the_fields_without_echoing_input(client: httpx.AsyncClient) -> None:
    resp = await client.post("/things", json={"amount": 10.5, "note": None})
    assert resp.status_code == 422
    body = resp.json()
    assert body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"amount", "note"}
    assert "10.5" not in resp.text


async def test_500_is_generic_and_leaks_nothing(client: httpx.AsyncClient) -> None:
    resp = await client.get("/boom")
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in resp.text and "RuntimeError" not in resp.text and "Traceback" not in resp.text
    assert resp.json()["code"] == "internal_error"


async def test_problem_errors_carry_their_code(client: httpx.AsyncClient) -> None:
    resp = await client.get("/conflict")
    assert resp.status_code == 409 and resp.json()["code"] == "duplicate_thing"


async def test_request_id_is_kept_or_generated(client: httpx.AsyncClient) -> None:
    kept = await client.get("/health", headers={"X-Request-ID": "req-12345678"})
    assert kept.headers["x-request-id"] == "req-12345678"
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert (
        generated.headers["x-request-id"] != "bad id with spaces"
        and len(generated.headers["x-request-id"]) == 32
    )


async def test_bearer_token_required_and_roles_enforced(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    assert (await client.get("/me")).status_code == 401
    assert (await client.get("/me", headers={"Authorization": "Bearer junk"})).status_code == 401
    ok = await client.get("/me", headers=tokens.headers("u1"))
    assert ok.status_code == 200 and ok.json() == {"sub": "u1"}
    assert (await client.get("/admin-only", headers=tokens.headers("u1"))).status_code == 403
    assert (await client.get("/admin-only", headers=tokens.headers("a1", role="admin"))).status_code == 200


async def test_internal_routes_need_a_service_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/internal/ping")).status_code == 401
    assert (await client.get("/internal/ping", headers={"X-API-Key": "wrong"})).status_code == 401
    resp = await client.get("/internal/ping", headers={"X-API-Key": "dev-payment-service-key"})
    assert resp.status_code == 200 and resp.json() == {"caller": "payment-service"}
