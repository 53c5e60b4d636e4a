"""SSLCommerz validation API, transaction query and refunds (§2.6–§2.8, §2.10)."""

from __future__ import annotations

from typing import Any

import httpx

from provider_sandbox.testing import STORE_ID, STORE_PASSWORD, new_session

CREDS = {"store_id": STORE_ID, "store_passwd": STORE_PASSWORD, "format": "json"}
VALIDATE = "/validator/api/validationserverAPI.php"
QUERY = "/validator/api/merchantTransIDvalidationAPI.php"


async def paid_session(client: httpx.AsyncClient, **complete: Any) -> dict[str, Any]:
    key = (await new_session(client))["sessionkey"]
    resp = await client.post(
        f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success", **complete}
    )
    return dict(resp.json())


async def test_validation_is_valid_first_then_validated(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client)
    first = (await client.get(VALIDATE, params={**CREDS, "val_id": paid["val_id"]})).json()
    second = (await client.get(VALIDATE, params={**CREDS, "val_id": paid["val_id"]})).json()
    assert first["status"] == "VALID"
    assert second["status"] == "VALIDATED"
    assert first["tran_id"] == paid["tran_id"]
    assert (first["amount"], first["currency"]) == ("11985.00", "BDT")
    assert first["APIConnect"] == "DONE"
    assert first["validated_on"]
    assert first["risk_level"] == "0"


async def test_validation_of_an_unknown_val_id_is_invalid_transaction(client: httpx.AsyncClient) -> None:
    body = (await client.get(VALIDATE, params={**CREDS, "val_id": "nope"})).json()
    assert body["status"] == "INVALID_TRANSACTION"


async def test_validation_with_bad_credentials_is_invalid_transaction(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client)
    params = {**CREDS, "store_passwd": "wrong", "val_id": paid["val_id"]}
    assert (await client.get(VALIDATE, params=params)).json()["status"] == "INVALID_TRANSACTION"


async def test_amount_override_and_risk_are_reported_by_ipn_and_validation(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client, amount="100.00", risk_level=1)
    assert paid["fields"]["amount"] == "100.00"
    body = (await client.get(VALIDATE, params={**CREDS, "val_id": paid["val_id"]})).json()
    assert (body["amount"], body["risk_level"], body["risk_title"]) == ("100.00", "1", "Risky")


async def test_query_by_tran_id_lists_every_attempt(client: httpx.AsyncClient) -> None:
    await new_session(client)
    paid = await paid_session(client)
    body = (await client.get(QUERY, params={**CREDS, "tran_id": paid["tran_id"]})).json()
    assert body["APIConnect"] == "DONE"
    assert body["no_of_trans_found"] == 2
    assert sorted(e["status"] for e in body["element"]) == ["PENDING", "VALID"]


async def test_query_by_unknown_tran_id_finds_nothing(client: httpx.AsyncClient) -> None:
    body = (await client.get(QUERY, params={**CREDS, "tran_id": "NOPE"})).json()
    assert body["no_of_trans_found"] == 0
    assert body["element"][0]["status"] == "INVALID"


async def test_query_by_sessionkey_returns_one_flat_transaction(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client)
    body = (await client.get(QUERY, params={**CREDS, "sessionkey": paid["sessionkey"]})).json()
    assert (body["sessionkey"], body["status"], body["val_id"]) == (
        paid["sessionkey"],
        "VALID",
        paid["val_id"],
    )


async def test_query_with_bad_credentials_is_invalid_request(client: httpx.AsyncClient) -> None:
    body = (await client.get(QUERY, params={**CREDS, "store_id": "other", "tran_id": "x"})).json()
    assert body == {"APIConnect": "INVALID_REQUEST"}


async def test_refund_is_processing_then_refunded(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client)
    params = {
        **CREDS,
        "bank_tran_id": paid["fields"]["bank_tran_id"],
        "refund_amount": "11985.00",
        "refund_remarks": "payout failed",
        "refund_trans_id": "RF-1",
    }
    started = (await client.get(QUERY, params=params)).json()
    assert (started["status"], started["trans_id"]) == ("success", paid["tran_id"])
    ref = {**CREDS, "refund_ref_id": started["refund_ref_id"]}
    assert (await client.get(QUERY, params=ref)).json()["status"] == "processing"
    done = (await client.get(QUERY, params=ref)).json()
    assert done["status"] == "refunded"
    assert done["refunded_on"]


async def test_refund_with_the_same_refund_trans_id_is_not_repeated(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client)
    params = {
        **CREDS,
        "bank_tran_id": paid["fields"]["bank_tran_id"],
        "refund_amount": "11985.00",
        "refund_trans_id": "RF-1",
    }
    first = (await client.get(QUERY, params=params)).json()
    again = (await client.get(QUERY, params=params)).json()
    assert again["refund_ref_id"] == first["refund_ref_id"]
    assert len((await client.get("/sandbox/state")).json()["refunds"]) == 1


async def test_refund_beyond_the_paid_amount_fails(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client)
    params = {**CREDS, "bank_tran_id": paid["fields"]["bank_tran_id"], "refund_amount": "11985.01"}
    body = (await client.get(QUERY, params=params)).json()
    assert body["status"] == "failed"
    assert body["errorReason"]


async def test_refund_control_call_settles_a_processing_refund(client: httpx.AsyncClient) -> None:
    paid = await paid_session(client)
    params = {**CREDS, "bank_tran_id": paid["fields"]["bank_tran_id"], "refund_amount": "10.00"}
    ref_id = (await client.get(QUERY, params=params)).json()["refund_ref_id"]
    resp = await client.post(f"/sandbox/sslcommerz/refunds/{ref_id}/complete", json={"outcome": "refunded"})
    assert resp.status_code == 200
    assert (await client.get(QUERY, params={**CREDS, "refund_ref_id": ref_id})).json()["status"] == "refunded"
