"""`/api/v1/analytics/…`: stats, trends, security alerts and the compliance report (admin/support)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from audit_service.analytics import service
from shared.auth import StaffPrincipal
from shared.deps import SessionDep
from shared.errors import BadRequest, problem_responses

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=problem_responses(401, 403))

FromQ = Annotated[AwareDatetime | None, Query(alias="from")]
ToQ = Annotated[AwareDatetime | None, Query(alias="to")]


def _period(date_from: Any, date_to: Any, default_days: float) -> tuple[Any, Any]:
    start, end = service.period(date_from, date_to, default_days=default_days)
    if start >= end:
        raise BadRequest("`from` must be before `to`.", code="invalid_range")
    return start, end


@router.get("/stats", summary="Counts by category, severity, service, outcome and top actions")
async def stats(
    principal: StaffPrincipal, session: SessionDep, date_from: FromQ = None, date_to: ToQ = None
) -> dict[str, Any]:
    return await service.stats(session, *_period(date_from, date_to, 30))


@router.get("/trends", summary="Counts per hour or day, split by a dimension")
async def trends(
    principal: StaffPrincipal,
    session: SessionDep,
    date_from: FromQ = None,
    date_to: ToQ = None,
    interval: Literal["hour", "day"] = "day",
    group_by: Literal["category", "severity", "service", "outcome", "action"] = "category",
) -> dict[str, Any]:
    return await service.trends(
        session, *_period(date_from, date_to, 30), interval=interval, group_by=group_by
    )


@router.get(
    "/security-alerts",
    summary="Failed-login bursts, one IP across many users, privilege changes, bulk exports",
)
async def security_alerts(
    principal: StaffPrincipal,
    session: SessionDep,
    request: Request,
    date_from: FromQ = None,
    date_to: ToQ = None,
) -> dict[str, Any]:
    return await service.security_alerts(session, *_period(date_from, date_to, 1), request.app.state.settings)


@router.get(
    "/compliance-report",
    summary="PCI/GDPR-tagged events, privileged actions, coverage (JSON or CSV)",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def compliance_report(
    principal: StaffPrincipal,
    session: SessionDep,
    date_from: FromQ = None,
    date_to: ToQ = None,
    format: Literal["json", "csv"] = "json",  # noqa: A002 - the query parameter's public name
) -> Response:
    report = await service.compliance_report(session, *_period(date_from, date_to, 30))
    if format == "csv":
        return Response(
            service.compliance_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="compliance-report.csv"'},
        )
    return JSONResponse(jsonable_encoder(report))
