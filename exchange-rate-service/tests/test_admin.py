"""Admin actions: manual override (audited by a `rate.overridden` event in the same transaction)
and provider refresh (fallback, `rate.updated` events, failures keep the old rates);
authorization for both."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import PROVIDER_KEY, ProviderDouble, er_api_body, fx_body


async def outbox(engine: AsyncEngine) -> list[tuple[str, str, dict]]:
    """Events written after the startup seed (which announces the static rates as `rate.updated`)."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT event_type, subscriber, envelope FROM outbox_message ORDER BY id")
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows if r[2]["data"].get("source") != "static"]


async def test_override_takes_effect_and_is_audited(
    client: httpx.AsyncClient, admin_headers, engine: AsyncEngine
) -> None:
    resp = await client.post(
        "/api/v1/rates/override",
        json={"currency": "usd", "rate_to_bdt": "118.25", "reason": "provider outage"},
        headers=admin_headers,
    )

    assert resp.status_code == 201, resp.text
    assert resp.json()["rate_to_bdt"] == "118.250000" and resp.json()["source"] == "manual"
    current = (await client.get("/api/v1/rates/current?currency=USD")).json()
    assert current["rate_to_bdt"] == "118.250000" and current["source"] == "manual"
    events = await outbox(engine)
    assert [(t, s) for t, s, _ in events] == [("rate.overridden", "audit-service")]
    data = events[0][2]["data"]
    assert data == {
        "currency": "USD",
        "rate_to_bdt": "118.250000",
        "source": "manual",
        "as_of": data["as_of"],
        "previous_rate_to_bdt": "117.500000",
        "previous_source": "static",
        "reason": "provider outage",
        "by": "admin-1",
    }
    assert events[0][2]["subject_id"] == "USD"


async def test_override_of_more_than_ten_percent_needs_confirmation(
    client: httpx.AsyncClient, admin_headers, engine: AsyncEngine
) -> None:
    body = {"currency": "USD", "rate_to_bdt": "1175.00", "reason": "typo risk"}
    refused = await client.post("/api/v1/rates/override", json=body, headers=admin_headers)
    confirmed = await client.post(
        "/api/v1/rates/override", json={**body, "confirm_large_change": True}, headers=admin_headers
    )

    assert refused.status_code == 422 and refused.json()["code"] == "rate_change_too_large"
    assert confirmed.status_code == 201 and confirmed.json()["rate_to_bdt"] == "1175.000000"
    assert [t for t, _, _ in await outbox(engine)] == ["rate.overridden"]


async def test_override_needs_an_admin(client: httpx.AsyncClient, tokens, engine: AsyncEngine) -> None:
    body = {"currency": "USD", "rate_to_bdt": "1.00", "reason": "nope"}
    anonymous = await client.post("/api/v1/rates/override", json=body)
    user = await client.post("/api/v1/rates/override", json=body, headers=tokens.headers(role="user"))
    support = await client.post("/api/v1/rates/override", json=body, headers=tokens.headers(role="support"))

    assert (anonymous.status_code, user.status_code, support.status_code) == (401, 403, 403)
    assert (await client.get("/api/v1/rates/current?currency=USD")).json()["rate_to_bdt"] == "117.500000"
    assert await outbox(engine) == []


async def test_override_refuses_bad_rates(client: httpx.AsyncClient, admin_headers) -> None:
    for rate, code in (("117.1234567", "invalid_rate"), ("0", "invalid_rate"), ("-1.00", "invalid_rate")):
        resp = await client.post(
            "/api/v1/rates/override",
            json={"currency": "USD", "rate_to_bdt": rate, "reason": "x" * 5},
            headers=admin_headers,
        )
        assert resp.status_code == 422 and resp.json()["code"] == code
    floaty = await client.post(
        "/api/v1/rates/override",
        json={"currency": "USD", "rate_to_bdt": 117.5, "reason": "float"},
        headers=admin_headers,
    )
    assert floaty.status_code == 422


async def test_refresh_uses_the_primary_provider_and_publishes_changes(
    client: httpx.AsyncClient, admin_headers, providers: ProviderDouble, engine: AsyncEngine
) -> None:
    providers.handler = lambda req: httpx.Response(200, json=er_api_body(int(time.time())))

    resp = await client.post("/api/v1/rates/refresh", headers=admin_headers)

    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "refreshed" and resp.json()["source"] == "exchangerate-api"
    assert len(resp.json()["updated"]) == 8 and resp.json()["failures"] == []
    assert [r.url.host for r in providers.requests] == ["er-api.test"]
    assert "x-api-key" not in providers.requests[0].headers  # our service key never leaves the platform
    current = (await client.get("/api/v1/rates/current?currency=USD")).json()
    assert (current["rate_to_bdt"], current["source"]) == ("117.495006", "exchangerate-api")
    events = await outbox(engine)
    assert {e[2]["data"]["currency"] for e in events} == {
        r["currency"] for r in (await client.get("/api/v1/rates")).json()["rates"]
    }
    assert all(t == "rate.updated" for t, _, _ in events)
    usd = next(e[2]["data"] for e in events if e[2]["data"]["currency"] == "USD")
    assert usd["rate_to_bdt"] == "117.495006" and usd["source"] == "exchangerate-api"


async def test_refresh_with_unchanged_rates_records_but_does_not_republish(
    client: httpx.AsyncClient, admin_headers, providers: ProviderDouble, engine: AsyncEngine
) -> None:
    body = er_api_body(int(time.time()))
    providers.handler = lambda req: httpx.Response(200, json=body)
    await client.post("/api/v1/rates/refresh", headers=admin_headers)

    again = await client.post("/api/v1/rates/refresh", headers=admin_headers)

    assert again.json()["updated"] == []
    assert len(await outbox(engine)) == 8
    history = (await client.get("/api/v1/rates/history?currency=USD")).json()["items"]
    assert [i["source"] for i in history] == ["exchangerate-api", "exchangerate-api", "static"]


async def test_refresh_falls_back_to_the_backup_provider(
    client: httpx.AsyncClient, admin_headers, providers: ProviderDouble
) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.host == "er-api.test":
            return httpx.Response(200, json={"result": "error", "error-type": "quota-reached"})
        return httpx.Response(200, json=fx_body(int(time.time())))

    providers.handler = handler
    resp = await client.post("/api/v1/rates/refresh", headers=admin_headers)

    assert resp.json()["source"] == "fxratesapi"
    assert resp.json()["failures"] == [{"provider": "exchangerate-api", "reason": "quota-reached"}]
    assert (await client.get("/api/v1/rates/current?currency=USD")).json()["rate_to_bdt"] == "117.500529"


async def test_refresh_failure_of_every_provider_keeps_the_old_rates(
    settings, clean_db, providers: ProviderDouble, tokens, engine: AsyncEngine, capsys
) -> None:
    from exchange_rate_service.main import create_app
    from shared.testing.plugin import asgi_client

    settings = settings.model_copy(update={"rate_providers": "exchangerate-api,fxratesapi"})
    providers.handler = lambda req: httpx.Response(500, text="oops")
    app = create_app(settings, provider_transport=providers.transport())
    async with asgi_client(app) as client:
        tokens.install(app)
        resp = await client.post("/api/v1/rates/refresh", headers=tokens.headers(role="admin"))
        current = await client.get("/api/v1/rates/current?currency=USD")

    assert resp.status_code == 503
    assert resp.json()["code"] == "providers_unavailable"
    assert resp.json()["failures"] == [
        {"provider": "exchangerate-api", "reason": "http_500"},
        {"provider": "fxratesapi", "reason": "http_500"},
    ]
    assert PROVIDER_KEY not in resp.text
    logs = capsys.readouterr().err
    assert "rate_provider_failed" in logs and PROVIDER_KEY not in logs
    assert current.json()["source"] == "static"  # the startup seed, still fresh


async def test_refresh_needs_an_admin(
    client: httpx.AsyncClient, user_headers, providers: ProviderDouble
) -> None:
    resp = await client.post("/api/v1/rates/refresh", headers=user_headers)
    assert resp.status_code == 403
    assert providers.requests == []
