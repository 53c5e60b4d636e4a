"""`/internal/reports/*` and `/internal/stats/*` (service API key; read-only, for admin-service).

- `GET /internal/reports/transactions` streams one JSON object per line (NDJSON) in (created_at, id)
  order, read in keyset batches with short sessions, so any range streams with flat memory.
  `X-Total-Count` tells the reader how many rows to expect (for progress).
- `GET /internal/reports/held` lists transactions on hold (waiting for an admin).
- `GET /internal/reports/stuck` lists what the reconciler re-checks: in-flight transactions
  (PENDING/BDT_RECEIVED/PROCESSING, or FAILED awaiting a refund) unchanged for RECONCILE_STUCK_AFTER,
  with when each was last reconciled.
- `GET /internal/stats/summary` aggregates counts and sums by status and currency in SQL.

Amounts are decimal strings in their currency (BDT for `*_bdt`, US dollars for `usd_equivalent`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import func, or_, select

from shared.db import utcnow
from shared.deps import SessionDep
from shared.errors import Unprocessable
from shared.money import format_minor
from shared.service_auth import ServiceCaller
from transaction_service.context import CtxDep
from transaction_service.models import Transaction
from transaction_service.transactions import repository as repo
from transaction_service.transactions import status as sm
from transaction_service.transactions.status import STATUSES

router = APIRouter(tags=["internal"])

BATCH = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def report_row(t: Transaction) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "internal_tran_id": t.internal_tran_id,
        "user_id": t.user_id,
        "status": t.status,
        "on_hold": t.on_hold,
        "hold_reason": t.hold_reason,
        "foreign_currency": t.foreign_currency,
        "foreign_amount": format_minor(t.foreign_amount, t.foreign_currency),
        "rate_to_bdt": f"{t.rate_to_bdt:f}",
        "fee_percentage": f"{t.fee_percentage:f}",
        "bdt_amount": format_minor(t.bdt_amount, "BDT"),
        "fee_bdt": format_minor(t.fee_bdt, "BDT"),
        "total_bdt": format_minor(t.total_bdt, "BDT"),
        "usd_equivalent": format_minor(t.usd_equivalent, "USD"),
        "failure_reason": t.failure_reason,
        "created_at": _iso(t.created_at),
        "bdt_received_at": _iso(t.bdt_received_at),
        "completed_at": _iso(t.completed_at),
        "refund_requested_at": _iso(t.refund_requested_at),
        "updated_at": _iso(t.updated_at),
    }


def _filters(
    date_from: datetime | None, date_to: datetime | None, status: str | None, user_id: str | None
) -> repo.Filters:
    if status is not None and status.upper() not in STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(STATUSES)}.", code="invalid_status_filter")
    return repo.Filters(
        user_id=user_id, status=status.upper() if status else None, date_from=date_from, date_to=date_to
    )


DateFrom = Annotated[datetime | None, Query(description="created at or after (ISO 8601)")]
DateTo = Annotated[datetime | None, Query(description="created before (ISO 8601)")]


@router.get(
    "/internal/reports/transactions",
    response_class=StreamingResponse,
    summary="Stream transactions created in a range as NDJSON (service API key)",
)
async def stream_transactions(
    caller: ServiceCaller,
    ctx: CtxDep,
    session: SessionDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    status: str | None = None,
    user_id: str | None = None,
) -> StreamingResponse:
    filters = _filters(date_from, date_to, status, user_id)
    total = await session.scalar(filters.apply(select(func.count()).select_from(Transaction)))

    async def lines() -> AsyncIterator[str]:
        after = None
        while True:
            async with ctx.db.sessionmaker() as s:
                batch = await repo.export_batch(s, filters, after, BATCH)
            if batch:
                yield "".join(json.dumps(report_row(t), separators=(",", ":")) + "\n" for t in batch)
            if len(batch) < BATCH:
                return
            after = (batch[-1].created_at, batch[-1].id)

    return StreamingResponse(
        lines(), media_type="application/x-ndjson", headers={"X-Total-Count": str(int(total or 0))}
    )


@router.get("/internal/reports/held", summary="Transactions on hold, oldest first (service API key)")
async def held_transactions(
    caller: ServiceCaller, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    t = Transaction
    stmt = select(t).where(t.on_hold.is_(True)).order_by(t.updated_at, t.id).limit(limit)
    rows = (await session.scalars(stmt)).all()
    total = await session.scalar(select(func.count()).select_from(t).where(t.on_hold.is_(True)))
    return {"items": [report_row(r) for r in rows], "total": int(total or 0)}


@router.get(
    "/internal/reports/stuck", summary="In-flight transactions the reconciler re-checks (service API key)"
)
async def stuck_transactions(
    caller: ServiceCaller,
    ctx: CtxDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    t = Transaction
    now = utcnow()
    cutoff = now - timedelta(seconds=ctx.settings.reconcile_stuck_after)
    where = (
        or_(
            t.status.in_((sm.PENDING, sm.BDT_RECEIVED, sm.PROCESSING)),
            (t.status == sm.FAILED) & t.refund_requested_at.is_not(None),
        ),
        t.updated_at <= cutoff,
    )
    rows = (await session.scalars(select(t).where(*where).order_by(t.updated_at, t.id).limit(limit))).all()
    total = await session.scalar(select(func.count()).select_from(t).where(*where))
    items = [
        {
            **report_row(r),
            "last_reconciled_at": _iso(r.last_reconciled_at),
            "unchanged_seconds": int((now - r.updated_at).total_seconds()),
        }
        for r in rows
    ]
    return {
        "items": items,
        "total": int(total or 0),
        "stuck_after_seconds": ctx.settings.reconcile_stuck_after,
    }


@router.get("/internal/stats/summary", summary="Counts and sums by status and currency (service API key)")
async def summary(
    caller: ServiceCaller,
    session: SessionDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    t = Transaction
    filters = _filters(date_from, date_to, None, user_id)
    columns: Any = select(
        t.status,
        t.foreign_currency,
        func.count(),
        func.coalesce(func.sum(t.foreign_amount), 0),
        func.coalesce(func.sum(t.bdt_amount), 0),
        func.coalesce(func.sum(t.fee_bdt), 0),
        func.coalesce(func.sum(t.total_bdt), 0),
    ).group_by(t.status, t.foreign_currency)
    stmt = filters.apply(columns)
    groups = [
        {
            "status": s,
            "currency": c,
            "count": int(n),
            "foreign_amount": format_minor(int(f), c),
            "bdt_amount": format_minor(int(b), "BDT"),
            "fee_bdt": format_minor(int(fee), "BDT"),
            "total_bdt": format_minor(int(tot), "BDT"),
        }
        for s, c, n, f, b, fee, tot in (await session.execute(stmt)).all()
    ]
    users = await session.scalar(filters.apply(select(func.count(func.distinct(t.user_id)))))
    return {
        "groups": sorted(groups, key=lambda g: (g["status"], g["currency"])),
        "count": sum(g["count"] for g in groups),
        "distinct_users": int(users or 0),
    }
