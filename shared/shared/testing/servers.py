"""Serve an ASGI app with a real uvicorn server on a free loopback port inside the test's event
loop — for tests that need real HTTP between components (webhooks, event delivery, JWKS)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

import uvicorn

from shared.devstack import free_port


@contextlib.asynccontextmanager
async def serve(
    app: Any, *, port: int | None = None, lifespan: Literal["auto", "on", "off"] = "on"
) -> AsyncIterator[str]:
    """`async with serve(app) as base_url:` — the server is up on entry and stopped on exit."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan=lifespan, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        task.cancel()
        raise RuntimeError("test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
