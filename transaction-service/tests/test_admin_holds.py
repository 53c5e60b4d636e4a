"""Admins resolve held transactions: approve (the flow continues) or refund the received BDT."""

from __future__ import annotations

from tests.helpers import create_txn, envelope, load, post_event


async def _held(client, user, reason: str = "risk_level") -> dict:
    txn = await create_txn(client, user)
    await post_event(
        client,
        envelope(
            "payment.held", txn["id"], payment_id="p", amount=txn["total_bdt"], currency="BDT", reason=reason
        ),
    )
    return txn


async def test_approving_a_held_payment_continues_to_the_payout(client, app, stub, admin, user) -> None:
    txn = await _held(client, user)
    resp = await client.post(
        f"/api/v1/transactions/{txn['id']}/approve",
        json={"reason": "customer verified"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["status"], resp.json()["on_hold"]) == ("BDT_RECEIVED", False)
    await app.state.ctx.worker.request_payouts()
    assert (await load(app, txn["id"])).status == "PROCESSING"
    history = (await client.get(f"/api/v1/transactions/{txn['id']}/history", headers=admin.headers)).json()
    assert [(h["to_status"], h["actor_type"]) for h in history][-3:] == [
        ("PENDING", "admin"),
        ("BDT_RECEIVED", "admin"),
        ("PROCESSING", "system"),
    ]


async def test_refunding_a_held_payment_fails_it_and_asks_for_the_refund(
    client, app, stub, admin, user
) -> None:
    txn = await _held(client, user, "amount_mismatch")
    resp = await client.post(
        f"/api/v1/transactions/{txn['id']}/refund",
        json={"reason": "wrong amount paid"},
        headers=admin.headers,
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "FAILED"
    await app.state.ctx.worker.request_refunds()
    assert len(stub.state.calls_to("/internal/refunds", txn["id"])) == 1


async def test_late_payment_on_a_cancelled_transaction_is_refunded_when_ordered(
    client, app, stub, admin, user
) -> None:
    txn = await create_txn(client, user)
    await post_event(client, envelope("payment.cancelled", txn["id"]))
    await post_event(
        client, envelope("payment.succeeded", txn["id"], amount=txn["total_bdt"], currency="BDT")
    )
    await app.state.ctx.worker.request_refunds()
    assert stub.state.calls_to("/internal/refunds", txn["id"]) == []  # held: a person decides
    approve = await client.post(
        f"/api/v1/transactions/{txn['id']}/approve", json={"reason": "nope"}, headers=admin.headers
    )
    assert approve.status_code == 409
    resp = await client.post(
        f"/api/v1/transactions/{txn['id']}/refund", json={"reason": "paid too late"}, headers=admin.headers
    )
    assert resp.status_code == 200 and resp.json()["status"] == "CANCELLED"
    await app.state.ctx.worker.request_refunds()
    assert len(stub.state.calls_to("/internal/refunds", txn["id"])) == 1


async def test_only_admins_resolve_holds(client, support, user) -> None:
    txn = await _held(client, user)
    for actor in (support, user):
        resp = await client.post(
            f"/api/v1/transactions/{txn['id']}/approve", json={"reason": "trust me"}, headers=actor.headers
        )
        assert resp.status_code == 403


async def test_nothing_to_refund_without_a_payment(client, admin, user) -> None:
    txn = await create_txn(client, user)
    resp = await client.post(
        f"/api/v1/transactions/{txn['id']}/refund", json={"reason": "why not"}, headers=admin.headers
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "nothing_to_refund"


async def test_a_retried_approval_with_its_idempotency_key_gets_the_first_answer(
    client, app, stub, admin, user
) -> None:
    txn = await _held(client, user)
    url = f"/api/v1/transactions/{txn['id']}/approve"
    keyed = {**admin.headers, "Idempotency-Key": f"approve-{txn['id']}"}
    first = await client.post(url, json={"reason": "customer verified"}, headers=keyed)
    again = await client.post(url, json={"reason": "customer verified"}, headers=keyed)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    # Without the key a second decision is refused by the state guard, as before.
    plain = await client.post(url, json={"reason": "customer verified"}, headers=admin.headers)
    assert plain.status_code == 409 and plain.json()["code"] == "not_on_hold"
    history = (await client.get(f"/api/v1/transactions/{txn['id']}/history", headers=admin.headers)).json()
    assert [h["to_status"] for h in history].count("BDT_RECEIVED") == 1  # approved once
    await app.state.ctx.worker.request_payouts()  # leave no payout due for the other tests
    assert len(stub.state.calls_to("/internal/payouts", txn["id"])) == 1


async def test_a_refused_or_invalid_decision_is_not_stored_under_its_key(client, admin, user) -> None:
    txn = await create_txn(client, user)  # nothing received yet: there is nothing to refund
    url = f"/api/v1/transactions/{txn['id']}/refund"
    keyed = {**admin.headers, "Idempotency-Key": f"refund-{txn['id']}"}
    short = await client.post(url, json={"reason": "no"}, headers=keyed)
    assert short.status_code == 422 and short.headers["content-type"].startswith("application/problem+json")
    for _ in range(2):  # the failure is answered again, not replayed from a stored result
        resp = await client.post(url, json={"reason": "wrong amount"}, headers=keyed)
        assert resp.status_code == 409 and resp.json()["code"] == "nothing_to_refund"
        assert "idempotent-replayed" not in resp.headers
