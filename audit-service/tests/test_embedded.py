"""The embedded mode (SQLite file, no Redis): the same migrations, chain, verify and analytics."""

from __future__ import annotations

import asyncio
from pathlib import Path

from audit_service.main import create_app
from audit_service.settings import Settings
from shared import migrate
from shared.testing.plugin import asgi_client


async def test_sqlite_trail_appends_verifies_and_aggregates(tmp_path: Path, issuer, h) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    migrate.upgrade("audit_service", url, "audit")
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url="",
        data_dir=tmp_path,
        outbox_relay_enabled=False,
        audit_checkpoint_interval_seconds=0,
    )
    app = create_app(settings)
    admin = issuer.headers(role="admin")
    async with asgi_client(app) as client:
        issuer.install(app)
        env = h.envelope("user.login_failed", {"user_id": "u1", "ip": "192.0.2.1", "email": "a@example.com"})
        assert (await client.post("/internal/events", json=env, headers=h.key_for(env))).json()[
            "status"
        ] == "processed"
        assert (await client.post("/internal/events", json=env, headers=h.key_for(env))).json()[
            "status"
        ] == "duplicate"
        # Concurrent writers: SQLite's write lock, taken before the head is read, keeps one chain.
        await asyncio.gather(
            *(
                h.post_entry(client, action="refund.approved", details={"i": i, "card": "4111111111111111"})
                for i in range(12)
            )
        )
        verify = (await client.get("/api/v1/audit/verify", headers=admin)).json()
        assert (verify["valid"], verify["checked"]) == (True, 13)
        assert (await client.post("/api/v1/audit/checkpoints", headers=admin)).status_code == 201
        trends = (
            await client.get("/api/v1/analytics/trends", params={"interval": "hour"}, headers=admin)
        ).json()
        assert sum(b["total"] for b in trends["buckets"]) == 14
        page = (
            await client.get("/api/v1/audit/logs", params={"action": "refund.*", "limit": 2}, headers=admin)
        ).json()
        assert [e["details"]["card"] for e in page["items"]] == ["411111******1111"] * 2 and page[
            "next_cursor"
        ]
