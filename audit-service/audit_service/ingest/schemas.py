"""Request and response bodies of `POST /internal/audit` (single) and `/internal/audit/batch`."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from audit_service.entries import ActorType, Category, Outcome, Severity


class AuditEntryIn(BaseModel):
    """An entry a service records about its own privileged or money action."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = Field(None, description="Idempotency id: an entry with a known id is stored once.")
    occurred_at: AwareDatetime | None = None
    action: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        examples=["user.role_changed", "refund.approved"],
    )
    category: Category | None = None
    severity: Severity | None = None
    outcome: Outcome | None = None
    actor_type: ActorType = "user"
    actor_id: str | None = Field(None, max_length=256)
    actor_role: str | None = Field(None, max_length=16)
    target_type: str | None = Field(None, max_length=64)
    target_id: str | None = Field(None, max_length=256)
    transaction_id: str | None = Field(None, max_length=64)
    request_id: str | None = Field(None, max_length=128)
    ip: str | None = Field(None, max_length=64)
    user_agent: str | None = Field(None, max_length=2048)
    privileged: bool = False
    tags: list[Literal["pci", "gdpr"]] = Field(default_factory=list, max_length=2)
    details: dict[str, Any] = Field(default_factory=dict)


class AuditBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[AuditEntryIn] = Field(min_length=1)


class RecordedOut(BaseModel):
    id: int
    duplicate: bool


class BatchRecordedOut(BaseModel):
    recorded: int
    duplicates: int
    entries: list[RecordedOut]
