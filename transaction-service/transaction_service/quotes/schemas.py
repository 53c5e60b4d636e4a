"""Quote request/response bodies. Amounts are decimal strings (`shared.money.DecimalStr`); a JSON
number is refused (422)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, model_validator

from shared.money import SUPPORTED_FOREIGN_CURRENCIES, CurrencyCode, DecimalStr, MoneyError, parse_amount


def foreign_currency(code: str) -> str:
    if code not in SUPPORTED_FOREIGN_CURRENCIES:
        raise ValueError(f"{code} is not a supported currency ({', '.join(SUPPORTED_FOREIGN_CURRENCIES)})")
    return code


def positive_amount(value: Decimal, currency: str) -> Decimal:
    try:
        return parse_amount(value, currency, allow_zero=False)
    except MoneyError as exc:
        raise ValueError(str(exc)) from None


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: CurrencyCode
    amount: DecimalStr  # a decimal string; JSON numbers are refused (422)

    @model_validator(mode="after")
    def _check(self) -> QuoteRequest:
        foreign_currency(self.currency)
        positive_amount(self.amount, self.currency)
        return self

    @property
    def decimal_amount(self) -> Decimal:
        return positive_amount(self.amount, self.currency)


class QuoteRead(BaseModel):
    quote_id: uuid.UUID
    currency: str
    amount: str
    rate_to_bdt: str
    rate_source: str
    bdt_amount: str
    fee_percentage: str
    fee_bdt: str
    total_bdt: str
    usd_equivalent: str
    created_at: datetime
    expires_at: datetime
