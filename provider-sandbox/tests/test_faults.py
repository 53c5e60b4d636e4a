"""Fault injection: per request (`X-Sandbox-Fault`) or armed (`POST /sandbox/faults`)."""

from __future__ import annotations

import time

import httpx

from provider_sandbox.testing import create_payout, new_session, payout_body, session_form

FAULT = "X-Sandbox-Fault"


async def test_a_status_fault_answers_in_paypal_dialect_without_processing(
    client: httpx.AsyncClient, auth: dict
) -> None:
    resp = await client.post(
        "/v1/payments/payouts", json=payout_body("f-1"), headers={**auth, FAULT: "status=500"}
    )
    assert resp.status_code == 500
    assert resp.json()["name"] == "INTERNAL_SERVER_ERROR"
    assert resp.headers["paypal-debug-id"] == resp.json()["debug_id"]
    assert (await client.get("/sandbox/state")).json()["payouts"] == []


async def test_status_after_commits_so_a_retry_finds_the_duplicate(
    client: httpx.AsyncClient, auth: dict
) -> None:
    lost = await client.post(
        "/v1/payments/payouts", json=payout_body("f-2"), headers={**auth, FAULT: "status_after=503"}
    )
    retry = await create_payout(client, auth["Authorization"][7:], payout_body("f-2"))
    assert lost.status_code == 503
    assert (retry.status_code, retry.json()["name"]) == (400, "USER_BUSINESS_ERROR")


async def test_maintenance_answers_a_non_json_html_page(client: httpx.AsyncClient) -> None:
    resp = await client.post("/gwprocess/v4/api.php", data=session_form(), headers={FAULT: "maintenance"})
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("text/html")
    assert "maintenance" in resp.text


async def test_timeout_holds_the_request_then_answers_504(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    resp = await client.get("/validator/api/validationserverAPI.php", headers={FAULT: "timeout"})
    assert resp.status_code == 504
    assert time.monotonic() - started >= 0.2  # FAULT_HANG_SECONDS in tests


async def test_latency_delays_a_normal_answer(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    resp = await client.post("/gwprocess/v4/api.php", data=session_form(), headers={FAULT: "latency=150"})
    assert resp.json()["status"] == "SUCCESS"
    assert time.monotonic() - started >= 0.15


async def test_an_armed_fault_fires_for_the_matching_requests_only_once(client: httpx.AsyncClient) -> None:
    arm = await client.post(
        "/sandbox/faults",
        json={"path_prefix": "/validator/", "fault": "status=500", "method": "GET", "times": 1},
    )
    assert arm.status_code == 201
    assert (await new_session(client))["status"] == "SUCCESS"  # another path: untouched
    first = await client.get("/validator/api/validationserverAPI.php")
    second = await client.get("/validator/api/validationserverAPI.php")
    assert (first.status_code, second.status_code) == (500, 200)
    assert (await client.get("/sandbox/faults")).json() == []


async def test_an_unknown_fault_token_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v6/k/latest/USD", headers={FAULT: "explode"})).status_code == 400
    arm = await client.post("/sandbox/faults", json={"path_prefix": "/", "fault": "status=200"})
    assert arm.status_code == 400


async def test_faults_never_touch_health_or_the_control_api(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health", headers={FAULT: "status=500"})).status_code == 200
    assert (await client.get("/sandbox/state", headers={FAULT: "maintenance"})).status_code == 200


async def test_timeout_after_keeps_the_batch_a_retry_then_adopts(
    client: httpx.AsyncClient, auth: dict
) -> None:
    lost = await client.post(
        "/v1/payments/payouts", json=payout_body("f-3"), headers={**auth, FAULT: "timeout_after"}
    )
    assert (lost.status_code, lost.json()["name"]) == (504, "REQUEST_TIMEOUT_EXCEEDED")
    assert len((await client.get("/sandbox/state")).json()["payouts"]) == 1


async def test_an_armed_ipn_fault_applies_to_a_click_on_the_payment_page(client: httpx.AsyncClient) -> None:
    await client.post("/sandbox/faults", json={"path_prefix": "@ipn", "fault": "ipn=suppress"})
    key = (await new_session(client))["sessionkey"]
    resp = await client.post(f"/sslcommerz/pay/{key}", data={"outcome": "success"})
    state = (await client.get("/sandbox/state")).json()
    assert resp.status_code == 200
    assert state["sessions"][0]["status"] == "VALID"
    assert state["ipns_sent"] == []
