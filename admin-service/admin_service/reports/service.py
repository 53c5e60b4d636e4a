"""Running a report in the background: rows are streamed from transaction-service through the
builder (flat memory), progress is committed as it goes, and the result is stored for download."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqlalchemy import update

from admin_service.analytics import stream_transactions
from admin_service.dashboard import local_range
from admin_service.models import Report
from admin_service.reports.builders import BUILDERS
from shared.db import utcnow
from shared.errors import ProblemError
from shared.logging import get_logger

log = get_logger(__name__)

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
PROGRESS_EVERY = 200  # rows between progress commits


def view(r: Report) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "kind": r.kind,
        "date_from": r.date_from,
        "date_to": r.date_to,
        "status": r.status,
        "progress": r.progress,
        "rows_processed": r.rows_processed,
        "total_rows": r.total_rows,
        "result_rows": len(r.rows) if isinstance(r.rows, list) else None,
        "notes": r.notes,
        "error": r.error,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "completed_at": r.completed_at,
        "downloads": (
            {
                "csv": f"/api/v1/admin/reports/{r.id}/download?format=csv",
                "json": f"/api/v1/admin/reports/{r.id}/download?format=json",
            }
            if r.status == COMPLETED
            else None
        ),
    }


async def _set(app: FastAPI, report_id: uuid.UUID, **values: Any) -> None:
    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(update(Report).where(Report.id == report_id).values(**values))


async def run(app: FastAPI, report_id: uuid.UUID) -> None:
    settings = app.state.settings
    async with app.state.db.sessionmaker() as session:
        report = await session.get(Report, report_id)
    assert report is not None
    tz = ZoneInfo(settings.dashboard_timezone)
    start, end = local_range(tz, date.fromisoformat(report.date_from), date.fromisoformat(report.date_to))
    builder = BUILDERS[report.kind](tz)
    total = 0

    async def on_total(n: int) -> None:
        nonlocal total
        total = n
        await _set(app, report_id, status=RUNNING, total_rows=n, progress=1)

    processed = 0
    try:
        async for row in stream_transactions(
            app.state.http,
            settings.url_of("transaction-service"),
            date_from=start,
            date_to=end,
            on_total=on_total,
        ):
            builder.add(row)
            processed += 1
            if processed % PROGRESS_EVERY == 0:
                pct = min(99, processed * 100 // max(total, 1))
                await _set(app, report_id, rows_processed=processed, progress=pct)
        await _set(
            app,
            report_id,
            status=COMPLETED,
            progress=100,
            rows_processed=processed,
            columns=list(builder.columns),
            rows=builder.rows(),
            notes=builder.notes,
            completed_at=utcnow(),
        )
        log.info("report_completed", report_id=str(report_id), kind=report.kind, rows=processed)
    except asyncio.CancelledError:
        await _set(app, report_id, status=FAILED, error="interrupted (service stopped)")
        raise
    except ProblemError as exc:
        await _set(app, report_id, status=FAILED, error=exc.code, rows_processed=processed)
        log.warning("report_failed", report_id=str(report_id), code=exc.code)
    except Exception as exc:  # a report failure is recorded, never crashes the service
        await _set(app, report_id, status=FAILED, error="internal_error", rows_processed=processed)
        log.error("report_failed", report_id=str(report_id), exc_info=exc)


async def interrupt_stale_reports(app: FastAPI) -> int:
    """At start-up: reports left queued/running by a stopped process will never finish; say so.
    (With several replicas, a report running on another replica is marked too: a rare re-request
    is the price of never showing a report stuck at "running" forever.)"""
    async with app.state.db.sessionmaker() as session, session.begin():
        result: Any = await session.execute(
            update(Report)
            .where(Report.status.in_((QUEUED, RUNNING)))
            .values(status=FAILED, error="interrupted (service restarted); request it again")
        )
    return int(result.rowcount or 0)


async def start(app: FastAPI, report_id: uuid.UUID) -> None:
    tasks: set[asyncio.Task[None]] = app.state.report_tasks
    task = asyncio.create_task(run(app, report_id), name=f"report-{report_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)
