"""Transaction Service database models (schema `transactions` on PostgreSQL).

Money is stored in integer minor units (`*_amount` / `*_minor`) next to its currency; FX rates and
fee percentages are exact decimal text (`DecimalText`), never binary floats.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from shared.db import BigIntPK, ModelBase, new_metadata, utcnow
from shared.idempotency import IdempotencyKeyMixin
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal stored as its exact text on both backends (SQLite has no exact NUMERIC)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        return None if value is None else f"{Decimal(value):f}"

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    """Events this service publishes, written in the same transaction as the change."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has consumed (dedupe)."""


class IdempotencyKey(IdempotencyKeyMixin, Base):
    """Idempotency-Key records for POST /api/v1/transactions (kept 24 h)."""


class Quote(Base):
    """A locked price: rate, fee and totals, valid until `expires_at`, used at most once."""

    __tablename__ = "quote"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    foreign_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # minor units of `currency`
    rate_to_bdt: Mapped[Decimal] = mapped_column(DecimalText, nullable=False)
    rate_source: Mapped[str] = mapped_column(String(64), nullable=False)
    rate_as_of: Mapped[datetime | None] = mapped_column(nullable=True)
    bdt_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # paisa
    fee_percentage: Mapped[Decimal] = mapped_column(DecimalText, nullable=False)
    fee_bdt: Mapped[int] = mapped_column(BigInteger, nullable=False)  # paisa
    total_bdt: Mapped[int] = mapped_column(BigInteger, nullable=False)  # paisa
    usd_equivalent: Mapped[int] = mapped_column(BigInteger, nullable=False)  # US cents
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    used_by_transaction_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class Transaction(Base):
    __tablename__ = "transaction"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    internal_tran_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    on_hold: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    hold_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    foreign_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    foreign_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recipient_paypal_email: Mapped[str] = mapped_column(String(320), nullable=False)
    payment_purpose: Mapped[str | None] = mapped_column(String(200), nullable=True)
    quote_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("quote.id"), nullable=True)
    rate_to_bdt: Mapped[Decimal] = mapped_column(DecimalText, nullable=False)
    rate_source: Mapped[str] = mapped_column(String(64), nullable=False)
    fee_percentage: Mapped[Decimal] = mapped_column(DecimalText, nullable=False)
    bdt_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee_bdt: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_bdt: Mapped[int] = mapped_column(BigInteger, nullable=False)
    usd_equivalent: Mapped[int] = mapped_column(BigInteger, nullable=False)  # counts against limits
    payment_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    payment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payout_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    refund_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    bdt_received_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Persisted saga work (picked up by the worker, so a crash loses nothing):
    payout_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    refund_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    action_attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_action_at: Mapped[datetime | None] = mapped_column(nullable=True)  # retry/lease time
    last_reconciled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)  # last status/hold change
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (
        Index("ix_transaction_user_created", "user_id", "created_at"),
        Index("ix_transaction_status_updated", "status", "updated_at"),
    )


class TransactionStatusHistory(Base):
    """Every status (or hold) change with who and why."""

    __tablename__ = "transaction_status_history"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transaction.id"), nullable=False, index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    on_hold: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor_type: Mapped[str] = mapped_column(String(16), nullable=False)  # user|system|service|admin
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class UserLimit(Base):
    """One row per user: the lock that serialises limit reservations, plus optional overrides
    (USD cents; NULL = the platform default)."""

    __tablename__ = "user_limit"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    daily_limit: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    monthly_limit: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    yearly_limit: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class JobLease(Base):
    """Single-flight leases for periodic jobs across replicas (portable: no advisory locks)."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), nullable=False)
    locked_until: Mapped[datetime] = mapped_column(nullable=False)
