"""`POST /internal/audit` and `/internal/audit/batch`: direct entries from services (API key)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from audit_service.ingest.schemas import AuditBatchIn, AuditEntryIn, BatchRecordedOut, RecordedOut
from audit_service.ingest.service import draft_from_api, record
from shared.deps import SessionDep
from shared.errors import PayloadTooLarge, problem_responses
from shared.service_auth import ServiceCaller

router = APIRouter(prefix="/internal/audit", tags=["internal"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordedOut,
    responses=problem_responses(401, 422),
    summary="Record one audit entry (service API key)",
)
async def record_one(
    entry: AuditEntryIn, caller: ServiceCaller, session: SessionDep, request: Request
) -> RecordedOut:
    [done] = await record(session, [draft_from_api(request.app.state.masker, caller, entry)])
    return RecordedOut(id=done.id, duplicate=done.duplicate)


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchRecordedOut,
    responses=problem_responses(401, 413, 422),
    summary="Record a batch of entries, in order",
)
async def record_batch(
    body: AuditBatchIn, caller: ServiceCaller, session: SessionDep, request: Request
) -> BatchRecordedOut:
    limit = request.app.state.settings.audit_batch_max
    if len(body.entries) > limit:
        raise PayloadTooLarge(f"At most {limit} entries per batch.", code="batch_too_large")
    masker = request.app.state.masker
    done = await record(session, [draft_from_api(masker, caller, e) for e in body.entries])
    dupes = sum(1 for d in done if d.duplicate)
    return BatchRecordedOut(
        recorded=len(done) - dupes,
        duplicates=dupes,
        entries=[RecordedOut(id=d.id, duplicate=d.duplicate) for d in done],
    )
