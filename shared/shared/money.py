"""Money: ISO-4217 exponents, Decimal ↔ integer minor units, half-up rounding, strict parsing.

Amounts are stored as integers in minor units next to a currency and exposed as decimal strings.
A binary float cannot carry money, so a float (or a JSON number) is never accepted as an amount.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

# ISO 4217 minor-unit exponents for the currencies the platform knows about.
CURRENCY_EXPONENTS: dict[str, int] = {
    "BDT": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "JPY": 0,
    "CHF": 2,
    "SGD": 2,
    "INR": 2,
    "MYR": 2,
    "HKD": 2,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "ILS": 2,
    "MXN": 2,
    "PHP": 2,
    "THB": 2,
    "TWD": 2,
    "CNY": 2,
    "KRW": 0,
    "AED": 2,
    "SAR": 2,
    "QAR": 2,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}

PAY_IN_CURRENCY = "BDT"
SUPPORTED_FOREIGN_CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "SGD")

_AMOUNT_RE = re.compile(r"^-?\d+(\.\d+)?$")


class MoneyError(ValueError):
    """Raised for an amount or currency that cannot be money (bad type, format or precision)."""


def normalize_currency(code: Any) -> str:
    if not isinstance(code, str):
        raise MoneyError("currency must be a string")
    c = code.strip().upper()
    if c not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unsupported currency {code!r}")
    return c


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[normalize_currency(currency)]


def parse_decimal(value: Any) -> Decimal:
    """A decimal from a plain decimal string (or Decimal/int). Floats, exponents, NaN, ∞ and
    thousands separators are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("amounts must be decimal strings, not numbers")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError("amount must be finite")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str):
        raise MoneyError("amounts must be decimal strings")
    s = value.strip()
    if not _AMOUNT_RE.match(s):
        raise MoneyError(f"{value!r} is not a plain decimal amount")
    try:
        return Decimal(s)
    except InvalidOperation as exc:  # pragma: no cover - regex already guards
        raise MoneyError(f"{value!r} is not a decimal") from exc


def decimals_of(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def parse_amount(
    value: Any, currency: str, *, allow_negative: bool = False, allow_zero: bool = True
) -> Decimal:
    """Parse a money amount for `currency`; more decimals than the currency has is an error."""
    d = parse_decimal(value)
    places = exponent(currency)
    if decimals_of(d) > places:
        raise MoneyError(f"{currency} amounts have at most {places} decimal places")
    if d < 0 and not allow_negative:
        raise MoneyError("amount must not be negative")
    if d == 0 and not allow_zero:
        raise MoneyError("amount must be greater than zero")
    return d.quantize(Decimal(1).scaleb(-places))


def round_half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_money(value: Decimal, currency: str) -> Decimal:
    return round_half_up(value, exponent(currency))


def to_minor(amount: Decimal | str, currency: str) -> int:
    """Decimal (already at the currency's precision) → integer minor units. Refuses lossy input."""
    d = parse_decimal(amount) if not isinstance(amount, Decimal) else amount
    places = exponent(currency)
    scaled = d.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than {places} decimals for {currency}")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise MoneyError("minor units must be an integer")
    places = exponent(currency)
    return (Decimal(minor).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def format_minor(minor: int, currency: str) -> str:
    """`11985 00` paisa → `"11985.00"`; JPY 500 → `"500"`. Locale-independent."""
    return f"{from_minor(minor, currency):f}"


def format_decimal(value: Decimal, places: int) -> str:
    return f"{round_half_up(value, places):f}"


def _strict_decimal_str(value: Any) -> Decimal:
    # JSON numbers (int or float) are refused: money travels as decimal strings.
    if not isinstance(value, str | Decimal):
        raise ValueError('amounts must be decimal strings such as "100.00", not numbers')
    try:
        return parse_decimal(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


# Pydantic field type: accepts only decimal strings, serialises back to a string.
DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_strict_decimal_str),
    PlainSerializer(lambda d: f"{d:f}", return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["100.00"]}),
]


def _currency(value: Any) -> str:
    try:
        return normalize_currency(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


CurrencyCode = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["USD"]}),
]
