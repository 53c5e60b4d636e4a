"""The `static` provider: a dated rates file bundled with the package (BDT per unit, decimal
strings). The embedded default, so `make run` and the tests work offline."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from exchange_rate_service.providers.base import ProviderError, ProviderResult, quantize_rate, to_decimal

NAME = "static"
BUNDLED_FILE = Path(__file__).resolve().parents[1] / "data" / "static_rates.json"


class StaticProvider:
    name = NAME

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else BUNDLED_FILE
        # Loaded once, at construction (lifespan), not on the event loop's hot path.
        data: Any = json.loads(self.path.read_text(encoding="utf-8"), parse_float=Decimal)
        if (
            not isinstance(data, dict)
            or data.get("base") != "BDT"
            or not isinstance(data.get("rates_to_bdt"), dict)
        ):
            raise ValueError(f"static rates file {self.path} is not a BDT rates file")
        self.as_of = datetime.fromisoformat(str(data["as_of"]).replace("Z", "+00:00"))
        if self.as_of.tzinfo is None:
            raise ValueError("static rates file: as_of must carry a timezone")
        self.rates: dict[str, Decimal] = {
            str(c).upper(): quantize_rate(to_decimal(v, NAME)) for c, v in data["rates_to_bdt"].items()
        }

    async def fetch(self, currencies: tuple[str, ...]) -> ProviderResult:
        if any(c not in self.rates for c in currencies):
            raise ProviderError(NAME, "missing_currency")
        rates = {c: self.rates[c] for c in currencies}
        return ProviderResult(source=NAME, as_of=self.as_of, rates_to_bdt=rates, quoted=dict(rates))
