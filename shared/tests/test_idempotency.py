"""shared.idempotency on real PostgreSQL: replay, mismatch, concurrent duplicates, failure release,
the stored response committed with the effect, takeover of abandoned keys, retention."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import httpx
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import Depends, FastAPI, Request
from sqlalchemy import String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Database, ModelBase, new_metadata, utcnow
from shared.deps import SessionDep
from shared.errors import Conflict, Unprocessable, install_error_handlers
from shared.idempotency import (
    COMPLETED,
    IN_FLIGHT,
    IdempotencyKeyMixin,
    claim_key,
    idempotency_key_header,
    idempotency_table_ops,
    idempotent_response,
    purge_expired_keys,
    request_fingerprint,
)
from shared.testing.plugin import asgi_client


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class IdemKey(IdempotencyKeyMixin, Base):
    pass


class Charge(Base):
    """The demo effect."""

    __tablename__ = "charge"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user: Mapped[str] = mapped_column(String(64))
    amount: Mapped[str] = mapped_column(String(32))


class Controls:
    gate: asyncio.Event | None = None
    fail_before_complete = False
    fail_after_complete = False


def build_app(db: Database, controls: Controls) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.db = db

    @app.post("/charges")
    async def create_charge(
        body: dict[str, Any],
        request: Request,
        session: SessionDep,
        key: Annotated[str | None, Depends(idempotency_key_header)],
    ) -> Any:
        user = request.headers.get("x-user", "u1")

        async def effect() -> tuple[int, Any]:
            charge = Charge(user=user, amount=str(body.get("amount")))
            session.add(charge)
            await session.flush()
            if controls.gate is not None:
                await controls.gate.wait()
            if controls.fail_before_complete:
                raise Conflict("effect failed", code="effect_failed")
            return 201, {"id": str(charge.id), "amount": charge.amount}

        response = await idempotent_response(request, session, IdemKey, key=key, scope=user, effect=effect)
        if controls.fail_after_complete:
            raise Unprocessable("failed after the response was stored", code="late_failure")
        return response

    return app


@pytest.fixture(scope="module")
async def db(make_database) -> AsyncIterator[Database]:
    url = make_database(label="idempotency")
    database = Database(url)

    def create(sync_conn: Any) -> None:
        idempotency_table_ops(Operations(MigrationContext.configure(sync_conn)))
        Charge.__table__.create(sync_conn)

    async with database.engine.begin() as conn:
        await conn.run_sync(create)
    yield database
    await database.dispose()


@pytest.fixture
async def env(db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Controls]]:
    controls = Controls()
    async with asgi_client(build_app(db, controls)) as client:
        yield client, controls


async def _charges(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Charge)) or 0)


async def _row(db: Database, key: str) -> IdemKey | None:
    async with db.sessionmaker() as session:
        return await session.scalar(select(IdemKey).where(IdemKey.key == key))


def _key() -> str:
    return f"key-{uuid.uuid4()}"


async def test_same_key_and_body_replays_the_stored_status_and_body(env, db) -> None:
    client, _ = env
    before = await _charges(db)
    headers = {"Idempotency-Key": _key()}
    first = await client.post("/charges", json={"amount": "10.00"}, headers=headers)
    second = await client.post("/charges", json={"amount": "10.00"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await _charges(db) == before + 1


async def test_same_key_with_a_different_body_is_422(env, db) -> None:
    client, _ = env
    headers = {"Idempotency-Key": _key()}
    await client.post("/charges", json={"amount": "10.00"}, headers=headers)
    resp = await client.post("/charges", json={"amount": "11.00"}, headers=headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == "idempotency_key_reused"


async def test_concurrent_duplicate_in_flight_is_409(env, db) -> None:
    client, controls = env
    controls.gate = asyncio.Event()
    key = _key()
    headers = {"Idempotency-Key": key}
    first = asyncio.create_task(client.post("/charges", json={"amount": "5.00"}, headers=headers))
    for _ in range(500):  # until the first request holds its claim
        if await _row(db, key) is not None:
            break
        await asyncio.sleep(0.01)
    second = await client.post("/charges", json={"amount": "5.00"}, headers=headers)
    controls.gate.set()
    assert second.status_code == 409
    assert second.json()["code"] == "idempotency_request_in_flight"
    assert (await first).status_code == 201


async def test_failed_effect_releases_the_key_so_a_retry_runs(env, db) -> None:
    client, controls = env
    key = _key()
    before = await _charges(db)
    controls.fail_before_complete = True
    assert (
        await client.post("/charges", json={"amount": "1.00"}, headers={"Idempotency-Key": key})
    ).status_code == 409
    assert await _row(db, key) is None and await _charges(db) == before
    controls.fail_before_complete = False
    retry = await client.post("/charges", json={"amount": "1.00"}, headers={"Idempotency-Key": key})
    assert retry.status_code == 201 and await _charges(db) == before + 1


async def test_stored_response_commits_only_with_the_effect(env, db) -> None:
    client, controls = env
    key = _key()
    before = await _charges(db)
    controls.fail_after_complete = True
    resp = await client.post("/charges", json={"amount": "2.00"}, headers={"Idempotency-Key": key})
    assert resp.status_code == 422
    row = await _row(db, key)
    # The effect rolled back, and so did the stored response: nothing to replay.
    assert await _charges(db) == before
    assert row is not None and row.status == IN_FLIGHT and row.response_body is None


async def test_abandoned_in_flight_key_is_taken_over_after_the_timeout(env, db) -> None:
    client, _ = env
    key = _key()
    async with db.sessionmaker() as session, session.begin():
        now = utcnow()
        session.add(
            IdemKey(
                scope="u1",
                key=key,
                owner="dead-process",
                status=IN_FLIGHT,
                fingerprint=request_fingerprint("POST", "/charges", {"amount": "3.00"}),
                created_at=now - timedelta(minutes=5),
                locked_until=now - timedelta(minutes=4),
                expires_at=now + timedelta(hours=23),
            )
        )
    resp = await client.post("/charges", json={"amount": "3.00"}, headers={"Idempotency-Key": key})
    assert resp.status_code == 201
    row = await _row(db, key)
    assert row is not None and row.status == COMPLETED and row.owner != "dead-process"


async def test_a_live_in_flight_key_is_not_taken_over(db) -> None:
    key = _key()
    fp = request_fingerprint("POST", "/x", {"a": 1})
    claim = await claim_key(db.sessionmaker, IdemKey, scope="s", key=key, fingerprint=fp)
    with pytest.raises(Conflict):
        await claim_key(db.sessionmaker, IdemKey, scope="s", key=key, fingerprint=fp)
    await claim.release()


async def test_a_claim_taken_over_cannot_store_its_response(db) -> None:
    key = _key()
    fp = request_fingerprint("POST", "/x", {"a": 1})
    slow = await claim_key(
        db.sessionmaker, IdemKey, scope="s", key=key, fingerprint=fp, in_flight_timeout=timedelta(seconds=0)
    )
    fast = await claim_key(db.sessionmaker, IdemKey, scope="s", key=key, fingerprint=fp)
    assert fast.owner != slow.owner
    async with db.sessionmaker() as session:
        with pytest.raises(Conflict):
            await slow.complete(session, 201, {"late": True})
        await session.rollback()
    async with db.sessionmaker() as session, session.begin():
        await fast.complete(session, 201, {"ok": True})
    replay = await claim_key(db.sessionmaker, IdemKey, scope="s", key=key, fingerprint=fp)
    assert replay.replay is not None and replay.replay.body == {"ok": True}


async def test_keys_are_scoped_per_caller(env, db) -> None:
    client, _ = env
    key = _key()
    a = await client.post(
        "/charges", json={"amount": "4.00"}, headers={"Idempotency-Key": key, "X-User": "a"}
    )
    b = await client.post(
        "/charges", json={"amount": "9.00"}, headers={"Idempotency-Key": key, "X-User": "b"}
    )
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


async def test_records_are_kept_24_hours_then_purged(env, db) -> None:
    client, _ = env
    key = _key()
    await client.post("/charges", json={"amount": "6.00"}, headers={"Idempotency-Key": key})
    row = await _row(db, key)
    assert row is not None and row.expires_at - row.created_at >= timedelta(hours=24)
    async with db.sessionmaker() as session, session.begin():
        assert await purge_expired_keys(session, IdemKey) == 0 or await _row(db, key) is not None
        await session.execute(update(IdemKey).where(IdemKey.key == key).values(expires_at=utcnow()))
    async with db.sessionmaker() as session, session.begin():
        assert await purge_expired_keys(session, IdemKey) >= 1
    assert await _row(db, key) is None
    with pytest.raises(ValueError):
        await claim_key(
            db.sessionmaker, IdemKey, scope="s", key=_key(), fingerprint="f", retention=timedelta(hours=1)
        )


async def test_without_a_key_the_effect_simply_runs(env, db) -> None:
    client, _ = env
    before = await _charges(db)
    await client.post("/charges", json={"amount": "7.00"})
    await client.post("/charges", json={"amount": "7.00"})
    assert await _charges(db) == before + 2


async def test_malformed_key_is_400(env) -> None:
    client, _ = env
    resp = await client.post("/charges", json={"amount": "8.00"}, headers={"Idempotency-Key": "has space"})
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_idempotency_key"


def test_fingerprint_ignores_key_order_and_spacing() -> None:
    assert request_fingerprint("POST", "/p", b'{"a": 1, "b": "2"}') == request_fingerprint(
        "post", "/p", {"b": "2", "a": 1}
    )
    assert request_fingerprint("POST", "/p", {"a": 1}) != request_fingerprint("POST", "/q", {"a": 1})
