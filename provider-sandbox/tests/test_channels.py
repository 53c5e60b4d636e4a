"""Twilio Messages, FCM HTTP v1 and ExchangeRate-API v6 doubles."""

from __future__ import annotations

from decimal import Decimal

import httpx

from provider_sandbox.settings import Settings

SMS = "/2010-04-01/Accounts/{sid}/Messages.json"


async def test_twilio_send_answers_201_with_a_queued_message(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    sid = settings.twilio_account_sid
    resp = await client.post(
        SMS.format(sid=sid),
        data={"To": "+8801700000000", "From": "+15005550006", "Body": "Your code is 123456"},
        auth=(sid, settings.twilio_auth_token),
    )
    body = resp.json()
    assert resp.status_code == 201
    assert body["sid"].startswith("SM") and len(body["sid"]) == 34
    assert (body["status"], body["to"], body["account_sid"]) == ("queued", "+8801700000000", sid)
    assert (await client.get("/sandbox/state")).json()["sms"][0]["sid"] == body["sid"]


async def test_twilio_with_a_wrong_token_is_20003(client: httpx.AsyncClient, settings: Settings) -> None:
    sid = settings.twilio_account_sid
    resp = await client.post(SMS.format(sid=sid), data={"To": "+1", "Body": "x"}, auth=(sid, "wrong"))
    assert (resp.status_code, resp.json()["code"]) == (401, 20003)


async def test_twilio_without_a_body_is_21602(client: httpx.AsyncClient, settings: Settings) -> None:
    sid = settings.twilio_account_sid
    resp = await client.post(
        SMS.format(sid=sid),
        data={"To": "+8801700000000", "From": "+1"},
        auth=(sid, settings.twilio_auth_token),
    )
    assert (resp.status_code, resp.json()["code"]) == (400, 21602)


async def test_twilio_honours_the_fault_header(client: httpx.AsyncClient, settings: Settings) -> None:
    sid = settings.twilio_account_sid
    resp = await client.post(
        SMS.format(sid=sid),
        data={"To": "+1", "From": "+1", "Body": "x"},
        auth=(sid, settings.twilio_auth_token),
        headers={"X-Sandbox-Fault": "status=503"},
    )
    assert (resp.status_code, resp.json()["code"]) == (503, 20500)


async def test_fcm_send_returns_the_message_name(client: httpx.AsyncClient, settings: Settings) -> None:
    resp = await client.post(
        f"/v1/projects/{settings.fcm_project_id}/messages:send",
        json={"message": {"token": "device-1", "notification": {"title": "Sent", "body": "100 USD"}}},
        headers={"Authorization": "Bearer ya29.test"},
    )
    assert resp.status_code == 200
    assert resp.json()["name"].startswith(f"projects/{settings.fcm_project_id}/messages/")
    assert (await client.get("/sandbox/state")).json()["push"][0]["message"]["token"] == "device-1"


async def test_fcm_unregistered_token_and_missing_auth(client: httpx.AsyncClient, settings: Settings) -> None:
    url = f"/v1/projects/{settings.fcm_project_id}/messages:send"
    gone = await client.post(
        url, json={"message": {"token": "invalid-1"}}, headers={"Authorization": "Bearer t"}
    )
    anon = await client.post(url, json={"message": {"token": "device-1"}})
    assert (gone.status_code, gone.json()["error"]["details"][0]["errorCode"]) == (404, "UNREGISTERED")
    assert (anon.status_code, anon.json()["error"]["status"]) == (401, "UNAUTHENTICATED")


async def test_exchangerate_latest_gives_rates_from_the_base(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v6/any-key/latest/BDT")
    body = resp.json()
    assert resp.status_code == 200
    assert (body["result"], body["base_code"]) == ("success", "BDT")
    assert body["time_next_update_unix"] > body["time_last_update_unix"]
    assert body["conversion_rates"]["BDT"] == 1
    assert Decimal(str(body["conversion_rates"]["USD"])) == Decimal("0.008511")  # 1 / 117.50
    usd = (await client.get("/v6/latest/USD", headers={"Authorization": "Bearer k"})).json()
    assert usd["conversion_rates"]["BDT"] == 117.5


async def test_exchangerate_errors_for_a_bad_key_or_base(client: httpx.AsyncClient) -> None:
    bad_key = await client.get("/v6/invalid-key/latest/USD")
    bad_base = await client.get("/v6/k/latest/XYZ")
    assert bad_key.json() == {"result": "error", "error-type": "invalid-key"}
    assert bad_base.json()["error-type"] == "unsupported-code"
