"""Exchange Rate Service database models (schema `rates` on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from shared.db import BigIntPK, ModelBase, new_metadata, utcnow
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class DecimalString(TypeDecorator[Decimal]):
    """An exact Decimal stored as its plain decimal string. SQLite's NUMERIC affinity would turn
    the value into a binary float, so `Numeric` is not used for rates on either backend."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError("DecimalString columns take finite Decimals only")
        return f"{value:f}"

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class ExchangeRate(Base):
    """One observed (or manually set) rate. Append-only: a new rate is a new row; UPDATE and DELETE
    are refused by a trigger (migration 0002). The current rate of a currency is its highest id."""

    __tablename__ = "exchange_rate"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    base_currency: Mapped[str] = mapped_column(String(3), nullable=False, default="BDT")
    # BDT per 1 unit of `currency`, RATE_PLACES (6) decimals.
    rate_to_bdt: Mapped[Decimal] = mapped_column(DecimalString(), nullable=False)
    # The provider's figure as received (units of `currency` per 1 BDT for the live providers).
    provider_quote: Mapped[Decimal | None] = mapped_column(DecimalString(), nullable=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False)  # provider name or "manual"
    as_of: Mapped[datetime] = mapped_column(nullable=False)  # the provider's as-of time
    fetched_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)  # our fetch time
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # manual overrides only
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # admin subject for overrides

    __table_args__ = (Index("ix_exchange_rate_currency_id", "currency", "id"),)


class OutboxMessage(OutboxMixin, Base):
    """Events this service publishes, written in the same transaction as the change."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has consumed (dedupe)."""
