"""Signed checkpoints (HMAC and Ed25519), their export, and retention purge behind a checkpoint."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import asyncpg
import httpx
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from audit_service.chain.checkpoints import purge_expired
from audit_service.chain.signing import CheckpointSigner, checkpoint_message
from audit_service.main import create_app
from audit_service.settings import Settings
from shared.db import utcnow
from shared.testing.plugin import _asyncpg_dsn, asgi_client


async def test_checkpoint_is_signed_and_exported(fresh_client: httpx.AsyncClient, admin: dict, h) -> None:
    for _ in range(3):
        await h.post_entry(fresh_client)
    resp = await fresh_client.post("/api/v1/audit/checkpoints", headers=admin)
    assert resp.status_code == 201, resp.text
    cp = resp.json()
    assert (cp["entry_id"], cp["algorithm"], cp["reason"]) == (3, "hmac-sha256", "manual")
    export = (await fresh_client.get("/api/v1/audit/checkpoints", headers=admin)).json()
    assert export["checkpoints"][0]["signature"] == cp["signature"]
    head = (await fresh_client.get("/api/v1/audit/logs/3", headers=admin)).json()
    assert cp["entry_hash"] == head["hash"]
    # The checkpoint itself was audited, after the head it signs.
    latest = (await fresh_client.get("/api/v1/audit/logs", params={"limit": 1}, headers=admin)).json()[
        "items"
    ][0]
    assert (latest["id"], latest["action"], latest["actor_type"]) == (4, "audit.checkpoint_created", "user")
    verify = (await fresh_client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (verify["valid"], verify["checkpoints_checked"]) == (True, 1)


async def test_a_forged_checkpoint_fails_verification(
    fresh_client: httpx.AsyncClient, admin: dict, h
) -> None:
    await h.post_entry(fresh_client)
    await fresh_client.post("/api/v1/audit/checkpoints", headers=admin)
    conn = await asyncpg.connect(
        _asyncpg_dsn(fresh_client.database_url), server_settings={"search_path": "audit"}
    )
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE audit_checkpoint SET signature = repeat('0', 64)")
    finally:
        await conn.close()
    body = (await fresh_client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (body["valid"], body["reason"], body["broken_checkpoint_ids"]) == (
        False,
        "checkpoint_mismatch",
        [1],
    )


async def test_checkpoint_of_an_empty_trail_is_a_conflict(
    fresh_client: httpx.AsyncClient, admin: dict
) -> None:
    resp = await fresh_client.post("/api/v1/audit/checkpoints", headers=admin)
    assert resp.status_code == 409
    assert resp.json()["code"] == "empty_chain"


def test_ed25519_checkpoints_verify_with_the_published_public_key() -> None:
    seed = base64.b64encode(bytes(range(32))).decode()
    signer = CheckpointSigner("ed25519", seed, "ed-1")
    msg = checkpoint_message(7, "ab" * 32, utcnow())
    sig = signer.sign(msg)
    assert signer.verify(msg, sig, algorithm="ed25519", key_id="ed-1")
    assert not signer.verify(msg + b"x", sig, algorithm="ed25519", key_id="ed-1")
    public = load_pem_public_key(signer.public_key_pem().encode())
    public.verify(base64.b64decode(sig), msg)  # raises if invalid: an auditor needs no secret


async def test_purge_keeps_the_chain_verifiable_from_its_checkpoint(
    fresh_client: httpx.AsyncClient, admin: dict, h
) -> None:
    for _ in range(5):
        await h.post_entry(fresh_client)
    app_db = fresh_client._transport.app.state.db  # type: ignore[attr-defined]
    signer = fresh_client._transport.app.state.signer  # type: ignore[attr-defined]
    async for session in app_db.session():
        # Ten days from now, with a 5-day retention, entries 1–5 have expired.
        result = await purge_expired(session, signer, retention_days=5, now=utcnow() + timedelta(days=10))
    assert (result.purged, result.through_entry_id) == (5, 5)
    await h.post_entry(fresh_client, action="test.after_purge")
    body = (await fresh_client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (body["valid"], body["checked"], body["from_id"], body["head_id"]) == (True, 1, 6, 6)
    export = (await fresh_client.get("/api/v1/audit/checkpoints", headers=admin)).json()
    assert export["checkpoints"][0]["purged_through"] == 5


async def test_api_purge_cannot_shorten_the_retention_policy(client: httpx.AsyncClient, admin: dict) -> None:
    resp = await client.post("/api/v1/audit/retention/purge", params={"retention_days": 1}, headers=admin)
    assert resp.status_code == 400
    assert resp.json()["code"] == "retention_too_short"
    dry = await client.post("/api/v1/audit/retention/purge", params={"dry_run": True}, headers=admin)
    assert dry.status_code == 200
    assert (dry.json()["purged"], dry.json()["dry_run"]) == (0, True)


async def test_periodic_task_checkpoints_a_moved_head_once(
    fresh_client: httpx.AsyncClient, admin: dict, redis_url: str, h
) -> None:
    await h.post_entry(fresh_client)
    settings = Settings(
        environment="test",
        database_url=fresh_client.database_url,
        redis_url=redis_url,
        outbox_relay_enabled=False,
        audit_checkpoint_interval_seconds=0.1,
    )
    async with asgi_client(create_app(settings)):
        await asyncio.sleep(0.8)  # several rounds; the head moved once
    export = (await fresh_client.get("/api/v1/audit/checkpoints", headers=admin)).json()
    assert [(c["entry_id"], c["reason"]) for c in export["checkpoints"]] == [(1, "periodic")]
