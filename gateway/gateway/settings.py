"""API Gateway settings (environment variables; see `.env.example`).

Downstream base URLs come from the shared `<NAME>_URL` settings; a value may list several instance
URLs separated by commas (load-balanced, passive health). The routing table and the rate-limit
policies come from a TOML file (`GATEWAY_CONFIG`, default: the packaged `routes.toml`).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import ClassVar, Literal

from shared.settings import ServiceSettings

DEFAULT_CONFIG = Path(__file__).with_name("routes.toml")


class Settings(ServiceSettings):
    SERVICE_NAME: ClassVar[str] = "gateway"

    # Routing table + rate-limit policies (TOML). Empty → the packaged default (ARCHITECTURE §4).
    gateway_config: Path = DEFAULT_CONFIG

    # Proxy client (gateway.h1: one keep-alive pool per instance for the process's life).
    upstream_connect_timeout: float = 3.0  # seconds
    upstream_pool_per_host: int = 64  # connections per instance
    # Idle seconds before a pooled connection is closed: below uvicorn's 5 s keep-alive, so the
    # gateway never reuses a connection the service is closing.
    upstream_keepalive: float = 4.0
    upstream_retries: int = 1  # extra attempts, idempotent methods without a body only
    upstream_retry_backoff: float = 0.05  # seconds, doubled per attempt, full jitter
    load_balancing: Literal["round_robin", "least_outstanding"] = "least_outstanding"
    # Passive health of one instance: ejected after N consecutive failures for E seconds, then probed.
    eject_after_failures: int = 3
    eject_seconds: float = 10.0

    # Circuit breaker (one per service, across its instances).
    breaker_failure_threshold: int = 5  # consecutive failures that open it
    breaker_open_seconds: float = 10.0  # open → half-open after this (also the Retry-After)
    breaker_half_open_probes: int = 1  # concurrent requests let through while half-open

    # Rate limiting (Redis when REDIS_URL is set, else in-process).
    rate_limit_enabled: bool = True
    rate_limit_redis_timeout: float = 0.25  # seconds per Redis call before the fail mode applies
    rate_limit_key_prefix: str = "gw:"  # prefix of the limiter's Redis keys
    # Quota overrides without editing the file: `auth=5/60,money=10/60` (name=limit/window seconds).
    rate_limit_policies: str = ""

    # Edge.
    trusted_proxies: str = "127.0.0.1/32,::1/128"  # CIDRs whose X-Forwarded-For/-Proto are believed
    max_body_bytes: int = 10 * 1024 * 1024  # request bodies above this → 413
    cors_origins: str = ""  # comma-separated exact origins; empty → CORS off
    cors_allow_credentials: bool = True
    cors_max_age: int = 600
    hsts_seconds: int = 0  # >0: Strict-Transport-Security on proxied responses (TLS deployments)
    # Gateway access log: "refused" = only requests the gateway answered itself (401/403/413/429,
    # breaker 503, upstream 502/504) and upstream 5xx — every forwarded request is already logged by
    # the service that served it (same X-Request-ID) and by nginx; "all" adds a line per request
    # (costs ~100 µs of structlog per request, the largest item of the hot path); "off".
    access_log: Literal["all", "refused", "off"] = "refused"

    # Merged API docs.
    docs_fetch_timeout: float = 3.0
    docs_retry_seconds: float = 10.0  # an unavailable service's spec is fetched again after this

    def instance_urls(self, service: str) -> list[str]:
        """`http://a:1, http://b:2` → both; the shared single-URL setting is the common case."""
        raw = str(getattr(self, f"{service.upper().replace('-', '_').lower()}_url"))
        return [u.strip().rstrip("/") for u in raw.split(",") if u.strip()]

    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(c.strip(), strict=False)
            for c in self.trusted_proxies.split(",")
            if c.strip()
        ]

    def policy_overrides(self) -> dict[str, tuple[int, float]]:
        out: dict[str, tuple[int, float]] = {}
        for part in self.rate_limit_policies.split(","):
            name, sep, quota = part.strip().partition("=")
            if sep:
                limit, _, window = quota.partition("/")
                out[name.strip()] = (int(limit), float(window or 60))
        return out

    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]
