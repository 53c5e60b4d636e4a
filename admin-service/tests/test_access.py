"""Access: every `/api/v1/admin` route refuses the `user` role (403) and anonymous callers (401);
`/internal/*` routes take only a service API key."""

from __future__ import annotations

import re

import pytest

SAMPLE = {
    "key": "maintenance_mode",
    "user_id": "00000000-0000-0000-0000-000000000001",
    "txn_id": "00000000-0000-0000-0000-000000000002",
    "report_id": "00000000-0000-0000-0000-000000000003",
    "provider": "paypal",
    "service": "admin-service",
}


def admin_routes(platform) -> list[tuple[str, str]]:
    spec = platform.admin_app.openapi()
    routes = []
    for path, ops in spec["paths"].items():
        if not path.startswith("/api/v1/admin"):
            continue
        concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
        routes += [(method.upper(), concrete) for method in ops]
    return routes


async def test_there_are_admin_routes_to_check(platform) -> None:
    assert len(admin_routes(platform)) >= 20


async def test_the_user_role_gets_403_everywhere(platform, client, user) -> None:
    for method, path in admin_routes(platform):
        resp = await client.request(method, path, headers=user, json={})
        assert resp.status_code == 403, (method, path, resp.status_code)
        assert resp.json()["code"] == "insufficient_role"


async def test_anonymous_callers_get_401_everywhere(platform, client) -> None:
    for method, path in admin_routes(platform):
        resp = await client.request(method, path, json={})
        assert resp.status_code == 401, (method, path)


@pytest.mark.parametrize(
    "path", ["/internal/settings", "/internal/settings/secrets", "/internal/outbox/stats"]
)
async def test_internal_routes_need_a_service_key_not_a_token(client, admin, path) -> None:
    assert (await client.get(path, headers=admin)).status_code == 401
    assert (await client.get(path, headers={"X-API-Key": "dev-gateway-key"})).status_code == 200
