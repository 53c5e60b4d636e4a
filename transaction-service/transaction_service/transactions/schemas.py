"""Transaction request/response bodies (amounts are decimal strings with their currency)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.money import PAY_IN_CURRENCY, CurrencyCode, DecimalStr, format_minor
from transaction_service.models import Transaction, TransactionStatusHistory
from transaction_service.quotes.pricing import USD, format_rate
from transaction_service.quotes.schemas import foreign_currency, positive_amount


class TransactionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requested_foreign_currency: CurrencyCode
    requested_foreign_amount: DecimalStr
    recipient_paypal_email: EmailStr
    payment_purpose: str | None = Field(default=None, max_length=200)
    quote_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _check(self) -> TransactionCreate:
        foreign_currency(self.requested_foreign_currency)
        positive_amount(self.requested_foreign_amount, self.requested_foreign_currency)
        return self

    @property
    def amount(self) -> Decimal:
        return positive_amount(self.requested_foreign_amount, self.requested_foreign_currency)


class TransactionRead(BaseModel):
    id: uuid.UUID
    internal_tran_id: str
    user_id: str
    status: str
    on_hold: bool
    hold_reason: str | None
    foreign_currency: str
    foreign_amount: str
    recipient_paypal_email: str
    payment_purpose: str | None
    quote_id: uuid.UUID | None
    rate_to_bdt: str
    rate_source: str
    bdt_amount: str
    fee_percentage: str
    fee_bdt: str
    total_bdt: str
    usd_equivalent: str
    payment_url: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, t: Transaction) -> TransactionRead:
        return cls(
            id=t.id,
            internal_tran_id=t.internal_tran_id,
            user_id=t.user_id,
            status=t.status,
            on_hold=t.on_hold,
            hold_reason=t.hold_reason,
            foreign_currency=t.foreign_currency,
            foreign_amount=format_minor(t.foreign_amount, t.foreign_currency),
            recipient_paypal_email=t.recipient_paypal_email,
            payment_purpose=t.payment_purpose,
            quote_id=t.quote_id,
            rate_to_bdt=format_rate(t.rate_to_bdt),
            rate_source=t.rate_source,
            bdt_amount=format_minor(t.bdt_amount, PAY_IN_CURRENCY),
            fee_percentage=f"{t.fee_percentage:f}",
            fee_bdt=format_minor(t.fee_bdt, PAY_IN_CURRENCY),
            total_bdt=format_minor(t.total_bdt, PAY_IN_CURRENCY),
            usd_equivalent=format_minor(t.usd_equivalent, USD),
            payment_url=t.payment_url,
            failure_reason=t.failure_reason,
            created_at=t.created_at,
            updated_at=t.updated_at,
            expires_at=t.expires_at,
            completed_at=t.completed_at,
        )


class TransactionPage(BaseModel):
    items: list[TransactionRead]
    total: int
    page: int
    size: int


class StatusChange(BaseModel):
    from_status: str | None
    to_status: str
    on_hold: bool
    reason: str | None
    actor_type: str
    actor_id: str | None
    event_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, h: TransactionStatusHistory) -> StatusChange:
        return cls(
            from_status=h.from_status,
            to_status=h.to_status,
            on_hold=h.on_hold,
            reason=h.reason,
            actor_type=h.actor_type,
            actor_id=h.actor_id,
            event_id=h.event_id,
            created_at=h.created_at,
        )


class InternalTransaction(BaseModel):
    """The record payment-service reads (docs/internal-api.md)."""

    id: uuid.UUID
    internal_tran_id: str
    user_id: str
    status: str
    on_hold: bool
    hold_reason: str | None
    foreign_currency: str
    foreign_amount: str
    recipient_paypal_email: str
    payment_purpose: str | None
    rate_to_bdt: str
    bdt_amount: str
    fee_bdt: str
    total_bdt: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, t: Transaction) -> InternalTransaction:
        r = TransactionRead.of(t)
        return cls(**r.model_dump(include=set(cls.model_fields)))
