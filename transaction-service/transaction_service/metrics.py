"""Business metrics (ARCHITECTURE §9): transactions by status, the saga's outgoing calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select

from shared.db import Database
from transaction_service.models import Transaction

TRANSACTIONS = Gauge("transactions_by_status", "Transactions by status and hold flag", ["status", "on_hold"])
SAGA_CALLS = Counter("saga_calls_total", "Outgoing saga calls to payment-service", ["call", "outcome"])


def status_gauge_refresher(db: Database) -> Callable[[], Awaitable[None]]:
    async def refresh() -> None:
        t = Transaction
        async with db.sessionmaker() as session:
            rows = (
                await session.execute(select(t.status, t.on_hold, func.count()).group_by(t.status, t.on_hold))
            ).all()
        TRANSACTIONS.clear()
        for status, on_hold, count in rows:
            TRANSACTIONS.labels(status, "true" if on_hold else "false").set(count)

    return refresh
