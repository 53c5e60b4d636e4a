"""What the gateway holds for its process's life: the routing table, the upstreams with their
breakers, the pooled proxy client (gateway.h1), the rate limiter, the token verifier and the merged docs.

Everything is created in `start()` (inside the app's lifespan, on the running loop), never at import.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter, Gauge

from gateway.edge import Cors, TrustedProxies
from gateway.h1 import H1Client
from gateway.ratelimit import MemoryLimiter, RedisLimiter
from gateway.resp import RespClient
from gateway.routing import RouteTable, load_table
from gateway.settings import Settings
from gateway.upstream import CircuitBreaker, Instance, Upstream
from shared.auth import TokenVerifier, revoked_jti_key, revoked_sid_key
from shared.kv import KeyValueStore
from shared.logging import get_logger

log = get_logger(__name__)

RATE_LIMITED = Counter("gateway_rate_limited_total", "Requests refused with 429", ["policy"])
LIMITER_ERRORS = Counter(
    "gateway_rate_limiter_errors_total",
    "Rate-limit store unreachable, by fail mode applied",
    ["policy", "mode"],
)
EDGE_AUTH_REJECTED = Counter("gateway_auth_rejected_total", "Requests refused at the edge", ["reason"])
UPSTREAM_CONNECTIONS = Gauge(
    "gateway_upstream_connections",
    "Proxy connections to each instance (open includes idle)",
    ["service", "instance", "state"],
)


class GatewayRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.table: RouteTable = load_table(
            settings.gateway_config,
            rate_limit_enabled=settings.rate_limit_enabled,
            overrides=settings.policy_overrides(),
        )
        self.trusted = TrustedProxies(settings.trusted_networks())
        self.cors = Cors(
            settings.cors_origin_list(),
            credentials=settings.cors_allow_credentials,
            max_age=settings.cors_max_age,
        )
        self.upstreams: dict[str, Upstream] = {}
        for name in self.table.services:
            urls = settings.instance_urls(name)
            if not urls:
                raise ValueError(f"no URL configured for {name}")
            self.upstreams[name] = Upstream(
                name=name,
                instances=[Instance(u) for u in urls],
                breaker=CircuitBreaker(
                    name,
                    failure_threshold=settings.breaker_failure_threshold,
                    open_seconds=settings.breaker_open_seconds,
                    half_open_probes=settings.breaker_half_open_probes,
                ),
                strategy=settings.load_balancing,
                eject_after=settings.eject_after_failures,
                eject_seconds=settings.eject_seconds,
            )
        self.client: H1Client | None = None
        self.limiter: RedisLimiter | MemoryLimiter | None = None
        self.verifier: TokenVerifier | None = None
        self.kv: KeyValueStore | None = None
        self.docs: Any = None  # gateway.docs.MergedDocs, set in start()
        self._last_limiter_log = 0.0

    @contextlib.asynccontextmanager
    async def started(self, app: FastAPI) -> AsyncIterator[None]:
        from gateway.docs import MergedDocs

        s = self.settings
        self.client = H1Client(
            per_host=s.upstream_pool_per_host,
            keepalive=s.upstream_keepalive,
            connect_timeout=s.upstream_connect_timeout,
        )
        self.kv = app.state.kv
        shared_verifier: TokenVerifier = app.state.verifier
        # Same JWKS cache as the app's verifier; revocation is checked by the gateway itself (inside
        # the rate-limit script when Redis is used), so this verifier gets no kv.
        self.verifier = TokenVerifier(
            shared_verifier.jwks, issuer=s.jwt_issuer, audience=s.jwt_audience, kv=None
        )
        if s.redis_url and not s.redis_url.startswith("memory:"):
            self.limiter = RedisLimiter(
                RespClient(s.redis_url, timeout=s.rate_limit_redis_timeout), s.rate_limit_key_prefix
            )
        else:
            self.limiter = MemoryLimiter()
        app.state.metrics_refreshers.append(self.refresh_connection_gauges)
        self.docs = MergedDocs(self, app, app.state.http)
        self.docs.start_background()
        try:
            yield
        finally:
            await self.docs.stop()
            await self.limiter.close()
            self.client.close()

    async def refresh_connection_gauges(self) -> None:
        """For /metrics: the proxy client's pool of each instance."""
        pools = self.client.pools if self.client is not None else {}
        for name, up in self.upstreams.items():
            for inst in up.instances:
                counts = pools.get(inst.url, {"open": 0, "idle": 0})
                for state in ("open", "idle"):
                    UPSTREAM_CONNECTIONS.labels(name, inst.url, state).set(counts[state])

    def limiter_failed(self, policy: str, mode: str, error: str) -> None:
        LIMITER_ERRORS.labels(policy, mode).inc()
        now = time.monotonic()
        if now - self._last_limiter_log > 5.0:  # one line per 5 s, not one per request
            self._last_limiter_log = now
            log.warning("rate_limiter_unavailable", policy=policy, fail_mode=mode, error=error)

    async def is_revoked(self, jti: str, sid: str | None) -> bool:
        if self.kv is None:
            return False
        keys = [revoked_jti_key(jti)]
        if sid:
            keys.append(revoked_sid_key(sid))
        return await self.kv.exists_any(*keys)
