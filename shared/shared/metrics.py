"""Prometheus metrics shared by all services. Defined once at import (never per app instance)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_ERRORS = Counter("http_errors_total", "HTTP responses with status >= 500", ["service", "route"])
DB_QUERY_LATENCY = Histogram(
    "db_query_duration_seconds",
    "Database statement latency",
    ["service"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
DB_POOL_CHECKED_OUT = Gauge("db_pool_checked_out", "Connections checked out of the pool", ["service"])
DB_POOL_SIZE = Gauge("db_pool_size", "Connections held by the pool", ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox messages by status", ["service", "status"])
OUTBOX_DELIVERED = Counter(
    "outbox_delivered_total", "Events delivered to subscribers", ["service", "subscriber"]
)
OUTBOX_FAILED = Counter(
    "outbox_delivery_failures_total", "Failed event delivery attempts", ["service", "subscriber"]
)
OUTBOX_DEAD = Counter("outbox_dead_lettered_total", "Events dead-lettered", ["service", "subscriber"])
INBOX_RECEIVED = Counter("inbox_events_total", "Events received", ["service", "type", "outcome"])


def instrument_engine(engine: AsyncEngine, service: str) -> None:
    histogram = DB_QUERY_LATENCY.labels(service)

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, executemany: Any) -> None:
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, executemany: Any) -> None:
        starts = conn.info.get("query_start")
        if starts:
            histogram.observe(time.perf_counter() - starts.pop())


def refresh_pool_gauges(engine: AsyncEngine, service: str) -> None:
    pool: Any = engine.sync_engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        DB_POOL_CHECKED_OUT.labels(service).set(checked_out())
    if callable(size):
        DB_POOL_SIZE.labels(service).set(size())
