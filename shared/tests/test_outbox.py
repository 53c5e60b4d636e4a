"""Transactional outbox + inbox: exactly-once effect over at-least-once delivery (ARCHITECTURE §7).

Real PostgreSQL for both sides, a real HTTP subscriber, two relays racing for the same rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.db import Database, ModelBase, new_metadata
from shared.errors import install_error_handlers
from shared.events import EventEnvelope, subscribers_for
from shared.inbox import InboxMixin, events_router
from shared.outbox import DEAD, DELIVERED, OutboxMixin, OutboxRelay, publish, replay_dead_letters
from shared.settings import ServiceSettings
from shared.testing.servers import serve


class ProducerBase(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class Outbox(OutboxMixin, ProducerBase):
    pass


class Thing(ProducerBase):
    __tablename__ = "thing"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(50))


class ConsumerBase(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class Inbox(InboxMixin, ConsumerBase):
    pass


class Effect(ConsumerBase):
    """One row per handled event: a second row for the same event would be a double effect."""

    __tablename__ = "effect"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column()


class AuditSettings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "audit-service"


class FailFirstAttempts:
    """Subscriber outage: the first `n` deliveries of every event answer 503."""

    def __init__(self, app: ASGIApp, n: int) -> None:
        self.app, self.n = app, n
        self.seen: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/internal/events":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        event_id = EventEnvelope.model_validate_json(body).id
        self.seen[str(event_id)] += 1
        if self.seen[str(event_id)] <= self.n:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"down"})
            return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def create_tables(db: Database, base: type[ModelBase]) -> None:
    async with db.engine.begin() as conn:  # test-only schema setup (services use Alembic)
        await conn.run_sync(base.metadata.create_all)


@pytest.fixture
async def producer_db(make_database) -> AsyncIterator[Database]:
    db = Database(make_database(label="outbox_producer"))
    await create_tables(db, ProducerBase)
    yield db
    await db.dispose()


@pytest.fixture
async def consumer(make_database) -> AsyncIterator[tuple[str, Database, FailFirstAttempts]]:
    db = Database(make_database(label="outbox_consumer"))
    await create_tables(db, ConsumerBase)

    async def on_thing(session: AsyncSession, envelope: EventEnvelope) -> None:
        session.add(Effect(event_id=envelope.id))

    api = FastAPI()
    install_error_handlers(api)
    api.state.db = db
    api.state.settings = AuditSettings(environment="test")
    api.include_router(events_router(Inbox, {"thing.*": on_thing}))
    flaky = FailFirstAttempts(api, n=2)
    async with serve(flaky, lifespan="off") as url:
        yield url, db, flaky
    await db.dispose()


def make_relay(
    db_url: str, subscriber_url: str, http: httpx.AsyncClient, **kw
) -> tuple[Database, OutboxRelay]:
    db = Database(db_url)
    relay = OutboxRelay(
        db,
        Outbox,
        service="user-service",
        http=http,
        endpoints={"audit-service": subscriber_url},
        api_key="dev-user-service-key",
        poll_interval=0.05,
        base_delay=0.05,
        max_delay=0.2,
        **kw,
    )
    return db, relay


SUBSCRIPTIONS = {"audit-service": ("*",)}


async def publish_things(db: Database, n: int) -> list[uuid.UUID]:
    ids = []
    async with db.sessionmaker() as session, session.begin():
        for i in range(n):
            thing = Thing(name=f"t{i}")
            session.add(thing)
            env = await publish(
                session,
                Outbox,
                event_type="thing.created",
                producer="user-service",
                data={"name": thing.name},
                subscriptions=SUBSCRIPTIONS,
            )
            ids.append(env.id)
    return ids


async def wait_until(predicate, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_two_relays_deliver_each_event_exactly_once_despite_a_flaky_subscriber(
    producer_db: Database, consumer
) -> None:
    url, consumer_db, flaky = consumer
    ids = await publish_things(producer_db, 25)
    async with httpx.AsyncClient() as http:
        db1, relay1 = make_relay(producer_db.url, url, http)
        db2, relay2 = make_relay(producer_db.url, url, http)
        relay1.start()
        relay2.start()
        try:

            async def all_delivered() -> bool:
                async with producer_db.sessionmaker() as s:
                    n = await s.scalar(
                        select(func.count()).select_from(Outbox).where(Outbox.status == DELIVERED)
                    )
                return n == len(ids)

            await wait_until(all_delivered)
        finally:
            await relay1.stop()
            await relay2.stop()
            await db1.dispose()
            await db2.dispose()
    async with consumer_db.sessionmaker() as s:
        effects = Counter((await s.scalars(select(Effect.event_id))).all())
        inbox = (await s.scalars(select(Inbox.event_id))).all()
    assert set(effects) == set(ids)
    assert all(n == 1 for n in effects.values()), "an event had a double effect"
    assert sorted(inbox) == sorted(ids)
    # The subscriber really failed first: every event needed at least three attempts.
    assert all(flaky.seen[str(i)] >= 3 for i in ids)


async def test_redelivering_the_same_event_has_no_second_effect(consumer) -> None:
    url, consumer_db, flaky = consumer
    flaky.n = 0
    envelope = EventEnvelope(type="thing.created", producer="user-service", data={})
    async with httpx.AsyncClient() as http:
        headers = {"X-API-Key": "dev-user-service-key"}
        body = envelope.model_dump(mode="json")
        first = await http.post(f"{url}/internal/events", json=body, headers=headers)
        second = await http.post(f"{url}/internal/events", json=body, headers=headers)
        unauth = await http.post(f"{url}/internal/events", json=body)
        impostor = await http.post(
            f"{url}/internal/events",
            json={**body, "id": str(uuid.uuid4())},
            headers={"X-API-Key": "dev-payment-service-key"},  # a real key, but not user-service's
        )
    assert first.json()["status"] == "processed" and second.json()["status"] == "duplicate"
    assert unauth.status_code == 401
    assert impostor.status_code == 403 and impostor.json()["code"] == "producer_mismatch"
    async with consumer_db.sessionmaker() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Effect).where(Effect.event_id == envelope.id))
            == 1
        )


async def test_a_rolled_back_transaction_publishes_nothing(producer_db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with producer_db.sessionmaker() as session, session.begin():
            session.add(Thing(name="doomed"))
            await publish(
                session,
                Outbox,
                event_type="thing.created",
                producer="user-service",
                data={},
                subscriptions=SUBSCRIPTIONS,
            )
            await session.flush()
            raise RuntimeError("business rule failed after publishing")
    async with producer_db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Outbox)) == 0
        assert await s.scalar(select(func.count()).select_from(Thing)) == 0


async def test_dead_letter_after_the_retry_budget_then_replay_delivers_once(
    producer_db: Database, consumer
) -> None:
    url, consumer_db, flaky = consumer
    flaky.n = 2
    [event_id] = await publish_things(producer_db, 1)
    async with httpx.AsyncClient() as http:
        db, relay = make_relay(producer_db.url, url, http, max_attempts=2)
        try:
            for _ in range(50):
                await relay.run_once()
                async with producer_db.sessionmaker() as s:
                    row = await s.scalar(select(Outbox))
                if row.status == DEAD:
                    break
                await asyncio.sleep(0.1)
            assert row.status == DEAD and row.attempts == 2 and row.last_error == "HTTP 503"
            async with producer_db.sessionmaker() as s, s.begin():
                assert await replay_dead_letters(s, Outbox) == 1
            for _ in range(50):
                await relay.run_once()
                async with producer_db.sessionmaker() as s:
                    row = await s.scalar(select(Outbox))
                if row.status == DELIVERED:
                    break
                await asyncio.sleep(0.1)
        finally:
            await relay.stop()
            await db.dispose()
    assert row.status == DELIVERED
    async with consumer_db.sessionmaker() as s:
        assert (await s.scalars(select(Effect.event_id))).all() == [event_id]


def test_subscription_table_routes_by_pattern_and_never_to_the_producer() -> None:
    assert subscribers_for("payment.succeeded", "payment-service") == ["audit-service", "transaction-service"]
    assert subscribers_for("user.registered", "user-service") == ["audit-service", "notification-service"]
    assert subscribers_for("audit.checkpoint", "audit-service") == []
