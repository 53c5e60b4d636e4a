"""Provider selection and fallback: the configured providers are tried in order; the first
usable answer wins. A live provider's answer whose own as-of time is too old counts as a failure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from exchange_rate_service.metrics import PROVIDER_FAILURES
from exchange_rate_service.providers.base import ProviderError, ProviderResult, RateProvider
from exchange_rate_service.providers.exchangerate_api import ExchangeRateApiProvider
from exchange_rate_service.providers.fxratesapi import FxRatesApiProvider
from exchange_rate_service.providers.static import StaticProvider
from exchange_rate_service.settings import Settings
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)


class AllProvidersFailed(Exception):
    def __init__(self, failures: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {r}" for p, r in failures))
        self.failures = failures


@dataclass
class ProviderChain:
    providers: list[RateProvider]
    max_as_of_age: timedelta = timedelta(hours=48)
    exempt_from_age: frozenset[str] = field(default_factory=lambda: frozenset({"static"}))

    async def fetch(self, currencies: tuple[str, ...]) -> tuple[ProviderResult, list[tuple[str, str]]]:
        """The first usable result and the failures of the providers tried before it."""
        failures: list[tuple[str, str]] = []
        for provider in self.providers:
            try:
                result = await provider.fetch(currencies)
                if provider.name not in self.exempt_from_age and utcnow() - result.as_of > self.max_as_of_age:
                    raise ProviderError(provider.name, "stale_as_of")
            except ProviderError as exc:
                log.warning("rate_provider_failed", provider=exc.provider, reason=exc.reason)
                PROVIDER_FAILURES.labels(exc.provider, exc.reason).inc()
                failures.append((exc.provider, exc.reason))
                continue
            return result, failures
        raise AllProvidersFailed(failures)

    def with_provider(self, provider: RateProvider) -> ProviderChain:
        """A new chain with the provider of the same name replaced (unchanged if not configured).
        The old chain is left as it is, so a fetch already running on it finishes unharmed."""
        providers = [provider if p.name == provider.name else p for p in self.providers]
        return replace(self, providers=providers)


def primary_provider(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    base_url: str | None = None,
    api_key: SecretStr | None = None,
) -> ExchangeRateApiProvider:
    """ExchangeRate-API with the env URL/key, or the runtime overrides from admin-service."""
    return ExchangeRateApiProvider(
        http,
        base_url=base_url if base_url is not None else settings.exchangerate_api_base_url,
        api_key=api_key if api_key is not None else settings.exchangerate_api_key,
        key_in=settings.exchangerate_api_key_in,
        timeout=settings.provider_timeout,
    )


def build_providers(settings: Settings, http: httpx.AsyncClient) -> ProviderChain:
    """The chain from RATE_PROVIDERS. `http` must be a client WITHOUT our service API key."""
    providers: list[RateProvider] = []
    for name in settings.provider_order:
        if name == "exchangerate-api":
            providers.append(primary_provider(settings, http))
        elif name == "fxratesapi":
            providers.append(
                FxRatesApiProvider(
                    http,
                    base_url=settings.fxratesapi_base_url,
                    api_key=settings.fxratesapi_key,
                    timeout=settings.provider_timeout,
                )
            )
        elif name == "static":
            providers.append(StaticProvider(settings.static_rates_file or None))
    return ProviderChain(providers, **age_rules(settings))


def age_rules(settings: Settings) -> dict[str, Any]:
    """The bundled static file is exempt from the as-of age check outside production only (so
    `make run` works offline); in production an old file is refused like any stale provider."""
    return {
        "max_as_of_age": timedelta(seconds=settings.provider_max_as_of_age),
        "exempt_from_age": frozenset() if settings.environment == "production" else frozenset({"static"}),
    }
