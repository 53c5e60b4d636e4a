"""`/api/v1/audit/verify`, checkpoints and retention purge (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel

from audit_service.chain.checkpoints import create_checkpoint, list_checkpoints, purge_expired
from audit_service.chain.verify import verify_chain
from audit_service.ingest.service import record_staff_action
from audit_service.models import AuditCheckpoint
from shared.auth import AdminPrincipal
from shared.deps import SessionDep
from shared.errors import BadRequest, problem_responses

router = APIRouter(prefix="/api/v1/audit", tags=["audit integrity"], responses=problem_responses(401, 403))


class VerifyOut(BaseModel):
    valid: bool
    checked: int
    first_broken_id: int | None
    reason: str | None
    from_id: int | None
    to_id: int | None
    head_id: int | None
    head_hash: str | None
    checkpoints_checked: int
    broken_checkpoint_ids: list[int]


class CheckpointOut(BaseModel):
    id: int
    entry_id: int
    entry_hash: str
    created_at: datetime
    algorithm: str
    key_id: str
    signature: str
    reason: str
    purged_through: int | None

    @classmethod
    def of(cls, cp: AuditCheckpoint) -> CheckpointOut:
        return cls(**{name: getattr(cp, name) for name in cls.model_fields})


class CheckpointExport(BaseModel):
    """Everything an auditor needs to check the checkpoints offline."""

    format: str = "audit-checkpoints/v1"
    message_format: str = "audit-checkpoint/v1|<entry_id>|<entry_hash>|<created_at ISO-8601 UTC, µs>"
    hash_format: str = "sha256(prev_hash_hex || canonical_json(entry))"
    algorithm: str
    key_id: str
    public_key_pem: str | None
    checkpoints: list[CheckpointOut]


class PurgeOut(BaseModel):
    cutoff: datetime
    purged: int
    through_entry_id: int | None
    checkpoint_id: int | None
    dry_run: bool


@router.get("/verify", response_model=VerifyOut, summary="Recompute the hash chain (optionally a range)")
async def verify(
    principal: AdminPrincipal,
    session: SessionDep,
    request: Request,
    from_id: Annotated[int | None, Query(ge=1)] = None,
    to_id: Annotated[int | None, Query(ge=1)] = None,
) -> VerifyOut:
    if from_id is not None and to_id is not None and from_id > to_id:
        raise BadRequest("`from_id` must not exceed `to_id`.", code="invalid_range")
    result = await verify_chain(session, request.app.state.signer, from_id=from_id, to_id=to_id)
    return VerifyOut(**vars(result))


@router.post(
    "/checkpoints",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckpointOut,
    responses=problem_responses(409),
    summary="Sign the current head now",
)
async def new_checkpoint(principal: AdminPrincipal, session: SessionDep, request: Request) -> CheckpointOut:
    cp = await create_checkpoint(session, request.app.state.signer, reason="manual")
    assert cp is not None
    out = CheckpointOut.of(cp)
    await record_staff_action(
        session,
        request.app.state.masker,
        actor_id=principal.subject,
        actor_role=principal.role,
        action="audit.checkpoint_created",
        details={"checkpoint_id": cp.id, "entry_id": cp.entry_id},
        severity="low",
    )
    return out


@router.get("/checkpoints", response_model=CheckpointExport, summary="Export the signed checkpoints")
async def export_checkpoints(
    principal: AdminPrincipal,
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> CheckpointExport:
    signer = request.app.state.signer
    rows = await list_checkpoints(session, limit=limit)
    return CheckpointExport(
        algorithm=signer.algorithm,
        key_id=signer.key_id,
        public_key_pem=signer.public_key_pem(),
        checkpoints=[CheckpointOut.of(cp) for cp in rows],
    )


@router.post(
    "/retention/purge",
    response_model=PurgeOut,
    summary="Purge entries older than the retention period behind a signed checkpoint",
)
async def purge(
    principal: AdminPrincipal,
    session: SessionDep,
    request: Request,
    dry_run: bool = False,
    retention_days: Annotated[int | None, Query(ge=1, description="At least AUDIT_RETENTION_DAYS.")] = None,
) -> PurgeOut:
    settings = request.app.state.settings
    if settings.audit_retention_days <= 0:
        raise BadRequest("Retention is disabled (AUDIT_RETENTION_DAYS=0).", code="retention_disabled")
    days = retention_days or settings.audit_retention_days
    if days < settings.audit_retention_days:
        # The policy is a floor: nobody purges younger entries through the API.
        raise BadRequest(
            "`retention_days` may not be shorter than the retention policy.", code="retention_too_short"
        )
    result = await purge_expired(session, request.app.state.signer, retention_days=days, dry_run=dry_run)
    if not dry_run and result.purged:
        await record_staff_action(
            session,
            request.app.state.masker,
            actor_id=principal.subject,
            actor_role=principal.role,
            action="audit.purged",
            severity="high",
            details={
                "through_entry_id": result.through_entry_id,
                "purged": result.purged,
                "retention_days": days,
            },
        )
    return PurgeOut(**vars(result))
