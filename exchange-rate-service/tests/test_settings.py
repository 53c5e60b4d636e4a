"""Settings: provider order validation and the production refusal of missing provider keys (the
message names the settings, never a value)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from exchange_rate_service.settings import Settings

STRONG = "s3cure-service-key-0123456789"


def test_provider_order_is_validated() -> None:
    assert Settings(environment="test", rate_providers=" ExchangeRate-API , static").provider_order == [
        "exchangerate-api",
        "static",
    ]
    with pytest.raises(ValidationError):
        Settings(environment="test", rate_providers="exchangerate-api,openexchangerates")


def test_production_refuses_a_live_provider_without_its_key() -> None:
    with pytest.raises(ValidationError) as info:
        Settings(
            environment="production",
            service_api_key=STRONG,
            service_api_keys=f"transaction-service={STRONG}",
            rate_providers="exchangerate-api,fxratesapi",
            fxratesapi_key="fxr_live_real_key_abcdef",
        )
    message = str(info.value)
    assert "EXCHANGERATE_API_KEY" in message
    assert "FXRATESAPI_KEY" not in message and "fxr_live_real_key_abcdef" not in message


def test_defaults_are_offline_and_documented_values() -> None:
    s = Settings(environment="test")
    assert s.provider_order == ["static"]
    assert s.rate_refresh_interval == 900 and s.rate_max_age == 3600
    assert s.port == 8006 and s.db_schema == "rates"


def test_runtime_settings_poll_at_most_every_60_seconds() -> None:
    s = Settings(environment="test")
    assert (s.runtime_settings_refresh, s.runtime_settings_interval) == (True, 60)
    assert Settings(environment="test", runtime_settings_interval=5).runtime_settings_interval == 5
    with pytest.raises(ValidationError):
        Settings(environment="test", runtime_settings_interval=61)
