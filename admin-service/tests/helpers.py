"""Helpers for the Admin Service tests: seeding transaction-service rows, waiting, reading tables."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import delete

from shared.money import format_minor, round_half_up, to_minor
from transaction_service.models import Transaction, TransactionStatusHistory

RATES = {"USD": Decimal("117.50"), "EUR": Decimal("127.25"), "GBP": Decimal("148.10")}
USD_PER = {"USD": Decimal("1"), "EUR": Decimal("1.08"), "GBP": Decimal("1.26")}


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def clear_transactions(txn_app: FastAPI) -> None:
    async with txn_app.state.db.sessionmaker() as s, s.begin():
        await s.execute(delete(TransactionStatusHistory))
        await s.execute(delete(Transaction))


async def seed(
    txn_app: FastAPI,
    *,
    amount: str,
    currency: str = "USD",
    status: str = "COMPLETED",
    created_at: datetime,
    completed_after: timedelta | None = timedelta(minutes=10),
    fee_percentage: str = "2.0",
    user_id: str | None = None,
    on_hold: bool = False,
    hold_reason: str | None = None,
    failure_reason: str | None = None,
    received: bool | None = None,
) -> Transaction:
    """A transaction row priced like the service prices it (bdt = amount × rate, fee = bdt × fee%)."""
    foreign = Decimal(amount)
    bdt = round_half_up(foreign * RATES[currency], 2)
    fee = round_half_up(bdt * Decimal(fee_percentage) / 100, 2)
    was_received = (
        status in ("BDT_RECEIVED", "PROCESSING", "COMPLETED", "REFUNDED") if received is None else received
    )
    txn = Transaction(
        id=uuid.uuid4(),
        internal_tran_id=f"T{uuid.uuid4().hex[:20].upper()}",
        user_id=user_id or str(uuid.uuid4()),
        status=status,
        on_hold=on_hold,
        hold_reason=hold_reason,
        foreign_currency=currency,
        foreign_amount=to_minor(foreign, currency),
        recipient_paypal_email="alice@example.com",
        rate_to_bdt=RATES[currency],
        rate_source="static",
        fee_percentage=Decimal(fee_percentage),
        bdt_amount=to_minor(bdt, "BDT"),
        fee_bdt=to_minor(fee, "BDT"),
        total_bdt=to_minor(bdt + fee, "BDT"),
        usd_equivalent=to_minor(round_half_up(foreign * USD_PER[currency], 2), "USD"),
        failure_reason=failure_reason,
        bdt_received_at=created_at + timedelta(minutes=2) if was_received else None,
        refund_requested_at=created_at + timedelta(minutes=30) if status == "REFUNDED" else None,
        created_at=created_at,
        updated_at=created_at + timedelta(minutes=5),
        expires_at=created_at + timedelta(minutes=30),
        completed_at=created_at + completed_after if status == "COMPLETED" and completed_after else None,
    )
    async with txn_app.state.db.sessionmaker() as s, s.begin():
        s.add(txn)
    return txn


def bdt(minor: int) -> str:
    return format_minor(minor, "BDT")


def find(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    for item in items:
        if all(item.get(k) == v for k, v in match.items()):
            return item
    raise AssertionError(f"no item matching {match}")
