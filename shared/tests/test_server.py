"""shared.server: the coalescing transport (one send per loop turn) and uvicorn serving through it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse

from shared.devstack import free_port
from shared.server import FLUSH_BYTES, CoalescingHttpToolsProtocol, CoalescingTransport


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


async def test_writes_of_one_loop_turn_go_out_as_one() -> None:
    raw = RecordingTransport()
    t = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    t.write(b"")  # ignored
    t.write(b"ok")
    assert raw.writes == [] and t.get_write_buffer_size() == 40
    await asyncio.sleep(0)  # the end of the turn
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    t.write(b"next")
    await asyncio.sleep(0)
    assert raw.writes[-1] == b"next" and len(raw.writes) == 2


async def test_large_writes_are_not_held_back() -> None:
    raw = RecordingTransport()
    t = CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"head")
    t.write(b"x" * FLUSH_BYTES)
    assert raw.writes == [b"head" + b"x" * FLUSH_BYTES]  # at once, in order
    await asyncio.sleep(0)
    assert len(raw.writes) == 1  # the scheduled flush finds nothing left


async def test_close_sends_what_is_buffered_first_and_abort_drops_it() -> None:
    loop = asyncio.get_running_loop()
    raw = RecordingTransport()
    t = CoalescingTransport(raw, loop)  # type: ignore[arg-type]
    t.write(b"last words")
    t.close()
    assert raw.writes == [b"last words"] and raw.closed
    await asyncio.sleep(0)
    assert raw.writes == [b"last words"]  # nothing written after close

    raw2 = RecordingTransport()
    t2 = CoalescingTransport(raw2, loop)  # type: ignore[arg-type]
    t2.write(b"never")
    t2.abort()
    await asyncio.sleep(0)
    assert raw2.writes == [] and raw2.aborted
    assert t2.get_extra_info("peername") == ("127.0.0.1", 5)  # everything else passes through


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/small")
    async def small() -> PlainTextResponse:
        return PlainTextResponse("hello")

    @app.get("/close")
    async def close() -> PlainTextResponse:
        return PlainTextResponse("bye", headers={"connection": "close"})

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for i in range(64):
                yield bytes([65 + i % 26]) * 32768
                if i % 8 == 0:
                    await asyncio.sleep(0)

        return StreamingResponse(gen(), media_type="application/octet-stream")

    return app


@contextlib.asynccontextmanager
async def _uvicorn() -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        _app(), host="127.0.0.1", port=port, log_config=None, http=CoalescingHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
    if b"content-length" in headers:
        return head, await reader.readexactly(int(headers[b"content-length"]))
    body = b""
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return head, body
        body += chunk[:-2]


async def test_uvicorn_through_the_coalescing_protocol() -> None:
    async with _uvicorn() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(2):  # keep-alive: two exchanges on one connection
                writer.write(b"GET /small HTTP/1.1\r\nhost: x\r\n\r\n")
                head, body = await _response(reader)
                assert head.startswith(b"HTTP/1.1 200") and body == b"hello"
            writer.write(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
            head, body = await asyncio.wait_for(_response(reader), 10)
            assert body == b"".join(bytes([65 + i % 26]) * 32768 for i in range(64))
            writer.write(b"GET /close HTTP/1.1\r\nhost: x\r\n\r\n")
            head, body = await _response(reader)
            assert b"connection: close" in head.lower() and body == b"bye"  # flushed before the close
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()
