"""Request and response bodies. Rates and amounts travel as decimal strings, never JSON numbers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from shared.money import PAY_IN_CURRENCY, SUPPORTED_FOREIGN_CURRENCIES, DecimalStr


def _currency_in(allowed: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value.strip().upper() not in allowed:
            raise ValueError(f"currency must be one of {', '.join(allowed)}")
        return value.strip().upper()

    return check


# A supported foreign currency (USD, EUR, …) — the currencies that have a rate.
ForeignCurrency = Annotated[
    str,
    BeforeValidator(_currency_in(SUPPORTED_FOREIGN_CURRENCIES)),
    WithJsonSchema({"type": "string", "enum": list(SUPPORTED_FOREIGN_CURRENCIES), "examples": ["USD"]}),
]
# Any currency a conversion may start or end in: the foreign ones and BDT.
ConvertibleCurrency = Annotated[
    str,
    BeforeValidator(_currency_in((*SUPPORTED_FOREIGN_CURRENCIES, PAY_IN_CURRENCY))),
    WithJsonSchema(
        {"type": "string", "enum": [*SUPPORTED_FOREIGN_CURRENCIES, PAY_IN_CURRENCY], "examples": ["USD"]}
    ),
]
# A rate rendered with exactly the places it was stored with ("117.500000").
RateStr = Annotated[
    Decimal,
    PlainSerializer(lambda d: f"{d:f}", return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{6,}$", "examples": ["117.500000"]}),
]


class RateOut(BaseModel):
    currency: str
    base: str = PAY_IN_CURRENCY
    rate_to_bdt: RateStr = Field(description="BDT per 1 unit of `currency`.")
    source: str = Field(description="Provider name, or `manual` for an admin override.")
    as_of: datetime = Field(description="When the provider says the rate was observed.")
    fetched_at: datetime = Field(description="When this service obtained the rate.")
    expires_at: datetime = Field(description="After this the rate is refused for quoting (503).")


class RateListOut(BaseModel):
    base: str = PAY_IN_CURRENCY
    rates: list[RateOut]
    unavailable: list[str] = Field(description="Supported currencies with no fresh rate right now.")


class RateHistoryItem(BaseModel):
    id: int
    currency: str
    base: str = PAY_IN_CURRENCY
    rate_to_bdt: RateStr
    source: str
    as_of: datetime
    fetched_at: datetime
    reason: str | None = None


class RateHistoryPage(BaseModel):
    items: list[RateHistoryItem]
    limit: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


class ConvertIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_currency: ConvertibleCurrency = Field(alias="from")
    to_currency: ConvertibleCurrency = Field(alias="to")
    amount: DecimalStr = Field(description="Decimal string with at most the `from` currency's decimals.")


class UsedRate(BaseModel):
    currency: str
    rate_to_bdt: RateStr
    source: str
    as_of: datetime
    fetched_at: datetime


class ConvertOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_currency: str = Field(serialization_alias="from")
    to_currency: str = Field(serialization_alias="to")
    amount: DecimalStr
    converted_amount: DecimalStr = Field(description="Rounded half-up to the `to` currency's decimals.")
    rate: RateStr = Field(description="Effective `to` units per 1 `from` unit (8 decimals).")
    rates_used: list[UsedRate]


class OverrideIn(BaseModel):
    currency: ForeignCurrency
    rate_to_bdt: DecimalStr = Field(description="BDT per 1 unit; at most 6 decimals.")
    reason: str = Field(min_length=3, max_length=500)
    confirm_large_change: bool = Field(
        default=False, description="Required when the rate moves more than OVERRIDE_MAX_DEVIATION."
    )


class RefreshOut(BaseModel):
    status: str = Field(description="`refreshed`, `skipped_locked` or `skipped_fresh`.")
    source: str | None = None
    updated: list[str] = Field(default_factory=list, description="Currencies whose rate changed.")
    failures: list[dict[str, str]] = Field(default_factory=list, description="Providers that failed first.")
