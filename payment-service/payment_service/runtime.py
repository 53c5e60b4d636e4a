"""Runtime settings owned by admin-service for this service: the provider base URLs and credentials.

Env values (`Settings.paypal_*`, `Settings.sslcommerz_*`) are the defaults; admin-service's
`GET /internal/settings` (base URLs) and `GET /internal/settings/secrets` (the four credentials,
in clear, for this service's key only), polled every RUNTIME_SETTINGS_INTERVAL ≤ 60 s, override
them without a restart (`shared.runtime_settings`). Keys are accepted bare (`paypal.client_id`) or
prefixed (`provider.paypal.client_id`).

`setting.changed` events go through `shared.runtime_settings.setting_handlers`: a base URL is
applied from the event; a secret's event carries only a mask, so it triggers an immediate refresh
from admin-service instead (the mask is never applied).
A change calls `on_change` with the changed bare keys; the context rebuilds the affected provider
client (`Context.on_runtime_change`). Values are never logged, only keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

import shared.runtime_settings as rs
from payment_service.settings import Settings

PARSERS: dict[str, rs.Parser] = {
    "paypal.base_url": rs.http_url,
    "paypal.client_id": rs.text,
    "paypal.client_secret": rs.text,
    "sslcommerz.base_url": rs.http_url,
    "sslcommerz.store_id": rs.text,
    "sslcommerz.store_password": rs.text,
}
SECRET_KEYS = frozenset(
    {"paypal.client_id", "paypal.client_secret", "sslcommerz.store_id", "sslcommerz.store_password"}
)
URL_KEYS = frozenset({"paypal.base_url", "sslcommerz.base_url"})
PAYPAL_KEYS = frozenset(k for k in PARSERS if k.startswith("paypal."))
SSLCOMMERZ_KEYS = frozenset(k for k in PARSERS if k.startswith("sslcommerz."))


def env_default(settings: Settings, name: str) -> Any:
    """`paypal.client_secret` → `settings.paypal_client_secret` (secrets unwrapped)."""
    value = getattr(settings, name.replace(".", "_"))
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class RuntimeSettings(rs.RuntimeSettings):
    def __init__(
        self, settings: Settings, *, on_change: Callable[[frozenset[str]], None] | None = None
    ) -> None:
        super().__init__(
            defaults=lambda name: env_default(settings, name),
            parsers=PARSERS,
            prefixes=("provider.",),
            admin_url=settings.url_of("admin-service"),
            interval=settings.runtime_settings_interval,
            secret_keys=SECRET_KEYS,
            on_change=on_change,
        )
        self.settings = settings

    # -- effective values -------------------------------------------------------------------------
    @property
    def paypal_base_url(self) -> str:
        return str(self.value("paypal.base_url")).rstrip("/")

    @property
    def paypal_client_id(self) -> str:
        return str(self.value("paypal.client_id"))

    @property
    def paypal_client_secret(self) -> str:
        return str(self.value("paypal.client_secret"))

    @property
    def sslcommerz_base_url(self) -> str:
        return str(self.value("sslcommerz.base_url")).rstrip("/")

    @property
    def sslcommerz_store_id(self) -> str:
        return str(self.value("sslcommerz.store_id"))

    @property
    def sslcommerz_store_password(self) -> str:
        return str(self.value("sslcommerz.store_password"))
