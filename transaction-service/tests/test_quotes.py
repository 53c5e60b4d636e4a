"""POST /api/v1/transactions/calculate: a stored, locked quote priced from exchange-rate-service."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from transaction_service.models import Quote


async def test_quote_prices_the_worked_example_and_is_stored(client, app, user) -> None:
    resp = await client.post(
        "/api/v1/transactions/calculate", json={"currency": "USD", "amount": "100.00"}, headers=user.headers
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert {
        k: body[k]
        for k in (
            "currency",
            "amount",
            "rate_to_bdt",
            "bdt_amount",
            "fee_percentage",
            "fee_bdt",
            "total_bdt",
            "usd_equivalent",
        )
    } == {
        "currency": "USD",
        "amount": "100.00",
        "rate_to_bdt": "117.500000",
        "bdt_amount": "11750.00",
        "fee_percentage": "2.0",
        "fee_bdt": "235.00",
        "total_bdt": "11985.00",
        "usd_equivalent": "100.00",
    }
    async with app.state.db.sessionmaker() as session:
        quote = await session.scalar(select(Quote).where(Quote.id == uuid.UUID(body["quote_id"])))
    assert quote is not None and quote.user_id == user.id and quote.total_bdt == 1198500
    assert 599 <= (quote.expires_at - quote.created_at).total_seconds() <= 600


async def test_quote_in_jpy_uses_whole_yen_and_usd_equivalent_via_the_usd_rate(client, user) -> None:
    resp = await client.post(
        "/api/v1/transactions/calculate", json={"currency": "JPY", "amount": "5000"}, headers=user.headers
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["amount"] == "5000"
    assert resp.json()["bdt_amount"] == "3925.00"
    assert resp.json()["usd_equivalent"] == "33.40"


async def test_json_number_amount_is_refused(client, user) -> None:
    for amount in (100.5, 100):
        resp = await client.post(
            "/api/v1/transactions/calculate", json={"currency": "USD", "amount": amount}, headers=user.headers
        )
        assert resp.status_code == 422
        assert resp.json()["code"] == "validation_error"


async def test_more_decimals_than_the_currency_has_is_refused(client, user) -> None:
    for currency, amount in (("USD", "10.001"), ("JPY", "100.5")):
        resp = await client.post(
            "/api/v1/transactions/calculate",
            json={"currency": currency, "amount": amount},
            headers=user.headers,
        )
        assert resp.status_code == 422, resp.text


async def test_unsupported_currency_is_refused(client, user) -> None:
    resp = await client.post(
        "/api/v1/transactions/calculate", json={"currency": "INR", "amount": "100.00"}, headers=user.headers
    )
    assert resp.status_code == 422


async def test_amount_outside_the_usd_bounds_is_refused(client, user) -> None:
    for amount in ("9.99", "10000.01"):
        resp = await client.post(
            "/api/v1/transactions/calculate", json={"currency": "USD", "amount": amount}, headers=user.headers
        )
        assert resp.status_code == 422
        assert resp.json()["code"] == "amount_out_of_bounds"


async def test_no_fresh_rate_is_a_503_problem(client, stub, user) -> None:
    stub.state.stale_rates.add("EUR")
    resp = await client.post(
        "/api/v1/transactions/calculate", json={"currency": "EUR", "amount": "100.00"}, headers=user.headers
    )
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "rate_unavailable"


async def test_fee_follows_the_runtime_setting_event(client, user) -> None:
    from shared.settings import dev_api_key

    env = {
        "id": str(uuid.uuid4()),
        "type": "setting.changed",
        "producer": "admin-service",
        "data": {"key": "fee_percentage", "value": "1.5", "old_value": "2.0", "by": "admin"},
    }
    resp = await client.post(
        "/internal/events", json=env, headers={"X-API-Key": dev_api_key("admin-service")}
    )
    assert resp.status_code == 200
    quote = (
        await client.post(
            "/api/v1/transactions/calculate",
            json={"currency": "USD", "amount": "100.00"},
            headers=user.headers,
        )
    ).json()
    assert (quote["fee_percentage"], quote["fee_bdt"], quote["total_bdt"]) == ("1.5", "176.25", "11926.25")


async def test_quote_requires_a_token(client) -> None:
    resp = await client.post("/api/v1/transactions/calculate", json={"currency": "USD", "amount": "100.00"})
    assert resp.status_code == 401


async def test_runtime_settings_are_read_from_admin_service(client, app, stub, user) -> None:
    stub.state.runtime_settings = {
        "transaction.fee_percentage": "3",
        "max_transaction_usd": "50",
        "unknown.key": "ignored",
        "daily_limit_usd": "not-a-number",
    }
    await app.state.ctx.runtime.refresh(app.state.http)
    quote = await client.post(
        "/api/v1/transactions/calculate", json={"currency": "USD", "amount": "40.00"}, headers=user.headers
    )
    assert (quote.json()["fee_percentage"], quote.json()["fee_bdt"]) == ("3", "141.00")
    too_big = await client.post(
        "/api/v1/transactions/calculate", json={"currency": "USD", "amount": "60.00"}, headers=user.headers
    )
    assert too_big.status_code == 422 and too_big.json()["max_usd"] == "50.00"
    limits = (await client.get("/api/v1/limits", headers=user.headers)).json()
    assert limits["daily"]["limit"] == "5000.00"  # the invalid value was ignored
