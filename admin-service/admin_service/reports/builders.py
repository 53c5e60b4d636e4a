"""Report builders: each consumes transaction rows one at a time and yields flat output rows.

Days are calendar days in the report timezone. Rows are selected by `created_at` in the range;
the settlement report then buckets money by when it moved (see `Settlement`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from admin_service.analytics import COMPLETED, STATUSES, local_day, minor
from shared.money import format_minor

SETTLEMENT_NOTE = (
    "Computed from transaction-service data (payment-service settlement data is not available to "
    "admin-service): collected = total_bdt of payments received (bdt_received_at day), refunded = "
    "total_bdt of REFUNDED transactions (refund request day), paid out = PayPal payouts of COMPLETED "
    "transactions (completed_at day) in USD equivalent and BDT at the locked rate."
)


def _bdt(n: int) -> str:
    return format_minor(n, "BDT")


class Builder:
    columns: tuple[str, ...] = ()
    notes: str | None = None

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def add(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def rows(self) -> list[dict[str, Any]]:
        raise NotImplementedError


class TransactionSummary(Builder):
    """Per day: how many transactions were created, by status, and their total BDT."""

    columns = ("date", "transactions", *(s.lower() for s in STATUSES), "total_bdt")

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__(tz)
        self.days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        d = self.days[local_day(row["created_at"], self.tz)]  # type: ignore[index]
        d["transactions"] += 1
        d[row["status"].lower()] += 1
        d["total_bdt"] += minor(row, "total_bdt")

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for day, d in sorted(self.days.items()):
            row: dict[str, Any] = {"date": day.isoformat(), "transactions": d["transactions"]}
            row.update({s.lower(): d[s.lower()] for s in STATUSES})
            row["total_bdt"] = _bdt(d["total_bdt"])
            out.append(row)
        return out


class Revenue(Builder):
    """Per day: completed transactions, their BDT volume and the fee revenue."""

    columns = ("date", "completed", "bdt_amount", "fee_bdt", "total_bdt")

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__(tz)
        self.days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        if row["status"] != COMPLETED:
            return
        d = self.days[local_day(row["created_at"], self.tz)]  # type: ignore[index]
        d["completed"] += 1
        for field in ("bdt_amount", "fee_bdt", "total_bdt"):
            d[field] += minor(row, field)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "date": day.isoformat(),
                "completed": d["completed"],
                "bdt_amount": _bdt(d["bdt_amount"]),
                "fee_bdt": _bdt(d["fee_bdt"]),
                "total_bdt": _bdt(d["total_bdt"]),
            }
            for day, d in sorted(self.days.items())
        ]


class CurrencyBreakdown(Builder):
    """Per foreign currency: transactions, completed ones, foreign amount and BDT of completed."""

    columns = ("currency", "transactions", "completed", "foreign_amount", "bdt_amount", "fee_bdt")

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__(tz)
        self.cur: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        cur = row["foreign_currency"]
        c = self.cur[cur]
        c["transactions"] += 1
        if row["status"] == COMPLETED:
            c["completed"] += 1
            c["foreign_amount"] += minor(row, "foreign_amount", cur)
            c["bdt_amount"] += minor(row, "bdt_amount")
            c["fee_bdt"] += minor(row, "fee_bdt")

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "currency": cur,
                "transactions": c["transactions"],
                "completed": c["completed"],
                "foreign_amount": format_minor(c["foreign_amount"], cur),
                "bdt_amount": _bdt(c["bdt_amount"]),
                "fee_bdt": _bdt(c["fee_bdt"]),
            }
            for cur, c in sorted(self.cur.items())
        ]


class FailureAnalysis(Builder):
    """Per unsuccessful outcome (status + reason): how many, their BDT, share of all transactions."""

    columns = ("status", "reason", "transactions", "total_bdt", "share")
    OUTCOMES = ("FAILED", "REFUNDED", "CANCELLED", "EXPIRED")

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__(tz)
        self.total = 0
        self.groups: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        self.total += 1
        if row["status"] not in self.OUTCOMES:
            return
        g = self.groups[(row["status"], row.get("failure_reason") or row.get("hold_reason") or "")]
        g["transactions"] += 1
        g["total_bdt"] += minor(row, "total_bdt")

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "status": status,
                "reason": reason,
                "transactions": g["transactions"],
                "total_bdt": _bdt(g["total_bdt"]),
                "share": f"{g['transactions'] / self.total:.4f}" if self.total else "0.0000",
            }
            for (status, reason), g in sorted(self.groups.items())
        ]


class Settlement(Builder):
    """Per day: what SSLCommerz collected vs what PayPal paid out (and refunds)."""

    columns = (
        "date",
        "sslcommerz_collected_count",
        "sslcommerz_collected_bdt",
        "refunded_count",
        "refunded_bdt",
        "paypal_paid_count",
        "paypal_paid_usd_equivalent",
        "paypal_paid_bdt",
    )
    notes = SETTLEMENT_NOTE

    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__(tz)
        self.days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        received = local_day(row.get("bdt_received_at"), self.tz)
        if received is not None:
            d = self.days[received]
            d["sslcommerz_collected_count"] += 1
            d["sslcommerz_collected_bdt"] += minor(row, "total_bdt")
        refunded = local_day(row.get("refund_requested_at") or row.get("updated_at"), self.tz)
        if row["status"] == "REFUNDED" and refunded is not None:
            d = self.days[refunded]
            d["refunded_count"] += 1
            d["refunded_bdt"] += minor(row, "total_bdt")
        paid = local_day(row.get("completed_at"), self.tz)
        if row["status"] == COMPLETED and paid is not None:
            d = self.days[paid]
            d["paypal_paid_count"] += 1
            d["paypal_paid_usd_equivalent"] += minor(row, "usd_equivalent", "USD")
            d["paypal_paid_bdt"] += minor(row, "bdt_amount")

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for day, d in sorted(self.days.items()):
            out.append(
                {
                    "date": day.isoformat(),
                    "sslcommerz_collected_count": d["sslcommerz_collected_count"],
                    "sslcommerz_collected_bdt": _bdt(d["sslcommerz_collected_bdt"]),
                    "refunded_count": d["refunded_count"],
                    "refunded_bdt": _bdt(d["refunded_bdt"]),
                    "paypal_paid_count": d["paypal_paid_count"],
                    "paypal_paid_usd_equivalent": format_minor(d["paypal_paid_usd_equivalent"], "USD"),
                    "paypal_paid_bdt": _bdt(d["paypal_paid_bdt"]),
                }
            )
        return out


BUILDERS: dict[str, type[Builder]] = {
    "transaction_summary": TransactionSummary,
    "revenue": Revenue,
    "currency_breakdown": CurrencyBreakdown,
    "failure_analysis": FailureAnalysis,
    "settlement": Settlement,
}
