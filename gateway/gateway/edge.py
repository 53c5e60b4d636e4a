"""Edge helpers for the hot path: header hygiene (RFC 9110 hop-by-hop, spoofed identity headers),
the client address behind trusted proxies, CORS and problem responses sent straight over ASGI."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from functools import lru_cache

from starlette.types import Send

from shared.errors import problem_body

# RFC 9110 §7.6.1 hop-by-hop fields (+ the legacy ones still seen in the wild); fields named in
# `Connection` are removed as well.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-authenticate",
    }
)
# Identity a client must never be able to assert: removed from every incoming request. Services
# identify callers from the verified token (users) or X-API-Key (services, /internal only).
IDENTITY_HEADERS = frozenset(
    {
        b"x-user-id",
        b"x-user",
        b"x-user-role",
        b"x-user-roles",
        b"x-user-email",
        b"x-principal",
        b"x-authenticated-user",
        b"x-authenticated-userid",
        b"x-auth-user",
        b"x-remote-user",
        b"remote-user",
        b"x-forwarded-user",
        b"x-forwarded-email",
        b"x-api-key",
        b"x-service-name",
        b"x-client-id",
        b"x-role",
        b"x-roles",
        b"x-scopes",
    }
)
# Set by the gateway itself from trusted information only.
FORWARDING_HEADERS = frozenset(
    {
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"forwarded",
        b"x-real-ip",
    }
)
DROP_REQUEST = HOP_BY_HOP | IDENTITY_HEADERS | FORWARDING_HEADERS | {b"host", b"x-request-id"}
# The gateway's server adds its own `date`/`server`; a second copy from the service is noise.
DROP_RESPONSE = HOP_BY_HOP | {b"date", b"server"}

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-site"),
)
CORS_ALLOW_HEADERS = b"Authorization, Content-Type, Idempotency-Key, X-Request-ID, traceparent, Accept"
CORS_EXPOSE_HEADERS = b"X-Request-ID, RateLimit, RateLimit-Policy, Retry-After, Location"
CORS_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)
        self.trusted = lru_cache(maxsize=4096)(self._trusted)

    def _trusted(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr.strip())
        except ValueError:
            return False
        return any(ip in n for n in self.networks)

    def client_ip(self, peer: str, xff: str | None) -> tuple[str, bool]:
        """(client address, whether the peer is a trusted proxy). Walks X-Forwarded-For from the
        right, skipping trusted hops; the first untrusted hop is the client."""
        if not xff or not self.trusted(peer):
            return peer, self.trusted(peer) if xff else False
        hops = [h.strip() for h in xff.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop, True
        return (hops[0] if hops else peer), True


def connection_tokens(value: bytes | None) -> frozenset[bytes]:
    if not value:
        return frozenset()
    return frozenset(t.strip().lower() for t in value.split(b",") if t.strip())


def problem_bytes(
    status: int, code: str, detail: str, instance: str, extra: dict[str, object] | None = None
) -> bytes:
    return json.dumps(problem_body(status, code=code, detail=detail, instance=instance, extra=extra)).encode()


async def send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    instance: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = problem_bytes(status, code, detail, instance)
    out = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *SECURITY_HEADERS,
        *(headers or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


class Cors:
    """Exact-origin CORS from configuration; `*` is refused together with credentials."""

    def __init__(self, origins: list[str], *, credentials: bool, max_age: int) -> None:
        if "*" in origins and credentials:
            raise ValueError("CORS_ORIGINS='*' cannot be combined with CORS_ALLOW_CREDENTIALS=true")
        self.any = "*" in origins
        self.origins = frozenset(o.encode() for o in origins if o != "*")
        self.credentials = credentials
        self.max_age = str(max_age).encode()
        self.enabled = bool(origins)

    def allowed(self, origin: bytes | None) -> bool:
        return bool(origin) and (self.any or origin in self.origins)

    def response_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        out = [
            (b"access-control-allow-origin", b"*" if self.any else origin),
            (b"access-control-expose-headers", CORS_EXPOSE_HEADERS),
            (b"vary", b"Origin"),
        ]
        if self.credentials:
            out.append((b"access-control-allow-credentials", b"true"))
        return out

    def preflight_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        out = [
            (b"access-control-allow-origin", b"*" if self.any else origin),
            (b"access-control-allow-methods", CORS_METHODS),
            (b"access-control-allow-headers", CORS_ALLOW_HEADERS),
            (b"access-control-max-age", self.max_age),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
        if self.credentials:
            out.append((b"access-control-allow-credentials", b"true"))
        return out
