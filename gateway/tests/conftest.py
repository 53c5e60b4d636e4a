"""Fixtures for the API Gateway tests.

The services behind the gateway are small real FastAPI apps served by uvicorn on free loopback
ports ("stand-ins": they echo what reached them, and can stream, delay or fail on request); they
stand in for the services' HTTP surface, not for any business logic. The user-service stand-in
serves a real JWKS for the tokens minted by `TokenFactory`. Two real gateway processes share one
Redis, and a real nginx runs the repository's config in front of the first.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from gateway.main import create_app
from gateway.routing import load_table
from gateway.settings import DEFAULT_CONFIG, Settings
from shared.devstack import free_port
from shared.nginx_runner import NginxProcess
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TokenFactory

TABLE = load_table(DEFAULT_CONFIG)
SERVICES = TABLE.services  # every service the default routing table reaches
TEST_POLICIES = "auth=5/3600,money=3/3600"  # small quotas, long windows: exact boundaries
CORS_ORIGIN = "https://app.example.com"
MAX_BODY = 1_000_000
# Extra public keys the user-service stand-in publishes next to the session key (key rotation tests).
PUBLISHED_KEYS: list[dict[str, Any]] = []


def doc_prefix(service: str) -> str:
    return next(p for p in TABLE.prefixes_of(service) if p.startswith("/api/"))


def stand_in_app(service: str, tokens: TokenFactory, instance: str = "a") -> FastAPI:
    app = FastAPI(title=f"{service} stand-in")

    @app.get(doc_prefix(service) + "/documented", summary=f"A documented {service} route")
    async def documented() -> dict[str, str]:
        return {"service": service}

    @app.post("/internal/events", summary="Never public")
    async def internal() -> dict[str, str]:
        return {"internal": "yes"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    if service == "user-service":

        @app.get("/.well-known/jwks.json")
        async def jwks() -> dict[str, Any]:
            return {"keys": [tokens.jwk(), *PUBLISHED_KEYS]}

    @app.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], include_in_schema=False
    )
    async def echo(request: Request) -> Response:
        q = request.query_params
        if "sleep" in q:
            await asyncio.sleep(float(q["sleep"]))
        if "stream" in q:
            size, count, pause = int(q["stream"]), int(q.get("chunks", "4")), float(q.get("pause", "0"))

            async def gen() -> AsyncIterator[bytes]:
                for i in range(count):
                    if i and pause:
                        await asyncio.sleep(pause)
                    yield bytes([65 + i % 26]) * size

            return StreamingResponse(gen(), media_type="application/octet-stream")
        digest, total = hashlib.sha256(), 0
        async for chunk in request.stream():
            digest.update(chunk)
            total += len(chunk)
        return JSONResponse(
            {
                "service": service,
                "instance": instance,
                "method": request.method,
                "path": request.scope["path"],
                "raw_path": request.scope.get("raw_path", b"").decode("latin-1"),
                "query": request.scope.get("query_string", b"").decode("latin-1"),
                "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]},
                "body_len": total,
                "body_sha256": digest.hexdigest(),
            },
            status_code=int(q.get("status", "200")),
            headers={"x-stand-in": service},
        )

    return app


class ServerThread:
    """uvicorn servers on one background event loop; each can be stopped and started again."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: dict[int, tuple[uvicorn.Server, Any]] = {}
        self.apps: dict[int, FastAPI] = {}

    def start(self, app: FastAPI, port: int | None = None) -> int:
        port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        fut = asyncio.run_coroutine_threadsafe(server.serve(), self.loop)
        deadline = time.monotonic() + 10
        while not server.started:
            if fut.done():
                fut.result()
            if time.monotonic() > deadline:
                raise TimeoutError(f"stand-in on {port} did not start")
            time.sleep(0.01)
        self.servers[port] = (server, fut)
        self.apps[port] = app
        return port

    def stop(self, port: int) -> None:
        server, fut = self.servers.pop(port)
        server.should_exit = True
        server.force_exit = True
        fut.result(timeout=10)

    def restart(self, port: int) -> None:
        self.start(self.apps[port], port)

    def close(self) -> None:
        for port in list(self.servers):
            self.stop(port)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerThread]:
    pool = ServerThread()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def stand_ins(servers: ServerThread, tokens: TokenFactory) -> dict[str, str]:
    """{service: base URL} of one stand-in per routed service."""
    return {s: f"http://127.0.0.1:{servers.start(stand_in_app(s, tokens))}" for s in SERVICES}


@pytest.fixture
def make_stand_in(servers: ServerThread, tokens: TokenFactory) -> Callable[..., int]:
    """Start one more stand-in (e.g. a second instance, or one to kill); returns its port."""

    def factory(service: str, instance: str = "a") -> int:
        return servers.start(stand_in_app(service, tokens, instance))

    return factory


@pytest.fixture
def published_keys() -> list[dict[str, Any]]:
    """Public keys the user-service stand-in publishes in addition to `tokens`' (append, then remove)."""
    return PUBLISHED_KEYS


@pytest.fixture(scope="session")
def rl_prefix() -> str:
    return f"test:gw:{uuid.uuid4().hex[:10]}:"


def service_env(urls: dict[str, str]) -> dict[str, str]:
    env = {f"{s.upper().replace('-', '_')}_URL": u for s, u in urls.items()}
    env["JWKS_URL"] = f"{urls['user-service'].split(',')[0]}/.well-known/jwks.json"
    return env


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not up:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def gateways(
    stand_ins: dict[str, str], redis_url: str, rl_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Two real gateway processes (`python -m gateway`) sharing Redis for their rate limits."""
    procs: list[tuple[subprocess.Popen[bytes], Any]] = []
    urls: list[str] = []
    logs = tmp_path_factory.mktemp("gateway-logs")
    for i in range(2):
        port = free_port()
        env = {
            **os.environ,
            **service_env(stand_ins),
            "ENVIRONMENT": "test",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis_url,
            "RATE_LIMIT_KEY_PREFIX": rl_prefix,
            "RATE_LIMIT_POLICIES": TEST_POLICIES,
            "CORS_ORIGINS": CORS_ORIGIN,
            "MAX_BODY_BYTES": str(MAX_BODY),
            "TRUSTED_PROXIES": "127.0.0.1/32",
        }
        log = logs / f"gateway-{i}.log"
        fh = open(log, "wb")  # noqa: SIM115 - closed at teardown
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway"], env=env, stdout=fh, stderr=subprocess.STDOUT
        )
        procs.append((proc, fh))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for (proc, _), url in zip(procs, urls, strict=True):
            wait_http(f"{url}/health", proc, logs / f"gateway-{urls.index(url)}.log")
        yield urls
    finally:
        for proc, fh in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            fh.close()


@pytest.fixture(scope="session")
def gateway_url(gateways: list[str]) -> str:
    return gateways[0]


@pytest.fixture(scope="session")
def nginx_url(gateway_url: str) -> Iterator[str]:
    with NginxProcess(
        gateway_port=int(gateway_url.rsplit(":", 1)[1]), values={"NGINX_CLIENT_MAX_BODY": "1m"}
    ) as nginx:
        yield nginx.url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15.0) as client:
        yield client


@pytest.fixture
def client_ip() -> str:
    """A client address of this test's own (sent as X-Forwarded-For from trusted 127.0.0.1)."""
    n = uuid.uuid4().int
    return f"198.51.{(n >> 8) % 256}.{n % 254 + 1}"


@pytest.fixture
def make_gateway(stand_ins: dict[str, str], redis_url: str, rl_prefix: str) -> Callable[..., Any]:
    """An in-process gateway with custom settings (breaker, outage, embedded mode …)."""

    def factory(urls: dict[str, str] | None = None, **overrides: Any) -> Any:
        merged = {**stand_ins, **(urls or {})}
        values: dict[str, Any] = {
            "environment": "test",
            "redis_url": redis_url,
            "rate_limit_key_prefix": rl_prefix + uuid.uuid4().hex[:6] + ":",
            "rate_limit_policies": TEST_POLICIES,
            "jwks_url": f"{stand_ins['user-service']}/.well-known/jwks.json",
            "access_log": "off",
        }
        for s, u in merged.items():
            values[f"{s.replace('-', '_')}_url"] = u
        values.update(overrides)
        return asgi_client(create_app(Settings(**values)))

    return factory


@pytest.fixture
async def client(make_gateway: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in process (ASGI transport), routed to the stand-ins."""
    async with make_gateway() as c:
        yield c
