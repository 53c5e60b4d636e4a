"""The current rate per currency, cached in the key-value store (Redis, or the embedded store).

Entries expire after RATE_CACHE_TTL and never outlive the rate's own freshness, so a cached rate
can never be served after it became too old to quote. The cache is an optimisation only: any
key-value error falls back to the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from exchange_rate_service.models import ExchangeRate
from shared.db import utcnow
from shared.kv import KeyValueStore
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RateSnapshot:
    id: int
    currency: str
    rate_to_bdt: Decimal
    source: str
    as_of: datetime
    fetched_at: datetime
    reason: str | None = None

    @classmethod
    def from_row(cls, row: ExchangeRate) -> RateSnapshot:
        return cls(row.id, row.currency, row.rate_to_bdt, row.source, row.as_of, row.fetched_at, row.reason)

    def expires_at(self, max_age: timedelta) -> datetime:
        return self.fetched_at + max_age

    def is_fresh(self, max_age: timedelta, now: datetime | None = None) -> bool:
        return (now or utcnow()) < self.expires_at(max_age)

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "currency": self.currency,
                "rate_to_bdt": f"{self.rate_to_bdt:f}",
                "source": self.source,
                "as_of": self.as_of.isoformat(),
                "fetched_at": self.fetched_at.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> RateSnapshot:
        d = json.loads(raw)
        return cls(
            int(d["id"]),
            d["currency"],
            Decimal(d["rate_to_bdt"]),
            d["source"],
            datetime.fromisoformat(d["as_of"]),
            datetime.fromisoformat(d["fetched_at"]),
        )


class RateCache:
    def __init__(self, kv: KeyValueStore, *, prefix: str, ttl: float, max_age: timedelta) -> None:
        self.kv = kv
        self.prefix = prefix
        self.ttl = ttl
        self.max_age = max_age

    def key(self, currency: str) -> str:
        return f"{self.prefix}current:{currency}"

    async def get(self, currency: str) -> RateSnapshot | None:
        try:
            raw = await self.kv.get(self.key(currency))
            return RateSnapshot.from_json(raw) if raw else None
        except Exception as exc:  # a cache failure must never fail a quote that the DB can answer
            log.warning("rate_cache_read_failed", currency=currency, error=type(exc).__name__)
            return None

    async def put(self, snap: RateSnapshot) -> None:
        remaining = (snap.expires_at(self.max_age) - utcnow()).total_seconds()
        ttl = min(self.ttl, remaining)
        if ttl <= 0:
            return
        try:
            current = await self.get(snap.currency)
            if current is not None and current.id > snap.id:
                return  # never replace a newer rate with an older one
            await self.kv.set(self.key(snap.currency), snap.to_json(), ttl=ttl)
        except Exception as exc:
            log.warning("rate_cache_write_failed", currency=snap.currency, error=type(exc).__name__)

    async def drop(self, currency: str) -> None:
        try:
            await self.kv.delete(self.key(currency))
        except Exception as exc:
            log.warning("rate_cache_drop_failed", currency=currency, error=type(exc).__name__)
