"""Ingestion: events through the inbox (exactly once) and direct entries, masked on write."""

from __future__ import annotations

import uuid

import asyncpg
import httpx


async def test_event_delivered_twice_is_stored_once(client: httpx.AsyncClient, admin: dict, h) -> None:
    user_id = str(uuid.uuid4())
    env = h.envelope(
        "user.login_failed",
        {"user_id": user_id, "reason": "bad_password", "ip": "203.0.113.9"},
        subject_id=user_id,
    )
    first = await client.post("/internal/events", json=env, headers=h.key_for(env))
    second = await client.post("/internal/events", json=env, headers=h.key_for(env))
    assert (first.status_code, first.json()["status"]) == (200, "processed")
    assert (second.status_code, second.json()["status"]) == (200, "duplicate")
    page = (await client.get("/api/v1/audit/logs", params={"actor_id": user_id}, headers=admin)).json()
    assert len(page["items"]) == 1
    entry = page["items"][0]
    assert entry["source_id"] == env["id"]
    assert (entry["category"], entry["action"], entry["outcome"], entry["severity"]) == (
        "authentication",
        "user.login_failed",
        "failure",
        "medium",
    )
    assert (entry["target_type"], entry["target_id"], entry["ip"]) == ("user", user_id, "203.0.113.9")


async def test_role_change_event_names_the_admin_as_actor_and_is_privileged(
    client: httpx.AsyncClient, admin: dict, h
) -> None:
    user_id, admin_id = str(uuid.uuid4()), str(uuid.uuid4())
    env = h.envelope(
        "user.role_changed",
        {"user_id": user_id, "old_role": "user", "new_role": "support", "by": admin_id},
        subject_id=user_id,
        trace={"request_id": "req-role-1"},
    )
    assert (await client.post("/internal/events", json=env, headers=h.key_for(env))).status_code == 200
    [entry] = (await client.get("/api/v1/audit/logs", params={"target_id": user_id}, headers=admin)).json()[
        "items"
    ]
    assert (entry["actor_type"], entry["actor_id"], entry["privileged"]) == ("user", admin_id, True)
    assert (entry["category"], entry["severity"], entry["request_id"], entry["gdpr"]) == (
        "authorization",
        "high",
        "req-role-1",
        True,
    )


async def test_money_events_form_the_transaction_trail(client: httpx.AsyncClient, admin: dict, h) -> None:
    tx = str(uuid.uuid4())
    for event_type in ("transaction.created", "payment.succeeded", "payout.failed"):
        env = h.envelope(
            event_type,
            {"transaction_id": tx, "amount": "1500.00", "currency": "BDT"},
            subject_id=tx,
            producer="payment-service",
        )
        assert (await client.post("/internal/events", json=env, headers=h.key_for(env))).status_code == 200
    trail = (await client.get(f"/api/v1/audit/transactions/{tx}/trail", headers=admin)).json()
    assert trail["count"] == 3
    assert [e["action"] for e in trail["items"]] == [
        "transaction.created",
        "payment.succeeded",
        "payout.failed",
    ]
    assert all(e["pci"] for e in trail["items"])
    assert trail["items"][2]["outcome"] == "failure" and trail["items"][2]["severity"] == "high"


async def test_direct_entry_is_masked_on_write_and_raw_values_never_stored(
    client: httpx.AsyncClient, admin: dict, pg: asyncpg.Connection, h
) -> None:
    marker = h.unique()
    entry_id = await h.post_entry(
        client,
        action="refund.approved",
        target_id=marker,
        actor_id="karim.rahman@example.com",
        details={
            "password": "hunter2-secret",
            "card": "4111111111111111",
            "note": "call +8801712345678",
            "customer": {"email": "rahim@example.com", "otp": "918273"},
            "history": [{"authorization": "Bearer abcdefghijklmnop"}],
        },
    )
    entry = (await client.get(f"/api/v1/audit/logs/{entry_id}", headers=admin)).json()
    assert entry["actor_id"] == "k***@example.com"
    assert entry["details"] == {
        "password": "***",
        "card": "411111******1111",
        "note": "call +880********78",
        "customer": {"email": "r***@example.com", "otp": "***"},
        "history": [{"authorization": "***"}],
    }
    assert (entry["service"], entry["category"], entry["pci"]) == ("payment-service", "refund", True)
    row = await pg.fetchval("SELECT audit_entry::text FROM audit_entry WHERE id = $1", entry_id)
    for raw in (
        "hunter2-secret",
        "4111111111111111",
        "8801712345678",
        "rahim@",
        "918273",
        "abcdefghijklmnop",
        "karim",
    ):
        assert raw not in row


async def test_batch_is_appended_in_order_and_repeated_ids_are_stored_once(
    client: httpx.AsyncClient, admin: dict, h
) -> None:
    marker = h.unique()
    same = str(uuid.uuid4())
    entries = [{"action": f"admin.step_{i}", "target_id": marker} for i in range(3)]
    entries.append({"id": same, "action": "admin.once", "target_id": marker})
    body = {"entries": [*entries, {"id": same, "action": "admin.once", "target_id": marker}]}
    resp = await client.post("/internal/audit/batch", json=body, headers=h.service_key)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert (out["recorded"], out["duplicates"]) == (4, 1)
    ids = [e["id"] for e in out["entries"]]
    assert ids[:4] == list(range(ids[0], ids[0] + 4)) and ids[4] == ids[3]
    again = await client.post(
        "/internal/audit", json={"id": same, "action": "admin.once"}, headers=h.service_key
    )
    assert again.json() == {"id": ids[3], "duplicate": True}
    items = (await client.get("/api/v1/audit/logs", params={"target_id": marker}, headers=admin)).json()[
        "items"
    ]
    assert [e["action"] for e in items] == ["admin.once", "admin.step_2", "admin.step_1", "admin.step_0"]
    assert all(e["privileged"] for e in items)  # admin.* actions are privileged


async def test_internal_audit_requires_a_service_key(client: httpx.AsyncClient) -> None:
    resp = await client.post("/internal/audit", json={"action": "x.y"}, headers={"X-API-Key": "wrong"})
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_invalid_entry_is_a_validation_problem(client: httpx.AsyncClient, h) -> None:
    resp = await client.post(
        "/internal/audit", json={"action": "x y", "severity": "apocalyptic"}, headers=h.service_key
    )
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json()["errors"]} == {"action", "severity"}


def test_extra_masking_rules_come_from_settings() -> None:
    from audit_service.entries import build_masker, make_draft
    from audit_service.settings import Settings

    settings = Settings(
        environment="test",
        audit_mask_extra_secret_keys="bkash_pin, merchant_ref",
        audit_mask_extra_patterns=[r"\bINV-\d{6}\b"],
    )
    draft = make_draft(
        build_masker(settings),
        service="s",
        action="a.b",
        details={"bkashPin": "1234", "merchant_ref": "m-1", "note": "invoice INV-123456", "author": "Tagore"},
    )
    assert draft["details"] == {
        "bkashPin": "***",
        "merchant_ref": "***",
        "note": "invoice ***",
        "author": "Tagore",
    }


def test_oversized_details_are_replaced_by_a_stub() -> None:
    from audit_service.entries import build_masker, make_draft
    from audit_service.settings import Settings

    draft = make_draft(
        build_masker(Settings(environment="test")),
        service="s",
        action="a.b",
        details={"blob": "x" * 70_000, "kind": "upload"},
    )
    assert draft["details"] == {"_truncated": True, "_size_bytes": 70_030, "_keys": ["blob", "kind"]}
