"""PayPal Payouts (P.1–P.13): create, dedupe, validation, ledger, show batch/item, item machine, cancel.
Every PayPal body is also checked against PayPal's own OpenAPI schema."""

from __future__ import annotations

import asyncio

import httpx

from provider_sandbox.main import create_app
from provider_sandbox.testing import (
    check_schema,
    create_payout,
    first_item_id,
    get_token,
    make_settings,
    payout_body,
)
from shared.testing.plugin import asgi_client


async def test_create_returns_a_pending_batch_with_a_self_link(
    client: httpx.AsyncClient, paypal_token: str
) -> None:
    request = payout_body("p-1")
    check_schema(request, "payouts", "create_payout_request")  # the helper sends what PayPal accepts
    resp = await create_payout(client, paypal_token, request)
    body = resp.json()
    assert resp.status_code == 201
    check_schema(body, "payouts", "payout")
    header = body["batch_header"]
    assert header["batch_status"] == "PENDING"
    assert len(header["payout_batch_id"]) == 13
    assert header["sender_batch_header"]["sender_batch_id"] == "p-1"
    assert body["links"][0]["href"] == f"http://sandbox.test/v1/payments/payouts/{header['payout_batch_id']}"


async def test_a_reused_sender_batch_id_is_user_business_error_linking_the_original(
    client: httpx.AsyncClient, paypal_token: str
) -> None:
    first = (await create_payout(client, paypal_token, payout_body("p-1"))).json()
    resp = await create_payout(client, paypal_token, payout_body("p-1"))
    body = resp.json()
    assert resp.status_code == 400
    check_schema(body, "payouts", "error")
    assert body["name"] == "USER_BUSINESS_ERROR"
    detail = body["details"][0]
    assert detail["field"] == "SENDER_BATCH_ID"
    assert detail["link"][0]["href"].endswith("/" + first["batch_header"]["payout_batch_id"])
    assert len((await client.get("/sandbox/state")).json()["payouts"]) == 1


async def test_one_invalid_item_rejects_the_whole_request(
    client: httpx.AsyncClient, paypal_token: str
) -> None:
    body = payout_body("p-2")
    body["items"].append({**body["items"][0], "receiver": "not-an-email"})
    resp = await create_payout(client, paypal_token, body)
    assert resp.status_code == 400
    check_schema(resp.json(), "payouts", "error")
    assert resp.json()["name"] == "VALIDATION_ERROR"
    assert resp.json()["details"][0]["field"] == "items[1].receiver"
    assert (await client.get("/sandbox/state")).json()["payouts"] == []


async def test_amounts_must_be_strings_with_the_currency_decimals(
    client: httpx.AsyncClient, paypal_token: str
) -> None:
    for amount in (
        {"value": 100.0, "currency": "USD"},
        {"value": "100.5", "currency": "JPY"},
        {"value": "10.00", "currency": "BDT"},
        {"value": "0.00", "currency": "USD"},
    ):
        resp = await create_payout(client, paypal_token, payout_body("p-3", amount=amount))
        assert resp.status_code == 400, amount
        assert resp.json()["name"] == "VALIDATION_ERROR"


async def test_insufficient_balance_is_422_and_creates_nothing(
    client: httpx.AsyncClient, paypal_token: str
) -> None:
    await client.put("/sandbox/paypal/balances/USD", json={"value": "101.99"})  # 100.00 + 2.00 fee needed
    resp = await create_payout(client, paypal_token, payout_body("p-4"))
    assert resp.status_code == 422
    assert resp.json()["name"] == "INSUFFICIENT_FUNDS"
    state = (await client.get("/sandbox/state")).json()
    assert state["payouts"] == [] and state["balances"]["USD"] == "101.99"


async def test_create_holds_amount_plus_fee_on_the_balance(
    client: httpx.AsyncClient, paypal_token: str
) -> None:
    await client.put("/sandbox/paypal/balances/USD", json={"value": "1000.00"})
    await create_payout(client, paypal_token, payout_body("p-5"))
    assert (await client.get("/sandbox/state")).json()["balances"]["USD"] == "898.00"


async def test_a_paypal_test_value_note_returns_that_error(
    client: httpx.AsyncClient, paypal_token: str
) -> None:
    resp = await create_payout(client, paypal_token, payout_body("p-6", note="ERRPYO002"))
    assert resp.status_code == 403
    assert resp.json()["name"] == "SENDER_EMAIL_UNCONFIRMED"


async def test_show_batch_lists_items_and_moves_to_processing(client: httpx.AsyncClient, auth: dict) -> None:
    batch_id = (await create_payout(client, auth["Authorization"][7:], payout_body("p-7"))).json()[
        "batch_header"
    ]["payout_batch_id"]
    await asyncio.sleep(0.15)  # PAYPAL_PROCESSING_DELAY_SECONDS is 0.05 in tests
    resp = await client.get(f"/v1/payments/payouts/{batch_id}?total_required=true", headers=auth)
    body = resp.json()
    assert resp.status_code == 200
    check_schema(body, "payouts", "payout_batch")
    assert body["batch_header"]["batch_status"] == "PROCESSING"
    assert body["batch_header"]["fees"] == {"currency": "USD", "value": "2.00"}
    assert body["total_items"] == 1
    assert body["items"][0]["transaction_status"] == "PENDING"
    header_only = (
        await client.get(f"/v1/payments/payouts/{batch_id}?fields=batch_header", headers=auth)
    ).json()
    assert "items" not in header_only


async def test_show_item_returns_the_item_with_self_and_batch_links(
    client: httpx.AsyncClient, auth: dict
) -> None:
    token = auth["Authorization"][7:]
    batch_id = (await create_payout(client, token, payout_body("p-8"))).json()["batch_header"][
        "payout_batch_id"
    ]
    item_id = await first_item_id(client, token, batch_id)
    resp = await client.get(f"/v1/payments/payouts-item/{item_id}", headers=auth)
    body = resp.json()
    assert resp.status_code == 200
    check_schema(body, "payouts", "payout_item-2")
    assert (body["sender_batch_id"], body["payout_item"]["sender_item_id"]) == ("p-8", "p-8")
    assert {link["rel"] for link in body["links"]} == {"self", "batch"}


async def test_an_unknown_item_is_404_invalid_resource_id(client: httpx.AsyncClient, auth: dict) -> None:
    resp = await client.get("/v1/payments/payouts-item/NOPE", headers=auth)
    assert resp.status_code == 404
    check_schema(resp.json(), "payouts", "error")
    assert resp.json()["name"] == "INVALID_RESOURCE_ID"


async def test_completing_an_item_succeeded_settles_item_batch_and_ledger(
    client: httpx.AsyncClient, auth: dict
) -> None:
    token = auth["Authorization"][7:]
    await client.put("/sandbox/paypal/balances/USD", json={"value": "1000.00"})
    batch_id = (await create_payout(client, token, payout_body("p-9"))).json()["batch_header"][
        "payout_batch_id"
    ]
    item_id = await first_item_id(client, token, batch_id)
    resp = await client.post(
        f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "SUCCEEDED"}
    )
    assert resp.status_code == 200
    assert (resp.json()["transaction_status"], resp.json()["batch_status"]) == ("SUCCESS", "SUCCESS")
    item = (await client.get(f"/v1/payments/payouts-item/{item_id}", headers=auth)).json()
    check_schema(item, "payouts", "payout_item-2")
    assert item["transaction_status"] == "SUCCESS"
    assert len(item["transaction_id"]) == 17
    assert item["payout_item_fee"] == {"currency": "USD", "value": "2.00"}
    assert (await client.get("/sandbox/state")).json()["balances"]["USD"] == "898.00"


async def test_a_failed_item_releases_the_hold_and_reports_its_error(
    client: httpx.AsyncClient, auth: dict
) -> None:
    token = auth["Authorization"][7:]
    await client.put("/sandbox/paypal/balances/USD", json={"value": "1000.00"})
    batch_id = (await create_payout(client, token, payout_body("p-10"))).json()["batch_header"][
        "payout_batch_id"
    ]
    item_id = await first_item_id(client, token, batch_id)
    await client.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "FAILED"})
    item = (await client.get(f"/v1/payments/payouts-item/{item_id}", headers=auth)).json()
    check_schema(item, "payouts", "payout_item-2")
    assert item["transaction_status"] == "FAILED"
    assert item["errors"]["name"] == "RECEIVER_ACCOUNT_LOCKED"
    assert "transaction_id" not in item
    assert (await client.get("/sandbox/state")).json()["balances"]["USD"] == "1000.00"


async def test_an_impossible_transition_is_a_conflict(client: httpx.AsyncClient, auth: dict) -> None:
    token = auth["Authorization"][7:]
    batch_id = (await create_payout(client, token, payout_body("p-11"))).json()["batch_header"][
        "payout_batch_id"
    ]
    item_id = await first_item_id(client, token, batch_id)
    await client.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "FAILED"})
    resp = await client.post(
        f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "SUCCEEDED"}
    )
    assert resp.status_code == 409


async def test_cancelling_an_unclaimed_item_returns_it(client: httpx.AsyncClient, auth: dict) -> None:
    token = auth["Authorization"][7:]
    batch_id = (await create_payout(client, token, payout_body("p-12"))).json()["batch_header"][
        "payout_batch_id"
    ]
    item_id = await first_item_id(client, token, batch_id)
    await client.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "UNCLAIMED"})
    resp = await client.post(f"/v1/payments/payouts-item/{item_id}/cancel", headers=auth)
    assert resp.status_code == 200
    check_schema(resp.json(), "payouts", "payout_item-2")
    assert resp.json()["transaction_status"] == "RETURNED"
    again = await client.post(f"/v1/payments/payouts-item/{item_id}/cancel", headers=auth)
    assert (again.status_code, again.json()["name"]) == (400, "ITEM_ALREADY_CANCELLED")


async def test_cancelling_a_pending_item_is_refused(client: httpx.AsyncClient, auth: dict) -> None:
    token = auth["Authorization"][7:]
    batch_id = (await create_payout(client, token, payout_body("p-13"))).json()["batch_header"][
        "payout_batch_id"
    ]
    item_id = await first_item_id(client, token, batch_id)
    resp = await client.post(f"/v1/payments/payouts-item/{item_id}/cancel", headers=auth)
    assert (resp.status_code, resp.json()["name"]) == (400, "BATCH_NOT_COMPLETED")


async def test_auto_complete_resolves_items_by_receiver_rules(redis_url: str) -> None:
    settings = make_settings(redis_url, paypal_auto_complete=True, paypal_auto_complete_delay_seconds=0.05)
    async with asgi_client(create_app(settings)) as c:
        token = await get_token(c)
        ok = (await create_payout(c, token, payout_body("a-1"))).json()["batch_header"]["payout_batch_id"]
        bad = await create_payout(c, token, payout_body("a-2", receiver="bob+fail_RISK_DECLINE@example.com"))
        bad_id = bad.json()["batch_header"]["payout_batch_id"]
        await asyncio.sleep(0.4)
        auth = {"Authorization": f"Bearer {token}"}
        ok_batch = (await c.get(f"/v1/payments/payouts/{ok}", headers=auth)).json()
        bad_batch = (await c.get(f"/v1/payments/payouts/{bad_id}", headers=auth)).json()
    assert ok_batch["batch_header"]["batch_status"] == "SUCCESS"
    assert ok_batch["items"][0]["transaction_status"] == "SUCCESS"
    assert bad_batch["items"][0]["transaction_status"] == "FAILED"
    assert bad_batch["items"][0]["errors"]["name"] == "RISK_DECLINE"


async def test_request_id_replay_mode_returns_the_stored_response(redis_url: str) -> None:
    async with asgi_client(create_app(make_settings(redis_url, paypal_request_id_mode="replay"))) as c:
        token = await get_token(c)
        headers = {"Authorization": f"Bearer {token}", "PayPal-Request-Id": "req-1"}
        first = await c.post("/v1/payments/payouts", json=payout_body("r-1"), headers=headers)
        again = await c.post("/v1/payments/payouts", json=payout_body("r-1"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


async def test_the_paypal_mock_response_header_selects_a_test_error(
    client: httpx.AsyncClient, auth: dict
) -> None:
    resp = await client.post(
        "/v1/payments/payouts",
        json=payout_body("m-1"),
        headers={**auth, "PayPal-Mock-Response": '{"mock_application_codes": "ERRPYO039"}'},
    )
    assert (resp.status_code, resp.json()["name"]) == (409, "PREVIOUS_REQUEST_IN_PROGRESS")


async def test_create_without_json_content_type_is_415(client: httpx.AsyncClient, auth: dict) -> None:
    resp = await client.post("/v1/payments/payouts", content=b"{}", headers=auth)
    assert (resp.status_code, resp.json()["name"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
