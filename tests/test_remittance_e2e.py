"""The remittance flow end to end, over HTTP, through the real nginx config → gateway → services,
on PostgreSQL + Redis, with the provider-sandbox standing in for SSLCommerz and PayPal.

register → login → quote → create (Idempotency-Key, replayed) → pay on the sandbox →
BDT_RECEIVED → payout → COMPLETED; and the unhappy paths.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.devstack import Stack, free_port
from shared.nginx_runner import NginxProcess
from shared.topology import SERVICES

PASSWORD = "Sup3r-Secret!pw"


@dataclass
class Platform:
    stack: Stack
    nginx: NginxProcess
    api: httpx.Client  # through nginx → gateway
    sandbox: httpx.Client  # the provider-sandbox control API (a test double of the outside world)

    def service(self, name: str) -> str:
        return self.stack.url(name)


@pytest.fixture(scope="module")
def platform(make_database, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    url = make_database(label="e2e")
    ports = {s.name: free_port() for s in SERVICES}
    stack = Stack(
        ports=ports,
        env={
            "ENVIRONMENT": "test",
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "PAYPAL_AUTO_COMPLETE": "true",
            "PAYPAL_AUTO_COMPLETE_DELAY_SECONDS": "0.3",
            "SAGA_POLL_INTERVAL": "0.3",
            "OUTBOX_POLL_INTERVAL": "0.2",
            "OUTBOX_BASE_DELAY": "0.2",
            "OUTBOX_MAX_DELAY": "2",
            "RECONCILE_INTERVAL": "2",
            "RECONCILE_STUCK_AFTER": "3",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
            # Every test user logs in from 127.0.0.1: relax the per-IP login quota (the gateway's own
            # tests prove the limiter's exact boundaries).
            "RATE_LIMIT_POLICIES": "auth=1000/60,money=1000/60",
        },
        data_dir=Path(tmp_path_factory.mktemp("e2e")),
        echo=False,
    )
    nginx = NginxProcess(gateway_port=ports["gateway"])
    try:
        stack.migrate()
        stack.start(timeout=180)
        nginx.start()
        with (
            httpx.Client(base_url=f"{nginx.url}/api/v1", timeout=30) as api,
            httpx.Client(base_url=stack.url("provider-sandbox"), timeout=30) as sandbox,
        ):
            yield Platform(stack, nginx, api, sandbox)
    finally:
        nginx.stop()
        stack.stop()


def register_and_login(p: Platform) -> dict[str, str]:
    name = f"u{uuid.uuid4().hex[:10]}"
    resp = p.api.post(
        "/auth/register",
        json={
            "username": name,
            "email": f"{name}@example.com",
            "password": PASSWORD,
            "full_name": "Rahim Uddin",
            "phone_number": "+8801712345678",
        },
    )
    assert resp.status_code == 201, resp.text
    resp = p.api.post("/auth/login", data={"username": name, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def transaction_body(
    p: Platform,
    auth: dict[str, str],
    amount: str = "100.00",
    currency: str = "USD",
    recipient: str = "alice@example.com",
) -> dict[str, str]:
    quote = p.api.post("/transactions/calculate", json={"currency": currency, "amount": amount}, headers=auth)
    assert quote.status_code in (200, 201), quote.text
    return {
        "requested_foreign_currency": currency,
        "requested_foreign_amount": amount,
        "recipient_paypal_email": recipient,
        "quote_id": quote.json()["quote_id"],
    }


def post_transaction(
    p: Platform, auth: dict[str, str], body: dict[str, str], key: str | None = None
) -> httpx.Response:
    headers = dict(auth)
    if key:
        headers["Idempotency-Key"] = key
    return p.api.post("/transactions", json=body, headers=headers)


def create_transaction(
    p: Platform,
    auth: dict[str, str],
    amount: str = "100.00",
    currency: str = "USD",
    recipient: str = "alice@example.com",
) -> httpx.Response:
    return post_transaction(p, auth, transaction_body(p, auth, amount, currency, recipient))


def sessionkey_of(payment_url: str) -> str:
    match = re.search(r"([0-9A-Fa-f]{32})", payment_url)
    assert match, payment_url
    return match.group(1)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def status_of(p: Platform, auth: dict[str, str], tx_id: str) -> dict[str, Any]:
    resp = p.api.get(f"/transactions/{tx_id}", headers=auth)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_status(p: Platform, auth: dict[str, str], tx_id: str, *statuses: str, timeout: float = 60.0) -> dict:
    seen: list[str] = []

    def check() -> dict | None:
        t = status_of(p, auth, tx_id)
        if not seen or seen[-1] != t["status"]:
            seen.append(t["status"])
        return t if t["status"] in statuses else None

    try:
        return wait_for(check, f"{tx_id} to reach {statuses}", timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; statuses seen: {seen}") from None


def pay(p: Platform, payment_url: str, outcome: str = "success", **extra: Any) -> dict[str, Any]:
    resp = p.sandbox.post(
        f"/sandbox/sslcommerz/sessions/{sessionkey_of(payment_url)}/complete",
        json={"outcome": outcome, **extra},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_happy_path_completes_with_consistent_history(platform: Platform) -> None:
    p = platform
    auth = register_and_login(p)
    key = uuid.uuid4().hex
    body = transaction_body(p, auth)
    created = post_transaction(p, auth, body, key=key)
    assert created.status_code == 201, created.text
    tx = created.json()
    assert tx["status"] == "PENDING" and re.fullmatch(r"TXN-\d{8}-[0-9A-Z]{8}", tx["internal_tran_id"])
    assert (tx["bdt_amount"], tx["fee_bdt"]) and tx["payment_url"]
    # The same Idempotency-Key replays the same transaction instead of creating a second one.
    replay = post_transaction(p, auth, body, key=key)
    assert replay.status_code == 201 and replay.json()["id"] == tx["id"]
    # Reusing the key for a different request is refused.
    other = post_transaction(p, auth, {**body, "requested_foreign_amount": "50.00"}, key=key)
    assert other.status_code == 422, other.text

    pay(p, tx["payment_url"], "success")
    done = wait_status(p, auth, tx["id"], "COMPLETED")
    assert done["on_hold"] is False
    history = p.api.get(f"/transactions/{tx['id']}/history", headers=auth).json()
    steps = [h["to_status"] for h in (history["items"] if isinstance(history, dict) else history)]
    assert steps == ["PENDING", "BDT_RECEIVED", "PROCESSING", "COMPLETED"]
    payments = p.api.get("/payments", params={"transaction_id": tx["id"]}, headers=auth)
    assert payments.status_code == 200, payments.text
    listed = p.api.get("/transactions", headers=auth).json()
    assert [t["id"] for t in listed["items"]] == [tx["id"]]


def test_cancelled_payment_cancels_the_transaction(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    pay(platform, tx["payment_url"], "cancel")
    assert wait_status(platform, auth, tx["id"], "CANCELLED")["status"] == "CANCELLED"


def test_failed_payment_fails_the_transaction(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    pay(platform, tx["payment_url"], "fail")
    assert wait_status(platform, auth, tx["id"], "FAILED")["status"] == "FAILED"


def test_failed_payout_is_refunded(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth, recipient="bob+fail_RECEIVER_UNREGISTERED@example.com").json()
    pay(platform, tx["payment_url"], "success")
    assert wait_status(platform, auth, tx["id"], "REFUNDED", timeout=90)["status"] == "REFUNDED"


def test_amount_mismatch_is_held_and_does_not_advance(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    pay(platform, tx["payment_url"], "success", amount="10.00")
    held = wait_for(
        lambda: (lambda t: t if t["on_hold"] else None)(status_of(platform, auth, tx["id"])), "hold"
    )
    assert held["status"] == "PENDING" and held["hold_reason"]


def test_forged_ipn_changes_nothing(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    forged = {
        "tran_id": tx["internal_tran_id"],
        "val_id": "FORGED123",
        "amount": tx["total_bdt"],
        "currency": "BDT",
        "status": "VALID",
        "store_id": "testbox",
        "verify_key": "amount,currency,status,tran_id,val_id",
        "verify_sign": "0" * 32,
    }
    resp = platform.api.post("/webhooks/sslcommerz/ipn", data=forged)
    assert resp.status_code < 500, resp.text
    time.sleep(1.5)
    assert status_of(platform, auth, tx["id"])["status"] == "PENDING"


def test_forged_paypal_webhook_is_rejected(platform: Platform) -> None:
    event = {"id": "WH-FORGED", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "resource": {}}
    resp = platform.api.post(
        "/webhooks/paypal",
        json=event,
        headers={
            "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4()),
            "PAYPAL-TRANSMISSION-TIME": "2026-11-26T10:00:00Z",
            "PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://evil.example/cert.pem",
        },
    )
    assert 400 <= resp.status_code < 500, resp.text


def test_daily_limit_is_enforced(platform: Platform) -> None:
    auth = register_and_login(platform)
    first = create_transaction(platform, auth, amount="4000.00")
    assert first.status_code == 201, first.text
    second = create_transaction(platform, auth, amount="2000.00")
    assert second.status_code == 422 and second.json()["code"] == "limit_exceeded"


def test_internal_routes_are_not_reachable_from_outside(platform: Platform) -> None:
    with httpx.Client(base_url=platform.nginx.url) as raw:
        assert raw.get("/internal/transactions/x").status_code == 404
        assert raw.get("/api/v1/../internal/users/x").status_code in (400, 404)


def test_requests_without_a_token_are_refused_at_the_edge(platform: Platform) -> None:
    resp = platform.api.get("/transactions")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def arm_fault(p: Platform, path_prefix: str, fault: str, times: int = 1) -> None:
    resp = p.sandbox.post(
        "/sandbox/faults", json={"path_prefix": path_prefix, "fault": fault, "times": times}
    )
    assert resp.status_code in (200, 201), resp.text


def test_duplicate_ipn_and_webhooks_are_applied_once(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    arm_fault(platform, "@ipn", "ipn=duplicate")
    arm_fault(platform, "@webhook", "webhook=duplicate")
    pay(platform, tx["payment_url"], "success")
    wait_status(platform, auth, tx["id"], "COMPLETED")
    time.sleep(1.0)  # give the duplicates time to arrive
    history = platform.api.get(f"/transactions/{tx['id']}/history", headers=auth).json()
    steps = [h["to_status"] for h in (history["items"] if isinstance(history, dict) else history)]
    assert steps == ["PENDING", "BDT_RECEIVED", "PROCESSING", "COMPLETED"]


def test_lost_ipn_is_recovered_by_the_reconciler(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    arm_fault(platform, "@ipn", "ipn=suppress")
    pay(platform, tx["payment_url"], "success")
    time.sleep(1.0)
    assert status_of(platform, auth, tx["id"])["status"] == "PENDING"  # nobody told us yet
    assert wait_status(platform, auth, tx["id"], "COMPLETED", timeout=120)["status"] == "COMPLETED"


def test_a_service_restarted_mid_flow_loses_nothing(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    stack = platform.stack
    spec = next(s for s in SERVICES if s.name == "transaction-service")
    stack.stop_one("transaction-service")
    try:
        pay(
            platform, tx["payment_url"], "success"
        )  # payment-service records it while the orchestrator is down
        time.sleep(1.0)
    finally:
        stack.start_one(spec)
        stack.wait_ready(timeout=120, names=["transaction-service"])
    assert wait_status(platform, auth, tx["id"], "COMPLETED", timeout=120)["status"] == "COMPLETED"


def test_concurrent_creates_cannot_both_pass_the_limit(platform: Platform) -> None:
    import concurrent.futures

    auth = register_and_login(platform)
    bodies = [transaction_body(platform, auth, amount="3000.00") for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda b: post_transaction(platform, auth, b), bodies))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 422], [r.text for r in results]


def test_logout_makes_the_access_token_useless_at_the_gateway_and_at_a_service(platform: Platform) -> None:
    auth = register_and_login(platform)
    assert platform.api.get("/transactions", headers=auth).status_code == 200
    direct = f"{platform.service('transaction-service')}/api/v1/transactions"
    assert httpx.get(direct, headers=auth).status_code == 200
    assert platform.api.post("/auth/logout", headers=auth).status_code in (200, 204)
    refused = platform.api.get("/transactions", headers=auth)
    assert refused.status_code == 401 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert httpx.get(direct, headers=auth).status_code == 401  # the service checks the denylist too


def test_out_of_order_webhooks_still_complete_exactly_once(platform: Platform) -> None:
    auth = register_and_login(platform)
    tx = create_transaction(platform, auth).json()
    arm_fault(platform, "@webhook", "webhook=reorder", times=3)
    pay(platform, tx["payment_url"], "success")
    wait_status(platform, auth, tx["id"], "COMPLETED", timeout=90)
    time.sleep(1.0)
    history = platform.api.get(f"/transactions/{tx['id']}/history", headers=auth).json()
    steps = [h["to_status"] for h in (history["items"] if isinstance(history, dict) else history)]
    assert steps == ["PENDING", "BDT_RECEIVED", "PROCESSING", "COMPLETED"]
