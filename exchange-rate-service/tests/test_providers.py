"""Provider clients against recorded-shape payloads (httpx.MockTransport): per-BDT quotes become
exact `rate_to_bdt` Decimals, errors and timeouts become reason codes without the key, and the
chain falls back in the configured order."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from exchange_rate_service.providers.base import ProviderError
from exchange_rate_service.providers.chain import AllProvidersFailed, ProviderChain
from exchange_rate_service.providers.exchangerate_api import ExchangeRateApiProvider
from exchange_rate_service.providers.fxratesapi import FxRatesApiProvider
from exchange_rate_service.providers.static import StaticProvider
from shared.money import SUPPORTED_FOREIGN_CURRENCIES

from .conftest import FX_KEY, PROVIDER_KEY, er_api_body, fx_body

NOW = int(time.time())
ALL = SUPPORTED_FOREIGN_CURRENCIES


def er_api(handler) -> ExchangeRateApiProvider:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ExchangeRateApiProvider(
        http, base_url="https://er.test/", api_key=SecretStr(PROVIDER_KEY), timeout=2
    )


def fxrates(handler) -> FxRatesApiProvider:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return FxRatesApiProvider(http, base_url="https://fx.test", api_key=SecretStr(FX_KEY), timeout=2)


async def test_exchangerate_api_quotes_become_exact_bdt_rates() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=er_api_body(NOW))

    result = await er_api(handler).fetch(ALL)

    assert seen[0].url.path == f"/v6/{PROVIDER_KEY}/latest/BDT"
    assert result.source == "exchangerate-api"
    # 1 / 0.008511 = 117.49500646… → half-up at 6 places; the quote itself kept exactly.
    assert result.rates_to_bdt["USD"] == Decimal("117.495006")
    assert result.quoted["USD"] == Decimal("0.008511")
    assert result.rates_to_bdt["JPY"] == Decimal("0.783024")
    assert all(isinstance(v, Decimal) and v.as_tuple().exponent == -6 for v in result.rates_to_bdt.values())
    assert set(result.rates_to_bdt) == set(ALL)
    assert result.as_of == datetime.fromtimestamp(NOW - 3600, tz=UTC)
    assert result.next_update == datetime.fromtimestamp(NOW + 82800, tz=UTC)


async def test_exchangerate_api_can_send_the_key_as_a_bearer_header() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=er_api_body(NOW))

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    provider = ExchangeRateApiProvider(
        http, base_url="https://er.test", api_key=SecretStr(PROVIDER_KEY), timeout=2, key_in="header"
    )
    result = await provider.fetch(ALL)

    assert seen[0].url.path == "/v6/latest/BDT"
    assert seen[0].headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert PROVIDER_KEY not in str(seen[0].url)
    assert result.rates_to_bdt["USD"] == Decimal("117.495006")


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (403, {"result": "error", "error-type": "invalid-key"}, "invalid-key"),
        (429, {"result": "error", "error-type": "quota-reached"}, "quota-reached"),
        (200, {"result": "error", "error-type": "something<script>"}, "http_200"),
        (502, "<html>Bad gateway</html>", "http_502"),
        (200, er_api_body(NOW, base_code="USD"), "wrong_base"),
        (200, er_api_body(NOW, conversion_rates={"USD": 0.008511}), "missing_currency"),
        (
            200,
            er_api_body(NOW, conversion_rates={**er_api_body(NOW)["conversion_rates"], "EUR": 0}),
            "bad_payload",
        ),
    ],
)
async def test_exchangerate_api_errors_become_reason_codes_without_the_key(status, body, reason) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    with pytest.raises(ProviderError) as info:
        await er_api(handler).fetch(ALL)

    assert info.value.reason == reason
    assert PROVIDER_KEY not in str(info.value)
    assert info.value.__cause__ is None or PROVIDER_KEY not in str(info.value.__cause__)


@pytest.mark.parametrize(
    ("exc", "reason"), [(httpx.ReadTimeout, "timeout"), (httpx.ConnectError, "connection_error")]
)
async def test_provider_timeout_and_connection_errors_hide_the_url(exc, reason) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise exc(f"failed: {req.url}", request=req)

    with pytest.raises(ProviderError) as info:
        await er_api(handler).fetch(ALL)

    assert info.value.reason == reason
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert PROVIDER_KEY not in str(info.value)


async def test_fxratesapi_sends_the_key_in_a_header_and_parses_rates() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=fx_body(NOW))

    result = await fxrates(handler).fetch(ALL)

    req = seen[0]
    assert req.url.path == "/latest"
    assert req.url.params["base"] == "BDT"
    assert req.url.params["currencies"].split(",") == list(ALL)
    assert req.headers["authorization"] == f"Bearer {FX_KEY}"
    assert FX_KEY not in str(req.url)
    assert result.source == "fxratesapi"
    assert result.rates_to_bdt["USD"] == Decimal("117.500529")  # 1 / 0.0085106
    assert result.as_of == datetime.fromtimestamp(NOW - 600, tz=UTC)


async def test_fxratesapi_error_payload_is_a_provider_error() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"success": False, "error": "invalid_api_key", "description": "…"})

    with pytest.raises(ProviderError) as info:
        await fxrates(handler).fetch(ALL)
    assert info.value.reason == "invalid_api_key"


async def test_provider_without_a_key_is_not_configured_and_sends_nothing() -> None:
    calls: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(200)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    provider = ExchangeRateApiProvider(http, base_url="https://er.test", api_key=SecretStr(""), timeout=1)

    with pytest.raises(ProviderError) as info:
        await provider.fetch(ALL)
    assert info.value.reason == "not_configured"
    assert calls == []


def test_static_provider_reads_the_bundled_dated_file() -> None:
    provider = StaticProvider()
    assert provider.rates["USD"] == Decimal("117.500000")
    assert provider.as_of.tzinfo is not None
    assert set(ALL) <= set(provider.rates)


async def test_chain_falls_back_to_the_next_provider_in_order() -> None:
    primary = er_api(lambda req: httpx.Response(500, json={"result": "error"}))
    backup = fxrates(lambda req: httpx.Response(200, json=fx_body(NOW)))

    result, failures = await ProviderChain([primary, backup, StaticProvider()]).fetch(ALL)

    assert result.source == "fxratesapi"
    assert failures == [("exchangerate-api", "http_500")]


async def test_chain_treats_an_old_as_of_as_a_failure_but_not_for_static() -> None:
    old = er_api_body(NOW, time_last_update_unix=NOW - 72 * 3600)
    primary = er_api(lambda req: httpx.Response(200, json=old))

    result, failures = await ProviderChain([primary, StaticProvider()]).fetch(ALL)

    assert failures == [("exchangerate-api", "stale_as_of")]
    assert result.source == "static"


async def test_chain_reports_every_failure_when_all_providers_fail() -> None:
    def timeout(req: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=req)

    chain = ProviderChain([er_api(timeout), fxrates(lambda req: httpx.Response(503, text="down"))])
    with pytest.raises(AllProvidersFailed) as info:
        await chain.fetch(ALL)
    assert info.value.failures == [("exchangerate-api", "timeout"), ("fxratesapi", "http_503")]


async def test_in_production_an_old_static_file_is_refused_like_a_stale_provider() -> None:
    from exchange_rate_service.providers.chain import age_rules
    from exchange_rate_service.settings import Settings

    strong = "s3cure-service-key-0123456789"
    prod = Settings(environment="production", service_api_key=strong, service_api_keys=f"x={strong}")
    chain = ProviderChain([StaticProvider()], **age_rules(prod))

    with pytest.raises(AllProvidersFailed) as info:
        await chain.fetch(ALL)
    assert info.value.failures == [("static", "stale_as_of")]
    assert "static" in age_rules(Settings(environment="development"))["exempt_from_age"]
