"""Admin Service database models (schema `admin` on PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import BigIntPK, JSONType, ModelBase, new_metadata, utcnow
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    """Events this service publishes, written in the same transaction as the change."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has consumed (dedupe)."""


class RuntimeSetting(Base):
    """A stored runtime setting (absent row = the registry default / the owning service's env).
    Secret settings keep only `encrypted_value` (a Fernet token); `value` stays NULL for them."""

    __tablename__ = "runtime_setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    encrypted_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class SettingChange(Base):
    """History of every change (secret values masked), newest last."""

    __tablename__ = "setting_change"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # set | reset
    old_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    event_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_setting_change_key_id", "key", "id"),)


class Report(Base):
    """A report generated in the background; its (aggregated) rows are kept for download."""

    __tablename__ = "report"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    date_from: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM-DD, report timezone
    date_to: Mapped[str] = mapped_column(String(10), nullable=False)  # inclusive
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # queued|running|completed|failed
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # percent
    rows_processed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total_rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    columns: Mapped[Any] = mapped_column(JSONType, nullable=True)
    rows: Mapped[Any] = mapped_column(JSONType, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
