"""Aggregates over the audit trail: stats and trends, security alerts, compliance report."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit_service.models import AuditCheckpoint, AuditEntry
from audit_service.settings import Settings
from shared.db import is_postgres, utcnow

E = AuditEntry
GROUPS = {
    "category": E.category,
    "severity": E.severity,
    "service": E.service,
    "outcome": E.outcome,
    "action": E.action,
}
# Services whose privileged and money actions must appear in the trail (coverage).
EXPECTED_PRODUCERS = (
    "user-service",
    "payment-service",
    "transaction-service",
    "exchange-rate-service",
    "admin-service",
)


MAX_ALERT_ROWS = 100_000


def densest(stamps: list[datetime], window: timedelta) -> tuple[int, datetime | None, datetime | None]:
    """(count, first, last) of the largest run of sorted `stamps` fitting in `window`."""
    best: tuple[int, datetime | None, datetime | None] = (0, None, None)
    lo = 0
    for hi, stamp in enumerate(stamps):
        while stamp - stamps[lo] > window:
            lo += 1
        if hi - lo + 1 > best[0]:
            best = (hi - lo + 1, stamps[lo], stamp)
    return best


def period(
    date_from: datetime | None, date_to: datetime | None, *, default_days: float
) -> tuple[datetime, datetime]:
    end = date_to or utcnow()
    return (date_from or end - timedelta(days=default_days)), end


def _in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(E.occurred_at >= start, E.occurred_at < end)


async def _grouped(
    session: AsyncSession, column: Any, where: ColumnElement[bool], limit: int | None = None
) -> dict[str, int]:
    stmt: Select[Any] = (
        select(column, func.count()).where(where).group_by(column).order_by(func.count().desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return {str(k): int(n) for k, n in (await session.execute(stmt)).all()}


async def stats(session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    where = _in(start, end)
    total = (await session.execute(select(func.count()).select_from(E).where(where))).scalar_one()
    out: dict[str, Any] = {"from": start, "to": end, "total": int(total)}
    for name in ("category", "severity", "service", "outcome"):
        out[f"by_{name}"] = await _grouped(session, GROUPS[name], where)
    out["top_actions"] = await _grouped(session, E.action, where, limit=20)
    return out


def _bucket(session: AsyncSession, interval: str) -> Any:
    if is_postgres(session):
        return func.date_trunc(interval, func.timezone("UTC", E.occurred_at))
    fmt = "%Y-%m-%dT%H:00:00" if interval == "hour" else "%Y-%m-%dT00:00:00"
    return func.strftime(fmt, E.occurred_at)


async def trends(
    session: AsyncSession, start: datetime, end: datetime, *, interval: str, group_by: str
) -> dict[str, Any]:
    bucket = _bucket(session, interval).label("bucket")
    column = GROUPS[group_by]
    stmt = (
        select(bucket, column, func.count()).where(_in(start, end)).group_by(bucket, column).order_by(bucket)
    )
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for b, key, n in (await session.execute(stmt)).all():
        label = b.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(b, datetime) else f"{str(b)[:19]}Z"
        series[label][str(key)] = int(n)
    buckets = [{"bucket": k, "total": sum(v.values()), "counts": v} for k, v in sorted(series.items())]
    return {"from": start, "to": end, "interval": interval, "group_by": group_by, "buckets": buckets}


async def security_alerts(
    session: AsyncSession, start: datetime, end: datetime, settings: Settings
) -> dict[str, Any]:
    where = _in(start, end)
    failed = and_(where, E.category == "authentication", E.outcome.in_(("failure", "denied")))
    alerts: list[dict[str, Any]] = []

    # Bursts: at least N failures within any sliding window of AUDIT_ALERT_BURST_MINUTES.
    burst = timedelta(minutes=settings.audit_alert_burst_minutes)
    failures = (
        await session.execute(
            select(E.actor_id, E.ip, E.occurred_at)
            .where(failed)
            .order_by(E.occurred_at)
            .limit(MAX_ALERT_ROWS)
        )
    ).all()
    for index, key in ((0, "actor_id"), (1, "ip")):
        times: dict[str, list[datetime]] = defaultdict(list)
        for row in failures:
            if row[index] is not None:
                times[str(row[index])].append(row[2])
        for value, stamps in times.items():
            found = densest(stamps, burst)
            if found[0] >= settings.audit_alert_failed_logins:
                alerts.append(
                    {
                        "type": "failed_login_burst",
                        "severity": "high",
                        "key": {key: value},
                        "count": found[0],
                        "first_at": found[1],
                        "last_at": found[2],
                        "total_in_period": len(stamps),
                    }
                )
    spread = (
        select(E.ip, func.count(distinct(E.actor_id)), func.min(E.occurred_at), func.max(E.occurred_at))
        .where(where, E.category == "authentication", E.ip.is_not(None), E.actor_id.is_not(None))
        .group_by(E.ip)
        .having(func.count(distinct(E.actor_id)) >= settings.audit_alert_ip_distinct_users)
    )
    for ip, n, first, last in (await session.execute(spread)).all():
        alerts.append(
            {
                "type": "ip_many_users",
                "severity": "high",
                "key": {"ip": ip},
                "count": int(n),
                "first_at": first,
                "last_at": last,
            }
        )
    privilege = (
        select(E)
        .where(
            where,
            or_(
                E.action.in_(("user.role_changed", "user.api_client_created")),
                and_(E.category == "authorization", E.privileged.is_(True)),
            ),
        )
        .order_by(E.id)
        .limit(200)
    )
    for e in (await session.execute(privilege)).scalars().all():
        alerts.append(
            {
                "type": "privilege_change",
                "severity": "high",
                "key": {"entry_id": e.id, "action": e.action},
                "count": 1,
                "first_at": e.occurred_at,
                "last_at": e.occurred_at,
                "actor_id": e.actor_id,
                "target_id": e.target_id,
            }
        )
    exports = (
        select(E.actor_id, func.count(), func.min(E.occurred_at), func.max(E.occurred_at))
        .where(where, E.action.like("%export%"))
        .group_by(E.actor_id)
        .having(func.count() >= settings.audit_alert_exports)
    )
    for actor, n, first, last in (await session.execute(exports)).all():
        alerts.append(
            {
                "type": "bulk_export",
                "severity": "medium",
                "key": {"actor_id": actor},
                "count": int(n),
                "first_at": first,
                "last_at": last,
            }
        )
    return {"from": start, "to": end, "count": len(alerts), "alerts": alerts}


async def compliance_report(session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    where = _in(start, end)

    async def count(cond: ColumnElement[bool]) -> int:
        return int(
            (await session.execute(select(func.count()).select_from(E).where(where, cond))).scalar_one()
        )

    privileged_rows = (
        (await session.execute(select(E).where(where, E.privileged.is_(True)).order_by(E.id).limit(500)))
        .scalars()
        .all()
    )
    seen = await _grouped(session, E.service, where)
    last_cp = (
        await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    ).scalar()
    head = (await session.execute(select(E.id, E.hash).order_by(E.id.desc()).limit(1))).first()
    return {
        "from": start,
        "to": end,
        "generated_at": utcnow(),
        "totals": {
            "entries": await count(E.id.is_not(None)),
            "pci": await count(E.pci.is_(True)),
            "gdpr": await count(E.gdpr.is_(True)),
            "privileged": await count(E.privileged.is_(True)),
            "failures": await count(E.outcome.in_(("failure", "denied"))),
        },
        "pci_by_action": await _grouped(session, E.action, and_(where, E.pci.is_(True))),
        "gdpr_by_action": await _grouped(session, E.action, and_(where, E.gdpr.is_(True))),
        "privileged_by_actor": await _grouped(session, E.actor_id, and_(where, E.privileged.is_(True))),
        "privileged_actions": [
            {
                "id": e.id,
                "occurred_at": e.occurred_at,
                "service": e.service,
                "action": e.action,
                "actor_id": e.actor_id,
                "actor_role": e.actor_role,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "outcome": e.outcome,
            }
            for e in privileged_rows
        ],
        "coverage": {
            "services_seen": seen,
            "services_missing": [s for s in EXPECTED_PRODUCERS if s not in seen],
            "categories_seen": await _grouped(session, E.category, where),
        },
        "integrity": {
            "head_id": int(head[0]) if head else None,
            "head_hash": str(head[1]) if head else None,
            "last_checkpoint_id": last_cp.id if last_cp else None,
            "last_checkpoint_entry_id": last_cp.entry_id if last_cp else None,
            "last_checkpoint_at": last_cp.created_at if last_cp else None,
        },
    }


def compliance_csv(report: dict[str, Any]) -> str:
    """The report flattened to `section,key,value` rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "value"])
    iso = lambda v: v.isoformat() if isinstance(v, datetime) else v  # noqa: E731
    w.writerow(["period", "from", iso(report["from"])])
    w.writerow(["period", "to", iso(report["to"])])
    for section in ("totals", "pci_by_action", "gdpr_by_action", "privileged_by_actor"):
        for k, v in report[section].items():
            w.writerow([section, k, v])
    for k, v in report["coverage"]["services_seen"].items():
        w.writerow(["coverage.services_seen", k, v])
    for s in report["coverage"]["services_missing"]:
        w.writerow(["coverage.services_missing", s, ""])
    for k, v in report["coverage"]["categories_seen"].items():
        w.writerow(["coverage.categories_seen", k, v])
    for k, v in report["integrity"].items():
        w.writerow(["integrity", k, iso(v)])
    for a in report["privileged_actions"]:
        w.writerow(
            [
                "privileged_action",
                a["id"],
                f"{iso(a['occurred_at'])} {a['service']} {a['action']} "
                f"by {a['actor_id']} on {a['target_type']}:{a['target_id']} ({a['outcome']})",
            ]
        )
    return buf.getvalue()
