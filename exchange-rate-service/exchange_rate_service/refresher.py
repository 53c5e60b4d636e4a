"""Fetching rates from the provider chain into the history, single-flight across replicas.

One refresh = one database transaction: take the lock (PostgreSQL `pg_try_advisory_xact_lock`;
the key-value store in the embedded SQLite mode), skip if another replica refreshed recently,
ask the providers, append one row per currency, publish `rate.updated` for each rate that changed
(same transaction), commit, then write the new rates through to the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_rate_service import repository
from exchange_rate_service.cache import RateCache, RateSnapshot
from exchange_rate_service.metrics import RATE_REFRESHES
from exchange_rate_service.models import ExchangeRate, OutboxMessage
from exchange_rate_service.providers.base import ProviderResult
from exchange_rate_service.providers.chain import AllProvidersFailed, ProviderChain
from exchange_rate_service.settings import Settings
from shared.db import Database, utcnow
from shared.kv import KeyValueStore
from shared.logging import get_logger
from shared.money import PAY_IN_CURRENCY, SUPPORTED_FOREIGN_CURRENCIES
from shared.outbox import publish

log = get_logger(__name__)

PRODUCER = Settings.SERVICE_NAME
ADVISORY_LOCK_KEY = 0x5241_5445_5246  # "RATERF": stable key for pg_try_advisory_xact_lock
KV_LOCK_TTL = 120.0
STOP_TIMEOUT = (
    10.0  # seconds to wait for the loop at shutdown  # seconds; a crashed holder's lock lapses on its own
)

REFRESHED, SKIPPED_LOCKED, SKIPPED_FRESH, FAILED = "refreshed", "skipped_locked", "skipped_fresh", "failed"


@dataclass
class RefreshOutcome:
    status: str
    source: str | None = None
    updated: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    snapshots: list[RateSnapshot] = field(default_factory=list)


async def _try_lock(session: AsyncSession, is_postgres: bool, kv: KeyValueStore, kv_key: str) -> bool:
    """Take the refresh lock without waiting. PostgreSQL: a transaction-scoped advisory lock
    (released by commit/rollback). Otherwise the key-value store (released by the caller)."""
    if is_postgres:
        return bool(
            await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        )
    return await kv.incr(kv_key, ttl=KV_LOCK_TTL) == 1


def jittered_delay(interval: float, jitter: float) -> float:
    """`interval` ± `jitter`×interval (uniform), at least a second: replicas drift apart."""
    spread = interval * jitter
    return max(1.0, interval + random.uniform(-spread, spread))


class Refresher:
    def __init__(
        self, db: Database, kv: KeyValueStore, cache: RateCache, chain: ProviderChain, settings: Settings
    ) -> None:
        self.db = db
        self.kv = kv
        self.cache = cache
        self.chain = chain
        self.settings = settings
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def refresh(self, *, force: bool = False, chain: ProviderChain | None = None) -> RefreshOutcome:
        outcome = await self._refresh(force=force, chain=chain)
        RATE_REFRESHES.labels(outcome.status).inc()
        return outcome

    async def _refresh(self, *, force: bool, chain: ProviderChain | None) -> RefreshOutcome:
        """Refresh now. Without `force`, skip when every rate was fetched less than half an interval
        ago (another replica just did it)."""
        chain = chain or self.chain
        kv_key = f"{self.settings.rate_cache_prefix}refresh-lock"
        kv_held = False
        try:
            async with self.db.sessionmaker() as session, session.begin():
                if not await _try_lock(session, self.db.is_postgres, self.kv, kv_key):
                    log.info("rate_refresh_skipped", reason=SKIPPED_LOCKED)
                    return RefreshOutcome(SKIPPED_LOCKED)
                kv_held = not self.db.is_postgres
                previous = await repository.latest_all(session, SUPPORTED_FOREIGN_CURRENCIES)
                if not force and self._all_recent(previous):
                    return RefreshOutcome(SKIPPED_FRESH)
                try:
                    result, failures = await chain.fetch(SUPPORTED_FOREIGN_CURRENCIES)
                except AllProvidersFailed as exc:
                    log.error("rate_refresh_failed", failures=[f"{p}:{r}" for p, r in exc.failures])
                    return RefreshOutcome(FAILED, failures=exc.failures)
                outcome = await self._store(session, result, previous)
                outcome.failures = failures
        finally:
            if kv_held:  # only after the commit, so no other process reads the old state
                await self.kv.delete(kv_key)
        for snap in outcome.snapshots:
            await self.cache.put(snap)
        log.info("rate_refresh_done", source=outcome.source, updated=outcome.updated)
        return outcome

    def _all_recent(self, previous: dict[str, ExchangeRate]) -> bool:
        horizon = utcnow() - timedelta(seconds=self.settings.rate_refresh_interval / 2)
        return all(
            (row := previous.get(c)) is not None and row.fetched_at > horizon
            for c in SUPPORTED_FOREIGN_CURRENCIES
        )

    async def _store(
        self, session: AsyncSession, result: ProviderResult, previous: dict[str, ExchangeRate]
    ) -> RefreshOutcome:
        now = utcnow()
        outcome = RefreshOutcome(REFRESHED, source=result.source)
        rows = []
        for currency in SUPPORTED_FOREIGN_CURRENCIES:
            rate = result.rates_to_bdt[currency]
            row = repository.add(
                session,
                ExchangeRate(
                    currency=currency,
                    base_currency=PAY_IN_CURRENCY,
                    rate_to_bdt=rate,
                    provider_quote=result.quoted.get(currency),
                    source=result.source,
                    as_of=result.as_of,
                    fetched_at=now,
                ),
            )
            rows.append(row)
            before = previous.get(currency)
            # Every fetch is recorded; only new information is announced.
            if before is None or (before.rate_to_bdt, before.source, before.as_of) != (
                rate,
                result.source,
                result.as_of,
            ):
                outcome.updated.append(currency)
                await publish(
                    session,
                    OutboxMessage,
                    event_type="rate.updated",
                    producer=PRODUCER,
                    subject_id=currency,
                    data={
                        "currency": currency,
                        "rate_to_bdt": f"{rate:f}",
                        "source": result.source,
                        "as_of": result.as_of.isoformat(),
                    },
                )
        await session.flush()
        outcome.snapshots = [RateSnapshot.from_row(r) for r in rows]
        return outcome

    async def seed_if_empty(self, chain: ProviderChain) -> RefreshOutcome | None:
        async with self.db.sessionmaker() as session:
            if await repository.count(session) > 0:
                return None
        outcome = await self.refresh(force=True, chain=chain)
        log.info("rates_seeded", status=outcome.status, source=outcome.source)
        return outcome

    # -- the periodic loop ------------------------------------------------------------------------
    def next_delay(self) -> float:
        return jittered_delay(self.settings.rate_refresh_interval, self.settings.rate_refresh_jitter)

    async def run_forever(self, first_delay: float) -> None:
        delay = first_delay
        while not self._stopping:
            await asyncio.sleep(delay)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep refreshing; the database may be briefly unavailable
                if self._stopping:
                    # A driver may turn our cancellation into its own error (seen with asyncpg on
                    # Python 3.11): stop anyway instead of swallowing the shutdown.
                    return
                log.warning("rate_refresh_error", error=type(exc).__name__)
            delay = self.next_delay()

    def start(self, first_delay: float) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.run_forever(first_delay), name="rate-refresher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT)
        if not done:
            log.warning("rate_refresher_stop_timeout", seconds=STOP_TIMEOUT)
            return
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()  # retrieved so asyncio never reports it as unhandled
