"""Exchange-rate providers behind one interface (`RateProvider`), tried in a configured order."""

from exchange_rate_service.providers.base import ProviderError, ProviderResult, RateProvider
from exchange_rate_service.providers.chain import ProviderChain, build_providers

__all__ = ["ProviderChain", "ProviderError", "ProviderResult", "RateProvider", "build_providers"]
