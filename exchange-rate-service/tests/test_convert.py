"""Conversion between any supported pair through BDT: decimal strings in and out, one half-up
rounding to the target currency, floats and excess precision refused, stale rates refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import insert_rate


async def convert(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> httpx.Response:
    return await client.post("/api/v1/rates/convert", json=body, headers=headers)


async def test_usd_to_bdt_matches_the_money_rules_example(client: httpx.AsyncClient, user_headers) -> None:
    resp = await convert(client, user_headers, **{"from": "USD", "to": "BDT", "amount": "100.00"})

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["from"] == "USD" and body["to"] == "BDT"
    assert body["amount"] == "100.00"
    assert body["converted_amount"] == "11750.00"
    assert body["rate"] == "117.50000000"
    assert [(r["currency"], r["rate_to_bdt"], r["source"]) for r in body["rates_used"]] == [
        ("USD", "117.500000", "static")
    ]


async def test_bdt_to_foreign_rounds_half_up_to_the_target_decimals(
    client: httpx.AsyncClient, user_headers
) -> None:
    resp = await convert(client, user_headers, **{"from": "BDT", "to": "USD", "amount": "1000.00"})
    # 1000 / 117.5 = 8.5106… → 8.51
    assert resp.json()["converted_amount"] == "8.51"


async def test_cross_pair_goes_through_bdt_with_one_rounding(client: httpx.AsyncClient, user_headers) -> None:
    resp = await convert(client, user_headers, **{"from": "EUR", "to": "JPY", "amount": "250.00"})
    body = resp.json()
    # 250 × 128.40 / 0.783 = 40996.168… JPY → 40996 (JPY has no decimals)
    assert body["converted_amount"] == "40996"
    assert body["rate"] == "163.98467433"
    assert [r["currency"] for r in body["rates_used"]] == ["EUR", "JPY"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"from": "USD", "to": "BDT", "amount": 100.5}, "validation_error"),  # a JSON number
        ({"from": "USD", "to": "BDT", "amount": 100}, "validation_error"),
        ({"from": "JPY", "to": "BDT", "amount": "10.5"}, "invalid_amount"),  # JPY has 0 decimals
        ({"from": "USD", "to": "BDT", "amount": "1.001"}, "invalid_amount"),
        ({"from": "USD", "to": "BDT", "amount": "0.00"}, "invalid_amount"),
        ({"from": "USD", "to": "BDT", "amount": "-5.00"}, "invalid_amount"),
        ({"from": "USD", "to": "BDT", "amount": "1e3"}, "validation_error"),
        ({"from": "XYZ", "to": "BDT", "amount": "1.00"}, "validation_error"),
    ],
)
async def test_invalid_amounts_and_currencies_are_422(
    validation_client: httpx.AsyncClient, user_headers, body, code
) -> None:
    resp = await validation_client.post("/api/v1/rates/convert", json=body, headers=user_headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == code


async def test_convert_needs_a_token(validation_client: httpx.AsyncClient) -> None:
    resp = await validation_client.post(
        "/api/v1/rates/convert", json={"from": "USD", "to": "BDT", "amount": "1.00"}
    )
    assert resp.status_code == 401


async def test_convert_refuses_a_stale_rate(
    client: httpx.AsyncClient, engine: AsyncEngine, user_headers, app
) -> None:
    await insert_rate(engine, "CHF", "133.000000", fetched_at=datetime.now(UTC) - timedelta(hours=3))
    await app.state.rate_cache.drop("CHF")  # as if the cached entry had lapsed

    resp = await convert(client, user_headers, **{"from": "CHF", "to": "BDT", "amount": "10.00"})

    assert resp.status_code == 503
    assert resp.json()["code"] == "rate_stale"
