"""The provider interface and the arithmetic every provider shares.

Providers quote "per BDT" (units of the foreign currency bought by 1 BDT, e.g. USD 0.008511); we
store `rate_to_bdt` — BDT per 1 unit of the foreign currency — as a Decimal rounded half-up to
`RATE_PLACES` decimals. Provider JSON is parsed with `parse_float=Decimal`, so a quote never passes
through a binary float.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any, Protocol

import httpx

RATE_PLACES = 6  # decimals of rate_to_bdt (ARCHITECTURE §6: ≥ 6)
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)


class ProviderError(Exception):
    """A provider could not give usable rates. `reason` is a short machine code safe to log (never
    the URL, which may carry the API key)."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ProviderResult:
    source: str  # provider name, stored with every rate
    as_of: datetime  # the provider's own "last updated" time (UTC)
    rates_to_bdt: dict[str, Decimal]  # currency → BDT per 1 unit, RATE_PLACES decimals
    quoted: dict[str, Decimal]  # currency → the provider's figure as received (provenance)
    next_update: datetime | None = None


class RateProvider(Protocol):
    name: str

    async def fetch(self, currencies: tuple[str, ...]) -> ProviderResult:
        """Rates for `currencies` (all of them, or ProviderError)."""
        ...


def quantize_rate(value: Decimal) -> Decimal:
    return value.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_UP)


def invert_per_bdt(per_bdt: Decimal) -> Decimal:
    """1 / (units of CUR per BDT) → BDT per unit of CUR, at RATE_PLACES decimals."""
    with localcontext() as ctx:
        ctx.prec = 34
        return quantize_rate(Decimal(1) / per_bdt)


def to_decimal(value: Any, provider: str) -> Decimal:
    """A positive, finite decimal from a provider figure (Decimal from the JSON parser, or a string)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ProviderError(provider, "bad_payload")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ProviderError(provider, "bad_payload") from exc
    if not d.is_finite() or d <= 0:
        raise ProviderError(provider, "bad_payload")
    return d


def from_unix(value: Any, provider: str) -> datetime:
    if isinstance(value, Decimal):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProviderError(provider, "bad_payload")
    return datetime.fromtimestamp(value, tz=UTC)


def per_bdt_result(
    provider: str,
    *,
    quotes: Any,
    currencies: tuple[str, ...],
    as_of: datetime,
    next_update: datetime | None = None,
) -> ProviderResult:
    """Build a result from a `{CUR: units per 1 BDT}` mapping; every wanted currency must be there."""
    if not isinstance(quotes, dict):
        raise ProviderError(provider, "bad_payload")
    missing = [c for c in currencies if c not in quotes]
    if missing:
        raise ProviderError(provider, "missing_currency")
    quoted = {c: to_decimal(quotes[c], provider) for c in currencies}
    return ProviderResult(
        source=provider,
        as_of=as_of,
        rates_to_bdt={c: invert_per_bdt(q) for c, q in quoted.items()},
        quoted=quoted,
        next_update=next_update,
    )


async def get_json(
    http: httpx.AsyncClient, provider: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """GET and decode a provider's JSON (numbers as Decimal) → (status, body). Errors are reduced to
    a reason code; httpx exception text is never propagated since it contains the URL (and key)."""
    try:
        resp = await http.get(url, **kwargs)
    except httpx.TimeoutException:
        raise ProviderError(provider, "timeout") from None
    except httpx.HTTPError:
        raise ProviderError(provider, "connection_error") from None
    try:
        body = json.loads(resp.content, parse_float=Decimal, parse_int=Decimal)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderError(
            provider, f"http_{resp.status_code}" if resp.status_code >= 400 else "bad_payload"
        )
    return resp.status_code, body
