"""The control API's state, reset and balance endpoints."""

from __future__ import annotations

import httpx

from provider_sandbox.testing import create_payout, new_session, payout_body


async def test_state_shows_sessions_payouts_balances_and_deliveries(
    client: httpx.AsyncClient, auth: dict
) -> None:
    key = (await new_session(client))["sessionkey"]
    await client.post(f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success"})
    await create_payout(client, auth["Authorization"][7:], payout_body("c-1"))
    state = (await client.get("/sandbox/state")).json()
    assert state["sessions"][0]["status"] == "VALID"
    assert state["payouts"][0]["items"][0]["transaction_status"] == "PENDING"
    assert state["ipns_sent"][0]["ref"] == "TXN-20261126-ABCDEF12"
    assert state["ipns_sent"][0]["attempts"][0]["error"] == "ConnectError"  # nobody listens in this test
    assert state["oauth_tokens_issued"] == 1
    assert "USD" in state["balances"]


async def test_reset_forgets_everything(client: httpx.AsyncClient) -> None:
    await new_session(client)
    await client.post("/sandbox/faults", json={"path_prefix": "/x", "fault": "latency=1", "times": None})
    assert (await client.post("/sandbox/reset")).status_code == 204
    state = (await client.get("/sandbox/state")).json()
    assert state["sessions"] == [] and state["faults"] == []


async def test_setting_a_balance_refuses_non_decimal_values(client: httpx.AsyncClient) -> None:
    assert (await client.put("/sandbox/paypal/balances/usd", json={"value": "12.50"})).json() == {
        "currency": "USD",
        "value": "12.50",
    }
    assert (await client.put("/sandbox/paypal/balances/USD", json={"value": "lots"})).status_code == 400
