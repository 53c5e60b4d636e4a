"""The delivery worker.

Claim: `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL) of due rows — `queued` with `scheduled_for`
NULL or past, or `sending` whose lease (`locked_until`) expired because a worker died between
claim and completion — then mark them `sending` with a fresh `claim_token` and a new lease, and
commit. Send outside any transaction. Complete with an UPDATE guarded by the claim token, so a
worker that lost its lease cannot overwrite the newer claim. A claim counts as an attempt, so a
message that keeps killing workers still reaches the dead-letter budget.

Platform-wide channel switches (`channel_enabled`): due messages of a switched-off channel are
suppressed instead of claimed, and the switch is re-checked before each send (`switches.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from notification_service import metrics
from notification_service.catalog import is_mandatory
from notification_service.channels.base import Outgoing, ProviderChain, ProviderError
from notification_service.channels.push import UNREGISTERED
from notification_service.delivery.switches import CHANNEL_DISABLED, due, suppress_due
from notification_service.models import (
    CHANNELS,
    DEAD,
    QUEUED,
    SENDING,
    SENT,
    SUPPRESSED,
    DeliveryAttempt,
    DeviceToken,
    Notification,
)
from shared.db import Database, for_update, utcnow
from shared.logging import get_logger

log = get_logger(__name__)

DIRTY = "notifications_dirty"  # session.info flag: new work committed → wake the worker


@dataclass(frozen=True, slots=True)
class Claim:
    id: uuid.UUID
    token: uuid.UUID
    attempt: int
    outgoing: Outgoing
    claimed_at: float  # time.monotonic() at claim: the lease is surely ours until claimed_at + lease


@dataclass(frozen=True, slots=True)
class Outcome:
    provider: str
    provider_message_id: str | None
    error: ProviderError | None
    latency_ms: int
    suppressed: bool = False  # channel switched off before the send: nothing was attempted


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        chains: dict[str, ProviderChain],
        *,
        batch_size: int = 20,
        concurrency: int = 10,
        poll_interval: float = 0.5,
        lease_seconds: float = 60.0,
        max_attempts: int = 6,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
        workers: int = 1,
        channel_enabled: Callable[[str], bool] | None = None,
    ) -> None:
        """`channel_enabled(channel)`: the platform-wide switch (read on every pass and send)."""
        self.db = db
        self.chains = chains
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.workers = max(1, workers)
        self.channel_enabled = channel_enabled or (lambda _channel: True)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        db.commit_hooks.append(self._on_commit)

    # -- wake-up when a transaction that enqueued work commits --------------------------------
    def _on_commit(self, session: Session) -> None:
        if session.info.pop(DIRTY, False):
            self.wake()

    def wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def backoff(self, attempt: int) -> float:
        """Seconds before retry after attempt number `attempt` (1-based): exponential, capped,
        with half jitter (so a burst of failures does not retry in lockstep)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return cap / 2 + random.uniform(0, cap / 2)

    def disabled_channels(self) -> tuple[str, ...]:
        return tuple(c for c in CHANNELS if not self.channel_enabled(c))

    # -- claim ----------------------------------------------------------------------------------
    async def claim(self, limit: int | None = None) -> list[Claim]:
        n = Notification
        async with self.db.sessionmaker() as session, session.begin():
            now = utcnow()
            where = due(now)
            if disabled := self.disabled_channels():
                where = and_(where, n.channel.not_in(disabled))  # left to suppress_due()
            stmt = select(n).where(where).order_by(n.created_at).limit(limit or self.batch_size)
            rows = (await session.scalars(for_update(stmt, session, skip_locked=True))).all()
            if not rows:
                return []
            token = uuid.uuid4()
            claimed_at = time.monotonic()
            # One UPDATE for the whole batch (rows are locked by the SELECT above).
            await session.execute(
                update(n)
                .where(n.id.in_([r.id for r in rows]))
                .values(
                    status=SENDING, claim_token=token, locked_until=now + self.lease, attempts=n.attempts + 1
                )
                .execution_options(synchronize_session=False)
            )
            claims = [
                Claim(
                    row.id,
                    token,
                    row.attempts + 1,
                    Outgoing(
                        message_id=str(row.id),
                        channel=row.channel,
                        recipient=row.recipient,
                        subject=row.subject,
                        body_text=row.body_text,
                        body_html=row.body_html,
                        category=row.category,
                        transactional=is_mandatory(row.category),
                        data=dict(row.data or {}),
                    ),
                    claimed_at,
                )
                for row in rows
            ]
            return claims

    # -- send -----------------------------------------------------------------------------------
    async def send(self, claim: Claim) -> Outcome:
        if not self.channel_enabled(claim.outgoing.channel):  # switched off since the claim
            return Outcome("none", None, None, 0, suppressed=True)
        chain = self.chains.get(claim.outgoing.channel)
        provider = chain.pick() if chain else None
        if chain is None or provider is None:
            return Outcome("none", None, ProviderError("no provider configured", retryable=False), 0)
        start = time.perf_counter()
        error: ProviderError | None = None
        message_id: str | None = None
        try:
            message_id = await provider.send(claim.outgoing)
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # a provider bug must not kill the worker; retry later
            error = ProviderError(type(exc).__name__)
        latency = time.perf_counter() - start
        breaker = chain.breakers[provider.name]
        if error is None:
            breaker.record_success()
            metrics.SENT.labels(claim.outgoing.channel, provider.name).inc()
        else:
            if error.retryable:
                breaker.record_failure()
            metrics.FAILED.labels(claim.outgoing.channel, provider.name).inc()
        metrics.LATENCY.labels(claim.outgoing.channel, provider.name).observe(latency)
        metrics.BREAKER_OPEN.labels(provider.name).set(1 if breaker.state == "open" else 0)
        return Outcome(provider.name, message_id, error, int(latency * 1000))

    # -- complete -------------------------------------------------------------------------------
    async def complete(self, claim: Claim, outcome: Outcome) -> bool:
        """Record the attempt and the message's new state. False if the lease was lost."""
        return (await self.complete_many([(claim, outcome)]))[0]

    async def complete_many(self, results: list[tuple[Claim, Outcome]]) -> list[bool]:
        """One transaction for a batch of outcomes (fewer commits → higher throughput)."""
        async with self.db.sessionmaker() as session, session.begin():
            now = utcnow()
            return [await self._record(session, now, claim, outcome) for claim, outcome in results]

    async def _record(self, session: AsyncSession, now: datetime, claim: Claim, outcome: Outcome) -> bool:
        err = outcome.error
        values: dict[str, Any] = {"locked_until": None, "claim_token": None, "updated_at": now}
        if outcome.suppressed:  # switched off after the claim: nothing was attempted
            return await self._finish(
                session, claim, {**values, "status": SUPPRESSED, "status_reason": CHANNEL_DISABLED}
            )
        session.add(
            DeliveryAttempt(
                notification_id=claim.id,
                attempt_no=claim.attempt,
                channel=claim.outgoing.channel,
                provider=outcome.provider,
                ok=err is None,
                provider_message_id=outcome.provider_message_id,
                error=err.message[:500] if err else None,
                latency_ms=outcome.latency_ms,
                created_at=now,
            )
        )
        if err is None:
            values.update(
                status=SENT,
                sent_at=now,
                provider=outcome.provider,
                provider_message_id=outcome.provider_message_id,
                last_error=None,
            )
        else:
            values.update(last_error=err.message[:500], provider=outcome.provider)
            if not err.retryable or claim.attempt >= self.max_attempts:
                values.update(
                    status=DEAD,
                    status_reason="permanent_error" if not err.retryable else "retries_exhausted",
                )
                metrics.DEAD.labels(claim.outgoing.channel).inc()
                log.warning(
                    "notification_dead_lettered",
                    notification_id=str(claim.id),
                    channel=claim.outgoing.channel,
                    provider=outcome.provider,
                    error=err.message,
                )
            else:
                chain = self.chains.get(claim.outgoing.channel)
                failover = (
                    chain is not None and (p := chain.pick()) is not None and p.name != outcome.provider
                )
                # Another provider is ready now (breaker opened): no reason to wait.
                delay = 0.0 if failover else self.backoff(claim.attempt)
                values.update(status=QUEUED, scheduled_for=now + timedelta(seconds=delay))
            if err.code == UNREGISTERED:
                await session.execute(
                    update(DeviceToken)
                    .where(DeviceToken.token == claim.outgoing.recipient)
                    .values(active=False, updated_at=now)
                )
        return await self._finish(session, claim, values)

    async def _finish(self, session: AsyncSession, claim: Claim, values: dict[str, Any]) -> bool:
        n = Notification
        result: Any = await session.execute(
            update(n)
            .where(n.id == claim.id, n.claim_token == claim.token, n.status == SENDING)
            .values(**values)
        )
        if not result.rowcount:
            log.warning("notification_lease_lost", notification_id=str(claim.id))
            return False
        return True

    async def renew(self, claim: Claim) -> bool:
        """Extend the lease if we still hold the claim (False: another worker took it over)."""
        n = Notification
        async with self.db.sessionmaker() as session, session.begin():
            result: Any = await session.execute(
                update(n)
                .where(n.id == claim.id, n.claim_token == claim.token, n.status == SENDING)
                .values(locked_until=utcnow() + self.lease)
            )
            return bool(result.rowcount)

    async def _still_ours(self, claim: Claim) -> bool:
        # Within the lease nobody else can hold the message; past it (a stalled worker), check
        # and extend before sending, so a late worker never sends what another already took over.
        if time.monotonic() - claim.claimed_at < self.lease.total_seconds() * 0.8:
            return True
        if await self.renew(claim):
            return True
        log.warning("notification_lease_lost", notification_id=str(claim.id))
        return False

    async def process(self, claim: Claim) -> bool:
        if not await self._still_ours(claim):
            return False
        return await self.complete(claim, await self.send(claim))

    async def run_once(self) -> int:
        """One pass; returns messages handled (claimed + suppressed)."""
        suppressed = await suppress_due(self.db, self.disabled_channels())
        claims = await self.claim()
        if not claims:
            return suppressed
        sem = asyncio.Semaphore(self.concurrency)

        async def one(c: Claim) -> tuple[Claim, Outcome] | None:
            async with sem:
                if not await self._still_ours(c):
                    return None
                return c, await self.send(c)

        done = [r for r in await asyncio.gather(*(one(c) for c in claims)) if r is not None]
        if done:
            await self.complete_many(done)
        return suppressed + len(claims)

    async def drain(self, max_seconds: float = 10.0) -> int:
        """Process until nothing is due (tests, benchmark). Returns messages processed."""
        total = 0
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            done = await self.run_once()
            total += done
            if not done:
                break
        return total

    async def refresh_gauges(self) -> None:
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(select(Notification.status, func.count()).group_by(Notification.status))
            ).all()
        counts = dict(rows)
        for status in (QUEUED, SENDING, SENT, DEAD):
            metrics.BACKLOG.labels(status).set(counts.get(status, 0))

    # -- loop -----------------------------------------------------------------------------------
    async def _loop_forever(self) -> None:
        while not self._stopping:
            try:
                processed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep going; the database may be briefly unavailable
                log.warning("delivery_worker_error", error=type(exc).__name__)
                processed = 0
            if processed < self.batch_size and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._loop_forever(), name=f"delivery-worker-{i}")
                for i in range(self.workers)
            ]

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        if self._on_commit in self.db.commit_hooks:
            self.db.commit_hooks.remove(self._on_commit)
