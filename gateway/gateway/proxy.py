"""The proxy hot path: a pure ASGI middleware in front of the gateway's own FastAPI routes.

Per request: match the route → CORS preflight → body size → edge auth (cached RS256 verification)
→ rate limit + denylist (one Redis script) → breaker → pooled keep-alive request to an instance
(gateway.h1) → stream the response back. Anything not in the routing table falls through to FastAPI (/health,
/docs, /openapi.json, /metrics, problem 404s).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.edge import DROP_REQUEST, DROP_RESPONSE, SECURITY_HEADERS, connection_tokens, send_problem
from gateway.h1 import ConnectError, ReadTimeout, Response, UpstreamError
from gateway.ratelimit import Decision, LimiterUnavailable, ratelimit_headers
from gateway.routing import STAFF_ROLES, Route, has_dot_segment
from gateway.runtime import EDGE_AUTH_REJECTED, RATE_LIMITED, GatewayRuntime
from gateway.upstream import Instance, Upstream
from shared.auth import Principal, TokenError, revoked_jti_key, revoked_sid_key
from shared.logging import get_logger, request_id_var, user_id_var
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from shared.middleware import valid_request_id

log = get_logger("access")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SMALL_BODY = 64 * 1024  # request bodies up to this are read whole (cheaper, and retryable)
SMALL_RESPONSE = 256 * 1024  # responses up to this (with a length) are sent in one message
_STARTED = "gateway.response_started"  # scope key: the service's answer began to go out


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class ProxyMiddleware:
    def __init__(self, app: ASGIApp, runtime: GatewayRuntime) -> None:
        self.app = app
        self.rt = runtime
        self.max_body = runtime.settings.max_body_bytes
        self.access_log = runtime.settings.access_log
        self.hsts = (
            [(b"strict-transport-security", f"max-age={runtime.settings.hsts_seconds}".encode())]
            if runtime.settings.hsts_seconds > 0
            else []
        )
        self._metric_children: dict[tuple[str, str, int], Any] = {}
        self._latency_children: dict[tuple[str, str], Any] = {}
        self._base_urls: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/internal") and (len(path) == 9 or path[9] == "/"):
            await send_problem(send, 404, "not_found", "Not Found", path)
            return
        method: str = scope["method"]
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        preflight = False
        if method == "OPTIONS":
            for k, v in headers:
                if k == b"access-control-request-method":
                    preflight, method = True, v.decode("latin-1").upper()
        route = self.rt.table.match(method, path)
        if route is None:
            await self.app(scope, receive, send)
            return
        if has_dot_segment(path):
            await send_problem(send, 404, "not_found", "Not Found", path)
            return
        await self._handle(scope, receive, send, route, preflight)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, route: Route, preflight: bool
    ) -> None:
        rt = self.rt
        start = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        # One pass over the request headers: what we need, and what we forward.
        fwd: list[tuple[bytes, bytes]] = []
        auth = rid = origin = xff = xfp = conn = clen = None
        chunked = False
        for k, v in scope["headers"]:
            if k in DROP_REQUEST:
                if k == b"x-request-id":
                    rid = v
                elif k == b"x-forwarded-for":
                    xff = v
                elif k == b"x-forwarded-proto":
                    xfp = v
                elif k == b"connection":
                    conn = v
                elif k == b"transfer-encoding":
                    chunked = True
                continue
            if k == b"authorization":
                auth = v
            elif k == b"origin":
                origin = v
            elif k == b"content-length":
                clen = v  # framing is the client's (h1) business: set there from the body
                continue
            fwd.append((k, v))
        if conn:
            named = connection_tokens(conn)
            fwd = [(k, v) for k, v in fwd if k not in named]
        request_id = valid_request_id(rid.decode("latin-1") if rid else None) or os.urandom(16).hex()
        rid_token = request_id_var.set(request_id)
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode())]
        cors = rt.cors
        if origin is not None and cors.enabled and cors.allowed(origin):
            if preflight:
                await self._send_empty(send, 204, extra + cors.preflight_headers(origin))
                request_id_var.reset(rid_token)
                return
            extra += cors.response_headers(origin)
        elif preflight:
            # Not an allowed origin: answer without CORS headers (the browser refuses the call).
            await self._send_empty(send, 204, extra)
            request_id_var.reset(rid_token)
            return
        status = 500
        forwarded = False  # True once the service's own answer is relayed
        principal: Principal | None = None
        try:
            peer = scope["client"][0] if scope.get("client") else "0.0.0.0"  # noqa: S104 - a label, not a bind
            client_ip, via_proxy = rt.trusted.client_ip(peer, xff.decode("latin-1") if xff else None)
            if clen is not None:
                try:
                    size = int(clen)
                except ValueError:
                    status = 400
                    await send_problem(send, 400, "bad_request", "Invalid Content-Length.", path, extra)
                    return
                if size > self.max_body:
                    status = 413
                    await send_problem(
                        send, 413, "payload_too_large", "The request body is too large.", path, extra
                    )
                    return
            # --- edge authentication ---
            token = None
            if auth is not None and auth[:7].lower() == b"bearer ":
                token = auth[7:].strip().decode("latin-1")
            if route.auth != "public":
                if not token:
                    status = 401
                    EDGE_AUTH_REJECTED.labels("missing").inc()
                    await self._unauthorized(
                        send, path, extra, "Authentication required.", "not_authenticated"
                    )
                    return
                assert rt.verifier is not None
                try:
                    principal = await rt.verifier.verify(token)
                except TokenError as exc:
                    status = 401
                    EDGE_AUTH_REJECTED.labels(exc.reason).inc()
                    await self._unauthorized(
                        send, path, extra, "The access token is invalid, expired or revoked.", "invalid_token"
                    )
                    return
                user_id_var.set(principal.subject)
                if route.auth == "staff" and principal.role not in STAFF_ROLES:
                    status = 403
                    EDGE_AUTH_REJECTED.labels("insufficient_role").inc()
                    await send_problem(
                        send, 403, "insufficient_role", "You do not have permission to do this.", path, extra
                    )
                    return
            # --- rate limit (+ denylist in the same round trip) ---
            revocation_checked = principal is None
            policy = route.policy
            if policy is not None and rt.limiter is not None:
                if policy.key == "route":
                    key = "route:" + route.prefix
                elif principal is not None and policy.key in ("auto", "user"):
                    key = "user:" + principal.subject
                else:
                    key = "ip:" + client_ip
                deny: tuple[str, ...] = ()
                if principal is not None:
                    deny = (revoked_jti_key(principal.token_id),)
                    if principal.session_id:
                        deny += (revoked_sid_key(principal.session_id),)
                decision: Decision | None
                try:
                    decision = await rt.limiter.hit(policy, key, deny)
                    revocation_checked = rt.limiter.checks_denylist
                except LimiterUnavailable as exc:
                    decision = None
                    rt.limiter_failed(policy.name, policy.fail, str(exc))
                    if policy.fail == "closed":
                        status = 503
                        await send_problem(
                            send,
                            503,
                            "rate_limiter_unavailable",
                            "The service is temporarily unavailable. Try again shortly.",
                            path,
                            extra + [(b"retry-after", b"1")],
                        )
                        return
                    revocation_checked = True  # fail-open: the store is down, services re-check
                if decision is not None:
                    if decision.revoked:
                        status = 401
                        EDGE_AUTH_REJECTED.labels("revoked").inc()
                        await self._unauthorized(
                            send,
                            path,
                            extra,
                            "The access token is invalid, expired or revoked.",
                            "invalid_token",
                        )
                        return
                    extra += ratelimit_headers(policy, decision)
                    if not decision.allowed:
                        status = 429
                        RATE_LIMITED.labels(policy.name).inc()
                        await send_problem(
                            send,
                            429,
                            "rate_limited",
                            "Too many requests. Retry after the indicated delay.",
                            path,
                            extra,
                        )
                        return
            if not revocation_checked and principal is not None:
                try:
                    revoked = await rt.is_revoked(principal.token_id, principal.session_id)
                except Exception as exc:  # store down and no rate-limit policy: services re-check
                    rt.limiter_failed("denylist", "open", type(exc).__name__)
                    revoked = False
                if revoked:
                    status = 401
                    EDGE_AUTH_REJECTED.labels("revoked").inc()
                    await self._unauthorized(
                        send, path, extra, "The access token is invalid, expired or revoked.", "invalid_token"
                    )
                    return
            # --- forwarding headers from trusted information only ---
            fwd.append((b"x-request-id", extra[0][1]))
            fwd.append(
                (
                    b"x-forwarded-for",
                    xff + b", " + peer.encode() if via_proxy and xff else client_ip.encode(),
                )
            )
            proto = xfp if via_proxy and xfp else scope.get("scheme", "http").encode()
            fwd.append((b"x-forwarded-proto", proto))
            if principal is not None:
                extra.append((b"cache-control", b"no-store"))  # never cache per-user responses
            status, forwarded = await self._proxy(scope, receive, send, route, fwd, extra, clen, chunked)
        except Exception as exc:
            # Nothing of FastAPI's error handling sits in front of the proxy: a bug or a service that
            # broke off mid-body ends here. Before the answer started: a 500 problem (no trace);
            # after: the connection is closed by the server (the response is incomplete).
            if isinstance(exc, UpstreamError):
                log.warning("upstream_broke_off", service=route.service, error=str(exc))
            else:
                log.exception("proxy_error", service=route.service)
            if not scope.get(_STARTED):
                status = 500
                await send_problem(send, 500, "internal_error", "Internal server error.", path, extra)
            else:
                status = 502
        finally:
            elapsed = time.perf_counter() - start
            self._observe(method, route, status, elapsed)
            mode = self.access_log
            if mode == "all" or (mode == "refused" and (not forwarded or status >= 500)):
                log.info(
                    "request",
                    method=method,
                    path=path,
                    route=route.prefix,
                    service=route.service,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(rid_token)
            user_id_var.set(None)

    async def _proxy(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        fwd: list[tuple[bytes, bytes]],
        extra: list[tuple[bytes, bytes]],
        clen: bytes | None,
        chunked: bool,
    ) -> tuple[int, bool]:
        """(status, whether it is the service's own answer)."""
        rt = self.rt
        up: Upstream = rt.upstreams[route.service]
        method: str = scope["method"]
        path: str = scope["path"]
        now = time.monotonic()
        if not up.breaker.allow(now):
            retry = max(1, int(up.breaker.retry_after(now) + 0.999))
            await send_problem(
                send,
                503,
                "service_unavailable",
                f"{route.service} is temporarily unavailable. Try again shortly.",
                path,
                extra + [(b"retry-after", str(retry).encode())],
            )
            return 503, False
        # Request body: none, small (read whole, retryable) or streamed.
        data: bytes | AsyncIterator[bytes] | None = None
        state = {"size": 0, "too_large": False, "gone": False}
        declared = int(clen) if clen is not None else -1  # validated by the caller
        if chunked or declared > 0:
            if not chunked and declared <= SMALL_BODY:
                data = await self._read_body(receive)
                if data is None:
                    up.breaker.release()
                    return 499, False
            else:
                if not chunked:
                    fwd.append((b"content-length", clen))  # type: ignore[arg-type]
                data = self._stream_body(receive, state)
        elif declared == 0 or method in _BODY_METHODS:
            data = b""  # an explicit empty body (Content-Length: 0)
        retryable = method in IDEMPOTENT and (data is None or isinstance(data, bytes))
        raw_path: bytes = scope.get("raw_path") or path.encode()
        qs: bytes = scope.get("query_string", b"")
        # The target goes out byte for byte (no dot-segment or %2F normalisation).
        target = raw_path + b"?" + qs if qs else raw_path
        timeout = route.timeout
        client = rt.client
        assert client is not None
        attempt = 0
        inst: Instance | None = None
        while True:
            inst = up.pick(now, exclude=inst)
            inst.outstanding += 1
            try:
                resp = await client.request(inst.url, method, target, fwd, data, read_timeout=timeout)
            except ReadTimeout:
                inst.outstanding -= 1
                up.record(inst, False, time.monotonic())
                await send_problem(
                    send, 504, "upstream_timeout", f"{route.service} did not answer in time.", path, extra
                )
                return 504, False
            except UpstreamError as exc:
                inst.outstanding -= 1
                if state["too_large"]:
                    up.breaker.release()
                    await send_problem(
                        send, 413, "payload_too_large", "The request body is too large.", path, extra
                    )
                    return 413, False
                if state["gone"]:
                    up.breaker.release()
                    return 499, False
                up.record(inst, False, time.monotonic())
                now = time.monotonic()
                # Another instance is tried for an idempotent request with a replayable body, or for
                # any request that never left (no connection could be made).
                replayable = retryable or (
                    isinstance(exc, ConnectError) and not isinstance(data, AsyncIterator)
                )
                if replayable and attempt < rt.settings.upstream_retries and up.breaker.allow(now):
                    attempt += 1
                    await asyncio.sleep(
                        random.uniform(0, rt.settings.upstream_retry_backoff * 2 ** (attempt - 1))
                    )
                    continue
                log.warning("upstream_error", service=route.service, error=str(exc))
                await send_problem(
                    send, 502, "upstream_error", f"{route.service} could not be reached.", path, extra
                )
                return 502, False
            except BaseException:
                inst.outstanding -= 1
                up.breaker.release()
                raise
            break
        try:
            return await self._relay(scope, resp, send, up, inst, extra), True
        finally:
            inst.outstanding -= 1
            resp.release()

    async def _relay(
        self,
        scope: Scope,
        resp: Response,
        send: Send,
        up: Upstream,
        inst: Instance,
        extra: list[tuple[bytes, bytes]],
    ) -> int:
        status = resp.status
        out: list[tuple[bytes, bytes]] = []
        named: frozenset[bytes] = frozenset()
        seen: set[bytes] = set()
        length = -1
        for k, v in resp.headers:  # names already lower-cased by the client
            if k in DROP_RESPONSE:
                if k == b"connection":
                    named = connection_tokens(v)
                continue
            if k == b"content-length":
                length = int(v)
            seen.add(k)
            out.append((k, v))
        if named:
            out = [(k, v) for k, v in out if k not in named]
        for k, v in extra:
            if k not in seen or k == b"vary":
                out.append((k, v))
        for k, v in SECURITY_HEADERS:
            if k not in seen:
                out.append((k, v))
        out += self.hsts
        ok = status < 500
        completed = False
        try:
            if resp.no_body or 0 <= length <= SMALL_RESPONSE:
                body = await resp.read()
                scope[_STARTED] = True
                await send({"type": "http.response.start", "status": status, "headers": out})
                await send({"type": "http.response.body", "body": body})
            else:
                scope[_STARTED] = True
                await send({"type": "http.response.start", "status": status, "headers": out})
                async for chunk in resp.iter_chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            completed = True
        except UpstreamError:
            ok = False  # the service broke off mid-body; the client sees a truncated response
            raise
        finally:
            if completed or not ok:
                up.record(inst, ok, time.monotonic())
            else:
                up.breaker.release()  # the client went away: no verdict on the service
        return status

    async def _read_body(self, receive: Receive) -> bytes | None:
        parts: list[bytes] = []
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            parts.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        return b"".join(parts) if len(parts) != 1 else parts[0]

    async def _stream_body(self, receive: Receive, state: dict[str, Any]) -> Any:
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                state["gone"] = True
                raise _ClientGone
            chunk = msg.get("body", b"")
            state["size"] += len(chunk)
            if state["size"] > self.max_body:
                state["too_large"] = True
                raise _TooLarge
            if chunk:
                yield chunk
            more = msg.get("more_body", False)

    async def _send_empty(self, send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _unauthorized(
        self, send: Send, path: str, extra: list[tuple[bytes, bytes]], detail: str, code: str
    ) -> None:
        await send_problem(send, 401, code, detail, path, [*extra, (b"www-authenticate", b"Bearer")])

    def _observe(self, method: str, route: Route, status: int, elapsed: float) -> None:
        key = (method, route.prefix, status)
        child = self._metric_children.get(key)
        if child is None:
            child = self._metric_children[key] = HTTP_REQUESTS.labels(
                "gateway", method, route.prefix, str(status)
            )
        child.inc()
        lkey = (method, route.prefix)
        lat = self._latency_children.get(lkey)
        if lat is None:
            lat = self._latency_children[lkey] = HTTP_LATENCY.labels("gateway", method, route.prefix)
        lat.observe(elapsed)
