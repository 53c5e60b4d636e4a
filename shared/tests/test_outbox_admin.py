"""The outbox admin routes (`shared.outbox_admin`): stats, dead letters, replay — service key only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from shared.db import Database, ModelBase, new_metadata, utcnow
from shared.errors import install_error_handlers
from shared.outbox import DEAD, DELIVERED, PENDING, OutboxMixin
from shared.outbox_admin import include_outbox_admin
from shared.settings import ServiceSettings

ADMIN_KEY = {"X-API-Key": "dev-admin-service-key"}


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class Outbox(OutboxMixin, Base):
    pass


class PaymentSettings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "payment-service"


def row(status: str, event_type: str = "payment.succeeded") -> Outbox:
    env_id = uuid.uuid4()
    return Outbox(
        event_id=env_id,
        event_type=event_type,
        subscriber="audit-service",
        envelope={"id": str(env_id), "type": event_type, "subject_id": "t-1", "data": {"email": "x@y.z"}},
        status=status,
        attempts=12 if status == DEAD else 1,
        next_attempt_at=utcnow(),
        last_error="HTTP 503" if status == DEAD else None,
    )


@pytest.fixture(scope="module")
async def database(make_database) -> AsyncIterator[Database]:
    db = Database(make_database(label="outbox_admin"))
    async with db.engine.begin() as conn:  # test-only schema setup (services use Alembic)
        await conn.run_sync(Base.metadata.create_all)
    yield db
    await db.dispose()


@pytest.fixture
async def setup(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Database, FastAPI]]:
    db = database
    app = FastAPI()
    install_error_handlers(app)
    app.state.db = db
    app.state.settings = PaymentSettings(environment="test")
    assert include_outbox_admin(app, Outbox)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(delete(Outbox))
        s.add_all([row(DEAD), row(DEAD, "payout.failed"), row(PENDING), row(DELIVERED), row(DELIVERED)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        yield client, db, app


async def test_stats_count_rows_by_status(setup) -> None:
    client, _, _ = setup
    resp = await client.get("/internal/outbox/stats", headers=ADMIN_KEY)
    assert resp.status_code == 200
    assert resp.json() == {"service": "payment-service", "pending": 1, "delivered": 2, "dead": 2}


async def test_dead_letters_list_type_and_subject_but_not_the_data(setup) -> None:
    client, _, _ = setup
    resp = await client.get("/internal/outbox/dead-letters", headers=ADMIN_KEY)
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 2
    assert {i["event_type"] for i in body["items"]} == {"payment.succeeded", "payout.failed"}
    assert all(i["subject_id"] == "t-1" and i["last_error"] == "HTTP 503" for i in body["items"])
    assert "x@y.z" not in resp.text


async def test_replay_of_chosen_ids_requeues_only_those_with_a_fresh_budget(setup) -> None:
    client, db, _ = setup
    items = (await client.get("/internal/outbox/dead-letters", headers=ADMIN_KEY)).json()["items"]
    chosen = items[0]["id"]
    resp = await client.post(
        "/internal/outbox/dead-letters/replay", json={"ids": [chosen]}, headers=ADMIN_KEY
    )
    assert resp.status_code == 200
    assert resp.json() == {"service": "payment-service", "replayed": 1}
    async with db.sessionmaker() as s:
        replayed = await s.get(Outbox, chosen)
        assert replayed is not None and (replayed.status, replayed.attempts) == (PENDING, 0)
        dead = (await s.scalars(select(Outbox).where(Outbox.status == DEAD))).all()
    assert [r.id for r in dead] == [items[1]["id"]]


async def test_replay_without_ids_requeues_every_dead_letter(setup) -> None:
    client, _, _ = setup
    resp = await client.post("/internal/outbox/dead-letters/replay", headers=ADMIN_KEY)
    assert resp.json()["replayed"] == 2
    stats = (await client.get("/internal/outbox/stats", headers=ADMIN_KEY)).json()
    assert (stats["dead"], stats["pending"]) == (0, 3)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/internal/outbox/stats"),
        ("GET", "/internal/outbox/dead-letters"),
        ("POST", "/internal/outbox/dead-letters/replay"),
    ],
)
async def test_routes_require_a_service_key(setup, method: str, path: str) -> None:
    client, _, _ = setup
    for headers in ({}, {"X-API-Key": "wrong-key"}):
        resp = await client.request(method, path, headers=headers)
        assert resp.status_code == 401
        assert resp.json()["code"] == "invalid_service_key"


async def test_including_twice_adds_the_routes_once(setup) -> None:
    client, _, app = setup
    assert not include_outbox_admin(app, Outbox)
    resp = await client.get("/internal/outbox/stats", headers=ADMIN_KEY)
    assert resp.status_code == 200
