"""Payment Service database models (schema `payments` on PostgreSQL).

Money is stored as integer minor units (`*_amount`, BigInteger) next to its ISO-4217 `currency`.
One transaction has at most one payment (its SSLCommerz session), one payout and one refund:
unique constraints on `transaction_id` make the internal endpoints idempotent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
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


class Payment(Base):
    """The BDT pay-in of one transaction through an SSLCommerz hosted session.

    status: initiated (session created) → succeeded | held | failed | cancelled | expired.
    A late, validated success may still move failed/cancelled/expired → succeeded|held (money was
    taken); succeeded and held never move again (duplicates are ignored).
    """

    __tablename__ = "payment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    transaction_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    internal_tran_id: Mapped[str] = mapped_column(String(30), unique=True)  # SSLCommerz tran_id
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    total_amount: Mapped[int] = mapped_column(BigInteger)  # minor units (paisa)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="initiated")
    sessionkey: Mapped[str | None] = mapped_column(String(64))
    payment_url: Mapped[str | None] = mapped_column(String(500))
    val_id: Mapped[str | None] = mapped_column(String(64))
    bank_tran_id: Mapped[str | None] = mapped_column(String(80))
    risk_level: Mapped[str | None] = mapped_column(String(4))
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    paid_amount: Mapped[int | None] = mapped_column(BigInteger)  # minor units reported by the validator
    paid_currency: Mapped[str | None] = mapped_column(String(3))
    validated_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Payout(Base):
    """The PayPal payout of one transaction: one item per batch.

    `sender_batch_id` is derived from the transaction id, so however often creation is retried
    PayPal pays at most once (its 30-day dedupe). `status` is the item's `transaction_status`
    (PENDING, SUCCESS, UNCLAIMED, ONHOLD, FAILED, RETURNED, BLOCKED, DENIED, REFUNDED, REVERSED)
    or CREATED before PayPal accepted the batch; it only moves forward (payouts/states.py).
    """

    __tablename__ = "payout"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    transaction_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column()
    sender_batch_id: Mapped[str] = mapped_column(String(63), unique=True)
    payout_batch_id: Mapped[str | None] = mapped_column(String(40), index=True)
    payout_item_id: Mapped[str | None] = mapped_column(String(40), index=True)
    paypal_transaction_id: Mapped[str | None] = mapped_column(String(40))
    payout_amount: Mapped[int] = mapped_column(BigInteger)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    receiver: Mapped[str] = mapped_column(String(127))
    status: Mapped[str] = mapped_column(String(16), default="CREATED")
    batch_status: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_payout_due", "status", "next_check_at"),)


class Refund(Base):
    """A full BDT refund of a transaction's validated payment through SSLCommerz.

    status: pending (not yet accepted by SSLCommerz) → processing → succeeded | failed.
    `refund_trans_id` (≤30 chars) is our idempotency key at SSLCommerz.
    """

    __tablename__ = "refund"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    transaction_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    payment_id: Mapped[uuid.UUID] = mapped_column()
    refund_trans_id: Mapped[str] = mapped_column(String(30), unique=True)
    refund_amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    refund_ref_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_refund_due", "status", "next_poll_at"),)


class WebhookRecord(Base):
    """Every IPN, browser return and PayPal webhook, stored before anything else is done with it.

    `outcome`: received → processed | unchanged | duplicate | rejected | ignored | error (with `reason`).
    The raw body is kept byte-exact (as text) because signatures cover exactly those bytes.
    """

    __tablename__ = "webhook_record"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str | None] = mapped_column(String(80), index=True)
    transmission_id: Mapped[str | None] = mapped_column(String(80))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # masked
    raw_body: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16), default="received")
    reason: Mapped[str | None] = mapped_column(String(200))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()


class ProcessedWebhook(Base):
    """Dedupe keys of webhooks already applied (`paypal:event:WH-…`, `paypal:transmission:…`)."""

    __tablename__ = "processed_webhook"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderCall(Base):
    """One outgoing provider request and its answer (secrets and PII masked)."""

    __tablename__ = "provider_call"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(1000))  # query string masked
    request_body: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
