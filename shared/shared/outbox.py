"""Transactional outbox: events are written in the producer's own database transaction (so a
rolled-back change publishes nothing) and a relay delivers them by HTTP POST to each subscriber's
`/internal/events`, retrying with exponential backoff and jitter and dead-lettering after the
retry budget. Several relay replicas are safe: rows are claimed with `FOR UPDATE SKIP LOCKED`
(PostgreSQL) and a short lease, so a crashed relay's claims are picked up again.

A service declares the table with two lines:

    class OutboxMessage(OutboxMixin, Base):
        pass
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import Index, String, Text, UniqueConstraint, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.db import BigIntPK, Database, JSONType, for_update, utcnow
from shared.events import EventEnvelope, current_trace, subscribers_for
from shared.logging import get_logger
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_DEAD, OUTBOX_DELIVERED, OUTBOX_FAILED

log = get_logger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
_DIRTY = "outbox_dirty"


class OutboxMixin:
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    subscriber: Mapped[str] = mapped_column(String(64), nullable=False)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            UniqueConstraint("event_id", "subscriber"),
            Index("ix_outbox_message_due", "status", "next_attempt_at"),
        )


def outbox_table_ops(op: Any) -> None:
    """Alembic `upgrade()` helper creating the outbox table exactly as `OutboxMixin` declares it."""
    from shared.db import UTCDateTime

    op.create_table(
        "outbox_message",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("subscriber", sa.String(64), nullable=False),
        sa.Column("envelope", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_message"),
        sa.UniqueConstraint("event_id", "subscriber", name="uq_outbox_message_event_id_subscriber"),
    )
    op.create_index("ix_outbox_message_due", "outbox_message", ["status", "next_attempt_at"])


async def publish(
    session: AsyncSession,
    model: type[OutboxMixin],
    *,
    event_type: str,
    producer: str,
    data: Mapping[str, Any],
    subject_id: str | None = None,
    subscriptions: dict[str, tuple[str, ...]] | None = None,
) -> EventEnvelope:
    """Add the event to the caller's transaction (one row per subscriber). Nothing is sent
    unless that transaction commits."""
    envelope = EventEnvelope(
        type=event_type, producer=producer, subject_id=subject_id, data=dict(data), trace=current_trace()
    )
    payload = envelope.model_dump(mode="json")
    factory: Any = model  # a mapped subclass of the mixin
    for subscriber in subscribers_for(event_type, producer, subscriptions):
        session.add(
            factory(
                event_id=envelope.id,
                event_type=event_type,
                subscriber=subscriber,
                envelope=payload,
                status=PENDING,
                attempts=0,
                next_attempt_at=utcnow(),
            )
        )
    session.info[_DIRTY] = True
    return envelope


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        model: type[OutboxMixin],
        *,
        service: str,
        http: httpx.AsyncClient,
        endpoints: Mapping[str, str],
        api_key: str,
        poll_interval: float = 0.25,
        batch_size: int = 50,
        max_attempts: int = 12,
        base_delay: float = 0.5,
        max_delay: float = 300.0,
        lease_seconds: float = 30.0,
        request_timeout: float = 10.0,
    ) -> None:
        self.db = db
        self.model = model
        self.service = service
        self.http = http
        self.endpoints = dict(endpoints)
        self.api_key = api_key
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = timedelta(seconds=lease_seconds)
        self.request_timeout = request_timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        db.commit_hooks.append(self._on_commit)

    # -- wake-up on commit (low latency without hammering the database) ------------------------
    def _on_commit(self, session: Session) -> None:
        if session.info.pop(_DIRTY, False):
            self.wake()

    def wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def backoff(self, attempts: int) -> float:
        """Seconds before retry number `attempts` (1-based): exponential, capped, half jitter."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempts - 1)))
        return cap / 2 + random.uniform(0, cap / 2)

    async def _claim(self) -> list[tuple[int, str, dict[str, Any], int]]:
        m = self.model
        async with self.db.sessionmaker() as session, session.begin():
            now = utcnow()
            stmt = (
                select(m)
                .where(
                    m.status == PENDING,
                    m.next_attempt_at <= now,
                    or_(m.locked_until.is_(None), m.locked_until < now),
                )
                .order_by(m.id)
                .limit(self.batch_size)
            )
            rows = (await session.scalars(for_update(stmt, session, skip_locked=True))).all()
            for row in rows:
                row.locked_until = now + self.lease
            return [(r.id, r.subscriber, dict(r.envelope), r.attempts) for r in rows]

    async def _deliver(self, subscriber: str, envelope: dict[str, Any]) -> str | None:
        """None on success, else a short error description."""
        base = self.endpoints.get(subscriber)
        if not base:
            return f"no endpoint configured for {subscriber}"
        headers = {"X-API-Key": self.api_key}
        rid = (envelope.get("trace") or {}).get("request_id")
        if rid:
            headers["X-Request-ID"] = rid
        try:
            resp = await self.http.post(
                f"{base.rstrip('/')}/internal/events",
                json=envelope,
                headers=headers,
                timeout=self.request_timeout,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        if 200 <= resp.status_code < 300:
            return None
        return f"HTTP {resp.status_code}"

    async def run_once(self) -> int:
        claimed = await self._claim()
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._deliver(sub, env) for _, sub, env, _ in claimed))
        m = self.model
        async with self.db.sessionmaker() as session, session.begin():
            now = utcnow()
            for (row_id, subscriber, _env, attempts), error in zip(claimed, results, strict=True):
                if error is None:
                    values: dict[str, Any] = {
                        "status": DELIVERED,
                        "delivered_at": now,
                        "locked_until": None,
                        "attempts": attempts + 1,
                        "last_error": None,
                    }
                    OUTBOX_DELIVERED.labels(self.service, subscriber).inc()
                else:
                    n = attempts + 1
                    OUTBOX_FAILED.labels(self.service, subscriber).inc()
                    values = {"attempts": n, "locked_until": None, "last_error": error[:500]}
                    if n >= self.max_attempts:
                        values["status"] = DEAD
                        OUTBOX_DEAD.labels(self.service, subscriber).inc()
                        log.warning("outbox_dead_lettered", subscriber=subscriber, row=row_id, error=error)
                    else:
                        values["next_attempt_at"] = now + timedelta(seconds=self.backoff(n))
                await session.execute(update(m).where(m.id == row_id).values(**values))
        return len(claimed)

    async def refresh_gauges(self) -> None:
        m = self.model
        async with self.db.sessionmaker() as session:
            rows = (await session.execute(select(m.status, func.count()).group_by(m.status))).all()
        counts = {status: n for status, n in rows}
        for status in (PENDING, DEAD):
            OUTBOX_BACKLOG.labels(self.service, status).set(counts.get(status, 0))

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            # Clear before the pass: a commit during the pass sets it again and is not lost.
            self._wake.clear()
            try:
                processed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep relaying; the database may be briefly unavailable
                log.warning("outbox_relay_error", error=type(exc).__name__)
                processed = 0
            if processed < self.batch_size and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        if self._task is not None:
            # Let an in-flight batch finish (cancelling mid-query would strand a connection).
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        if self._on_commit in self.db.commit_hooks:
            self.db.commit_hooks.remove(self._on_commit)


# -- dead letters (used by admin-service through /internal/outbox) -----------------------------


async def outbox_stats(session: AsyncSession, model: type[OutboxMixin]) -> dict[str, int]:
    rows = (await session.execute(select(model.status, func.count()).group_by(model.status))).all()
    out = {PENDING: 0, DELIVERED: 0, DEAD: 0}
    out.update({status: n for status, n in rows})
    return out


async def list_dead_letters(
    session: AsyncSession, model: type[OutboxMixin], *, limit: int = 100
) -> list[OutboxMixin]:
    stmt = select(model).where(model.status == DEAD).order_by(model.id).limit(limit)
    return list((await session.scalars(stmt)).all())


async def replay_dead_letters(
    session: AsyncSession, model: type[OutboxMixin], ids: list[int] | None = None
) -> int:
    stmt = update(model).where(model.status == DEAD)
    if ids is not None:
        stmt = stmt.where(model.id.in_(ids))
    result: Any = await session.execute(
        stmt.values(status=PENDING, attempts=0, next_attempt_at=utcnow(), locked_until=None)
    )
    session.info[_DIRTY] = True
    return int(result.rowcount or 0)
