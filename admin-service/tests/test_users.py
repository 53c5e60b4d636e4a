"""User management through user-service's staff APIs (contract stub until user-service is wired in
end-to-end): the caller's bearer token is forwarded, changes take effect there and are audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.helpers import clear_transactions, seed, wait_until


@pytest.fixture
def person(stub):
    stub.state.user_events.clear()
    return stub.state.add_user(locked_until="2099-01-01T00:00:00+00:00", failed_login_count=5)


async def audited(stub, event_type: str, user_id: str) -> None:
    async def seen() -> bool:
        return any(e["subject_id"] == user_id for e in stub.state.events_of(event_type))

    await wait_until(seen)  # reached the audit-service through admin-service's outbox


async def test_search_forwards_the_callers_token_and_support_may_read(client, support, person, stub) -> None:
    resp = await client.get("/api/v1/admin/users", params={"q": person["username"]}, headers=support)
    assert resp.status_code == 200, resp.text
    assert [u["id"] for u in resp.json()["items"]] == [person["id"]]
    assert stub.state.bearer_seen[-1] == support["Authorization"]


async def test_view_includes_the_users_transactions_summary(platform, client, support, person) -> None:
    await clear_transactions(platform.txn_app)
    await seed(platform.txn_app, amount="100.00", created_at=datetime.now(UTC), user_id=person["id"])
    await seed(
        platform.txn_app, amount="20.00", status="FAILED", created_at=datetime.now(UTC), user_id=person["id"]
    )
    resp = await client.get(f"/api/v1/admin/users/{person['id']}", headers=support)
    assert resp.status_code == 200
    body = resp.json()
    assert body["user"]["email"] == person["email"]
    assert body["transactions"]["count"] == 2
    assert {g["status"] for g in body["transactions"]["groups"]} == {"COMPLETED", "FAILED"}


async def test_deactivation_takes_effect_in_user_service_and_is_audited(client, admin, person, stub) -> None:
    resp = await client.patch(f"/api/v1/admin/users/{person['id']}", json={"is_active": False}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json()["is_active"] is False
    assert stub.state.users[person["id"]]["is_active"] is False
    assert stub.state.user_events == [{"type": "user.deactivated"}]
    await audited(stub, "admin.user_updated", person["id"])
    event = [e for e in stub.state.events_of("admin.user_updated") if e["subject_id"] == person["id"]][-1]
    assert event["data"]["changes"] == {"is_active": False}


async def test_role_change_and_unlock(client, admin, person, stub) -> None:
    resp = await client.patch(
        f"/api/v1/admin/users/{person['id']}", json={"role": "support", "unlock": True}, headers=admin
    )
    assert resp.status_code == 200
    user = stub.state.users[person["id"]]
    assert (user["role"], user["locked_until"], user["failed_login_count"]) == ("support", None, 0)
    assert [e["type"] for e in stub.state.user_events] == ["user.role_changed", "user.unlocked"]


async def test_force_logout_ends_every_session(client, admin, person, stub) -> None:
    resp = await client.post(f"/api/v1/admin/users/{person['id']}/logout", headers=admin)
    assert resp.status_code == 200
    assert stub.state.revoked[-1] == person["id"]
    await audited(stub, "admin.user_logged_out", person["id"])


async def test_support_cannot_change_users(client, support, person, stub) -> None:
    resp = await client.patch(
        f"/api/v1/admin/users/{person['id']}", json={"is_active": False}, headers=support
    )
    assert resp.status_code == 403
    assert stub.state.users[person["id"]]["is_active"] is True


async def test_an_empty_change_is_a_422_and_unknown_users_pass_through_as_404(client, admin, person) -> None:
    assert (
        await client.patch(f"/api/v1/admin/users/{person['id']}", json={}, headers=admin)
    ).status_code == 422
    missing = "00000000-0000-0000-0000-000000000000"
    resp = await client.patch(f"/api/v1/admin/users/{missing}", json={"is_active": False}, headers=admin)
    assert resp.status_code == 404 and resp.json()["code"] == "user_not_found"
