"""Pure units: longest-prefix matching, config validation, client address, GCRA, breaker."""

from __future__ import annotations

import pytest

from gateway.edge import TrustedProxies
from gateway.ratelimit import MemoryLimiter
from gateway.routing import ConfigError, Policy, parse_config
from gateway.upstream import CircuitBreaker

CONFIG = {
    "defaults": {"auth": "user", "rate_limit": "default"},
    "policy": {"default": {"limit": 2, "window": 60}},
    "route": [
        {"prefix": "/api/v1/auth", "service": "user-service"},
        {"prefix": "/api/v1/auth/login", "service": "user-service", "auth": "public"},
        {"prefix": "/api/v1/rates", "service": "exchange-rate-service"},
        {"prefix": "/api/v1/rates", "service": "exchange-rate-service", "methods": ["GET"], "auth": "public"},
    ],
}


def test_longest_prefix_on_segment_boundaries_and_method_specific_entries() -> None:
    table = parse_config(CONFIG)
    assert table.match("POST", "/api/v1/auth/login").auth == "public"
    assert table.match("POST", "/api/v1/auth/login/x").auth == "public"
    assert table.match("POST", "/api/v1/auth/loginx").auth == "user"  # not a segment match
    assert table.match("POST", "/api/v1/auth/logout").auth == "user"
    assert table.match("GET", "/api/v1/rates/USD").auth == "public"
    assert table.match("POST", "/api/v1/rates/refresh").auth == "user"
    assert table.match("GET", "/api/v1/ratesx") is None
    assert table.match("GET", "/internal/events") is None


def test_config_refuses_internal_unknown_services_and_policies() -> None:
    with pytest.raises(ConfigError):
        parse_config({"route": [{"prefix": "/internal", "service": "user-service"}]})
    with pytest.raises(ConfigError):
        parse_config({"route": [{"prefix": "/x", "service": "nope"}]})
    with pytest.raises(ConfigError):
        parse_config({"route": [{"prefix": "/x", "service": "user-service", "rate_limit": "nope"}]})


def test_client_address_walks_forwarded_for_from_the_right() -> None:
    import ipaddress

    tp = TrustedProxies([ipaddress.ip_network("10.0.0.0/8")])
    assert tp.client_ip("10.0.0.5", "1.2.3.4, 5.6.7.8, 10.0.0.9") == ("5.6.7.8", True)
    assert tp.client_ip("8.8.8.8", "1.2.3.4") == ("8.8.8.8", False)  # untrusted peer: header ignored
    assert tp.client_ip("10.0.0.5", None) == ("10.0.0.5", False)


async def test_gcra_allows_exactly_the_burst_then_refuses() -> None:
    limiter, policy = MemoryLimiter(), Policy("p", 3, 60)
    decisions = [await limiter.hit(policy, "k") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert 19 < decisions[3].retry_after <= 20  # one request per window/limit seconds


def test_breaker_half_open_admits_limited_probes() -> None:
    b = CircuitBreaker("unit-test", failure_threshold=2, open_seconds=5, half_open_probes=1)
    b.record(False, 0.0)
    b.record(False, 0.0)
    assert b.state == "open" and not b.allow(1.0)
    assert b.allow(5.0) and b.state == "half_open"
    assert not b.allow(5.0)  # one probe at a time
    b.record(False, 5.1)
    assert b.state == "open"
    assert b.allow(10.2)
    b.record(True, 10.3)
    assert b.state == "closed"
