"""Response bodies of the audit log queries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: uuid.UUID | None
    occurred_at: datetime
    recorded_at: datetime
    service: str
    event_type: str | None
    category: str
    action: str
    severity: str
    outcome: str
    actor_type: str
    actor_id: str | None
    actor_role: str | None
    target_type: str | None
    target_id: str | None
    transaction_id: str | None
    request_id: str | None
    ip: str | None
    user_agent: str | None
    privileged: bool
    pci: bool
    gdpr: bool
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
    limit: int


class TrailOut(BaseModel):
    transaction_id: str
    count: int
    items: list[AuditEntryOut]
