"""Money math for quotes (ARCHITECTURE §6), pure and exact:

    bdt_amount = round_half_up(amount × rate, 2)
    fee_bdt    = round_half_up(bdt_amount × fee% / 100, 2)
    total_bdt  = bdt_amount + fee_bdt
    usd_equivalent = amount (USD) | round_half_up(bdt_amount / usd_rate_to_bdt, 2)

e.g. 100.00 USD at 117.50 with 2 % → 11750.00 + 235.00 = 11985.00 BDT.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.money import PAY_IN_CURRENCY, round_half_up, round_money, to_minor

USD = "USD"


@dataclass(frozen=True, slots=True)
class Pricing:
    currency: str
    amount: Decimal  # in `currency`, at its precision
    rate_to_bdt: Decimal
    fee_percentage: Decimal
    bdt_amount: Decimal
    fee_bdt: Decimal
    total_bdt: Decimal
    usd_equivalent: Decimal

    @property
    def minor(self) -> dict[str, int]:
        """The stored integer minor units."""
        return {
            "foreign_amount": to_minor(self.amount, self.currency),
            "bdt_amount": to_minor(self.bdt_amount, PAY_IN_CURRENCY),
            "fee_bdt": to_minor(self.fee_bdt, PAY_IN_CURRENCY),
            "total_bdt": to_minor(self.total_bdt, PAY_IN_CURRENCY),
            "usd_equivalent": to_minor(self.usd_equivalent, USD),
        }


def price(
    amount: Decimal, currency: str, rate_to_bdt: Decimal, fee_percentage: Decimal, usd_rate_to_bdt: Decimal
) -> Pricing:
    amount = round_money(amount, currency)
    bdt_amount = round_half_up(amount * rate_to_bdt, 2)
    fee_bdt = round_half_up(bdt_amount * fee_percentage / Decimal(100), 2)
    usd = amount if currency == USD else round_half_up(bdt_amount / usd_rate_to_bdt, 2)
    return Pricing(
        currency=currency,
        amount=amount,
        rate_to_bdt=rate_to_bdt,
        fee_percentage=fee_percentage,
        bdt_amount=bdt_amount,
        fee_bdt=fee_bdt,
        total_bdt=bdt_amount + fee_bdt,
        usd_equivalent=usd,
    )


def format_rate(rate: Decimal) -> str:
    """Rates are shown with at least 6 decimals (`"117.500000"`), never rounded away."""
    exp = rate.as_tuple().exponent
    places = max(6, -exp if isinstance(exp, int) else 6)
    return f"{rate.quantize(Decimal(1).scaleb(-places)):f}"
