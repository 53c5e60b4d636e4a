"""One circuit breaker per service: a killed service opens it (fast 503s), recovery closes it;
several instances of a service share the load and a failing one is ejected without opening it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from shared.testing.tokens import TokenFactory

RATES = "/api/v1/rates/USD"  # public GET → exchange-rate-service


async def test_killed_service_opens_the_breaker_and_recovery_closes_it(
    make_gateway: Callable[..., Any], servers: Any, make_stand_in: Callable[..., int]
) -> None:
    port = make_stand_in("exchange-rate-service")
    url = f"http://127.0.0.1:{port}"
    async with make_gateway(
        {"exchange-rate-service": url},
        breaker_failure_threshold=3,
        breaker_open_seconds=1.0,
        upstream_retries=0,
    ) as gw:
        assert (await gw.get(RATES)).status_code == 200
        servers.stop(port)
        for _ in range(3):
            resp = await gw.get(RATES)
            assert resp.status_code == 502
            assert resp.json()["code"] == "upstream_error"
        start = time.monotonic()
        resp = await gw.get(RATES)
        assert resp.status_code == 503  # open: refused without trying
        assert time.monotonic() - start < 0.5
        assert resp.json()["code"] == "service_unavailable"
        assert resp.headers["retry-after"] == "1"
        health = (await gw.get("/health/services")).json()
        assert health["status"] == "degraded"
        assert health["services"]["exchange-rate-service"] == "open"
        assert 'gateway_circuit_state{service="exchange-rate-service"} 2.0' in (await gw.get("/metrics")).text

        servers.restart(port)
        await asyncio.sleep(1.1)  # open → half-open: the next request is a probe
        resp = await gw.get(RATES)
        assert resp.status_code == 200
        health = (await gw.get("/health/services")).json()
        assert health["services"]["exchange-rate-service"] == "closed"
        assert 'gateway_circuit_state{service="exchange-rate-service"} 0.0' in (await gw.get("/metrics")).text
    servers.stop(port)


async def test_upstream_5xx_counts_as_failure_but_passes_through(
    make_gateway: Callable[..., Any], tokens: TokenFactory
) -> None:
    async with make_gateway(breaker_failure_threshold=2, breaker_open_seconds=30.0) as gw:
        first = await gw.get("/api/v1/rates/x?status=500")
        assert first.status_code == 500 and first.json()["service"] == "exchange-rate-service"
        assert (await gw.get("/api/v1/rates/x?status=503")).status_code == 503
        resp = await gw.get("/api/v1/rates/x")
        assert resp.status_code == 503 and resp.json()["code"] == "service_unavailable"


async def test_requests_are_spread_and_a_dead_instance_is_ejected(
    make_gateway: Callable[..., Any], servers: Any, make_stand_in: Callable[..., int], tokens: TokenFactory
) -> None:
    a = make_stand_in("exchange-rate-service", instance="a")
    b = make_stand_in("exchange-rate-service", instance="b")
    urls = f"http://127.0.0.1:{a},http://127.0.0.1:{b}"
    async with make_gateway(
        {"exchange-rate-service": urls},
        load_balancing="round_robin",
        eject_after_failures=2,
        eject_seconds=30.0,
        breaker_failure_threshold=3,
    ) as gw:
        seen = [(await gw.get(RATES)).json()["instance"] for _ in range(6)]
        assert seen.count("a") == 3 and seen.count("b") == 3
        servers.stop(b)
        # GETs are retried on the other instance: the client never sees the dead one.
        statuses = [(await gw.get(RATES)).status_code for _ in range(8)]
        assert statuses == [200] * 8
        details_resp = await gw.get("/health/services", headers=tokens.headers(role="admin"))
        inst = details_resp.json()["details"]["exchange-rate-service"]["instances"]
        assert [i["ejected"] for i in inst] == [False, True]
        assert details_resp.json()["services"]["exchange-rate-service"] == "closed"
    servers.stop(a)


async def test_per_route_timeout_answers_504(make_gateway: Callable[..., Any], tmp_path: Any) -> None:
    config = tmp_path / "routes.toml"
    config.write_text(
        '[[route]]\nprefix = "/api/v1/rates"\nservice = "exchange-rate-service"\n'
        'auth = "public"\ntimeout = 0.3\n'
    )
    async with make_gateway(gateway_config=config, rate_limit_policies="") as gw:
        start = time.monotonic()
        resp = await gw.get("/api/v1/rates/USD?sleep=1")
        assert resp.status_code == 504
        assert resp.json()["code"] == "upstream_timeout"
        assert time.monotonic() - start < 1.5
        assert (await gw.get("/api/v1/rates/USD?sleep=0.05")).status_code == 200
