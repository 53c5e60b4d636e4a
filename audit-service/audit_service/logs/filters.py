"""Query filters shared by the log list, the export and the analytics endpoints."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import AwareDatetime
from sqlalchemy import Select, or_

from audit_service.entries import ActorType, Category, Outcome, Severity
from audit_service.models import AuditEntry
from shared.errors import BadRequest


@dataclass
class LogFilters:
    actor_id: str | None = None
    actor_type: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    service: str | None = None
    severity: list[str] | None = None
    category: list[str] | None = None
    outcome: list[str] | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    request_id: str | None = None
    transaction_id: str | None = None
    ip: str | None = None
    privileged: bool | None = None
    tag: str | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        e = AuditEntry
        for column, value in (
            (e.actor_id, self.actor_id),
            (e.actor_type, self.actor_type),
            (e.target_type, self.target_type),
            (e.target_id, self.target_id),
            (e.service, self.service),
            (e.request_id, self.request_id),
            (e.transaction_id, self.transaction_id),
            (e.ip, self.ip),
            (e.privileged, self.privileged),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if self.action:
            # `payment.*` → prefix match; anything else is exact.
            if self.action.endswith("*"):
                prefix = self.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(e.action.like(prefix + "%", escape="\\"))
            else:
                stmt = stmt.where(e.action == self.action)
        for column, values in (
            (e.severity, self.severity),
            (e.category, self.category),
            (e.outcome, self.outcome),
        ):
            if values:
                stmt = stmt.where(column.in_(values))
        if self.date_from is not None:
            stmt = stmt.where(e.occurred_at >= self.date_from)
        if self.date_to is not None:
            stmt = stmt.where(e.occurred_at < self.date_to)
        if self.tag == "pci":
            stmt = stmt.where(e.pci.is_(True))
        elif self.tag == "gdpr":
            stmt = stmt.where(e.gdpr.is_(True))
        elif self.tag == "compliance":
            stmt = stmt.where(or_(e.pci.is_(True), e.gdpr.is_(True)))
        return stmt

    def is_empty(self) -> bool:
        return all(v is None or v == [] for v in vars(self).values())


def log_filters(
    actor_id: Annotated[str | None, Query(max_length=128)] = None,
    actor_type: ActorType | None = None,
    action: Annotated[
        str | None, Query(max_length=100, description="Exact, or a prefix ending in `*`.")
    ] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=128)] = None,
    service: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    category: Annotated[list[Category] | None, Query()] = None,
    outcome: Annotated[list[Outcome] | None, Query()] = None,
    date_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    date_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    transaction_id: Annotated[str | None, Query(max_length=64)] = None,
    ip: Annotated[str | None, Query(max_length=64)] = None,
    privileged: bool | None = None,
    tag: Annotated[str | None, Query(pattern="^(pci|gdpr|compliance)$")] = None,
) -> LogFilters:
    if date_from and date_to and date_from >= date_to:
        raise BadRequest("`from` must be before `to`.", code="invalid_range")
    return LogFilters(
        actor_id=actor_id,
        actor_type=actor_type,
        action=action,
        target_type=target_type,
        target_id=target_id,
        service=service,
        severity=list(severity) if severity else None,
        category=list(category) if category else None,
        outcome=list(outcome) if outcome else None,
        date_from=date_from,
        date_to=date_to,
        request_id=request_id,
        transaction_id=transaction_id,
        ip=ip,
        privileged=privileged,
        tag=tag,
    )


LogFiltersDep = Annotated[LogFilters, Depends(log_filters)]


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = raw.partition(":")
        if version != "v1":
            raise ValueError(version)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc
