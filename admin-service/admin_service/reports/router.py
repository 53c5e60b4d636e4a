"""`/api/v1/admin/reports` (admin, support — reports only read): request, follow, download."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, model_validator
from sqlalchemy import select

from admin_service.models import OutboxMessage, Report
from admin_service.reports import service
from admin_service.reports.builders import BUILDERS
from shared.auth import StaffPrincipal
from shared.deps import SessionDep
from shared.errors import Conflict, NotFound, problem_responses
from shared.outbox import publish

router = APIRouter(prefix="/api/v1/admin/reports", tags=["reports"])

Kind = Literal["transaction_summary", "revenue", "currency_breakdown", "failure_analysis", "settlement"]
MAX_DAYS = 3660


class ReportRequest(BaseModel):
    kind: Kind
    date_from: date
    date_to: date  # inclusive

    @model_validator(mode="after")
    def _range(self) -> ReportRequest:
        if self.date_to < self.date_from:
            raise ValueError("date_to must not be before date_from")
        if (self.date_to - self.date_from).days >= MAX_DAYS:
            raise ValueError(f"a report covers at most {MAX_DAYS} days")
        return self


@router.post(
    "",
    status_code=202,
    responses=problem_responses(401, 403, 422),
    summary="Generate a report in the background (follow it with GET /{id})",
)
async def create_report(
    body: ReportRequest,
    request: Request,
    principal: StaffPrincipal,
    session: SessionDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    assert body.kind in BUILDERS
    report = Report(
        id=uuid.uuid4(),
        kind=body.kind,
        date_from=body.date_from.isoformat(),
        date_to=body.date_to.isoformat(),
        status=service.QUEUED,
        progress=0,
        rows_processed=0,
        created_by=principal.subject,
    )
    session.add(report)
    await publish(
        session,
        OutboxMessage,
        event_type="admin.report_requested",
        producer="admin-service",
        subject_id=str(report.id),
        data={
            "report_id": str(report.id),
            "kind": body.kind,
            "date_from": report.date_from,
            "date_to": report.date_to,
            "by": principal.subject,
        },
    )
    await session.flush()
    # Started after the response (the row is committed by then).
    background.add_task(service.start, request.app, report.id)
    return service.view(report)


@router.get("", summary="Recent reports, newest first")
async def list_reports(
    principal: StaffPrincipal, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(Report).order_by(Report.created_at.desc()).limit(limit))).all()
    return [service.view(r) for r in rows]


async def _get(session: SessionDep, report_id: uuid.UUID) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFound("No such report.", code="report_not_found")
    return report


@router.get(
    "/{report_id}", responses=problem_responses(401, 403, 404), summary="A report's status and progress"
)
async def get_report(report_id: uuid.UUID, principal: StaffPrincipal, session: SessionDep) -> dict[str, Any]:
    return service.view(await _get(session, report_id))


@router.get(
    "/{report_id}/download",
    response_class=StreamingResponse,
    responses=problem_responses(401, 403, 404, 409),
    summary="Download a completed report as CSV or JSON (streamed)",
)
async def download(
    report_id: uuid.UUID,
    principal: StaffPrincipal,
    session: SessionDep,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> StreamingResponse:
    report = await _get(session, report_id)
    if report.status != service.COMPLETED:
        raise Conflict(f"The report is {report.status}.", code="report_not_ready")
    columns: list[str] = list(report.columns or [])
    rows: list[dict[str, Any]] = list(report.rows or [])
    name = f"{report.kind}-{report.date_from}-{report.date_to}"
    if format == "json":
        meta = {
            "id": str(report.id),
            "kind": report.kind,
            "date_from": report.date_from,
            "date_to": report.date_to,
            "notes": report.notes,
            "columns": columns,
        }
        return StreamingResponse(
            _json(meta, rows),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
        )
    return StreamingResponse(
        _csv(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def _csv(columns: list[str], rows: list[dict[str, Any]]) -> AsyncIterator[str]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


async def _json(meta: dict[str, Any], rows: list[dict[str, Any]]) -> AsyncIterator[str]:
    head = json.dumps(meta, separators=(",", ":"))
    yield head[:-1] + ',"rows":['
    for i, row in enumerate(rows):
        yield ("," if i else "") + json.dumps(row, separators=(",", ":"))
    yield "]}"
