"""SSLCommerz session init, hosted payment page and the MUST complete control call (§2.2–§2.4, §2.10)."""

from __future__ import annotations

import re

import httpx

from provider_sandbox.testing import new_session, session_form


async def test_session_init_returns_a_gateway_page_on_the_sandbox(client: httpx.AsyncClient) -> None:
    resp = await client.post("/gwprocess/v4/api.php", data=session_form())
    body = resp.json()
    assert resp.status_code == 200
    assert body["status"] == "SUCCESS"
    assert re.fullmatch(r"[0-9A-F]{32}", body["sessionkey"])
    assert body["GatewayPageURL"] == f"http://sandbox.test/sslcommerz/pay/{body['sessionkey']}"
    state = (await client.get("/sandbox/state")).json()
    assert state["sessions"][0]["tran_id"] == "TXN-20261126-ABCDEF12"
    assert "store_passwd" not in state["sessions"][0]["fields"]


async def test_session_init_with_a_wrong_password_is_a_credential_error(client: httpx.AsyncClient) -> None:
    resp = await client.post("/gwprocess/v4/api.php", data=session_form(store_passwd="nope"))
    assert resp.status_code == 200
    assert resp.json()["status"] == "FAILED"
    assert resp.json()["failedreason"] == "Store Credential Error Or Store is De-active"
    assert (await client.get("/sandbox/state")).json()["sessions"] == []


async def test_session_init_sent_as_multipart_is_a_credential_error(client: httpx.AsyncClient) -> None:
    resp = await client.post("/gwprocess/v4/api.php", files={k: (None, v) for k, v in session_form().items()})
    assert resp.json()["status"] == "FAILED"
    assert resp.json()["failedreason"] == "Store Credential Error Or Store is De-active"


async def test_session_init_without_a_mandatory_field_fails(client: httpx.AsyncClient) -> None:
    form = session_form()
    del form["cus_phone"]
    body = (await client.post("/gwprocess/v4/api.php", data=form)).json()
    assert body["status"] == "FAILED"
    assert "cus_phone" in body["failedreason"]


async def test_session_init_refuses_amounts_outside_10_to_500000_bdt(client: httpx.AsyncClient) -> None:
    for amount in ("9.99", "500000.01", "10.001"):
        body = (await client.post("/gwprocess/v4/api.php", data=session_form(total_amount=amount))).json()
        assert body["status"] == "FAILED", amount


async def test_a_foreign_currency_session_is_charged_in_bdt(client: httpx.AsyncClient) -> None:
    body = await new_session(client, currency="USD", total_amount="100.00")
    result = (
        await client.post(
            f"/sandbox/sslcommerz/sessions/{body['sessionkey']}/complete",
            json={"outcome": "success", "deliver_ipn": False},
        )
    ).json()
    assert result["fields"]["amount"] == "11750.00"
    assert result["fields"]["currency"] == "BDT"
    assert (result["fields"]["currency_type"], result["fields"]["currency_amount"]) == ("USD", "100.00")


async def test_payment_page_offers_pay_fail_and_cancel(client: httpx.AsyncClient) -> None:
    body = await new_session(client)
    resp = await client.get(f"/sslcommerz/pay/{body['sessionkey']}")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    for outcome in ("success", "fail", "cancel"):
        assert f'name="outcome" value="{outcome}"' in resp.text
    assert "11985.00 BDT" in resp.text


async def test_clicking_pay_completes_the_session_and_posts_the_buyer_back(client: httpx.AsyncClient) -> None:
    key = (await new_session(client))["sessionkey"]
    resp = await client.post(f"/sslcommerz/pay/{key}", data={"outcome": "success"})
    assert resp.status_code == 200
    assert 'action="http://merchant.test/success"' in resp.text
    assert 'name="status" value="VALID"' in resp.text
    assert 'name="verify_sign"' in resp.text
    session = (await client.get("/sandbox/state")).json()["sessions"][0]
    assert session["status"] == "VALID"


async def test_complete_success_returns_ids_and_the_success_redirect(client: httpx.AsyncClient) -> None:
    key = (await new_session(client))["sessionkey"]
    resp = await client.post(f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success"})
    body = resp.json()
    assert resp.status_code == 200
    assert body["tran_id"] == "TXN-20261126-ABCDEF12"
    assert body["status"] == "VALID"
    assert body["val_id"]
    assert body["redirect_url"] == "http://merchant.test/success"
    assert body["fields"]["value_a"] == "payment-42"


async def test_complete_cancel_redirects_to_cancel_url_without_val_id(client: httpx.AsyncClient) -> None:
    key = (await new_session(client))["sessionkey"]
    body = (
        await client.post(f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "cancel"})
    ).json()
    assert (body["status"], body["val_id"], body["redirect_url"]) == (
        "CANCELLED",
        None,
        "http://merchant.test/cancel",
    )
    assert body["fields"]["error"] == "Cancelled by User"
    assert "error" in body["fields"]["verify_key"].split(",")


async def test_completing_a_session_twice_is_a_conflict(client: httpx.AsyncClient) -> None:
    key = (await new_session(client))["sessionkey"]
    await client.post(f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "fail"})
    resp = await client.post(f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success"})
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_completing_an_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.post("/sandbox/sslcommerz/sessions/NOPE/complete", json={"outcome": "success"})
    assert resp.status_code == 404


async def test_a_float_amount_override_is_refused(client: httpx.AsyncClient) -> None:
    key = (await new_session(client))["sessionkey"]
    resp = await client.post(
        f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success", "amount": 1.5}
    )
    assert resp.status_code == 422


async def test_an_unknown_session_page_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.get("/sslcommerz/pay/0123456789ABCDEF0123456789ABCDEF")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")


async def test_the_easycheckout_url_shape_redirects_to_the_payment_page(client: httpx.AsyncClient) -> None:
    key = (await new_session(client))["sessionkey"]
    resp = await client.get(f"/EasyCheckOut/testcde{key.lower()}")
    assert (resp.status_code, resp.headers["location"]) == (302, f"/sslcommerz/pay/{key}")


async def test_a_reused_tran_id_is_a_second_attempt_by_default(client: httpx.AsyncClient) -> None:
    first = await new_session(client)
    second = await new_session(client)
    assert first["sessionkey"] != second["sessionkey"]
