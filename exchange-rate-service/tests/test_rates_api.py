"""Public reads: current rate (exact decimal string with provenance), all rates, history with
pagination, stale-rate refusal, and the internal read for other services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from exchange_rate_service.main import create_app
from exchange_rate_service.settings import Settings
from shared.money import SUPPORTED_FOREIGN_CURRENCIES
from shared.testing.plugin import asgi_client

from .conftest import insert_rate


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_current_rate_is_seeded_from_the_static_file_with_provenance(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/rates/current", params={"currency": "usd"})

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["currency"] == "USD"
    assert body["base"] == "BDT"
    assert body["rate_to_bdt"] == "117.500000"
    assert body["source"] == "static"
    assert ts(body["as_of"]) == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    assert ts(body["expires_at"]) - ts(body["fetched_at"]) == timedelta(hours=1)
    assert set(body) == {"currency", "base", "rate_to_bdt", "source", "as_of", "fetched_at", "expires_at"}


async def test_current_rate_needs_no_token(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/rates/current?currency=JPY")
    assert resp.status_code == 200
    assert resp.json()["rate_to_bdt"] == "0.783000"


async def test_unsupported_currency_is_a_422_problem(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/rates/current", params={"currency": "BDT"})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["field"] == "currency"


async def test_list_returns_every_supported_currency(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/rates")
    assert resp.status_code == 200
    body = resp.json()
    assert body["base"] == "BDT"
    assert [r["currency"] for r in body["rates"]] == list(SUPPORTED_FOREIGN_CURRENCIES)
    assert body["unavailable"] == []


async def test_stale_rate_is_refused_with_503_not_served(
    settings: Settings, engine: AsyncEngine, clean_db: None
) -> None:
    # Providers were down for two hours before this replica started: the table holds only old rows.
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    for currency in SUPPORTED_FOREIGN_CURRENCIES:
        await insert_rate(engine, currency, "117.500000", fetched_at=two_hours_ago)
    async with asgi_client(create_app(settings)) as client:
        current = await client.get("/api/v1/rates/current?currency=USD")
        listing = await client.get("/api/v1/rates")
        internal = await client.get(
            "/internal/rates/USD",
            headers={"X-API-Key": settings.accepted_service_keys()["transaction-service"]},
        )

    assert current.status_code == 503
    assert current.headers["content-type"].startswith("application/problem+json")
    assert current.headers["retry-after"] == "60"
    assert current.json()["code"] == "rate_stale"
    assert current.json()["currency"] == "USD"
    assert internal.status_code == 503 and internal.json()["code"] == "rate_stale"
    assert listing.json()["rates"] == []
    assert listing.json()["unavailable"] == list(SUPPORTED_FOREIGN_CURRENCIES)


async def test_internal_rate_needs_a_service_key(client: httpx.AsyncClient, service_headers) -> None:
    ok = await client.get("/internal/rates/EUR", headers=service_headers)
    anonymous = await client.get("/internal/rates/EUR")
    forged = await client.get("/internal/rates/EUR", headers={"X-API-Key": "not-a-key"})

    assert ok.status_code == 200
    assert ok.json()["rate_to_bdt"] == "128.400000"
    assert ok.json()["base"] == "BDT"
    assert anonymous.status_code == 401 and forged.status_code == 401
    assert anonymous.json()["code"] == "invalid_service_key"


async def test_history_pages_newest_first_with_a_cursor(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for rate in ("118.000000", "118.500000", "119.000000"):
        resp = await client.post(
            "/api/v1/rates/override",
            json={"currency": "USD", "rate_to_bdt": rate, "reason": "bank desk rate"},
            headers=admin_headers,
        )
        assert resp.status_code == 201

    first = (await client.get("/api/v1/rates/history", params={"currency": "USD", "limit": 2})).json()
    second = (
        await client.get(
            "/api/v1/rates/history", params={"currency": "USD", "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()

    assert [i["rate_to_bdt"] for i in first["items"]] == ["119.000000", "118.500000"]
    assert first["items"][0]["source"] == "manual" and first["items"][0]["reason"] == "bank desk rate"
    assert [(i["rate_to_bdt"], i["source"]) for i in second["items"]] == [
        ("118.000000", "manual"),
        ("117.500000", "static"),
    ]
    assert second["next_cursor"] is None


async def test_history_filters_by_fetch_time(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    old = datetime.now(UTC) - timedelta(days=3)
    await insert_rate(engine, "GBP", "149.000000", fetched_at=old)

    resp = await client.get(
        "/api/v1/rates/history",
        params={
            "currency": "GBP",
            "start": (old - timedelta(hours=1)).isoformat(),
            "end": (old + timedelta(hours=1)).isoformat(),
        },
    )

    assert resp.status_code == 200
    assert [i["rate_to_bdt"] for i in resp.json()["items"]] == ["149.000000"]


async def test_history_refuses_naive_datetimes_and_bad_cursors(client: httpx.AsyncClient) -> None:
    naive = await client.get(
        "/api/v1/rates/history", params={"currency": "USD", "start": "2026-11-26T00:00:00"}
    )
    cursor = await client.get("/api/v1/rates/history", params={"currency": "USD", "cursor": "abc"})
    assert naive.status_code == 422 and naive.json()["code"] == "naive_datetime"
    assert cursor.status_code == 422 and cursor.json()["code"] == "invalid_cursor"


async def test_metrics_expose_rate_age_and_refusals(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/rates/current?currency=USD")
    text = (await client.get("/metrics")).text
    assert 'rate_age_seconds{currency="USD"}' in text
    assert "rate_refresh_total" in text
