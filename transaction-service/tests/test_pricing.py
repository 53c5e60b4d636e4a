"""Money math (ARCHITECTURE §6): half-up rounding at each step, currency exponents, exact text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from transaction_service.quotes.pricing import format_rate, price

USD_RATE = Decimal("117.50")

CASES = [
    # amount, currency, rate, fee %, bdt_amount, fee_bdt, total_bdt, usd_equivalent
    ("100.00", "USD", "117.50", "2", "11750.00", "235.00", "11985.00", "100.00"),  # the worked example
    ("10.00", "USD", "117.50", "2", "1175.00", "23.50", "1198.50", "10.00"),
    ("0.01", "USD", "117.50", "2", "1.18", "0.02", "1.20", "0.01"),  # 1.175 → 1.18 (half-up, not banker's)
    ("1.00", "USD", "110.125", "2", "110.13", "2.20", "112.33", "1.00"),  # 110.125 → 110.13
    ("33.33", "EUR", "127.250000", "2.0", "4241.24", "84.82", "4326.06", "36.10"),
    ("500", "JPY", "0.785000", "2", "392.50", "7.85", "400.35", "3.34"),  # JPY has no decimals
    ("1", "JPY", "0.785", "2", "0.79", "0.02", "0.81", "0.01"),
    ("250.00", "GBP", "148.100000", "1.5", "37025.00", "555.38", "37580.38", "315.11"),  # 555.375 → 555.38
    ("100.00", "USD", "117.50", "0", "11750.00", "0.00", "11750.00", "100.00"),
]


@pytest.mark.parametrize(("amount", "currency", "rate", "fee", "bdt", "fee_bdt", "total", "usd"), CASES)
def test_price_follows_the_money_rules(amount, currency, rate, fee, bdt, fee_bdt, total, usd) -> None:
    p = price(Decimal(amount), currency, Decimal(rate), Decimal(fee), USD_RATE)
    assert (f"{p.bdt_amount:f}", f"{p.fee_bdt:f}", f"{p.total_bdt:f}", f"{p.usd_equivalent:f}") == (
        bdt,
        fee_bdt,
        total,
        usd,
    )
    assert p.total_bdt == p.bdt_amount + p.fee_bdt


def test_minor_units_are_integers_per_currency_exponent() -> None:
    p = price(Decimal("500"), "JPY", Decimal("0.785"), Decimal("2"), USD_RATE)
    assert p.minor == {
        "foreign_amount": 500,
        "bdt_amount": 39250,
        "fee_bdt": 785,
        "total_bdt": 40035,
        "usd_equivalent": 334,
    }


def test_rates_are_shown_with_at_least_six_decimals_and_never_rounded_away() -> None:
    assert format_rate(Decimal("117.5")) == "117.500000"
    assert format_rate(Decimal("0.00912345678")) == "0.00912345678"
