"""Admin Service database models (schema `admin` on PostgreSQL)."""

from __future__ import annotations

from shared.db import ModelBase, new_metadata
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    """Events this service publishes, written in the same transaction as the change."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has consumed (dedupe)."""
