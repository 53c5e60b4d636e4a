"""gateway.h1, the proxy's keep-alive HTTP/1.1 client, against real loopback sockets.

Most tests talk to a scripted raw-TCP server (`asyncio.start_server`) so the exact bytes on the wire
are under the test's control and what the client sent is recorded; one talks to a real uvicorn. Every
test runs on the default asyncio loop and on uvloop (whose transports are not `asyncio.Transport`
subclasses), each in a fresh loop whose exception handler must stay silent (no "Task exception was
never retrieved", no unhandled callback errors). Timeouts are tenths of a second (units: seconds).
The last section holds regression tests for defects found (and fixed) while the tests were written.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from gateway.h1 import BUFFER_HIGH, ConnectError, H1Client, ReadTimeout, Response, UpstreamError
from shared.devstack import free_port
from shared.testing.servers import serve

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
SCENARIO_LIMIT = 5.0  # a hang becomes a failure, not a 300 s pytest-timeout

Runner = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Run a scenario in a fresh loop of the parametrised kind; fail on any loop-reported error."""
    factory = asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop

    def runner(coro: Coroutine[Any, Any, Any]) -> Any:
        errors: list[dict[str, Any]] = []

        async def main() -> Any:
            asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
            async with asyncio.timeout(SCENARIO_LIMIT):
                result = await coro
            gc.collect()  # a failed task nobody awaited reports itself when collected
            await asyncio.sleep(0)
            return result

        # Frozen, the objects from before the test are not traversed: gc.collect() stays cheap.
        gc.freeze()
        try:
            # A loop_factory keeps asyncio.Runner away from the global event loop (pytest-asyncio's).
            with asyncio.Runner(loop_factory=factory) as r:
                result = r.run(main())
            gc.collect()
        finally:
            gc.unfreeze()
        assert errors == [], errors
        return result

    return runner


# --- a scripted HTTP/1.1 server --------------------------------------------------------------------


class Received:
    """One request as it arrived: `head` and `body` raw (framing included), `payload` de-chunked."""

    def __init__(self, head: bytes, body: bytes, payload: bytes) -> None:
        self.head, self.body, self.payload = head, body, payload

    @property
    def raw(self) -> bytes:
        return self.head + self.body


def _fields(head: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            out[k.strip().lower()] = v.strip()
    return out


class Peer:
    """One accepted connection, seen from the server side."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.requests: list[Received] = []
        self.eof = asyncio.Event()  # the client closed its side

    async def read_request(self) -> Received | None:
        """The next request (head + body by its framing), or None at a clean end of stream."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            self.eof.set()
            return None
        fields = _fields(head)
        body = payload = b""
        if b"chunked" in fields.get(b"transfer-encoding", b""):
            while True:
                line = await self.reader.readuntil(b"\r\n")
                size = int(line[:-2].split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)  # no trailers are ever sent
                body += line + data
                payload += data[:-2]
                if size == 0:
                    break
        elif b"content-length" in fields:
            body = payload = await self.reader.readexactly(int(fields[b"content-length"]))
        req = Received(head, body, payload)
        self.requests.append(req)
        return req

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def until_eof(self) -> bytes:
        """Whatever the client still sends, up to the end of its stream."""
        try:
            data = await self.reader.read()
        except ConnectionError:
            data = b""
        self.eof.set()
        return data


Handler = Callable[[Peer], Awaitable[None]]


class ScriptedServer:
    """`async with ScriptedServer(handler) as srv:` — `handler(peer)` runs once per accepted connection."""

    def __init__(self, handler: Handler, rcvbuf: int | None = None) -> None:
        self.handler = handler
        self.rcvbuf = rcvbuf  # a fixed receive buffer (bytes) for accepted sockets: no autotuning
        self.peers: list[Peer] = []
        self._tasks: list[asyncio.Task[Any]] = []

    async def __aenter__(self) -> ScriptedServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.bind(("127.0.0.1", 0))
        self._server = await asyncio.start_server(self._accept, sock=sock)
        self.port = self._server.sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        self.peers.append(peer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.append(task)
        try:
            await self.handler(peer)
        # Cancelled at exit: end normally (Python 3.12.1's streams callback chokes on a cancelled task).
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    @property
    def accepts(self) -> int:
        return len(self.peers)

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def answer_each(*responses: bytes) -> Handler:
    """Answer the n-th request on a connection with `responses[n]` (the last one repeats)."""

    async def handler(peer: Peer) -> None:
        n = 0
        while await peer.read_request() is not None:
            await peer.send(responses[min(n, len(responses) - 1)])
            n += 1

    return handler


@contextlib.asynccontextmanager
async def h1(**kwargs: Any) -> AsyncIterator[H1Client]:
    client = H1Client(**kwargs)
    try:
        yield client
    finally:
        client.close()
        await asyncio.sleep(0)  # let closing transports report connection_lost


async def get(
    client: H1Client, origin: str, target: bytes = b"/", method: str = "GET", read_timeout: float = 2.0
) -> tuple[Response, bytes]:
    resp = await client.request(origin, method, target, [], None, read_timeout=read_timeout)
    try:
        return resp, await resp.read()
    finally:
        resp.release()


async def wait_until(check: Callable[[], bool], within: float = 1.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


# --- connection reuse ------------------------------------------------------------------------------


def test_keepalive_reuses_one_connection(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1() as client:
            for _ in range(2):
                resp, body = await get(client, srv.origin)
                assert (resp.status, body) == (200, b"ok")
            assert srv.accepts == 1
            assert len(srv.peers[0].requests) == 2
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}

    run(scenario())


def test_connection_close_response_is_not_reused(run: Runner) -> None:
    closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"

    async def handler(peer: Peer) -> None:  # answers, then keeps its side open: the client must close
        await peer.read_request()
        await peer.send(closing)
        await peer.until_eof()

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            resp, body = await get(client, srv.origin)
            assert (resp.status, body) == (200, b"ok")
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}
            await asyncio.wait_for(srv.peers[0].eof.wait(), 1)
            await get(client, srv.origin)
            assert srv.accepts == 2

    run(scenario())


# --- response bodies -------------------------------------------------------------------------------

CHUNKED = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"


def test_chunked_body_read_whole_and_connection_reused(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(CHUNKED)) as srv, h1() as client:
            for _ in range(2):
                resp, body = await get(client, srv.origin)
                assert body == b"hello world"
            assert srv.accepts == 1

    run(scenario())


def test_chunked_body_streams_chunk_by_chunk(run: Runner) -> None:
    async def scenario() -> None:
        first_seen = asyncio.Event()

        async def handler(peer: Peer) -> None:
            await peer.read_request()
            await peer.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await first_seen.wait()  # the rest only once the client has the first chunk
            await peer.send(b"6\r\n world\r\n0\r\n\r\n")
            await peer.until_eof()

        async with ScriptedServer(handler) as srv, h1() as client:
            resp = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=2)
            got = []
            async for chunk in resp.iter_chunks():
                got.append(chunk)
                first_seen.set()
            resp.release()
            assert got == [b"hello", b" world"]
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}

    run(scenario())


def test_content_length_body(run: Runner) -> None:
    body = bytes(range(256)) * 40

    async def scenario() -> None:
        response = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(body), body)
        async with ScriptedServer(answer_each(response)) as srv, h1() as client:
            resp, got = await get(client, srv.origin)
            assert got == body
            assert (resp.no_body, client.pools[srv.origin]) == (False, {"open": 1, "idle": 1})

    run(scenario())


@pytest.mark.parametrize("how", ["read", "iter_chunks"])
def test_eof_delimited_body_is_delivered_complete(run: Runner, how: str) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nfirst ")
        await asyncio.sleep(0.02)
        await peer.send(b"second")  # ... and the end of the stream ends the body

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            resp = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=2)
            if how == "read":
                body = await resp.read()
            else:
                body = b"".join([c async for c in resp.iter_chunks()])
            resp.release()
            assert body == b"first second"
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}

    run(scenario())


def test_head_response_with_length_completes_at_once_and_is_not_reused(run: Runner) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\ncontent-type: text/plain\r\n\r\n")
        await peer.until_eof()

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            start = time.monotonic()
            resp, body = await get(client, srv.origin, method="HEAD")
            assert time.monotonic() - start < 0.5  # not the 2 s read timeout
            assert (resp.status, resp.no_body, body) == (200, True, b"")
            assert (b"content-length", b"1000") in resp.headers
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}
            await asyncio.wait_for(srv.peers[0].eof.wait(), 1)
            assert srv.peers[0].requests[0].head.startswith(b"HEAD / HTTP/1.1\r\n")

    run(scenario())


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b'HTTP/1.1 304 Not Modified\r\netag: "x"\r\ncontent-length: 10\r\n\r\n',
    ],
    ids=["204", "304"],
)
def test_204_and_304_have_no_body_and_keep_the_connection(run: Runner, head: bytes) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(head, OK)) as srv, h1() as client:
            start = time.monotonic()
            resp, body = await get(client, srv.origin)
            assert time.monotonic() - start < 0.5
            assert (resp.no_body, body) == (True, b"")
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}
            _, body = await get(client, srv.origin)
            assert (body, srv.accepts) == (b"ok", 1)

    run(scenario())


def test_interim_responses_are_skipped(run: Runner) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n")
        await asyncio.sleep(0.02)
        await peer.send(b"HTTP/1.1 201 Created\r\nx-final: 1\r\ncontent-length: 4\r\n\r\ndone")
        while await peer.read_request() is not None:
            await peer.send(OK)

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            resp, body = await get(client, srv.origin)
            assert (resp.status, body) == (201, b"done")
            assert resp.headers == [(b"x-final", b"1"), (b"content-length", b"4")]
            _, body = await get(client, srv.origin)
            assert (body, srv.accepts) == (b"ok", 1)

    run(scenario())


# --- timeouts and connection failures --------------------------------------------------------------


def test_read_timeout_when_the_head_never_comes(run: Runner) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.until_eof()

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            start = time.monotonic()
            with pytest.raises(ReadTimeout) as caught:
                await client.request(srv.origin, "GET", b"/", [], None, read_timeout=0.3)
            assert 0.28 <= time.monotonic() - start < 0.8
            assert isinstance(caught.value, TimeoutError)
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}
            await asyncio.wait_for(srv.peers[0].eof.wait(), 1)

    run(scenario())


def test_read_timeout_between_body_chunks(run: Runner) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabcd")
        await peer.until_eof()

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            resp = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=0.3)
            got = []
            start = time.monotonic()
            with pytest.raises(ReadTimeout):
                async for chunk in resp.iter_chunks():
                    got.append(chunk)
            assert 0.28 <= time.monotonic() - start < 0.8
            assert got == [b"abcd"]
            resp.release()
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}

    run(scenario())


def test_connect_error_on_a_closed_port(run: Runner) -> None:
    async def scenario() -> None:
        origin = f"http://127.0.0.1:{free_port()}"
        async with h1(connect_timeout=1.0) as client:
            for _ in range(2):  # the slot is given back: the second attempt fails the same way
                with pytest.raises(ConnectError):
                    await client.request(origin, "GET", b"/", [], None, read_timeout=1)
            assert client.pools[origin] == {"open": 0, "idle": 0}

    run(scenario())


def test_per_host_limit_waits_for_a_release_then_reuses(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1(per_host=1, connect_timeout=2.0) as client:
            first = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=2)
            second = asyncio.create_task(get(client, srv.origin))
            await asyncio.sleep(0.05)
            assert not second.done()
            assert srv.accepts == 1
            assert await first.read() == b"ok"
            first.release()
            _, body = await asyncio.wait_for(second, 1)
            assert (body, srv.accepts) == (b"ok", 1)
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}

    run(scenario())


def test_per_host_waiter_opens_a_new_connection_when_the_slot_frees(run: Runner) -> None:
    closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"

    async def scenario() -> None:
        async with ScriptedServer(answer_each(closing)) as srv, h1(per_host=1, connect_timeout=2.0) as client:
            first = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=2)
            second = asyncio.create_task(get(client, srv.origin))
            await asyncio.sleep(0.05)
            await first.read()
            first.release()  # not reusable: its slot is freed instead
            _, body = await asyncio.wait_for(second, 1)
            assert (body, srv.accepts) == (b"ok", 2)

    run(scenario())


def test_per_host_limit_gives_connect_error_when_never_released(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1(per_host=1, connect_timeout=0.2) as client:
            first = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=2)
            start = time.monotonic()
            with pytest.raises(ConnectError):
                await client.request(srv.origin, "GET", b"/", [], None, read_timeout=2)
            assert 0.18 <= time.monotonic() - start < 0.7
            assert srv.accepts == 1
            await first.read()
            first.release()
            _, body = await get(client, srv.origin)
            assert (body, srv.accepts) == (b"ok", 1)

    run(scenario())


def test_idle_connection_expires_after_keepalive(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1(keepalive=0.1) as client:
            await get(client, srv.origin)
            await asyncio.sleep(0.2)
            _, body = await get(client, srv.origin)
            assert (body, srv.accepts) == (b"ok", 2)
            await asyncio.wait_for(srv.peers[0].eof.wait(), 1)  # the expired one was closed
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}

    run(scenario())


def test_server_closing_an_idle_connection_is_noticed(run: Runner) -> None:
    async def scenario() -> None:
        hang_up = asyncio.Event()

        async def handler(peer: Peer) -> None:
            await peer.read_request()
            await peer.send(OK)  # keep-alive, as far as the client knows
            await hang_up.wait()

        async with ScriptedServer(handler) as srv, h1() as client:
            await get(client, srv.origin)
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}
            hang_up.set()
            await wait_until(lambda: client.pools[srv.origin]["open"] == 0)
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}
            _, body = await get(client, srv.origin)
            assert (body, srv.accepts) == (b"ok", 2)

    run(scenario())


# --- request heads and bodies ----------------------------------------------------------------------


def test_request_head_and_bytes_body_are_byte_exact(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1() as client:
            target = b"/a%2Fb/../c?x=%C3%A9&y=a+b"
            headers = [(b"x-one", b"1"), (b"X-Mixed", b"Keep Case"), (b"x-one", b"2")]
            resp = await client.request(srv.origin, "POST", target, headers, b"hello", read_timeout=2)
            await resp.read()
            resp.release()
            await get(client, srv.origin)
            assert srv.peers[0].requests[0].raw == (
                b"POST /a%2Fb/../c?x=%C3%A9&y=a+b HTTP/1.1\r\nhost: 127.0.0.1:"
                + str(srv.port).encode()
                + b"\r\nx-one: 1\r\nX-Mixed: Keep Case\r\nx-one: 2\r\ncontent-length: 5\r\n\r\nhello"
            )
            assert srv.peers[0].requests[1].raw == b"GET / HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n\r\n" % srv.port

    run(scenario())


def test_streamed_body_with_content_length_is_sent_raw(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1() as client:
            headers = [(b"content-length", b"11")]
            body = parts(b"hello", b" ", b"world")
            resp = await client.request(srv.origin, "PUT", b"/up", headers, body, read_timeout=2)
            assert await resp.read() == b"ok"
            resp.release()
            assert srv.peers[0].requests[0].raw == (
                b"PUT /up HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-length: 11\r\n\r\nhello world" % srv.port
            )
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}  # sent in full: reusable

    run(scenario())


def test_streamed_body_without_length_is_chunked(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1() as client:
            body = parts(b"hello", b"x" * 300, b"!")
            resp = await client.request(srv.origin, "POST", b"/up", [(b"x-a", b"1")], body, read_timeout=2)
            assert await resp.read() == b"ok"
            resp.release()
            received = srv.peers[0].requests[0]
            assert received.head == (
                b"POST /up HTTP/1.1\r\nhost: 127.0.0.1:%d\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n"
                % srv.port
            )
            assert received.body == b"5\r\nhello\r\n12c\r\n" + b"x" * 300 + b"\r\n1\r\n!\r\n0\r\n\r\n"
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}
            _, body2 = await get(client, srv.origin)  # the framing ended exactly: the next request parses
            assert (body2, srv.accepts) == (b"ok", 1)

    run(scenario())


def _send_buffer_max() -> int:
    """The kernel's largest TCP send buffer (bytes): what may leave a paused writer besides its own."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


def test_streamed_body_respects_write_flow_control(run: Runner) -> None:
    # bound: the client's socket send buffer + the server's fixed 64 KiB receive buffer + slack
    bound = _send_buffer_max() + 2 * 1024 * 1024
    chunk = bytes(range(256)) * 256  # 64 KiB
    count = (bound + 4 * 1024 * 1024) // len(chunk)
    pulled = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(count):
            pulled += len(chunk)
            yield chunk

    async def scenario() -> None:
        read_now = asyncio.Event()

        async def handler(peer: Peer) -> None:
            await peer.reader.readuntil(b"\r\n\r\n")
            await read_now.wait()  # reads nothing of the body until told
            received = await peer.reader.readexactly(len(chunk) * count)
            await peer.send(
                OK if received == chunk * count else b"HTTP/1.1 400 Bad\r\ncontent-length: 0\r\n\r\n"
            )

        async with ScriptedServer(handler, rcvbuf=65536) as srv, h1() as client:
            headers = [(b"content-length", str(len(chunk) * count).encode())]
            pending = asyncio.create_task(
                client.request(srv.origin, "PUT", b"/", headers, source(), read_timeout=2)
            )
            await asyncio.sleep(0.1)
            assert pulled < bound  # blocked on the transport, not buffering the whole body
            read_now.set()
            resp = await pending
            assert (resp.status, await resp.read(), pulled) == (200, b"ok", len(chunk) * count)
            resp.release()
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}

    run(scenario())


def test_most_recently_released_connection_is_reused_first(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1() as client:
            first = await client.request(srv.origin, "GET", b"/1", [], None, read_timeout=2)
            second = await client.request(srv.origin, "GET", b"/2", [], None, read_timeout=2)
            for resp in (first, second):
                await resp.read()
                resp.release()
            await get(client, srv.origin, b"/3")
            assert [len(p.requests) for p in srv.peers] == [1, 2]  # LIFO: the warm one

    run(scenario())


def test_body_iterator_failing_midway_raises_and_closes(run: Runner) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"abc"
        await asyncio.sleep(0.01)
        raise RuntimeError("client went away")

    async def handler(peer: Peer) -> None:
        await peer.reader.readuntil(b"\r\n\r\n")
        peer.requests.append(Received(b"", await peer.until_eof(), b""))

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            with pytest.raises(UpstreamError, match="request body aborted"):
                await client.request(srv.origin, "POST", b"/", [], broken(), read_timeout=2)
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}
            await asyncio.wait_for(srv.peers[0].eof.wait(), 1)
            assert srv.peers[0].requests[0].body == b"3\r\nabc\r\n"  # no terminating chunk

    run(scenario())


def test_early_answer_stops_the_body_and_closes_the_connection(run: Runner) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        chunk = b"x" * 65536
        while True:
            sent += len(chunk)
            yield chunk

    async def scenario() -> None:
        drained = asyncio.Event()

        async def handler(peer: Peer) -> None:
            await peer.reader.readuntil(b"\r\n\r\n")
            if peer is srv.peers[0]:  # refuses at once, reads nothing of the body (keep-alive answer)
                await peer.send(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 3\r\n\r\nbig")
                await drained.wait()
                await peer.until_eof()
            else:
                await peer.send(OK)
                await peer.until_eof()

        async with ScriptedServer(handler) as srv, h1() as client:
            resp = await client.request(srv.origin, "POST", b"/", [], endless(), read_timeout=2)
            assert (resp.status, await resp.read()) == (413, b"big")
            writer = resp.writer
            assert writer is not None and not writer.done()  # still blocked on flow control
            resp.release()
            await asyncio.sleep(0)
            assert writer.cancelled()
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}
            stopped_at = sent
            drained.set()
            await asyncio.wait_for(srv.peers[0].eof.wait(), 2)
            assert sent == stopped_at  # nothing more was pulled from the body
            _, body = await get(client, srv.origin)
            assert (body, srv.accepts) == (b"ok", 2)

    run(scenario())


# --- flow control, malformed answers, headers ------------------------------------------------------


def test_large_response_is_flow_controlled_and_byte_exact(run: Runner) -> None:
    big = bytes(range(256)) * (32 * 1024)  # 8 MiB

    async def scenario() -> None:
        all_written = asyncio.Event()

        async def handler(peer: Peer) -> None:
            await peer.read_request()
            await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(big), big))
            all_written.set()
            while await peer.read_request() is not None:
                await peer.send(OK)

        async with ScriptedServer(handler) as srv, h1() as client:
            resp = await client.request(srv.origin, "GET", b"/big", [], None, read_timeout=2)
            await asyncio.sleep(0.2)  # nothing consumed: reading must pause
            # one socket read (up to 256 KiB) may land after the pause threshold is crossed
            assert resp._paused and resp._buffered <= BUFFER_HIGH + 256 * 1024
            assert not all_written.is_set()
            got, peak = [], 0
            async for chunk in resp.iter_chunks():
                got.append(chunk)
                peak = max(peak, resp._buffered)
                if len(got) % 8 == 0:
                    await asyncio.sleep(0.002)  # a slow consumer
            resp.release()
            assert b"".join(got) == big
            assert peak <= BUFFER_HIGH + 256 * 1024
            assert all_written.is_set()
            _, body = await get(client, srv.origin)  # complete: reused, and reading resumed
            assert (body, srv.accepts) == (b"ok", 1)

    run(scenario())


def test_malformed_response_raises_and_closes(run: Runner) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"garbage\r\n\r\n")
        await peer.until_eof()

    async def scenario() -> None:
        async with ScriptedServer(handler) as srv, h1() as client:
            with pytest.raises(UpstreamError, match="malformed") as caught:
                await client.request(srv.origin, "GET", b"/", [], None, read_timeout=2)
            assert type(caught.value) is UpstreamError
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}
            await asyncio.wait_for(srv.peers[0].eof.wait(), 1)

    run(scenario())


def test_response_headers_lowercased_exact_and_repeated(run: Runner) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nSet-Cookie: a=1; Path=/\r\n"
        b"X-Mixed-CASE: Va  Lue\r\nSET-COOKIE: b=2; HttpOnly\r\nX-Latin: caf\xe9\r\n"
        b"Content-Length: 2\r\n\r\nok"
    )

    async def scenario() -> None:
        async with ScriptedServer(answer_each(response)) as srv, h1() as client:
            resp, _ = await get(client, srv.origin)
            assert resp.headers == [
                (b"content-type", b"text/plain; charset=UTF-8"),
                (b"set-cookie", b"a=1; Path=/"),
                (b"x-mixed-case", b"Va  Lue"),
                (b"set-cookie", b"b=2; HttpOnly"),
                (b"x-latin", b"caf\xe9"),
                (b"content-length", b"2"),
            ]

    run(scenario())


# --- against a real uvicorn ------------------------------------------------------------------------


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Raw ASGI: /stream answers in parts (chunked); anything else describes the request in headers."""
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(5):
            await send({"type": "http.response.body", "body": bytes([65 + i]) * 70000, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    host = dict(scope["headers"]).get(b"host", b"")
    headers = [
        (b"x-raw-path", scope["raw_path"]),
        (b"x-query", scope["query_string"]),
        (b"x-host", host),
        (b"x-client-port", str(scope["client"][1]).encode()),
        (b"x-body-sha256", hashlib.sha256(body).hexdigest().encode()),
        (b"content-length", str(min(len(body), 100)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body[:100]})


def test_against_uvicorn(run: Runner) -> None:
    async def scenario() -> None:
        async with serve(echo_app, lifespan="off") as origin, h1() as client:
            port = origin.rsplit(":", 1)[1].encode()
            resp, body = await get(client, origin, b"/a%2Fb/../c?x=%C3%A9")
            seen = dict(resp.headers)
            assert (resp.status, body) == (200, b"")
            assert (seen[b"x-raw-path"], seen[b"x-query"]) == (b"/a%2Fb/../c", b"x=%C3%A9")
            assert seen[b"x-host"] == b"127.0.0.1:" + port

            payload = [bytes([i]) * 40000 for i in range(7)]
            resp = await client.request(origin, "POST", b"/up", [], parts(*payload), read_timeout=2)
            echoed = dict(resp.headers)[b"x-body-sha256"]
            assert await resp.read() == payload[0][:100]
            resp.release()
            assert echoed == hashlib.sha256(b"".join(payload)).hexdigest().encode()  # de-chunked in full

            resp = await client.request(origin, "GET", b"/stream", [], None, read_timeout=2)
            assert (b"transfer-encoding", b"chunked") in resp.headers
            streamed = b"".join([c async for c in resp.iter_chunks()])
            resp.release()
            assert streamed == b"".join(bytes([65 + i]) * 70000 for i in range(5))

            again, _ = await get(client, origin)
            assert dict(again.headers)[b"x-client-port"] == seen[b"x-client-port"]  # one connection
            assert client.pools[origin] == {"open": 1, "idle": 1}

    run(scenario())


# --- regressions: defects found while these tests were written, fixed in gateway.h1 ---------------


def test_connection_whose_body_ended_while_reading_was_paused_is_usable_again(run: Runner) -> None:
    size, tail = BUFFER_HIGH + 4096, 8192

    async def scenario() -> None:
        go = asyncio.Event()

        async def handler(peer: Peer) -> None:
            await peer.read_request()
            body = b"y" * size
            await peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size + body[:-tail])
            await go.wait()
            await peer.send(body[-tail:])  # one read crosses BUFFER_HIGH (pause) and ends the body
            while await peer.read_request() is not None:
                await peer.send(OK)

        async with ScriptedServer(handler) as srv, h1() as client:
            resp = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=0.2)
            await wait_until(lambda: resp._buffered == size - tail)
            go.set()
            await wait_until(lambda: resp.done)
            assert resp._paused  # the precondition: complete, keep-alive, reading paused
            resp.release()  # e.g. the downstream client left before the body was relayed
            assert client.pools[srv.origin] == {"open": 1, "idle": 1}
            _, body = await get(client, srv.origin, read_timeout=0.2)  # reading was resumed
            assert body == b"ok"

    run(scenario())


def test_read_returns_a_body_larger_than_buffer_high(run: Runner) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB, more than one socket read can hold

    async def scenario() -> None:
        response = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(big), big)
        async with ScriptedServer(answer_each(response)) as srv, h1() as client:
            resp = await client.request(srv.origin, "GET", b"/", [], None, read_timeout=0.2)
            try:
                assert await resp.read() == big  # read() resumes reading paused above BUFFER_HIGH
            finally:
                resp.release()

    run(scenario())


def test_empty_item_in_a_streamed_body_does_not_end_the_chunked_body(run: Runner) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK)) as srv, h1() as client:
            body = parts(b"hello", b"", b"world")
            resp = await client.request(srv.origin, "POST", b"/", [], body, read_timeout=2)
            await resp.read()
            resp.release()
            await wait_until(lambda: resp.writer is not None and resp.writer.done())
            # an empty item must not be sent as "0\r\n\r\n" (the end of the body)
            assert srv.peers[0].requests[0].body == b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"

    run(scenario())


def test_idle_connection_closed_by_unsolicited_bytes_frees_its_slot(run: Runner) -> None:
    async def scenario() -> None:
        speak = asyncio.Event()

        async def handler(peer: Peer) -> None:
            await peer.read_request()
            await peer.send(OK)
            if peer is srv.peers[0]:  # then, while idle, a 408 (as some servers do before closing)
                await speak.wait()
                await peer.send(
                    b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
                )
            await peer.until_eof()

        async with ScriptedServer(handler) as srv, h1(per_host=1, connect_timeout=0.2) as client:
            await get(client, srv.origin)
            conn = client._pools[srv.origin].idle[-1]
            speak.set()
            while not conn.closed:  # noqa: ASYNC110 - one loop turn at a time: connection_lost() still queued
                await asyncio.sleep(0)
            # acquire() pops the closed idle connection: it must free its slot (connection_lost() will
            # find it no longer idle), or the pool stays "full" (open=1) for good.
            _, body = await get(client, srv.origin)
            assert (body, srv.accepts) == (b"ok", 2)

    run(scenario())


def test_a_second_response_in_the_same_read_does_not_overwrite_the_first(run: Runner) -> None:
    extra = b"HTTP/1.1 500 Bad\r\nx-b: 1\r\ncontent-length: 3\r\n\r\nbad"  # unsolicited (a desynced service)

    async def scenario() -> None:
        async with ScriptedServer(answer_each(OK + extra)) as srv, h1() as client:
            resp, body = await get(client, srv.origin)
            assert (resp.status, resp.headers, body) == (200, [(b"content-length", b"2")], b"ok")
            assert client.pools[srv.origin] == {"open": 0, "idle": 0}  # never reuse a desynced connection

    run(scenario())
