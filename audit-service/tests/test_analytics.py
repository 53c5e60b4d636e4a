"""Stats, trends, security alerts and the compliance report over a private time window."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest


@pytest.fixture
def window() -> tuple[datetime, datetime]:
    """A one-day window far in the past that no other test writes into."""
    start = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(10_000))
    return start, start + timedelta(days=1)


def at(start: datetime, minutes: int) -> str:
    return (start + timedelta(minutes=minutes)).isoformat()


async def test_stats_and_trends_count_by_dimension(
    client: httpx.AsyncClient, support: dict, h, window
) -> None:
    start, end = window
    for i, (action, sev) in enumerate(
        [("payment.succeeded", "info"), ("payment.failed", "low"), ("setting.changed", "high")]
    ):
        await h.post_entry(client, action=action, severity=sev, occurred_at=at(start, 60 * i))
    params = {"from": start.isoformat(), "to": end.isoformat()}
    stats = (await client.get("/api/v1/analytics/stats", params=params, headers=support)).json()
    assert stats["total"] == 3
    assert stats["by_category"] == {"payment": 2, "configuration": 1}
    assert stats["by_severity"] == {"info": 1, "low": 1, "high": 1}
    assert stats["by_service"] == {"payment-service": 3}
    trends = (
        await client.get(
            "/api/v1/analytics/trends",
            params={**params, "interval": "hour", "group_by": "category"},
            headers=support,
        )
    ).json()
    assert [b["counts"] for b in trends["buckets"]] == [{"payment": 1}, {"payment": 1}, {"configuration": 1}]
    assert trends["buckets"][0]["bucket"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_security_alerts(client: httpx.AsyncClient, admin: dict, h, window) -> None:
    start, end = window
    victim, ip = str(uuid.uuid4()), f"198.51.100.{random.randrange(1, 250)}"
    for i in range(5):  # a burst against one user from one IP
        env = h.envelope(
            "user.login_failed",
            {"user_id": victim, "ip": ip, "reason": "bad_password"},
            subject_id=victim,
            occurred_at=at(start, i),
        )
        await client.post("/internal/events", json=env, headers=h.key_for(env))
    slow = str(uuid.uuid4())
    for i in range(6):  # six failures, but 20 minutes apart: not a burst
        env = h.envelope(
            "user.login_failed", {"user_id": slow}, subject_id=slow, occurred_at=at(start, 100 + 20 * i)
        )
        await client.post("/internal/events", json=env, headers=h.key_for(env))
    for i in range(5):  # the same IP tries five other users
        other = str(uuid.uuid4())
        env = h.envelope(
            "user.logged_in", {"user_id": other, "ip": ip}, subject_id=other, occurred_at=at(start, 10 + i)
        )
        await client.post("/internal/events", json=env, headers=h.key_for(env))
    promoted = str(uuid.uuid4())
    env = h.envelope(
        "user.role_changed",
        {"user_id": promoted, "old_role": "user", "new_role": "admin", "by": "root"},
        subject_id=promoted,
        occurred_at=at(start, 30),
    )
    await client.post("/internal/events", json=env, headers=h.key_for(env))
    for i in range(3):
        await h.post_entry(
            client, action="transactions.exported", actor_id="exporter-1", occurred_at=at(start, 40 + i)
        )
    body = (
        await client.get(
            "/api/v1/analytics/security-alerts",
            params={"from": start.isoformat(), "to": end.isoformat()},
            headers=admin,
        )
    ).json()
    kinds = {
        (
            a["type"],
            tuple(sorted(a["key"].items()))[0][1] if a["type"] != "privilege_change" else a["target_id"],
        ): a["count"]
        for a in body["alerts"]
    }
    assert kinds[("failed_login_burst", victim)] == 5
    assert kinds[("failed_login_burst", ip)] == 5
    assert kinds[("ip_many_users", ip)] == 6
    assert kinds[("privilege_change", promoted)] == 1
    assert kinds[("bulk_export", "exporter-1")] == 3
    assert ("failed_login_burst", slow) not in kinds


async def test_compliance_report_as_json_and_csv(client: httpx.AsyncClient, admin: dict, h, window) -> None:
    start, end = window
    await h.post_entry(
        client, action="refund.approved", actor_id="ops-1", actor_role="admin", occurred_at=at(start, 1)
    )
    await h.post_entry(client, action="user.updated", occurred_at=at(start, 2))
    await h.post_entry(client, action="report.viewed", occurred_at=at(start, 3))
    params = {"from": start.isoformat(), "to": end.isoformat()}
    report = (await client.get("/api/v1/analytics/compliance-report", params=params, headers=admin)).json()
    assert report["totals"] == {"entries": 3, "pci": 1, "gdpr": 1, "privileged": 1, "failures": 0}
    assert report["pci_by_action"] == {"refund.approved": 1}
    assert report["gdpr_by_action"] == {"user.updated": 1}
    assert [a["actor_id"] for a in report["privileged_actions"]] == ["ops-1"]
    assert "user-service" in report["coverage"]["services_missing"]
    resp = await client.get(
        "/api/v1/analytics/compliance-report", params={**params, "format": "csv"}, headers=admin
    )
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0] == ["section", "key", "value"]
    assert ["totals", "pci", "1"] in rows and ["pci_by_action", "refund.approved", "1"] in rows
