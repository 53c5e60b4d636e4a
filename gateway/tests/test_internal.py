"""`/internal/*` is never reachable from outside: neither at nginx nor at the gateway, however the
path is spelled."""

from __future__ import annotations

import asyncio

import httpx
import pytest


async def raw_get(base: str, target: str) -> tuple[int, bytes]:
    """Send the request target byte for byte (httpx would normalise dot segments)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize("target", ["/internal/events", "/internal", "/internal/events?x=1"])
async def test_internal_is_404_at_the_gateway(target: str, gateway_url: str, http: httpx.AsyncClient) -> None:
    resp = await http.post(f"{gateway_url}{target}")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("target", ["/internal/events", "//internal/events", "/internal"])
async def test_internal_is_404_at_nginx(target: str, nginx_url: str) -> None:
    status, data = await raw_get(nginx_url, target)
    assert status == 404
    assert b"application/problem+json" in data


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/users/../../internal/events",
        "/api/v1/users/%2e%2e/%2e%2e/internal/events",
        "/api/v1/users/./x",
    ],
)
async def test_dot_segments_cannot_smuggle_a_path_past_the_gateway(target: str, gateway_url: str) -> None:
    status, data = await raw_get(gateway_url, target)
    assert status == 404
    assert b"x-stand-in" not in data.lower()


async def test_dot_segments_cannot_reach_internal_through_nginx(nginx_url: str) -> None:
    status, data = await raw_get(nginx_url, "/api/v1/users/../../internal/events")
    assert status == 404
    assert b"x-stand-in" not in data.lower()
