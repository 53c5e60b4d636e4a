"""The routing table: prefix → service, per-route timeout, auth requirement and rate-limit policy.

Loaded once from TOML (see `routes.toml` for the format). Matching is by whole path segments,
longest prefix first; among entries with the same prefix, one restricted to the request's method
wins over an unrestricted one. Lookups are cached per (method, first segments) — the table is
immutable for the process's life.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.topology import BY_NAME

AuthLevel = Literal["public", "user", "staff"]
AUTH_LEVELS = ("public", "user", "staff")
STAFF_ROLES = frozenset({"admin", "support"})


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    limit: int
    window: float  # seconds
    key: Literal["auto", "ip", "user", "route"] = "auto"
    fail: Literal["open", "closed"] = "open"

    @property
    def policy_header(self) -> str:
        """draft-ietf-httpapi-ratelimit-headers-10 `RateLimit-Policy` item."""
        return f'"{self.name}";q={self.limit};w={int(self.window)}'


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    service: str
    auth: AuthLevel
    timeout: float
    policy: Policy | None
    methods: frozenset[str] | None = None


class ConfigError(ValueError):
    pass


def _is_internal(path: str) -> bool:
    return path == "/internal" or path.startswith("/internal/")


def has_dot_segment(path: str) -> bool:
    """`/a/../internal` must not reach a service's router after someone normalises it."""
    if "/." not in path:
        return False
    return any(seg in (".", "..") for seg in path.split("/"))


class RouteTable:
    def __init__(self, routes: list[Route], policies: dict[str, Policy]) -> None:
        # Longest prefix first; method-restricted entries before unrestricted ones of equal length.
        self.routes = sorted(routes, key=lambda r: (-len(r.prefix), r.methods is None))
        self.policies = policies
        self.services = sorted({r.service for r in routes})
        self._cache: dict[tuple[str, str], Route | None] = {}

    def match(self, method: str, path: str) -> Route | None:
        if _is_internal(path):
            return None
        key = (method, path)
        cached = self._cache.get(key)
        if cached is not None or key in self._cache:
            return cached
        found: Route | None = None
        for r in self.routes:
            p = r.prefix
            if (path == p or (path.startswith(p) and (p.endswith("/") or path[len(p)] == "/"))) and (
                r.methods is None or method in r.methods
            ):
                found = r
                break
        if len(self._cache) < 50_000:  # paths carry ids: bound the memo
            self._cache[key] = found
        return found

    def prefixes_of(self, service: str) -> list[str]:
        return sorted({r.prefix for r in self.routes if r.service == service})


def _policy(name: str, raw: dict[str, Any]) -> Policy:
    limit, window = int(raw["limit"]), float(raw["window"])
    if limit < 1 or window <= 0:
        raise ConfigError(f"policy {name}: limit and window must be positive")
    key, fail = raw.get("key", "auto"), raw.get("fail", "open")
    if key not in ("auto", "ip", "user", "route") or fail not in ("open", "closed"):
        raise ConfigError(f"policy {name}: bad key or fail mode")
    return Policy(name=name, limit=limit, window=window, key=key, fail=fail)


def parse_config(
    data: dict[str, Any],
    *,
    rate_limit_enabled: bool = True,
    overrides: dict[str, tuple[int, float]] | None = None,
) -> RouteTable:
    defaults = data.get("defaults", {})
    raw_policies = {name: dict(raw) for name, raw in data.get("policy", {}).items()}
    for name, (limit, window) in (overrides or {}).items():
        if name not in raw_policies:
            raise ConfigError(f"RATE_LIMIT_POLICIES names an unknown policy {name!r}")
        raw_policies[name].update(limit=limit, window=window)
    policies = {name: _policy(name, raw) for name, raw in raw_policies.items()}
    routes: list[Route] = []
    for raw in data.get("route", []):
        prefix = str(raw["prefix"]).rstrip("/") or "/"
        service = str(raw["service"])
        if service not in BY_NAME or service == "gateway":
            raise ConfigError(f"route {prefix}: unknown service {service!r}")
        if _is_internal(prefix):
            raise ConfigError("/internal is never routed from outside")
        auth = raw.get("auth", defaults.get("auth", "user"))
        if auth not in AUTH_LEVELS:
            raise ConfigError(f"route {prefix}: auth must be one of {AUTH_LEVELS}")
        policy_name = raw.get("rate_limit", defaults.get("rate_limit"))
        policy = None
        if policy_name and rate_limit_enabled:
            if policy_name not in policies:
                raise ConfigError(f"route {prefix}: unknown rate-limit policy {policy_name!r}")
            policy = policies[policy_name]
        methods = raw.get("methods")
        routes.append(
            Route(
                prefix=prefix,
                service=service,
                auth=auth,
                timeout=float(raw.get("timeout", defaults.get("timeout", 10.0))),
                policy=policy,
                methods=frozenset(m.upper() for m in methods) if methods else None,
            )
        )
    return RouteTable(routes, policies)


def load_table(
    path: Path, *, rate_limit_enabled: bool = True, overrides: dict[str, tuple[int, float]] | None = None
) -> RouteTable:
    with open(path, "rb") as fh:
        return parse_config(tomllib.load(fh), rate_limit_enabled=rate_limit_enabled, overrides=overrides)
