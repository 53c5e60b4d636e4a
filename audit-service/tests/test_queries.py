"""Search filters, cursor pagination, single entries, streamed exports, and who may read."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from shared.settings import dev_api_key


async def test_filters_narrow_the_search(client: httpx.AsyncClient, support: dict, h) -> None:
    m = h.unique()
    await h.post_entry(
        client,
        action="refund.approved",
        target_id=m,
        actor_id=f"alice-{m}",
        severity="high",
        request_id=f"req-{m}",
        occurred_at="2025-01-10T10:00:00Z",
    )
    await h.post_entry(
        client,
        action="refund.rejected",
        target_id=m,
        actor_id=f"bob-{m}",
        outcome="denied",
        occurred_at="2025-01-11T10:00:00Z",
    )
    await h.post_entry(
        client,
        action="setting.changed",
        target_id=m,
        actor_id=f"alice-{m}",
        category="configuration",
        severity="critical",
        occurred_at="2025-01-12T10:00:00Z",
    )

    async def actions(**params: object) -> list[str]:
        resp = await client.get("/api/v1/audit/logs", params={"target_id": m, **params}, headers=support)
        assert resp.status_code == 200, resp.text
        return [e["action"] for e in resp.json()["items"]]

    assert await actions() == ["setting.changed", "refund.rejected", "refund.approved"]
    assert await actions(actor_id=f"alice-{m}") == ["setting.changed", "refund.approved"]
    assert await actions(action="refund.*") == ["refund.rejected", "refund.approved"]
    assert await actions(action="refund.approved") == ["refund.approved"]
    assert await actions(severity=["high", "critical"]) == ["setting.changed", "refund.approved"]
    assert await actions(category="configuration") == ["setting.changed"]
    assert await actions(outcome="denied") == ["refund.rejected"]
    assert await actions(**{"from": "2025-01-11T00:00:00Z", "to": "2025-01-12T00:00:00Z"}) == [
        "refund.rejected"
    ]
    assert await actions(request_id=f"req-{m}") == ["refund.approved"]
    assert await actions(target_type="setting") == ["setting.changed"]  # defaulted from the action's rule
    assert await actions(service="user-service") == []
    assert await actions(service="payment-service") == [
        "setting.changed",
        "refund.rejected",
        "refund.approved",
    ]
    assert await actions(tag="pci") == ["refund.rejected", "refund.approved"]


async def test_cursor_pagination_walks_every_entry_once(client: httpx.AsyncClient, admin: dict, h) -> None:
    m = h.unique()
    ids = [await h.post_entry(client, target_id=m) for _ in range(7)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"target_id": m, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/api/v1/audit/logs", params=params, headers=admin)).json()
        seen += [e["id"] for e in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(ids, reverse=True)


async def test_a_tampered_cursor_is_a_bad_request(client: httpx.AsyncClient, admin: dict) -> None:
    resp = await client.get("/api/v1/audit/logs", params={"cursor": "not-a-cursor!"}, headers=admin)
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_cursor"


async def test_one_entry_by_id_and_404_for_unknown(client: httpx.AsyncClient, admin: dict, h) -> None:
    entry_id = await h.post_entry(client, action="user.unlocked")
    got = await client.get(f"/api/v1/audit/logs/{entry_id}", headers=admin)
    assert got.status_code == 200
    assert (got.json()["id"], got.json()["action"], len(got.json()["hash"])) == (
        entry_id,
        "user.unlocked",
        64,
    )
    missing = await client.get("/api/v1/audit/logs/999999999", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["code"] == "audit_entry_not_found"


async def test_export_streams_csv_and_json_and_is_itself_audited(
    client: httpx.AsyncClient, admin: dict, h
) -> None:
    m = h.unique()
    for i in range(3):
        await h.post_entry(client, target_id=m, details={"i": i, "formula": "=HYPERLINK(1)"})
    resp = await client.get("/api/v1/audit/export", params={"target_id": m, "format": "csv"}, headers=admin)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [json.loads(r["details"])["i"] for r in rows] == [0, 1, 2]
    as_json = await client.get(
        "/api/v1/audit/export", params={"target_id": m, "format": "json"}, headers=admin
    )
    assert [e["details"]["i"] for e in as_json.json()] == [0, 1, 2]
    audited = (
        await client.get("/api/v1/audit/logs", params={"action": "audit.exported", "limit": 1}, headers=admin)
    ).json()["items"][0]
    assert audited["details"]["filters"] == {"target_id": m}
    assert (audited["details"]["format"], audited["privileged"]) == ("json", True)


@pytest.mark.parametrize("role", ["user", None])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit/logs",
        "/api/v1/audit/logs/1",
        "/api/v1/audit/export",
        "/api/v1/audit/transactions/t1/trail",
        "/api/v1/analytics/stats",
        "/api/v1/analytics/security-alerts",
        "/api/v1/audit/verify",
    ],
)
async def test_only_staff_may_read(client: httpx.AsyncClient, issuer, role: str | None, path: str) -> None:
    headers = issuer.headers(role=role) if role else {}
    resp = await client.get(path, headers=headers)
    assert resp.status_code == (403 if role else 401)
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/audit/verify"),
        ("POST", "/api/v1/audit/checkpoints"),
        ("GET", "/api/v1/audit/checkpoints"),
        ("POST", "/api/v1/audit/retention/purge"),
    ],
)
async def test_integrity_operations_are_admin_only(
    client: httpx.AsyncClient, support: dict, method: str, path: str
) -> None:
    resp = await client.request(method, path, headers=support)
    assert resp.status_code == 403
    assert resp.json()["code"] == "insufficient_role"


async def test_support_reads_logs_and_analytics(client: httpx.AsyncClient, support: dict) -> None:
    assert (await client.get("/api/v1/audit/logs", headers=support)).status_code == 200
    assert (await client.get("/api/v1/analytics/stats", headers=support)).status_code == 200


async def test_a_service_key_does_not_open_the_staff_api(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/audit/logs", headers={"X-API-Key": dev_api_key("admin-service")})
    assert resp.status_code == 401
