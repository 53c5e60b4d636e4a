"""`/api/v1/notifications` (own history, devices, admin search/stats/retry) and the service-only
`POST /internal/notifications`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.api import schemas as s
from notification_service.delivery.enqueue import Request as SendRequest
from notification_service.delivery.enqueue import enqueue
from notification_service.delivery.worker import DIRTY
from notification_service.models import DEAD, QUEUED, SENT, DeliveryAttempt, DeviceToken, Notification
from notification_service.templates.render import TemplateProblem
from shared.auth import AdminPrincipal, CurrentPrincipal, StaffPrincipal
from shared.db import utcnow
from shared.deps import SessionDep
from shared.errors import Conflict, NotFound, Unprocessable, problem_responses
from shared.service_auth import ServiceCaller

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
internal_router = APIRouter(prefix="/internal", tags=["internal"])

PageNo = Annotated[int, Query(ge=1, le=10_000)]
Size = Annotated[int, Query(ge=1, le=100)]


def _filtered(
    stmt: Any,
    *,
    channel: str | None,
    status: str | None,
    category: str | None,
    internal_tran_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Any:
    n = Notification
    if channel:
        stmt = stmt.where(n.channel == channel)
    if status:
        stmt = stmt.where(n.status == status)
    if category:
        stmt = stmt.where(n.category == category)
    if internal_tran_id:
        stmt = stmt.where(n.internal_tran_id == internal_tran_id)
    if since:
        stmt = stmt.where(n.created_at >= since)
    if until:
        stmt = stmt.where(n.created_at < until)
    return stmt


async def _page(session: AsyncSession, stmt: Any, page: int, size: int) -> tuple[list[Notification], int]:
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = (
        await session.scalars(
            stmt.order_by(Notification.created_at.desc(), Notification.id)
            .offset((page - 1) * size)
            .limit(size)
        )
    ).all()
    return list(rows), total


@router.get("", response_model=s.Page, responses=problem_responses(401), summary="My notification history")
async def my_notifications(
    principal: CurrentPrincipal,
    session: SessionDep,
    channel: s.Channel | None = None,
    status: s.Status | None = None,
    category: str | None = None,
    internal_tran_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: PageNo = 1,
    size: Size = 20,
) -> s.Page:
    stmt = _filtered(
        select(Notification).where(Notification.user_id == principal.user_id),
        channel=channel,
        status=status,
        category=category,
        internal_tran_id=internal_tran_id,
        since=since,
        until=until,
    )
    rows, total = await _page(session, stmt, page, size)
    return s.Page(
        items=[s.NotificationOut.model_validate(r) for r in rows], total=total, page=page, size=size
    )


# -- devices (push) ----------------------------------------------------------------------------


def _device_out(d: DeviceToken) -> s.DeviceOut:
    return s.DeviceOut(
        id=d.id, platform=d.platform, active=d.active, created_at=d.created_at, token_suffix=d.token[-6:]
    )


@router.post("/devices", response_model=s.DeviceOut, status_code=201, summary="Register a push device token")
async def register_device(body: s.DeviceIn, principal: CurrentPrincipal, session: SessionDep) -> s.DeviceOut:
    device = (await session.scalars(select(DeviceToken).where(DeviceToken.token == body.token))).first()
    if device is None:
        device = DeviceToken(
            id=uuid.uuid4(), user_id=principal.user_id, token=body.token, platform=body.platform
        )
        session.add(device)
    else:
        # A token identifies an app install; it moves to whoever signed in on it last.
        device.user_id, device.platform, device.active = principal.user_id, body.platform, True
        device.updated_at = utcnow()
    await session.flush()
    return _device_out(device)


@router.get("/devices", response_model=list[s.DeviceOut], summary="My push devices")
async def my_devices(principal: CurrentPrincipal, session: SessionDep) -> list[s.DeviceOut]:
    stmt = (
        select(DeviceToken).where(DeviceToken.user_id == principal.user_id).order_by(DeviceToken.created_at)
    )
    return [_device_out(d) for d in (await session.scalars(stmt)).all()]


@router.delete("/devices/{device_id}", status_code=204, responses=problem_responses(404))
async def delete_device(device_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep) -> None:
    device = await session.get(DeviceToken, device_id)
    if device is None or device.user_id != principal.user_id:
        raise NotFound("No such device.", code="device_not_found")
    await session.delete(device)
    await session.flush()


# -- admin ---------------------------------------------------------------------------------------


@router.get("/admin/search", response_model=s.AdminPage, summary="Search every user's notifications (staff)")
async def admin_search(
    _: StaffPrincipal,
    session: SessionDep,
    user_id: str | None = None,
    channel: s.Channel | None = None,
    status: s.Status | None = None,
    category: str | None = None,
    provider: str | None = None,
    internal_tran_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: PageNo = 1,
    size: Size = 50,
) -> s.AdminPage:
    stmt = select(Notification)
    if user_id:
        stmt = stmt.where(Notification.user_id == user_id)
    if provider:
        stmt = stmt.where(Notification.provider == provider)
    stmt = _filtered(
        stmt,
        channel=channel,
        status=status,
        category=category,
        internal_tran_id=internal_tran_id,
        since=since,
        until=until,
    )
    rows, total = await _page(session, stmt, page, size)
    return s.AdminPage(
        items=[s.AdminNotificationOut.model_validate(r) for r in rows], total=total, page=page, size=size
    )


def _rate(sent: int, failed: int) -> float | None:
    return round(sent / (sent + failed), 4) if sent + failed else None


@router.get(
    "/admin/stats", response_model=s.Stats, summary="Sent, failed and delivery rate by channel/provider"
)
async def admin_stats(
    request: Request, _: StaffPrincipal, session: SessionDep, since: datetime | None = None
) -> s.Stats:
    n, a = Notification, DeliveryAttempt
    sent = func.sum(case((n.status == SENT, 1), else_=0))
    dead = func.sum(case((n.status == DEAD, 1), else_=0))
    base = select(n.channel, n.provider, sent, dead).where(n.status.in_((SENT, DEAD)))
    attempts = select(a.channel, a.provider, func.count()).where(a.ok.is_(False))
    if since:
        base = base.where(n.created_at >= since)
        attempts = attempts.where(a.created_at >= since)
    rows = (await session.execute(base.group_by(n.channel, n.provider))).all()
    failed_attempts = {
        (c, p): int(k) for c, p, k in (await session.execute(attempts.group_by(a.channel, a.provider))).all()
    }
    by_provider = [
        s.StatRow(
            channel=c,
            provider=p,
            sent=int(ok or 0),
            failed=int(bad or 0),
            failed_attempts=failed_attempts.get((c, p), 0),
            delivery_rate=_rate(int(ok or 0), int(bad or 0)),
        )
        for c, p, ok, bad in rows
    ]
    channels: dict[str, list[int]] = {}
    for row in by_provider:
        acc = channels.setdefault(row.channel, [0, 0, 0])
        acc[0] += row.sent
        acc[1] += row.failed
    for (c, _p), k in failed_attempts.items():
        channels.setdefault(c, [0, 0, 0])[2] += k
    by_channel = [
        s.StatRow(
            channel=c,
            provider=None,
            sent=v[0],
            failed=v[1],
            failed_attempts=v[2],
            delivery_rate=_rate(v[0], v[1]),
        )
        for c, v in sorted(channels.items())
    ]
    queued = int(await session.scalar(select(func.count()).where(n.status == QUEUED)) or 0)
    worker = getattr(request.app.state, "delivery_worker", None)
    breakers: dict[str, str] = {}
    if worker is not None:
        for chain in worker.chains.values():
            breakers.update(chain.breaker_states())
    return s.Stats(by_channel=by_channel, by_provider=by_provider, queued=queued, breakers=breakers)


@router.get("/admin/{notification_id}", response_model=s.AdminDetail, responses=problem_responses(404))
async def admin_detail(notification_id: uuid.UUID, _: StaffPrincipal, session: SessionDep) -> s.AdminDetail:
    row = await session.get(Notification, notification_id)
    if row is None:
        raise NotFound("No such notification.", code="notification_not_found")
    attempts = (
        await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == row.id)
            .order_by(DeliveryAttempt.id)
        )
    ).all()
    out = s.AdminNotificationOut.model_validate(row).model_dump()
    return s.AdminDetail(
        **out, body_text=row.body_text, attempts_log=[s.AttemptOut.model_validate(x) for x in attempts]
    )


@router.post(
    "/admin/{notification_id}/retry",
    response_model=s.AdminNotificationOut,
    status_code=202,
    responses=problem_responses(404, 409),
    summary="Queue a dead-lettered message again (admin)",
)
async def admin_retry(notification_id: uuid.UUID, _: AdminPrincipal, session: SessionDep) -> Notification:
    row = await session.get(Notification, notification_id)
    if row is None:
        raise NotFound("No such notification.", code="notification_not_found")
    if row.status != DEAD:
        raise Conflict("Only a dead-lettered message can be retried.", code="not_dead_lettered")
    if row.status_reason == "template_error":
        raise Conflict("The message could not be rendered; it cannot be retried.", code="not_retryable")
    row.status, row.status_reason, row.attempts = QUEUED, None, 0
    row.scheduled_for, row.claim_token, row.locked_until = None, None, None
    row.updated_at = utcnow()
    await session.flush()
    session.info[DIRTY] = True
    return row


# -- internal: direct sends ----------------------------------------------------------------------


@internal_router.post(
    "/notifications",
    response_model=s.DirectSendOut,
    status_code=202,
    responses=problem_responses(401, 404, 422),
    summary="Send a templated message to a user (service API key); the address comes from user-service",
)
async def direct_send(
    body: s.DirectSendIn, caller: ServiceCaller, request: Request, session: SessionDep
) -> s.DirectSendOut:
    user = await request.app.state.user_directory.get(body.user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    key = body.idempotency_key or uuid.uuid4().hex
    try:
        rows = await enqueue(
            session,
            SendRequest(
                user=user,
                template_key=body.template_key,
                channels=tuple(dict.fromkeys(body.channels)),
                variables=body.variables,
                dedupe_prefix=f"direct:{caller}:{key}",
                category=body.category,
                transaction_id=body.transaction_id,
                internal_tran_id=body.internal_tran_id,
                scheduled_for=body.scheduled_for,
                data={"transaction_id": body.transaction_id, "internal_tran_id": body.internal_tran_id},
                strict=True,
            ),
            default_language=request.app.state.settings.default_language,
            runtime=getattr(request.app.state, "runtime", None),
        )
    except TemplateProblem as exc:
        raise Unprocessable(str(exc), code="template_render_failed") from exc
    if not rows:
        raise Unprocessable("No template or address for the requested channels.", code="nothing_to_send")
    return s.DirectSendOut(notifications=[s.NotificationOut.model_validate(r) for r in rows])
