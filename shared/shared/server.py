"""Serving a service: `run(app, settings)` — uvicorn on the configured host and port, with its
httptools protocol's writes coalesced.

uvicorn writes a response's head and its body with two `transport.write` calls, so every small
response costs two `send` system calls, and on loopback each one runs the whole TCP path of both
ends. `CoalescingHttpToolsProtocol` hands uvicorn a transport that collects the writes of one
event-loop turn and sends them together at the end of the turn (at once when more than
`FLUSH_BYTES` are waiting, and always before the connection closes). Measured on the gateway in
`make bench-gateway` (see the README's performance section).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.settings import ServiceSettings

FLUSH_BYTES = 64 * 1024


class CoalescingTransport:
    """Wraps a transport: `write` buffers until the end of the loop turn; everything else passes."""

    __slots__ = ("_transport", "_loop", "_buffer", "_size", "_scheduled")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._buffer.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        buffer = self._buffer
        if not buffer:
            return
        data = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        buffer.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._buffer.clear()
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, set_protocol, …
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped = CoalescingTransport(transport, self.loop)
        super().connection_made(wrapped)  # type: ignore[arg-type]


def run(app: Any, settings: ServiceSettings) -> None:
    """Serve `app` until SIGTERM/SIGINT (every service's `python -m <service>`)."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # shared.logging configures logging in the app's lifespan
        proxy_headers=False,  # the gateway sets X-Forwarded-* from trusted proxies only
        server_header=False,
        http=CoalescingHttpToolsProtocol,
    )
