"""The hash chain: verification, tamper detection, the append-only trigger, serialised appends."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx
import pytest

from audit_service.chain.hashing import GENESIS, entry_hash
from shared.testing.plugin import _asyncpg_dsn


async def connect(client: httpx.AsyncClient) -> asyncpg.Connection:
    return await asyncpg.connect(_asyncpg_dsn(client.database_url), server_settings={"search_path": "audit"})


async def test_verify_is_green_on_an_intact_chain(fresh_client: httpx.AsyncClient, admin: dict, h) -> None:
    for i in range(5):
        await h.post_entry(fresh_client, action=f"test.step_{i}", details={"i": i, "note": "ঠিক আছে"})
    resp = await fresh_client.get("/api/v1/audit/verify", headers=admin)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["valid"], body["checked"], body["first_broken_id"], body["head_id"]) == (True, 5, None, 5)


async def test_verify_pinpoints_a_row_altered_directly_in_the_database(
    fresh_client: httpx.AsyncClient, admin: dict, h
) -> None:
    for i in range(6):
        await h.post_entry(fresh_client, action=f"test.step_{i}", details={"amount": "10.00"})
    conn = await connect(fresh_client)
    try:
        # A superuser session can switch triggers off (replica role): what an attacker with DB access does.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("""UPDATE audit_entry SET details = '{"amount": "1.00"}' WHERE id = 4""")
    finally:
        await conn.close()
    body = (await fresh_client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (body["valid"], body["first_broken_id"], body["reason"], body["checked"]) == (
        False,
        4,
        "hash_mismatch",
        3,
    )


async def test_rehashing_an_altered_row_breaks_the_next_link(
    fresh_client: httpx.AsyncClient, admin: dict, h
) -> None:
    for i in range(4):
        await h.post_entry(fresh_client, action=f"test.step_{i}")
    conn = await connect(fresh_client)
    try:
        await conn.execute("SET session_replication_role = replica")
        row = dict(await conn.fetchrow("SELECT * FROM audit_entry WHERE id = 2"))
        row["action"], row["details"] = "test.forged", json.loads(row["details"])
        await conn.execute(
            "UPDATE audit_entry SET action = $1, hash = $2 WHERE id = 2",
            "test.forged",
            entry_hash(row["prev_hash"], row),
        )
    finally:
        await conn.close()
    body = (await fresh_client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (body["valid"], body["first_broken_id"], body["reason"]) == (False, 3, "prev_hash_mismatch")


async def test_a_deleted_row_is_reported_as_a_gap(fresh_client: httpx.AsyncClient, admin: dict, h) -> None:
    for i in range(4):
        await h.post_entry(fresh_client, action=f"test.step_{i}")
    conn = await connect(fresh_client)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("DELETE FROM audit_entry WHERE id = 2")
    finally:
        await conn.close()
    body = (await fresh_client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (body["valid"], body["first_broken_id"], body["reason"]) == (False, 3, "gap")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET action = 'x' WHERE id = 1",
        "DELETE FROM audit_entry WHERE id = 1",
        "TRUNCATE audit_entry",
        "UPDATE audit_checkpoint SET signature = 'x'",
        "DELETE FROM audit_checkpoint",
        # The purge switch alone is not enough: only entries behind a purge checkpoint may go.
        "SET audit.purge = 'on'; DELETE FROM audit_entry WHERE id = 1",
    ],
)
async def test_update_and_delete_are_refused_by_the_trigger(
    client: httpx.AsyncClient, admin: dict, pg: asyncpg.Connection, h, statement: str
) -> None:
    await h.post_entry(client)
    assert (await client.post("/api/v1/audit/checkpoints", headers=admin)).status_code == 201
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pg.execute(statement)
    assert await pg.fetchval("SELECT count(*) FROM audit_entry WHERE id = 1") == 1


async def test_concurrent_appends_keep_one_linear_chain(
    fresh_client: httpx.AsyncClient, admin: dict, h
) -> None:
    async def append(i: int) -> int:
        return await h.post_entry(fresh_client, action="test.concurrent", details={"i": i})

    ids = await asyncio.gather(*(append(i) for i in range(40)))
    assert sorted(ids) == list(range(1, 41))
    conn = await connect(fresh_client)
    try:
        rows = await conn.fetch("SELECT id, prev_hash, hash FROM audit_entry ORDER BY id")
    finally:
        await conn.close()
    assert rows[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(rows, rows[1:], strict=False))
    assert len({r["prev_hash"] for r in rows}) == 40  # no fork: every hash has one successor
    body = (await fresh_client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (body["valid"], body["checked"]) == (True, 40)


async def test_verify_a_range(fresh_client: httpx.AsyncClient, admin: dict, h) -> None:
    for _ in range(6):
        await h.post_entry(fresh_client)
    body = (
        await fresh_client.get("/api/v1/audit/verify", params={"from_id": 2, "to_id": 4}, headers=admin)
    ).json()
    assert (body["valid"], body["checked"], body["from_id"], body["to_id"]) == (True, 3, 2, 4)
    bad = await fresh_client.get("/api/v1/audit/verify", params={"from_id": 5, "to_id": 4}, headers=admin)
    assert bad.status_code == 400
