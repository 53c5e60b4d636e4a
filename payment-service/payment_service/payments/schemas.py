"""Request and response bodies of the payment routes (amounts are decimal strings)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from shared.money import DecimalStr


class Customer(BaseModel):
    """The payer as SSLCommerz wants it (cus_name/cus_email/cus_phone are mandatory there; a
    missing name or phone is sent as a neutral placeholder rather than failing the session)."""

    name: str | None = Field(default=None, max_length=50)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=20)


class SessionCreate(BaseModel):
    transaction_id: uuid.UUID
    internal_tran_id: str = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9_-]+$")
    user_id: uuid.UUID
    total_bdt: DecimalStr
    customer: Customer


class SessionRead(BaseModel):
    payment_id: uuid.UUID
    sessionkey: str | None
    payment_url: str | None
    status: str


class PayoutSummary(BaseModel):
    payout_id: uuid.UUID
    sender_batch_id: str
    payout_batch_id: str | None
    payout_item_id: str | None
    status: str
    amount: str
    currency: str
    error: str | None


class RefundSummary(BaseModel):
    refund_id: uuid.UUID
    status: str
    amount: str
    currency: str
    error: str | None


class PaymentRead(BaseModel):
    id: uuid.UUID
    transaction_id: uuid.UUID
    internal_tran_id: str
    user_id: uuid.UUID
    status: str
    amount: str
    currency: str
    payment_url: str | None
    val_id: str | None
    bank_tran_id: str | None
    risk_level: str | None
    hold_reason: str | None
    failure_reason: str | None
    validated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    payout: PayoutSummary | None = None
    refund: RefundSummary | None = None


class PaymentList(BaseModel):
    items: list[PaymentRead]
