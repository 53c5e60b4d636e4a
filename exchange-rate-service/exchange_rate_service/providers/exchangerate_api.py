"""ExchangeRate-API v6: `GET {base}/v6/{api_key}/latest/BDT`.

Success: `{"result": "success", "base_code": "BDT", "time_last_update_unix": …,
"time_next_update_unix": …, "conversion_rates": {"USD": 0.008511, …}}` (units of CUR per 1 BDT).
Failure: `{"result": "error", "error-type": "invalid-key" | "inactive-account" | "quota-reached" |
"unsupported-code" | "malformed-request"}`. The key goes in the path (the documented default) or,
with `key_in="header"`, as `Authorization: Bearer` to `{base}/v6/latest/BDT`; either way the URL
is never logged.
"""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import SecretStr

from exchange_rate_service.providers.base import (
    ProviderError,
    ProviderResult,
    from_unix,
    get_json,
    per_bdt_result,
)

NAME = "exchangerate-api"
KNOWN_ERRORS = {"invalid-key", "inactive-account", "quota-reached", "unsupported-code", "malformed-request"}


class ExchangeRateApiProvider:
    name = NAME

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: SecretStr,
        timeout: float,
        key_in: Literal["path", "header"] = "path",
    ) -> None:
        self.http = http
        self.key_in = key_in
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    async def fetch(self, currencies: tuple[str, ...]) -> ProviderResult:
        key = self.api_key.get_secret_value()
        if not key:
            raise ProviderError(NAME, "not_configured")
        if self.key_in == "header":
            url, headers = f"{self.base_url}/v6/latest/BDT", {"Authorization": f"Bearer {key}"}
        else:
            url, headers = f"{self.base_url}/v6/{key}/latest/BDT", {}
        status, body = await get_json(self.http, NAME, url, headers=headers, timeout=self.timeout)
        if body.get("result") != "success":
            error = str(body.get("error-type", ""))
            raise ProviderError(NAME, error if error in KNOWN_ERRORS else f"http_{status}")
        if status != 200:
            raise ProviderError(NAME, f"http_{status}")
        if body.get("base_code") != "BDT":
            raise ProviderError(NAME, "wrong_base")
        next_unix = body.get("time_next_update_unix")
        return per_bdt_result(
            NAME,
            quotes=body.get("conversion_rates"),
            currencies=currencies,
            as_of=from_unix(body.get("time_last_update_unix"), NAME),
            next_update=from_unix(next_unix, NAME) if next_unix is not None else None,
        )
