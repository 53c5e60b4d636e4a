"""Request and response bodies for API clients. The secret appears once, in the creation answer."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCOPE_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["partner-reporting"])
    scopes: list[str] = Field(default_factory=list, max_length=32, examples=[["transactions:read"]])
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="Empty: never expires")

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        for scope in value:
            if not SCOPE_RE.match(scope):
                raise ValueError("scopes are lower-case words like 'transactions:read'")
        return sorted(set(value))


class ApiClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]
    created_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiClientCreated(ApiClientOut):
    client_secret: str = Field(description="Shown only now; store it safely")
