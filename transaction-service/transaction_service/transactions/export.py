"""`GET /api/v1/history/export?format=csv|json`: the caller's transactions, streamed.

The stream reads in keyset-paginated batches with its own short sessions (the request's unit of
work has ended by the time the body is sent), so memory stays flat for any history length."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from shared.auth import CurrentPrincipal
from shared.db import utcnow
from transaction_service.context import CtxDep
from transaction_service.transactions import repository as repo
from transaction_service.transactions.router import ListDep
from transaction_service.transactions.schemas import TransactionRead

router = APIRouter(prefix="/api/v1/history", tags=["history"])

BATCH = 500
COLUMNS = (
    "id",
    "internal_tran_id",
    "status",
    "on_hold",
    "hold_reason",
    "foreign_currency",
    "foreign_amount",
    "recipient_paypal_email",
    "payment_purpose",
    "rate_to_bdt",
    "bdt_amount",
    "fee_percentage",
    "fee_bdt",
    "total_bdt",
    "usd_equivalent",
    "failure_reason",
    "created_at",
    "updated_at",
    "completed_at",
)


async def _rows(ctx: CtxDep, filters: repo.Filters) -> AsyncIterator[dict[str, object]]:
    after = None
    while True:
        async with ctx.db.sessionmaker() as session:
            batch = await repo.export_batch(session, filters, after, BATCH)
        for txn in batch:
            yield TransactionRead.of(txn).model_dump(mode="json", include=set(COLUMNS))
        if len(batch) < BATCH:
            return
        after = (batch[-1].created_at, batch[-1].id)


async def _csv(rows: AsyncIterator[dict[str, object]]) -> AsyncIterator[str]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    async for row in rows:
        writer.writerow(row)
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


async def _json(rows: AsyncIterator[dict[str, object]]) -> AsyncIterator[str]:
    yield "["
    first = True
    async for row in rows:
        yield ("" if first else ",") + json.dumps(row, separators=(",", ":"))
        first = False
    yield "]"


@router.get(
    "/export", summary="Export own transactions as CSV or JSON (streamed)", response_class=StreamingResponse
)
async def export_history(
    principal: CurrentPrincipal,
    ctx: CtxDep,
    params: ListDep,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> StreamingResponse:
    filters = params.filters(principal)
    stamp = utcnow().strftime("%Y%m%d")
    rows = _rows(ctx, filters)
    if format == "json":
        return StreamingResponse(
            _json(rows),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="transactions-{stamp}.json"'},
        )
    return StreamingResponse(
        _csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="transactions-{stamp}.csv"'},
    )
