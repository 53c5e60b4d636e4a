"""Money parsing, rounding and minor-unit conversion (ARCHITECTURE §6)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.money import (
    CurrencyCode,
    DecimalStr,
    MoneyError,
    exponent,
    format_minor,
    from_minor,
    parse_amount,
    round_half_up,
    round_money,
    to_minor,
)


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("100.00", "USD", Decimal("100.00")),
        ("100", "USD", Decimal("100.00")),
        ("100.5", "USD", Decimal("100.50")),
        ("0.01", "BDT", Decimal("0.01")),
        ("11985.00", "BDT", Decimal("11985.00")),
        ("500", "JPY", Decimal("500")),
        (" 7.25 ", "eur", Decimal("7.25")),
        ("0", "GBP", Decimal("0.00")),
        ("1.234", "KWD", Decimal("1.234")),
    ],
)
def test_valid_amounts_parse_to_the_currency_precision(raw: str, currency: str, expected: Decimal) -> None:
    value = parse_amount(raw, currency)
    assert value == expected
    assert value.as_tuple().exponent == -exponent(currency)


@pytest.mark.parametrize(
    ("raw", "currency"),
    [
        ("1e3", "USD"),  # exponent notation
        ("0.005", "BDT"),  # more decimals than BDT has
        ("100.000", "USD"),
        ("100.5", "JPY"),  # JPY has no decimals
        ("100.0", "JPY"),
        ("-5.00", "USD"),  # negative
        ("abc", "USD"),
        ("", "USD"),
        ("1,000.00", "USD"),  # thousands separator
        ("NaN", "USD"),
        ("Infinity", "USD"),
        (".5", "USD"),
        ("5.", "USD"),
        (100.0, "USD"),  # a float can never carry money
        (True, "USD"),
        (None, "USD"),
        ("10.00", "XXX"),  # unknown currency
    ],
)
def test_invalid_amounts_are_refused(raw: object, currency: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(raw, currency)


def test_negative_allowed_only_when_asked() -> None:
    assert parse_amount("-5.00", "USD", allow_negative=True) == Decimal("-5.00")


def test_zero_can_be_refused() -> None:
    with pytest.raises(MoneyError):
        parse_amount("0.00", "USD", allow_zero=False)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("2.345", 2, "2.35"),
        ("2.344", 2, "2.34"),
        ("-2.345", 2, "-2.35"),  # half away from zero
        ("0.005", 2, "0.01"),
        ("117.4999995", 6, "117.500000"),
        ("0.5", 0, "1"),
        ("1.5", 0, "2"),
        ("2.5", 0, "3"),  # never banker's rounding
    ],
)
def test_round_half_up(value: str, places: int, expected: str) -> None:
    assert str(round_half_up(Decimal(value), places)) == expected


def test_worked_example_from_the_architecture() -> None:
    # 100.00 USD at 117.50 with 2 % → 11750.00 + 235.00 = 11985.00 BDT
    bdt = round_money(Decimal("100.00") * Decimal("117.50"), "BDT")
    fee = round_money(bdt * Decimal("2.0") / 100, "BDT")
    assert (bdt, fee, bdt + fee) == (Decimal("11750.00"), Decimal("235.00"), Decimal("11985.00"))
    assert to_minor(bdt + fee, "BDT") == 1198500


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1198500, "BDT", "11985.00"),
        (500, "JPY", "500"),
        (1, "USD", "0.01"),
        (-250, "EUR", "-2.50"),
        (1234, "KWD", "1.234"),
    ],
)
def test_minor_units_round_trip(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text
    assert to_minor(from_minor(minor, currency), currency) == minor
    assert to_minor(text, currency) == minor


def test_to_minor_refuses_lossy_conversion() -> None:
    with pytest.raises(MoneyError):
        to_minor(Decimal("1.005"), "USD")
    with pytest.raises(MoneyError):
        from_minor(1.5, "USD")  # type: ignore[arg-type]


class Payment(BaseModel):
    amount: DecimalStr
    currency: CurrencyCode


def test_pydantic_money_type_accepts_strings_and_serialises_strings() -> None:
    p = Payment.model_validate_json('{"amount": "100.50", "currency": "usd"}')
    assert p.amount == Decimal("100.50") and p.currency == "USD"
    assert p.model_dump(mode="json") == {"amount": "100.50", "currency": "USD"}


@pytest.mark.parametrize(
    "body",
    [
        '{"amount": 100.5, "currency": "USD"}',
        '{"amount": 100, "currency": "USD"}',
        '{"amount": "1e3", "currency": "USD"}',
        '{"amount": "1", "currency": "ZZZ"}',
    ],
)
def test_pydantic_money_type_rejects_json_numbers_and_garbage(body: str) -> None:
    with pytest.raises(ValidationError):
        Payment.model_validate_json(body)
