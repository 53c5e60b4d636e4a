"""User Service database models (schema `users` on PostgreSQL, `.data/user_service.db` on SQLite).

The tables are few and tightly related (sessions, one-time tokens and API clients all hang off a
user), so they share this module; the domain sub-packages hold the behaviour.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import JSONType, ModelBase, Timestamps, UUIDPrimaryKey, new_metadata, utcnow
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin

ROLE_USER, ROLE_SUPPORT, ROLE_ADMIN = "user", "support", "admin"
PURPOSE_VERIFY_EMAIL, PURPOSE_PASSWORD_RESET = "verify_email", "password_reset"


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    """Events this service publishes, written in the same transaction as the change."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has consumed (dedupe)."""


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "user_account"

    # Both stored lower-case; uniqueness is therefore case-insensitive.
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # A new address waiting for verification (the login address stays `email` until then).
    pending_email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(200))
    phone_number: Mapped[str | None] = mapped_column(String(20))  # E.164
    address: Mapped[str | None] = mapped_column(String(500))
    preferred_language: Mapped[str] = mapped_column(String(10), default="en")
    role: Mapped[str] = mapped_column(String(16), default=ROLE_USER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified_at: Mapped[datetime | None] = mapped_column()
    # Consecutive failed logins since the last success / lockout; reset after the lockout window.
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_user_account_role", "role"),)


class AuthSession(UUIDPrimaryKey, Base):
    """One login (the `sid` claim). Refresh tokens rotate inside it; only `refresh_jti` is valid."""

    __tablename__ = "auth_session"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    refresh_jti: Mapped[str] = mapped_column(String(64))
    refresh_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(45))

    __table_args__ = (Index("ix_auth_session_user_id", "user_id"),)


class OneTimeToken(UUIDPrimaryKey, Base):
    """E-mail verification and password-reset tokens: only the SHA-256 of the token is stored."""

    __tablename__ = "one_time_token"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))  # the address being verified
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_one_time_token_user_id", "user_id"),)


class ApiClient(UUIDPrimaryKey, Base):
    """A machine client using the client-credentials grant. The secret is stored as SHA-256 (it
    is 256 random bits, so a slow hash adds nothing)."""

    __tablename__ = "api_client"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(JSONType)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
