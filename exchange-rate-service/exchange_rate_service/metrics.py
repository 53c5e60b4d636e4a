"""Business metrics of the Exchange Rate Service (defined once at import)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge

from exchange_rate_service import repository
from shared.db import Database, utcnow
from shared.money import SUPPORTED_FOREIGN_CURRENCIES

RATE_REFRESHES = Counter("rate_refresh_total", "Rate refresh attempts by outcome", ["outcome"])
PROVIDER_FAILURES = Counter(
    "rate_provider_failures_total", "Rate provider calls that gave no usable rates", ["provider", "reason"]
)
STALE_REFUSALS = Counter(
    "rate_stale_refusals_total", "Quotes refused because the rate was too old", ["currency"]
)
RATE_AGE = Gauge("rate_age_seconds", "Seconds since the current rate was fetched", ["currency"])


def age_refresher(db: Database) -> Callable[[], Awaitable[None]]:
    """Sets RATE_AGE when /metrics is scraped (registered in app.state.metrics_refreshers)."""

    async def refresh() -> None:
        async with db.sessionmaker() as session:
            rows = await repository.latest_all(session, SUPPORTED_FOREIGN_CURRENCIES)
        now = utcnow()
        for currency in SUPPORTED_FOREIGN_CURRENCIES:
            row = rows.get(currency)
            RATE_AGE.labels(currency).set((now - row.fetched_at).total_seconds() if row else float("nan"))

    return refresh
