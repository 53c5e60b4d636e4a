"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections on uvloop, one pre-encoded
GET per request, responses framed by httptools. Closed loop (as fast as each connection can) or paced
(a fixed total rate, each connection sending on its own schedule). Bounded by time and by count.

It costs a few tens of microseconds of CPU per request, so on a 2-core machine it takes little from
the processes it measures (a general-purpose client such as aiohttp costs several times that).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[int] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("connection lost"))

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())


async def run(
    url: str,
    headers: dict[str, str],
    *,
    duration: float,
    connections: int,
    rate: float | None = None,
    max_requests: int = 500_000,
) -> Result:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + ("?" + parts.query if parts.query else "")
    head = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    request = (head + "\r\n").encode()
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    interval = connections / rate if rate else 0.0
    deadline = time.perf_counter() + duration

    async def worker(offset: float) -> None:
        nonlocal errors
        _, conn = await loop.create_connection(_Conn, host, port)
        next_at = time.perf_counter() + offset
        try:
            while len(latencies) < max_requests:
                if interval:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                start = time.perf_counter()
                if start >= deadline:
                    return
                conn.done = loop.create_future()
                assert conn.transport is not None
                conn.transport.write(request)
                status = await conn.done
                latencies.append((time.perf_counter() - start) * 1000)
                if status >= 400:
                    errors += 1
        finally:
            if conn.transport is not None:
                conn.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i * interval / connections) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        return Result(0, elapsed, 0.0, 0.0, errors)
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    return Result(len(latencies), elapsed, statistics.median(latencies), p99, errors)


def measure(url: str, headers: dict[str, str], **kwargs: object) -> Result:
    """`run` on a fresh uvloop event loop (asyncio's own loop when uvloop is missing)."""
    try:
        import uvloop

        return uvloop.run(run(url, headers, **kwargs))  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(run(url, headers, **kwargs))  # type: ignore[arg-type]
