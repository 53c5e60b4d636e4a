"""Rate limits: the exact boundary per IP and per user, shared by two gateway processes through
Redis; draft-10 headers; fail-open/closed when Redis is down; the in-process limiter (embedded)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx

from shared.devstack import free_port
from shared.testing.tokens import TokenFactory

LOGIN = "/api/v1/auth/login"  # policy "auth": 5 per hour per IP in the tests (RATE_LIMIT_POLICIES)
MONEY = "/api/v1/transactions"  # POST: policy "money": 3 per hour per user, fail closed


def assert_429(resp: httpx.Response, policy: str, limit: int) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "rate_limited"
    assert resp.headers["ratelimit-policy"] == f'"{policy}";q={limit};w=3600'
    assert re.fullmatch(rf'"{policy}";r=0;t=\d+', resp.headers["ratelimit"])
    retry = int(resp.headers["retry-after"])
    assert 0 < retry <= 3600 // limit + 1
    assert "x-stand-in" not in resp.headers


async def test_ip_limit_is_exact_and_shared_by_two_gateways(
    gateways: list[str], http: httpx.AsyncClient, client_ip: str
) -> None:
    remaining = []
    for i in range(5):  # alternate between the two processes: one shared quota
        resp = await http.post(f"{gateways[i % 2]}{LOGIN}", headers={"X-Forwarded-For": client_ip})
        assert resp.status_code == 200, resp.text
        assert resp.headers["ratelimit-policy"] == '"auth";q=5;w=3600'
        remaining.append(int(re.search(r";r=(\d+)", resp.headers["ratelimit"]).group(1)))
    assert remaining == [4, 3, 2, 1, 0]
    assert_429(await http.post(f"{gateways[1]}{LOGIN}", headers={"X-Forwarded-For": client_ip}), "auth", 5)
    assert_429(await http.post(f"{gateways[0]}{LOGIN}", headers={"X-Forwarded-For": client_ip}), "auth", 5)
    # Another address has its own quota.
    other = await http.post(f"{gateways[0]}{LOGIN}", headers={"X-Forwarded-For": "203.0.113.77"})
    assert other.status_code in (200, 429)  # may have been used by an earlier run of this test


async def test_user_limit_is_exact_and_shared_by_two_gateways(
    gateways: list[str], tokens: TokenFactory, http: httpx.AsyncClient, client_ip: str
) -> None:
    user = tokens.headers()  # a fresh user id
    for i in range(3):
        # Different client addresses: the money policy counts the user, not the IP.
        resp = await http.post(
            f"{gateways[i % 2]}{MONEY}", headers={**user, "X-Forwarded-For": f"10.9.8.{i}"}
        )
        assert resp.status_code == 200, resp.text
    assert_429(await http.post(f"{gateways[1]}{MONEY}", headers=user), "money", 3)
    # Another user is unaffected; reads use a different policy.
    assert (await http.post(f"{gateways[0]}{MONEY}", headers=tokens.headers())).status_code == 200
    assert (await http.get(f"{gateways[0]}{MONEY}", headers=user)).status_code == 200


async def test_every_limited_response_carries_the_draft_headers(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    resp = await http.get(f"{gateway_url}/api/v1/history", headers=tokens.headers())
    assert resp.status_code == 200
    assert resp.headers["ratelimit-policy"] == '"default";q=300;w=60'
    assert re.fullmatch(r'"default";r=299;t=\d+', resp.headers["ratelimit"])


async def test_redis_outage_fails_open_for_reads_and_closed_for_money(
    make_gateway: Callable[..., Any], tokens: TokenFactory
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    async with make_gateway(redis_url=dead) as gw:
        user = tokens.headers()
        read = await gw.get("/api/v1/history", headers=user)
        assert read.status_code == 200  # fail open: served, without quota headers
        assert "ratelimit" not in read.headers
        money = await gw.post(MONEY, headers=user)
        assert money.status_code == 503  # fail closed: nothing moves while limits cannot be enforced
        assert money.json()["code"] == "rate_limiter_unavailable"
        assert money.headers["retry-after"] == "1"
        metrics = (await gw.get("/metrics")).text
        assert 'gateway_rate_limiter_errors_total{mode="open",policy="default"}' in metrics
        assert 'gateway_rate_limiter_errors_total{mode="closed",policy="money"}' in metrics


async def test_embedded_mode_limits_in_process(
    make_gateway: Callable[..., Any], tokens: TokenFactory, tmp_path: Any
) -> None:
    async with make_gateway(redis_url="", data_dir=tmp_path) as gw:
        user = tokens.headers()
        for _ in range(3):
            assert (await gw.post(MONEY, headers=user)).status_code == 200
        assert_429(await gw.post(MONEY, headers=user), "money", 3)


async def test_a_refused_key_is_refused_locally_until_its_retry_time(
    make_gateway: Callable[..., Any], tokens: TokenFactory
) -> None:
    """After Redis refuses a key, the gateway refuses it without asking Redis again until the time
    Redis named — and asks again (and is allowed) once that time has passed."""
    user = tokens.headers()
    async with make_gateway(rate_limit_policies="money=2/1") as gw:  # 2 per second: one every 0.5 s
        limiter = gw._transport.app.state.gateway.limiter  # type: ignore[attr-defined]
        calls = 0
        ask_redis = limiter.client.evalsha

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return await ask_redis(*args, **kwargs)

        limiter.client.evalsha = counting
        for _ in range(2):
            assert (await gw.post(MONEY, headers=user)).status_code == 200
        first = await gw.post(MONEY, headers=user)
        assert first.status_code == 429 and calls == 3
        again = await gw.post(MONEY, headers=user)
        assert again.status_code == 429 and calls == 3  # refused locally
        assert again.headers["ratelimit-policy"] == first.headers["ratelimit-policy"]
        assert re.fullmatch(r'"money";r=0;t=\d+', again.headers["ratelimit"])
        assert int(again.headers["retry-after"]) == 1
        assert (await gw.post(MONEY, headers=tokens.headers())).status_code == 200  # other users: Redis
        assert calls == 4
        await asyncio.sleep(0.6)  # past the retry time Redis named
        assert (await gw.post(MONEY, headers=user)).status_code == 200
        assert calls == 5
