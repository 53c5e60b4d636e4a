"""`/api/v1/audit/logs…`: search, one entry, a transaction's trail, streamed export (admin/support)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from audit_service.ingest.service import record_staff_action
from audit_service.logs import repository
from audit_service.logs.export import export_csv, export_json
from audit_service.logs.filters import LogFiltersDep, decode_cursor, encode_cursor
from audit_service.logs.schemas import AuditEntryOut, AuditPage, TrailOut
from shared.auth import StaffPrincipal
from shared.db import utcnow
from shared.deps import SessionDep
from shared.errors import NotFound, problem_responses

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=problem_responses(401, 403))


@router.get("/logs", response_model=AuditPage, summary="Search the audit log (newest first)")
async def search_logs(
    principal: StaffPrincipal,
    session: SessionDep,
    request: Request,
    filters: LogFiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    limit = min(limit, request.app.state.settings.audit_page_max)
    before = decode_cursor(cursor) if cursor else None
    rows = await repository.list_entries(session, filters, limit=limit + 1, before_id=before)
    items = [AuditEntryOut.model_validate(r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit and items else None
    return AuditPage(items=items, next_cursor=next_cursor, limit=limit)


@router.get(
    "/logs/{entry_id}",
    response_model=AuditEntryOut,
    responses=problem_responses(404),
    summary="One audit entry",
)
async def get_log(
    principal: StaffPrincipal, session: SessionDep, entry_id: Annotated[int, Path(ge=1)]
) -> AuditEntryOut:
    entry = await repository.get_entry(session, entry_id)
    if entry is None:
        raise NotFound("No such audit entry.", code="audit_entry_not_found")
    return AuditEntryOut.model_validate(entry)


@router.get(
    "/transactions/{transaction_id}/trail",
    response_model=TrailOut,
    summary="Everything recorded about one transaction, oldest first",
)
async def get_trail(
    principal: StaffPrincipal,
    session: SessionDep,
    transaction_id: Annotated[str, Path(max_length=64)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> TrailOut:
    rows = await repository.transaction_trail(session, transaction_id, limit=limit)
    return TrailOut(
        transaction_id=transaction_id, count=len(rows), items=[AuditEntryOut.model_validate(r) for r in rows]
    )


@router.get(
    "/export",
    summary="Export the matching entries as CSV or JSON (streamed, oldest first)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_logs(
    principal: StaffPrincipal,
    session: SessionDep,
    request: Request,
    filters: LogFiltersDep,
    format: Literal["csv", "json"] = "csv",  # noqa: A002 - the query parameter's public name
) -> StreamingResponse:
    settings = request.app.state.settings
    # The export is itself audited (and feeds the bulk-export security alert) before any row is sent.
    await record_staff_action(
        session,
        request.app.state.masker,
        actor_id=principal.subject,
        actor_role=principal.role,
        action="audit.exported",
        details={"format": format, "filters": _described(filters)},
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    db = request.app.state.db
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    if format == "json":
        body, media = export_json(db, filters, max_rows=settings.audit_export_max_rows), "application/json"
    else:
        body, media = (
            export_csv(db, filters, max_rows=settings.audit_export_max_rows),
            "text/csv; charset=utf-8",
        )
    return StreamingResponse(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.{format}"',
            "Cache-Control": "no-store",
        },
    )


def _described(filters: object) -> dict[str, object]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in vars(filters).items()
        if v is not None
    }
