"""Runtime settings: typed validation, secrets encrypted at rest and never returned in clear,
history, `setting.changed` through the outbox (audited), the internal feed, and a fee change
reaching the real transaction-service's next quote."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from admin_service.models import OutboxMessage, RuntimeSetting
from admin_service.runtime.crypto import SecretBox
from shared import runtime_settings as rs
from shared.runtime_settings import RuntimeSettings
from tests.helpers import wait_until

SECRET = "s3cr3t-paypal-value-123"
TXN_KEY = {"X-API-Key": "dev-transaction-service-key"}
PAY_KEY = {"X-API-Key": "dev-payment-service-key"}


@pytest.fixture(autouse=True)
async def _reset_settings(platform):
    yield
    async with platform.admin_app.state.db.sessionmaker() as s, s.begin():
        await s.execute(text("DELETE FROM runtime_setting"))


async def test_list_shows_every_known_setting_with_type_default_and_description(client, support) -> None:
    resp = await client.get("/api/v1/admin/settings", headers=support)
    assert resp.status_code == 200
    by_key = {s["key"]: s for s in resp.json()}
    fee = by_key["transaction.fee_percentage"]
    assert (fee["type"], fee["default"], fee["value"], fee["is_set"]) == ("number", "2.0", "2.0", False)
    assert fee["description"] and fee["owner"] == "transaction-service"
    assert by_key["maintenance_mode"]["type"] == "boolean"
    assert by_key["notification.quiet_hours"]["type"] == "json"
    assert by_key["provider.paypal.client_secret"]["type"] == "secret"
    assert by_key["provider.paypal.client_secret"]["value"] is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("transaction.fee_percentage", "abc"),
        ("transaction.fee_percentage", 2.5),  # a binary float is refused
        ("transaction.fee_percentage", "25"),  # above 20 %
        ("transaction.fee_percentage", True),
        ("transaction.quote_ttl_seconds", 5),  # below 30 s
        ("transaction.quote_ttl_seconds", "ten"),
        ("transaction.max_transaction_usd", "100.123"),  # more decimals than cents
        ("maintenance_mode", "yes"),
        ("maintenance_message", 42),
        ("notification.quiet_hours", {"start": "25:00", "end": "07:00"}),
        ("provider.paypal.base_url", "ftp://paypal.example"),
        ("provider.paypal.client_secret", ""),
    ],
)
async def test_wrong_type_or_range_is_a_422_and_changes_nothing(client, admin, key, value) -> None:
    resp = await client.put(f"/api/v1/admin/settings/{key}", json={"value": value}, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "invalid_setting_value"
    assert resp.json()["errors"][0]["field"] == "value"
    assert (await client.get(f"/api/v1/admin/settings/{key}", headers=admin)).json()["is_set"] is False


async def test_bounds_must_stay_ordered(client, admin) -> None:
    resp = await client.put(
        "/api/v1/admin/settings/transaction.min_transaction_usd", json={"value": "20000"}, headers=admin
    )
    assert resp.status_code == 422
    assert "max_transaction_usd" in resp.json()["detail"]


async def test_unknown_setting_is_404(client, admin) -> None:
    resp = await client.put("/api/v1/admin/settings/no.such.key", json={"value": 1}, headers=admin)
    assert resp.status_code == 404
    assert resp.json()["code"] == "unknown_setting"


async def test_change_is_stored_recorded_in_history_and_audited(platform, client, admin, stub) -> None:
    key = "transaction.daily_limit_usd"
    resp = await client.put(f"/api/v1/admin/settings/{key}", json={"value": "4000.50"}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["value"], resp.json()["is_set"], resp.json()["version"]) == ("4000.50", True, 1)
    await client.put(f"/api/v1/admin/settings/{key}", json={"value": 3000}, headers=admin)
    history = (await client.get(f"/api/v1/admin/settings/{key}/history", headers=admin)).json()
    assert [(h["old_value"], h["new_value"]) for h in history[:2]] == [("4000.50", "3000"), (None, "4000.50")]

    async def audited() -> bool:
        return any(
            e["data"]["key"] == key and e["data"]["value"] == "3000"
            for e in stub.state.events_of("setting.changed")
        )

    await wait_until(audited)  # the audit-service (contract stub) received it through the outbox relay


async def test_secret_is_encrypted_at_rest_and_never_returned_in_clear(platform, client, admin, stub) -> None:
    key = "provider.paypal.client_secret"
    resp = await client.put(f"/api/v1/admin/settings/{key}", json={"value": SECRET}, headers=admin)
    assert resp.status_code == 200
    assert resp.json()["value"] == "********" and SECRET not in resp.text
    for path in (
        "/api/v1/admin/settings",
        f"/api/v1/admin/settings/{key}",
        f"/api/v1/admin/settings/{key}/history",
    ):
        body = await client.get(path, headers=admin)
        assert SECRET not in body.text
    internal = await client.get("/internal/settings", headers=TXN_KEY)
    assert key not in internal.json() and SECRET not in internal.text
    # In the database: only a Fernet token that opens with the configured key.
    async with platform.admin_app.state.db.sessionmaker() as s:
        row = await s.get(RuntimeSetting, key)
        raw = (
            await s.execute(
                text("SELECT value::text, encrypted_value FROM runtime_setting WHERE key=:k"), {"k": key}
            )
        ).one()
        outbox = (
            await s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "setting.changed"))
        ).all()
    assert row is not None and row.value is None
    assert raw[0] in (None, "null") and SECRET not in raw[1]
    assert platform.admin_app.state.secret_box.decrypt(raw[1]) == SECRET
    assert all(SECRET not in str(m.envelope) for m in outbox)
    # The owning service (and only it) can read it in clear.
    assert (await client.get("/internal/settings/secrets", headers=PAY_KEY)).json() == {key: SECRET}
    assert (await client.get("/internal/settings/secrets", headers=TXN_KEY)).json() == {}

    async def masked_event() -> bool:
        return any(e["data"]["key"] == key for e in stub.state.events_of("setting.changed"))

    await wait_until(masked_event)
    assert all(SECRET not in str(e) for e in stub.state.events)


async def test_rotation_reencrypts_secrets_under_the_new_key(platform, client, admin) -> None:
    key = "provider.sslcommerz.store_password"
    await client.put(f"/api/v1/admin/settings/{key}", json={"value": SECRET}, headers=admin)
    old_box = platform.admin_app.state.secret_box
    new_key = Fernet.generate_key().decode()
    old_keys = platform.admin_app.state.settings.admin_settings_key.get_secret_value()
    platform.admin_app.state.secret_box = SecretBox(f"{new_key},{old_keys}")
    try:
        resp = await client.post("/api/v1/admin/settings-encryption/rotate", headers=admin)
        assert resp.status_code == 200 and resp.json()["reencrypted"] >= 1
        async with platform.admin_app.state.db.sessionmaker() as s:
            token = (await s.get(RuntimeSetting, key)).encrypted_value
        assert SecretBox(new_key).decrypt(token) == SECRET  # the old key is no longer needed
    finally:
        platform.admin_app.state.secret_box = old_box


async def test_reset_goes_back_to_the_default_and_the_feed_says_unset(client, admin) -> None:
    key = "maintenance_mode"
    await client.put(f"/api/v1/admin/settings/{key}", json={"value": True}, headers=admin)
    assert (await client.get("/internal/settings", headers=TXN_KEY)).json()[key] is True
    resp = await client.delete(f"/api/v1/admin/settings/{key}", headers=admin)
    assert resp.status_code == 200 and (resp.json()["is_set"], resp.json()["value"]) == (False, False)
    assert (await client.get("/internal/settings", headers=TXN_KEY)).json()[key] is None


async def test_support_reads_but_cannot_change(client, support) -> None:
    assert (await client.get("/api/v1/admin/settings/maintenance_mode", headers=support)).status_code == 200
    resp = await client.put("/api/v1/admin/settings/maintenance_mode", json={"value": True}, headers=support)
    assert resp.status_code == 403


async def test_a_fee_change_is_used_by_the_next_quote_within_60s(platform, client, admin, tokens) -> None:
    sender = tokens.headers(role="user")

    async def quote_fee() -> str:
        resp = await platform.txn_client.post(
            "/api/v1/transactions/calculate", json={"currency": "USD", "amount": "100.00"}, headers=sender
        )
        assert resp.status_code == 201, resp.text
        return resp.json()["fee_percentage"]

    assert await quote_fee() in ("2.0", "2", "2.00")
    resp = await client.put(
        "/api/v1/admin/settings/transaction.fee_percentage", json={"value": "3.5"}, headers=admin
    )
    assert resp.status_code == 200
    started = asyncio.get_running_loop().time()

    async def applied() -> bool:
        return (await quote_fee()).rstrip("0").rstrip(".") == "3.5"

    await wait_until(applied, within=60)
    assert asyncio.get_running_loop().time() - started < 60
    quote = (
        await platform.txn_client.post(
            "/api/v1/transactions/calculate", json={"currency": "USD", "amount": "100.00"}, headers=sender
        )
    ).json()
    assert quote["fee_bdt"] == "411.25"  # 11750.00 × 3.5 %
    await client.delete("/api/v1/admin/settings/transaction.fee_percentage", headers=admin)

    async def reverted() -> bool:
        return (await quote_fee()).rstrip("0").rstrip(".") == "2"

    await wait_until(reverted, within=60)


async def test_the_periodic_poll_alone_applies_a_setting_whose_event_never_arrived(platform) -> None:
    """The event is the fast path; `GET /internal/settings` every RUNTIME_SETTINGS_INTERVAL (≤ 60 s,
    0.5 s here) is the guarantee. A row written without an event must still reach the owner."""
    runtime = platform.txn_app.state.ctx.runtime
    async with platform.admin_app.state.db.sessionmaker() as s, s.begin():
        s.add(RuntimeSetting(key="transaction.quote_ttl_seconds", value=120, version=1, updated_by="test"))

    async def applied() -> bool:
        return runtime.quote_ttl_seconds == 120

    await wait_until(applied, within=60)
    async with platform.admin_app.state.db.sessionmaker() as s, s.begin():
        await s.execute(text("DELETE FROM runtime_setting"))

    async def reverted() -> bool:  # unset here → the owner's own default again
        return runtime.quote_ttl_seconds == platform.txn_app.state.ctx.settings.quote_ttl_seconds

    await wait_until(reverted, within=60)


async def test_an_owner_polls_its_secrets_in_clear_and_falls_back_when_one_is_unset(client, admin) -> None:
    """shared.runtime_settings against the real admin-service: payment-service's provider settings,
    secrets included, with the env defaults back when an admin unsets them."""
    changes: list[frozenset[str]] = []
    defaults = {"paypal.client_secret": "env-secret", "paypal.base_url": "http://env.example"}
    runtime = RuntimeSettings(
        defaults=defaults.__getitem__,
        parsers={"paypal.client_secret": rs.text, "paypal.base_url": rs.http_url},
        prefixes=("provider.",),
        admin_url=str(client.base_url),
        secret_keys=frozenset({"paypal.client_secret"}),
        on_change=changes.append,
    )
    async with httpx.AsyncClient(base_url=client.base_url, headers=PAY_KEY, timeout=20) as pay:
        await runtime.refresh(pay)
        assert runtime.value("paypal.client_secret") == "env-secret" and changes == []
        for key, value in (
            ("provider.paypal.client_secret", SECRET),
            ("provider.paypal.base_url", "https://api-m.sandbox.paypal.com/"),
        ):
            resp = await client.put(f"/api/v1/admin/settings/{key}", json={"value": value}, headers=admin)
            assert resp.status_code == 200, resp.text
        await runtime.refresh(pay)
        assert runtime.value("paypal.client_secret") == SECRET
        assert runtime.value("paypal.base_url") == "https://api-m.sandbox.paypal.com"
        assert changes == [frozenset({"paypal.client_secret", "paypal.base_url"})]
        await runtime.refresh(pay)
        assert len(changes) == 1  # nothing changed: nobody told
        await client.delete("/api/v1/admin/settings/provider.paypal.client_secret", headers=admin)
        await runtime.refresh(pay)
        assert runtime.value("paypal.client_secret") == "env-secret"
        assert changes[-1] == frozenset({"paypal.client_secret"})
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=0.5) as down:
        with pytest.raises(httpx.HTTPError):
            await runtime.refresh(down)  # admin unreachable: run_forever logs it …
    assert runtime.value("paypal.base_url") == "https://api-m.sandbox.paypal.com"  # … and keeps values
