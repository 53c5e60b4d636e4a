"""Runtime settings owned by admin-service for this service: the PRIMARY rate provider's
(ExchangeRate-API) base URL and API key.

| admin-service key                  | bare name  | env default                 |
|------------------------------------|------------|-----------------------------|
| `provider.exchange_rate.base_url`  | `base_url` | `EXCHANGERATE_API_BASE_URL` |
| `provider.exchange_rate.api_key`   | `api_key`  | `EXCHANGERATE_API_KEY` (secret) |

Env values are the defaults; `GET /internal/settings` (and, for the key,
`GET /internal/settings/secrets`), polled every RUNTIME_SETTINGS_INTERVAL ≤ 60 s, and
`setting.changed` events override them without a restart (`shared.runtime_settings`). The fallback
provider (FxRatesAPI) and the static file are not affected. `setting.*` events go through
`shared.runtime_settings.setting_handlers` (a secret's event carries only a mask, so it triggers an
immediate refresh instead of being applied). The key is never
logged: only setting names are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

import shared.runtime_settings as rs
from exchange_rate_service.settings import Settings
from shared.logging import get_logger

log = get_logger(__name__)

PREFIX = "provider.exchange_rate."
BASE_URL, API_KEY = "base_url", "api_key"
# bare name → the env setting that is its default
ENV_DEFAULTS = {BASE_URL: "exchangerate_api_base_url", API_KEY: "exchangerate_api_key"}


def api_key(value: Any) -> str:
    """A provider key: a non-blank string, and never admin-service's mask (`********`), which is
    what a secret looks like in listings and events — applying it would break the provider."""
    key = rs.text(value).strip()
    if not key or set(key) == {"*"}:
        raise ValueError("not a usable key")
    return key


PARSERS: dict[str, rs.Parser] = {BASE_URL: rs.http_url, API_KEY: api_key}
SECRET_KEYS = frozenset({API_KEY})


class RuntimeSettings(rs.RuntimeSettings):
    def __init__(
        self, settings: Settings, *, on_change: Callable[[frozenset[str]], None] | None = None
    ) -> None:
        super().__init__(
            defaults=self._env_default,
            parsers=PARSERS,
            prefixes=(PREFIX,),
            admin_url=settings.url_of("admin-service"),
            interval=settings.runtime_settings_interval,
            secret_keys=SECRET_KEYS,
            on_change=on_change,
        )
        self.settings = settings

    def _env_default(self, name: str) -> str:
        value = getattr(self.settings, ENV_DEFAULTS[name])
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        return text.rstrip("/") if name == BASE_URL else text

    @property
    def base_url(self) -> str:
        return str(self.value(BASE_URL))

    @property
    def api_key(self) -> SecretStr:
        return SecretStr(str(self.value(API_KEY)))
