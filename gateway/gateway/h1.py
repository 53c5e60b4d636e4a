"""A small keep-alive HTTP/1.1 client for the proxy hot path (asyncio protocol + httptools parser).

Why not aiohttp or httpx here: per request, the gateway's own work is a few dozen microseconds; a
general-purpose client adds far more (URL objects, case-insensitive multidicts, cookie and redirect
machinery, tracing hooks, timer contexts). This client does only what a reverse proxy needs:

- one pool of idle connections per origin (LIFO, so the warm ones are reused), at most `per_host`
  connections per origin (callers wait for a free one, bounded by the connect timeout), idle ones
  dropped after `keepalive` seconds (keep it below the server's own keep-alive timeout);
- the request head written in one `write`, a small body with it; a streamed body (`AsyncIterable`)
  sent with its `Content-Length` or chunked, with the transport's write flow control respected;
- the response head parsed by httptools; the body handed over whole (`read()`) or chunk by chunk
  (`iter_chunks()`), reading paused while more than `BUFFER_HIGH` bytes wait, so a slow client
  never makes the gateway buffer a large download;
- a read timeout for the head and between body chunks, a connect timeout;
- a connection goes back to the pool only when its response was read to the end, the request body
  was sent in full and both sides allow keep-alive; anything else closes it.

Errors: `ConnectError` (could not connect: nothing was sent), `ReadTimeout`, `UpstreamError` (the
connection broke or the response was malformed). Only http:// and https:// origins.
"""

from __future__ import annotations

import asyncio
import collections
import ssl as ssl_module
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httptools

BUFFER_HIGH = 256 * 1024  # pause reading from the service above this many buffered body bytes
_NO_BODY_STATUS = (204, 304)


class UpstreamError(Exception):
    """The exchange with the service failed (connection lost, malformed response)."""


class ConnectError(UpstreamError):
    """No connection could be made; the request was not sent."""


class ReadTimeout(UpstreamError, TimeoutError):
    """The service did not send the response head (or the next body chunk) in time."""


class _Connection(asyncio.Protocol):
    """One TCP connection; carries one exchange at a time."""

    __slots__ = (
        "pool",
        "transport",
        "parser",
        "response",
        "closed",
        "idle_since",
        "_write_paused",
        "_drain",
    )

    def __init__(self, pool: _OriginPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self.closed = False
        self.idle_since = 0.0
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None

    # --- asyncio.Protocol ---
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a registered subclass

    def data_received(self, data: bytes) -> None:
        resp = self.response
        if resp is None:  # bytes while idle: the server is misbehaving; never reuse this one
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            resp._fail(UpstreamError("protocol upgrade is not supported"))
            self.close()
        except httptools.HttpParserError as exc:
            resp._fail(UpstreamError(f"malformed response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._forget(self)
        resp = self.response
        if resp is not None:
            if resp.until_eof and resp.head_done and exc is None:
                resp._finish()  # a body delimited by the end of the connection
            else:
                resp._fail(UpstreamError("connection closed by the service" if exc is None else str(exc)))
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(UpstreamError("connection lost while sending the request body"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    async def drain(self) -> None:
        if self.closed:
            raise UpstreamError("connection lost while sending the request body")
        if self._write_paused:
            self._drain = asyncio.get_running_loop().create_future()
            await self._drain

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def abort(self) -> None:
        """Drop the connection now, unsent bytes included (an exchange that was cut short)."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # --- httptools callbacks ---
    def _current(self) -> Response | None:
        """The response being read; None (and the connection marked unusable) when the service sends
        anything after the response it owed us was complete."""
        resp = self.response
        if resp is not None and resp.done:
            resp.keep_alive = False
            return None
        return resp

    def on_header(self, name: bytes, value: bytes) -> None:
        resp = self._current()
        if resp is not None:
            resp.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        resp = self._current()
        if resp is None:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue, 103 Early Hints): wait for the real one
            resp.headers = []
            return
        resp.status = status
        resp.keep_alive = self.parser.should_keep_alive()
        if resp.head_only or status in _NO_BODY_STATUS:
            resp.no_body = True
        else:
            framed = False
            for k, v in resp.headers:
                if k == b"content-length" or (k == b"transfer-encoding" and b"chunked" in v.lower()):
                    framed = True
                    break
            if not framed:
                resp.until_eof = True
                resp.keep_alive = False
        resp._head_received()
        if resp.head_only:
            # httptools cannot be told the answer was to HEAD (it would wait for Content-Length bytes):
            # the exchange is complete now, and the connection is not reused.
            resp.keep_alive = False
            resp._finish()

    def on_body(self, body: bytes) -> None:
        resp = self._current()
        if resp is not None and not resp.head_only:
            resp._feed(body)

    def on_message_complete(self) -> None:
        resp = self._current()
        if resp is not None and resp.status >= 200 and not resp.head_only:
            resp._finish()


class Response:
    """The service's answer: `status`, `headers` (lower-cased names, raw bytes), then the body."""

    __slots__ = (
        "conn",
        "status",
        "headers",
        "keep_alive",
        "head_only",
        "no_body",
        "until_eof",
        "head_done",
        "done",
        "request_sent",
        "_chunks",
        "_buffered",
        "_paused",
        "_waiter",
        "_error",
        "_timeout",
        "_released",
        "writer",
    )

    def __init__(self, conn: _Connection, head_only: bool, timeout: float) -> None:
        self.conn = conn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = True
        self.head_only = head_only
        self.no_body = False
        self.until_eof = False
        self.head_done = False
        self.done = False
        self.request_sent = True
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._timeout = timeout
        self._released = False
        self.writer: asyncio.Task[None] | None = None

    # --- fed by the connection ---
    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _head_received(self) -> None:
        self.head_done = True
        self._wake()

    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > BUFFER_HIGH and not self._paused and self.conn.transport is not None:
            self._paused = True
            self.conn.transport.pause_reading()
        self._wake()

    def _finish(self) -> None:
        self.done = True
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        if self._error is None and not self.done:
            self._error = exc
        self._wake()

    def _resume(self) -> None:
        if self._paused:
            self._paused = False
            if self.conn.transport is not None and not self.conn.closed:
                self.conn.transport.resume_reading()

    # --- awaited by the proxy ---
    async def _wait(self) -> None:
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(self._timeout, self._on_timeout, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _on_timeout(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(ReadTimeout("the service did not answer in time"))

    async def _wait_head(self) -> None:
        while not self.head_done:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def read(self) -> bytes:
        """The whole body (meant for responses known to be small)."""
        while not self.done:
            if self._error is not None:
                raise self._error
            self._resume()
            await self._wait()
        chunks = self._chunks
        if len(chunks) == 1:
            body = chunks.popleft()
        else:
            body = b"".join(chunks)
            chunks.clear()
        self._buffered = 0
        return body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (flow-controlled: reading resumes as chunks are consumed)."""
        chunks = self._chunks
        while True:
            if chunks:
                data = chunks.popleft()
                self._buffered -= len(data)
                if self._paused and self._buffered <= BUFFER_HIGH // 2:
                    self._resume()
                yield data
                continue
            if self.done:
                return
            if self._error is not None:
                raise self._error
            await self._wait()

    def release(self) -> None:
        """Give the connection back (reusable only after a complete, keep-alive exchange)."""
        if self._released:
            return
        self._released = True
        conn = self.conn
        conn.response = None
        writer = self.writer
        if writer is not None and not writer.done():
            writer.cancel()  # the service answered before the whole body was sent
        if self.done and self.keep_alive and self.request_sent and self._error is None and not conn.closed:
            self._resume()  # the body may have ended in the read that paused it
            conn.pool._put(conn)
        else:
            if self.done and self._error is None and self.request_sent:
                conn.close()  # a complete exchange on a connection that is not kept alive
            else:
                conn.abort()
            conn.pool._slot_freed()


class _OriginPool:
    def __init__(self, client: H1Client, scheme: str, host: str, port: int) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.ssl = ssl_module.create_default_context() if scheme == "https" else None
        default = 443 if scheme == "https" else 80
        self.host_header = (host if port == default else f"{host}:{port}").encode("idna")
        self.idle: list[_Connection] = []
        self.active = 0  # connections open or being opened (idle ones included)
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> _Connection:
        keepalive = self.client.keepalive
        idle = self.idle
        if idle:
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if conn.closed:  # closed, and connection_lost not yet run: its slot is ours to free
                    self._slot_freed()
                    continue
                if now - conn.idle_since > keepalive:
                    conn.close()
                    self._slot_freed()
                    continue
                return conn
        deadline = time.monotonic() + self.client.connect_timeout
        while self.active >= self.client.per_host:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectError("no free connection to the service in time")
            fut = asyncio.get_running_loop().create_future()
            self.waiters.append(fut)
            try:
                await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                raise ConnectError("no free connection to the service in time") from None
            finally:
                if fut in self.waiters:
                    self.waiters.remove(fut)
            while idle:  # a connection came back while waiting
                conn = idle.pop()
                if not conn.closed:
                    return conn
                self._slot_freed()
        self.active += 1
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.client.connect_timeout):
                _, proto = await loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self.ssl
                )
        except TimeoutError:
            self._slot_freed()
            raise ConnectError("timed out connecting to the service") from None
        except OSError as exc:
            self._slot_freed()
            raise ConnectError(f"cannot connect to the service: {exc.strerror or exc}") from None
        except BaseException:
            self._slot_freed()
            raise
        return proto

    def _put(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self.idle.append(conn)
        self._notify()

    def _slot_freed(self) -> None:
        self.active -= 1
        self._notify()

    def _notify(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _forget(self, conn: _Connection) -> None:
        """The connection closed by itself: if it was idle, its slot is free again."""
        try:
            self.idle.remove(conn)
        except ValueError:
            return
        self._slot_freed()

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


class H1Client:
    """Keep-alive HTTP/1.1 client: `await request(origin, method, target, headers, body, timeout)`."""

    def __init__(self, *, per_host: int = 64, keepalive: float = 4.0, connect_timeout: float = 3.0) -> None:
        self.per_host = per_host
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self._pools: dict[str, _OriginPool] = {}

    def _pool(self, origin: str) -> _OriginPool:
        pool = self._pools.get(origin)
        if pool is None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"unsupported upstream origin {origin!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            pool = self._pools[origin] = _OriginPool(self, parts.scheme, parts.hostname, port)
        return pool

    async def request(
        self,
        origin: str,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes] | None,
        *,
        read_timeout: float,
    ) -> Response:
        """Send one request to `origin` (scheme://host:port) and return once the response head is in.

        `target` is the request target byte for byte (path + query); `headers` must not contain
        Host, Content-Length (unless `body` is streamed with a known length) or hop-by-hop fields.
        """
        pool = self._pool(origin)
        conn = await pool.acquire()
        streamed = body is not None and not isinstance(body, bytes)
        head = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nhost: ", pool.host_header, b"\r\n"]
        for k, v in headers:
            head += (k, b": ", v, b"\r\n")
        chunked = False
        if isinstance(body, bytes):
            head += (b"content-length: ", str(len(body)).encode("ascii"), b"\r\n\r\n", body)
        elif streamed:
            if not any(k == b"content-length" for k, _ in headers):
                chunked = True
                head.append(b"transfer-encoding: chunked\r\n")
            head.append(b"\r\n")
        else:
            head.append(b"\r\n")
        resp = Response(conn, method == "HEAD", read_timeout)
        conn.response = resp
        transport = conn.transport
        if conn.closed or transport is None or transport.is_closing():
            resp.release()
            raise UpstreamError("connection closed before the request was sent")
        transport.write(b"".join(head))
        if streamed:
            assert body is not None and not isinstance(body, bytes)
            resp.request_sent = False
            # Sent by its own task: the service may answer before the body is complete (e.g. 413);
            # the head wins, and releasing the response stops the writer (the connection is then
            # not reused).
            resp.writer = asyncio.get_running_loop().create_task(self._send_body(conn, resp, body, chunked))
        try:
            await resp._wait_head()
        except BaseException:
            resp.release()
            raise
        return resp

    @staticmethod
    async def _send_body(
        conn: _Connection, resp: Response, body: AsyncIterable[bytes], chunked: bool
    ) -> None:
        transport = conn.transport
        assert transport is not None
        try:
            async for chunk in body:
                if not chunk:
                    continue  # an empty chunk would end a chunked body ("0\r\n\r\n")
                if conn.closed:
                    raise UpstreamError("connection lost while sending the request body")
                if chunked:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                else:
                    transport.write(chunk)
                await conn.drain()
            if chunked:
                transport.write(b"0\r\n\r\n")
            resp.request_sent = True
        except BaseException as exc:
            # The body source failed (client gone, too large) or the connection broke: the exchange
            # cannot complete; close the connection so the waiting side sees it.
            failure = (
                exc if isinstance(exc, UpstreamError) else UpstreamError(f"request body aborted: {exc!r}")
            )
            resp._fail(failure)
            conn.abort()
            if isinstance(exc, asyncio.CancelledError):
                raise

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    @property
    def pools(self) -> dict[str, Any]:
        """Per origin: open connections and idle ones (for /metrics and tests)."""
        return {o: {"open": p.active, "idle": len(p.idle)} for o, p in self._pools.items()}
