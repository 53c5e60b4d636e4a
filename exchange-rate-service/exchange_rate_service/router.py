"""HTTP routes: public reads under `/api/v1/rates` (no token, ARCHITECTURE §4), conversion for
signed-in callers, admin refresh/override, and the internal read for other services."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request

from exchange_rate_service import service
from exchange_rate_service.cache import RateCache, RateSnapshot
from exchange_rate_service.refresher import FAILED, SKIPPED_LOCKED, Refresher
from exchange_rate_service.schemas import (
    ConvertIn,
    ConvertOut,
    ForeignCurrency,
    OverrideIn,
    RateHistoryItem,
    RateHistoryPage,
    RateListOut,
    RateOut,
    RefreshOut,
    UsedRate,
)
from exchange_rate_service.settings import Settings
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.deps import SessionDep
from shared.errors import Conflict, ServiceUnavailable, Unprocessable, problem_responses
from shared.service_auth import ServiceCaller


def get_cache(request: Request) -> RateCache:
    return request.app.state.rate_cache


def get_refresher(request: Request) -> Refresher:
    return request.app.state.refresher


CacheDep = Annotated[RateCache, Depends(get_cache)]
RefresherDep = Annotated[Refresher, Depends(get_refresher)]

router = APIRouter(prefix="/api/v1/rates", tags=["rates"])
internal_router = APIRouter(prefix="/internal/rates", tags=["internal"])


def rate_out(snap: RateSnapshot, cache: RateCache) -> RateOut:
    return RateOut(
        currency=snap.currency,
        rate_to_bdt=snap.rate_to_bdt,
        source=snap.source,
        as_of=snap.as_of,
        fetched_at=snap.fetched_at,
        expires_at=snap.expires_at(cache.max_age),
    )


@router.get("", response_model=RateListOut, summary="Current rates of every supported currency")
async def list_rates(session: SessionDep, cache: CacheDep) -> RateListOut:
    fresh, missing = await service.all_current(session, cache)
    return RateListOut(rates=[rate_out(s, cache) for s in fresh], unavailable=missing)


@router.get(
    "/current",
    response_model=RateOut,
    summary="Current rate of one currency",
    responses=problem_responses(422, 503),
)
async def current_rate(
    session: SessionDep, cache: CacheDep, currency: Annotated[ForeignCurrency, Query()]
) -> RateOut:
    return rate_out(await service.current_rate(session, cache, currency), cache)


@router.get("/history", response_model=RateHistoryPage, summary="Rate history, newest first")
async def rate_history(
    session: SessionDep,
    currency: Annotated[ForeignCurrency, Query()],
    start: Annotated[datetime | None, Query(description="Fetched at or after (ISO 8601, with zone).")] = None,
    end: Annotated[datetime | None, Query(description="Fetched before (ISO 8601, with zone).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> RateHistoryPage:
    for value in (start, end):
        if value is not None and value.tzinfo is None:
            raise Unprocessable(
                "start and end need a time zone (e.g. 2026-11-26T00:00:00Z).", code="naive_datetime"
            )
    rows, next_cursor = await service.history(
        session, currency, start=start, end=end, cursor=cursor, limit=limit
    )
    items = [
        RateHistoryItem(
            id=r.id,
            currency=r.currency,
            rate_to_bdt=r.rate_to_bdt,
            source=r.source,
            as_of=r.as_of,
            fetched_at=r.fetched_at,
            reason=r.reason,
        )
        for r in rows
    ]
    return RateHistoryPage(items=items, limit=limit, next_cursor=next_cursor)


@router.post(
    "/convert",
    response_model=ConvertOut,
    summary="Convert an amount between supported currencies",
    responses=problem_responses(401, 422, 503),
)
async def convert(body: ConvertIn, session: SessionDep, cache: CacheDep, _: CurrentPrincipal) -> ConvertOut:
    amount, converted, rate, used = await service.convert(
        session, cache, body.from_currency, body.to_currency, body.amount
    )
    return ConvertOut(
        from_currency=body.from_currency,
        to_currency=body.to_currency,
        amount=amount,
        converted_amount=converted,
        rate=rate,
        rates_used=[
            UsedRate(
                currency=s.currency,
                rate_to_bdt=s.rate_to_bdt,
                source=s.source,
                as_of=s.as_of,
                fetched_at=s.fetched_at,
            )
            for s in used
        ],
    )


@router.post(
    "/refresh",
    response_model=RefreshOut,
    summary="Refresh from the providers now (admin)",
    responses=problem_responses(401, 403, 409, 503),
)
async def refresh(refresher: RefresherDep, _: AdminPrincipal) -> RefreshOut:
    # The refresh is its own unit of work (the same code path as the background job): it commits
    # under the single-flight lock and then writes the cache, so it does not use SessionDep.
    outcome = await refresher.refresh(force=True)
    failures = [{"provider": p, "reason": r} for p, r in outcome.failures]
    if outcome.status == SKIPPED_LOCKED:
        raise Conflict("A refresh is already in progress.", code="refresh_in_progress")
    if outcome.status == FAILED:
        raise ServiceUnavailable(
            "No provider returned usable rates.", code="providers_unavailable", extra={"failures": failures}
        )
    return RefreshOut(
        status=outcome.status, source=outcome.source, updated=outcome.updated, failures=failures
    )


@router.post(
    "/override",
    response_model=RateOut,
    status_code=201,
    summary="Set a rate manually (admin, audited)",
    responses=problem_responses(401, 403, 422),
)
async def override(
    body: OverrideIn,
    request: Request,
    session: SessionDep,
    cache: CacheDep,
    admin: AdminPrincipal,
    tasks: BackgroundTasks,
) -> RateOut:
    settings: Settings = request.app.state.settings
    snap = await service.override(
        session,
        body.currency,
        body.rate_to_bdt,
        reason=body.reason,
        by=admin.subject,
        max_deviation=settings.override_max_deviation,
        confirm_large_change=body.confirm_large_change,
    )
    # Background tasks run after the response, i.e. after the request's commit.
    tasks.add_task(cache.put, snap)
    return rate_out(snap, cache)


@internal_router.get(
    "/{currency}",
    response_model=RateOut,
    summary="Current rate for another service's quote",
    responses=problem_responses(401, 422, 503),
)
async def internal_rate(
    currency: ForeignCurrency, session: SessionDep, cache: CacheDep, _: ServiceCaller
) -> RateOut:
    return rate_out(await service.current_rate(session, cache, currency), cache)
