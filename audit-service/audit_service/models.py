"""Audit Service database models (schema `audit` on PostgreSQL).

`audit_entry` is append-only: its `id` is the gapless position in the hash chain (assigned under
the append lock, never by a sequence), `prev_hash` is the previous entry's `hash`, and
`hash = SHA-256(prev_hash ‖ canonical JSON of the masked entry)` (see `audit_service.chain`). On
PostgreSQL a trigger refuses UPDATE and DELETE (only a retention purge behind a checkpoint may
delete). `audit_checkpoint` rows sign the head hash at a position.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, String, Text
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


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    # Idempotency: the event id, or the id a service gave its direct entry.
    source_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    service: Mapped[str] = mapped_column(String(64), nullable=False)
    event_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    target_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    privileged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    pci: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    gdpr: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    __table_args__ = (
        Index("ix_audit_entry_occurred_at", "occurred_at"),
        Index("ix_audit_entry_actor_id", "actor_id"),
        Index("ix_audit_entry_target", "target_type", "target_id"),
        Index("ix_audit_entry_transaction_id", "transaction_id"),
        Index("ix_audit_entry_request_id", "request_id"),
        Index("ix_audit_entry_action", "action"),
        Index("ix_audit_entry_ip", "ip"),
    )


class AuditCheckpoint(Base):
    """A signature over the chain head at `entry_id` (also the anchor left behind by a purge)."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    entry_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    algorithm: Mapped[str] = mapped_column(String(16), nullable=False)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    signature: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str] = mapped_column(String(16), nullable=False, default="periodic")
    purged_through: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_audit_checkpoint_entry_id", "entry_id"),)
