"""Exchange Rate Service settings (environment variables; see `.env.example`).

The primary provider's base URL and key (EXCHANGERATE_API_BASE_URL / EXCHANGERATE_API_KEY) are the
defaults of admin-service's runtime settings `provider.exchange_rate.base_url` / `.api_key`
(`exchange_rate_service.runtime`), which override them without a restart.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import SecretStr, field_validator

from shared.settings import PLACEHOLDER_MARKERS, ServiceSettings

KNOWN_PROVIDERS = ("exchangerate-api", "fxratesapi", "static")


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "exchange-rate-service"

    # Providers tried in this order until one answers (comma-separated names of KNOWN_PROVIDERS).
    # The embedded default is the bundled static file, so `make run` works offline.
    rate_providers: str = "static"
    exchangerate_api_base_url: str = "https://v6.exchangerate-api.com"
    exchangerate_api_key: SecretStr = SecretStr("")
    # "path": GET {base}/v6/{key}/latest/BDT; "header": GET {base}/v6/latest/BDT with Authorization: Bearer.
    exchangerate_api_key_in: Literal["path", "header"] = "path"
    fxratesapi_base_url: str = "https://api.fxratesapi.com"
    fxratesapi_key: SecretStr = SecretStr("")
    # Empty → the dated file bundled in the package (exchange_rate_service/data/static_rates.json).
    static_rates_file: str = ""
    provider_timeout: float = 5.0  # seconds, per provider call
    # A provider answer whose own as-of time is older than this is treated as a failure (seconds).
    # ExchangeRate-API and FxRatesAPI publish at least daily; the static file is exempt outside
    # production only.
    provider_max_as_of_age: float = 48 * 3600


    # Background refresher.
    rate_refresh_enabled: bool = True
    rate_refresh_interval: float = 15 * 60  # seconds between refreshes
    rate_refresh_jitter: float = 0.1  # ± fraction of the interval, so replicas spread out
    # A rate fetched longer ago than this is refused for quoting (503) — seconds.
    rate_max_age: float = 60 * 60
    seed_on_startup: bool = True  # seed from the static file when the table is empty

    # A manual override moving the rate by more than this fraction needs confirm_large_change.
    override_max_deviation: Decimal = Decimal("0.10")

    # Cache of the current rate per currency in the key-value store (Redis / embedded store).
    rate_cache_ttl: float = 60.0  # seconds
    rate_cache_prefix: str = "rates:"

    @field_validator("rate_providers")
    @classmethod
    def _known_providers(cls, value: str) -> str:
        names = [p.strip().lower() for p in value.split(",") if p.strip()]
        unknown = [p for p in names if p not in KNOWN_PROVIDERS]
        if unknown or not names:
            raise ValueError(f"RATE_PROVIDERS must list some of {', '.join(KNOWN_PROVIDERS)}")
        return ",".join(names)

    @property
    def provider_order(self) -> list[str]:
        return self.rate_providers.split(",")

    def _refuse_placeholders(self) -> None:
        super()._refuse_placeholders()
        # A configured live provider needs its key; the names are reported, never the values.
        missing = [
            env
            for name, env, key in (
                ("exchangerate-api", "EXCHANGERATE_API_KEY", self.exchangerate_api_key),
                ("fxratesapi", "FXRATESAPI_KEY", self.fxratesapi_key),
            )
            if name in self.provider_order and _placeholder(key.get_secret_value())
        ]
        if missing:
            raise ValueError(
                "refusing to start in production with missing or placeholder provider keys: "
                + ", ".join(missing)
            )


def _placeholder(raw: str) -> bool:
    return not raw or any(m in raw.lower() for m in PLACEHOLDER_MARKERS)
