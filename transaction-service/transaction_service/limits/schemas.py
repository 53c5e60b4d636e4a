"""Limit bodies (USD equivalent, decimal strings)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.money import DecimalStr, MoneyError, parse_amount


class LimitsUpdate(BaseModel):
    """Per-user overrides in USD; null restores the platform default for that window."""

    model_config = ConfigDict(extra="forbid")

    daily_limit: DecimalStr | None = None
    monthly_limit: DecimalStr | None = None
    yearly_limit: DecimalStr | None = None
    reason: str = Field(min_length=3, max_length=200)

    @field_validator("daily_limit", "monthly_limit", "yearly_limit")
    @classmethod
    def _usd(cls, value: Decimal | None) -> Decimal | None:
        if value is not None:
            try:
                parse_amount(value, "USD")
            except MoneyError as exc:
                raise ValueError(str(exc)) from None
        return value

    def cents(self, name: str) -> int | None:
        value = getattr(self, name)
        return None if value is None else int(parse_amount(value, "USD") * Decimal(100))
