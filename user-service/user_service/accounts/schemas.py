"""Request and response bodies for users. Responses never carry the password hash."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,50}$")
Role = Literal["user", "support", "admin"]


def normalize_email(value: str) -> str:
    """Syntax-checked (no DNS lookup), stored lower-case."""
    try:
        info = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("not a valid e-mail address") from None
    return info.normalized.lower()


def normalize_username(value: str) -> str:
    value = value.strip().lower()
    if not USERNAME_RE.match(value):
        raise ValueError("3-50 characters: lower-case letters, digits, '_', '.', '-'")
    return value


class RegisterIn(BaseModel):
    username: str = Field(examples=["rahim_ahmed"])
    email: str = Field(max_length=254, examples=["rahim@example.com"])
    password: str = Field(max_length=1024)
    full_name: str | None = Field(default=None, max_length=200)
    phone_number: str | None = Field(default=None, max_length=32, examples=["+8801712345678"])

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return normalize_username(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class ProfilePatch(BaseModel):
    """Only the fields present are changed; `null` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, max_length=200)
    phone_number: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=500)
    preferred_language: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    email: str | None = Field(
        default=None, max_length=254, description="Needs verification before it is used"
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalize_email(value) if value is not None else None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str
    pending_email: str | None
    full_name: str | None
    phone_number: str | None
    address: str | None
    preferred_language: str
    role: Role
    is_active: bool
    email_verified: bool
    created_at: datetime
    last_login_at: datetime | None


class AdminUserOut(UserOut):
    email_verified_at: datetime | None
    locked_until: datetime | None
    failed_login_count: int
    password_changed_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[AdminUserOut]
    total: int
    page: int
    size: int


class AdminUserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None
    unlock: bool = Field(default=False, description="Clear a login lockout and the failure counter")


class InternalUserOut(BaseModel):
    """Contact data and status for other services (docs/internal-api.md)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str
    full_name: str | None
    phone_number: str | None
    role: Role
    is_active: bool
    email_verified: bool
    locked_until: datetime | None
    preferred_language: str
