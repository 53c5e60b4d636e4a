"""FxRatesAPI (backup): `GET {base}/latest?base=BDT&currencies=USD,EUR,…` with
`Authorization: Bearer <key>` (a header, so the key never appears in a URL or a log line).

Success: `{"success": true, "base": "BDT", "timestamp": 1739646840, "date": "2025-02-15T19:14:00.000Z",
"rates": {"USD": 0.008511, …}}` (units of CUR per 1 BDT).
Failure: `{"success": false, "error": "invalid_api_key", "description": "…"}`.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from pydantic import SecretStr

from exchange_rate_service.providers.base import (
    ProviderError,
    ProviderResult,
    from_unix,
    get_json,
    per_bdt_result,
)

NAME = "fxratesapi"


class FxRatesApiProvider:
    name = NAME

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, api_key: SecretStr, timeout: float) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    async def fetch(self, currencies: tuple[str, ...]) -> ProviderResult:
        key = self.api_key.get_secret_value()
        if not key:
            raise ProviderError(NAME, "not_configured")
        status, body = await get_json(
            self.http,
            NAME,
            f"{self.base_url}/latest",
            params={"base": "BDT", "currencies": ",".join(currencies)},
            headers={"Authorization": f"Bearer {key}"},
            timeout=self.timeout,
        )
        if body.get("success") is not True or status != 200:
            # The provider's error code is a short token ("invalid_api_key"); keep only safe characters.
            error = "".join(ch for ch in str(body.get("error", ""))[:40] if ch.isalnum() or ch == "_")
            raise ProviderError(NAME, error or f"http_{status}")
        if body.get("base") != "BDT":
            raise ProviderError(NAME, "wrong_base")
        return per_bdt_result(NAME, quotes=body.get("rates"), currencies=currencies, as_of=_as_of(body))


def _as_of(body: dict[str, object]) -> datetime:
    if body.get("timestamp") is not None:
        return from_unix(body["timestamp"], NAME)
    date = body.get("date")
    if isinstance(date, str):
        try:
            return datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            pass
    raise ProviderError(NAME, "bad_payload")
