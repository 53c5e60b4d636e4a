"""Request and response bodies for authentication."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from user_service.accounts.schemas import normalize_email


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str | None = Field(default=None, description="Absent for the client-credentials grant")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    scope: str | None = None


class RefreshIn(BaseModel):
    refresh_token: str = Field(max_length=4096)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class EmailIn(BaseModel):
    email: str = Field(max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class OptionalEmailIn(BaseModel):
    email: str | None = Field(default=None, max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalize_email(value) if value is not None else None


class TokenIn(BaseModel):
    token: str = Field(min_length=10, max_length=200)


class PasswordResetIn(BaseModel):
    token: str = Field(min_length=10, max_length=200)
    new_password: str = Field(max_length=1024)


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class VerifiedOut(BaseModel):
    email_verified: bool


class SessionOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool
