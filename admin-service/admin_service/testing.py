"""The real admin-service for other services' tests (runtime settings they own).

    async with running_admin(make_database, redis_url) as admin:
        await admin.set("provider.exchange_rate.base_url", "http://127.0.0.1:9999")
        ... the service under test polls admin.url ...

It is the real app on a real migrated PostgreSQL database and a loopback port: values are set
through its admin API (an admin token from a throw-away signing key), secrets are encrypted at
rest, and `/internal/settings(/secrets)` answer exactly as in production. Its outbox relay is off:
tests apply `setting.changed` themselves when they want the event path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from admin_service.main import create_app
from admin_service.settings import Settings
from shared.testing.servers import serve
from shared.testing.tokens import TokenFactory


@dataclass
class RunningAdmin:
    url: str
    client: httpx.AsyncClient  # to the admin API, as an admin

    async def set(self, key: str, value: Any) -> None:
        resp = await self.client.put(f"/api/v1/admin/settings/{key}", json={"value": value})
        resp.raise_for_status()

    async def unset(self, key: str) -> None:
        resp = await self.client.delete(f"/api/v1/admin/settings/{key}")
        resp.raise_for_status()


@asynccontextmanager
async def running_admin(make_database: Callable[..., str], redis_url: str) -> AsyncIterator[RunningAdmin]:
    """`make_database` is the shared pytest plugin's fixture (a fresh migrated database per call)."""
    tokens = TokenFactory()
    settings = Settings(
        environment="test",
        database_url=make_database("admin_service", "admin", label="admin_for_tests"),
        redis_url=redis_url,
        log_level="WARNING",
        outbox_relay_enabled=False,
    )
    app = create_app(settings)
    async with serve(app) as url:
        tokens.install(app)
        headers = tokens.headers(role="admin")
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=20) as client:
            yield RunningAdmin(url, client)
