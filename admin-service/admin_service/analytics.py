"""Figures computed from transaction-service's rows (`GET /internal/reports/transactions`, NDJSON).

Definitions (the README repeats them):
- a transaction belongs to a period by its `created_at`; days are calendar days in
  DASHBOARD_TIMEZONE (Asia/Dhaka);
- volume and fee revenue count COMPLETED transactions only (money that moved and stayed);
- success rate = COMPLETED / finished (COMPLETED, FAILED, REFUNDED, CANCELLED, EXPIRED);
- average completion time = mean of completed_at − created_at over COMPLETED, in seconds;
- active users = distinct senders with a transaction created in the period.
Amounts are summed in integer minor units and returned as decimal strings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.errors import GatewayTimeout, ServiceUnavailable, UpstreamError
from shared.money import format_minor, to_minor

COMPLETED = "COMPLETED"
FINISHED = ("COMPLETED", "FAILED", "REFUNDED", "CANCELLED", "EXPIRED")
STATUSES = (
    "PENDING",
    "BDT_RECEIVED",
    "PROCESSING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "EXPIRED",
    "REFUNDED",
)


def minor(row: dict[str, Any], field: str, currency: str = "BDT") -> int:
    return to_minor(Decimal(row[field]), currency)


def parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def local_day(value: str | None, tz: ZoneInfo) -> date | None:
    ts = parse_ts(value)
    return ts.astimezone(tz).date() if ts else None


async def stream_transactions(
    http: httpx.AsyncClient,
    base_url: str,
    *,
    date_from: datetime,
    date_to: datetime,
    on_total: Callable[[int], Any] | None = None,
    wait: float = 30.0,
) -> AsyncIterator[dict[str, Any]]:
    """The transactions created in [date_from, date_to), one dict at a time, never all in memory."""
    params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
    try:
        async with http.stream(
            "GET", f"{base_url}/internal/reports/transactions", params=params, timeout=wait
        ) as resp:
            if resp.status_code != 200:
                raise UpstreamError(
                    "transaction-service failed to stream transactions.", code="upstream_error"
                )
            if on_total is not None:
                result = on_total(int(resp.headers.get("x-total-count", "0") or 0))
                if hasattr(result, "__await__"):
                    await result
            async for line in resp.aiter_lines():
                if line.strip():
                    yield json.loads(line)
    except httpx.TimeoutException as exc:
        raise GatewayTimeout("transaction-service did not answer in time.", code="upstream_timeout") from exc
    except httpx.HTTPError as exc:
        raise ServiceUnavailable("transaction-service is unreachable.", code="upstream_unavailable") from exc


class StatsAccumulator:
    """Dashboard figures over a stream of rows."""

    def __init__(self) -> None:
        self.count = 0
        self.by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.volume_bdt = 0
        self.fee_bdt = 0
        self.by_currency: dict[str, dict[str, int]] = defaultdict(
            lambda: {"count": 0, "foreign_amount": 0, "bdt_amount": 0}
        )
        self.users: set[str] = set()
        self.completion_seconds: list[float] = []

    def add(self, row: dict[str, Any]) -> None:
        self.count += 1
        self.by_status[row["status"]] = self.by_status.get(row["status"], 0) + 1
        self.users.add(row["user_id"])
        if row["status"] != COMPLETED:
            return
        cur = row["foreign_currency"]
        self.volume_bdt += minor(row, "total_bdt")
        self.fee_bdt += minor(row, "fee_bdt")
        c = self.by_currency[cur]
        c["count"] += 1
        c["foreign_amount"] += minor(row, "foreign_amount", cur)
        c["bdt_amount"] += minor(row, "total_bdt")
        created, done = parse_ts(row["created_at"]), parse_ts(row.get("completed_at"))
        if created and done:
            self.completion_seconds.append((done - created).total_seconds())

    def result(self) -> dict[str, Any]:
        finished = sum(self.by_status.get(s, 0) for s in FINISHED)
        completed = self.by_status.get(COMPLETED, 0)
        return {
            "transactions": self.count,
            "by_status": self.by_status,
            "volume_bdt": format_minor(self.volume_bdt, "BDT"),
            "volume_by_currency": {
                cur: {
                    "count": c["count"],
                    "amount": format_minor(c["foreign_amount"], cur),
                    "bdt_amount": format_minor(c["bdt_amount"], "BDT"),
                }
                for cur, c in sorted(self.by_currency.items())
            },
            "fee_revenue_bdt": format_minor(self.fee_bdt, "BDT"),
            "success_rate": f"{Decimal(completed) / Decimal(finished):.4f}" if finished else None,
            "average_completion_seconds": (
                round(sum(self.completion_seconds) / len(self.completion_seconds))
                if self.completion_seconds
                else None
            ),
            "active_users": len(self.users),
        }


class DailySeries:
    """Per-day counts, completed volume and fees (created_at day in `tz`), days without any too."""

    def __init__(self, tz: ZoneInfo, first: date, last: date) -> None:
        self.tz = tz
        self.days: dict[date, dict[str, int]] = {
            first + timedelta(days=i): {"transactions": 0, "completed": 0, "volume_bdt": 0, "fee_bdt": 0}
            for i in range((last - first).days + 1)
        }

    def add(self, row: dict[str, Any]) -> None:
        day = local_day(row["created_at"], self.tz)
        d = self.days.get(day) if day else None
        if d is None:
            return
        d["transactions"] += 1
        if row["status"] == COMPLETED:
            d["completed"] += 1
            d["volume_bdt"] += minor(row, "total_bdt")
            d["fee_bdt"] += minor(row, "fee_bdt")

    def result(self) -> list[dict[str, Any]]:
        return [
            {
                "date": day.isoformat(),
                "transactions": d["transactions"],
                "completed": d["completed"],
                "volume_bdt": format_minor(d["volume_bdt"], "BDT"),
                "fee_bdt": format_minor(d["fee_bdt"], "BDT"),
            }
            for day, d in sorted(self.days.items())
        ]
